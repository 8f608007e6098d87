"""Broker URLs and broker errors: what a transport tells its user about where and why."""

from __future__ import annotations

import pytest

from stompmodels import Error
from stompmodels._client.errors import BrokerError
from stompmodels._client.url import BrokerURL, parse_url, parse_urls


def test_a_full_url() -> None:
    url = parse_url("stomp://bob:s%40cret@broker.example:61700/my%2Fvhost")
    assert (url.host, url.port, url.login, url.vhost, url.tls) == (
        "broker.example",
        61700,
        "bob",
        "my/vhost",
        False,
    )
    assert url.passcode is not None and url.passcode.get_secret_value() == "s@cret"


def test_defaults_follow_rabbitmq() -> None:
    assert parse_url("stomp://h") == BrokerURL("h", 61613, None, None, "/", False)
    tls = parse_url("stomp+ssl://h/")
    assert (tls.port, tls.tls, tls.vhost) == (61614, True, "/")


def test_the_passcode_never_shows() -> None:
    url = parse_url("stomp://bob:hunter2@h")
    assert "hunter2" not in repr(url)
    assert "hunter2" not in str(url)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("http://h", "unsupported URL scheme .http.: .* ws:// or wss://"),
        ("stomp://", "names no host"),
        ("stomp://h:99999", "port"),
        ("failover:stomp://a", "failover:\\(stomp://a,stomp://b\\)"),
        ("", "no broker URL given"),
    ],
)
def test_bad_urls_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_urls(text)


def test_bad_url_errors_never_show_the_passcode() -> None:
    with pytest.raises(ValueError) as caught:
        parse_url("stomp://bob:hunter2@h:notaport")
    assert "hunter2" not in str(caught.value)


def test_failover_lists() -> None:
    hosts = [url.port for url in parse_urls("failover:(stomp://a:1,stomp+ssl://b:2)")]
    assert hosts == [1, 2]
    assert [u.host for u in parse_urls(["stomp://a", "stomp://b"])] == ["a", "b"]
    assert [u.host for u in parse_urls("stomp://a, stomp://b")] == ["a", "b"]
    with pytest.raises(ValueError, match="no broker URL"):
        parse_urls([])


@pytest.mark.parametrize(
    ("frame", "shown"),
    [
        (Error(message="Bad CONNECT", body=b"details"), "Bad CONNECT"),
        (Error(body=b"\njava.lang.Exception: boom\n\tat x\n"), "java.lang.Exception: boom"),
        (Error(body=b"\n"), "(no message)"),
        (Error(body=b"\xff\xfe"), "\ufffd"),
    ],
)
def test_broker_errors_say_what_the_broker_said(frame: Error, shown: str) -> None:
    assert shown in str(BrokerError(frame))


def test_websocket_urls_keep_the_path_and_take_the_vhost_from_the_query() -> None:
    url = parse_url("ws://bob:s3cret@127.0.0.1:15674/ws?vhost=%2Fteam")
    assert (url.host, url.port, url.websocket_path, url.vhost, url.tls) == (
        "127.0.0.1",
        15674,
        "/ws",
        "/team",
        False,
    )
    assert url.websocket_uri == "ws://127.0.0.1:15674/ws"  # credentials go in CONNECT only
    assert str(url) == "ws://bob@127.0.0.1:15674/ws"
    assert "s3cret" not in repr(url)


@pytest.mark.parametrize(
    ("text", "scheme", "port", "tls", "path"),
    [
        ("ws://h", "ws", 15674, False, "/"),
        ("wss://h/stomp", "wss", 15673, True, "/stomp"),
        ("stomp://h/v", "stomp", 61613, False, None),
        ("stomp+ssl://h", "stomp+ssl", 61614, True, None),
    ],
)
def test_each_scheme_and_its_default_port(
    text: str, scheme: str, port: int, tls: bool, path: str | None
) -> None:
    url = parse_url(text)
    assert (url.scheme, url.port, url.tls, url.websocket_path) == (scheme, port, tls, path)


def test_websocket_uri_brackets_ipv6_hosts() -> None:
    assert parse_url("ws://[::1]:9/ws").websocket_uri == "ws://[::1]:9/ws"


def test_failover_can_mix_tcp_and_websocket() -> None:
    schemes = [url.scheme for url in parse_urls("failover:(ws://a/ws,stomp://b)")]
    assert schemes == ["ws", "stomp"]


@pytest.mark.parametrize(
    ("text", "host", "port", "passcode", "vhost"),
    [
        ("stomp://guest:9876/5432@127.0.0.1:61613/", "127.0.0.1", 61613, "9876/5432", "/"),
        ("stomp://guest:a?b@h:1/v", "h", 1, "a?b", "v"),
        ("stomp://guest:a#b@c@h/v", "h", 61613, "a#b@c", "v"),  # the userinfo ends at the last @
        ("stomp://guest:p%2F%40@h/a%40b", "h", 61613, "p/@", "a@b"),  # percent-decoded
        ("stomp+ssl://guest:/?#@[::1]:7/", "::1", 7, "/?#", "/"),
    ],
)
def test_a_passcode_may_hold_slashes_question_marks_and_at_signs(
    text: str, host: str, port: int, passcode: str, vhost: str
) -> None:
    url = parse_url(text)
    assert (url.host, url.port, url.login, url.vhost) == (host, port, "guest", vhost)
    assert url.passcode is not None and url.passcode.get_secret_value() == passcode


def test_a_websocket_passcode_may_hold_a_query() -> None:
    url = parse_url("ws://bob:x?vhost=evil/y@h:9/ws?vhost=team")
    assert (url.host, url.port, url.websocket_path, url.vhost) == ("h", 9, "/ws", "team")
    assert url.passcode is not None and url.passcode.get_secret_value() == "x?vhost=evil/y"
    assert url.websocket_uri == "ws://h:9/ws"


@pytest.mark.parametrize(
    "text",
    [
        "stomp://guest:9876/5432@127.0.0.1:61613/",
        "ws://bob:9876?5432@h/ws?vhost=v",
        "stomp://bob:9876/5432@[::1]:1/",
    ],
)
def test_odd_passcodes_never_show_in_str_or_repr(text: str) -> None:
    url = parse_url(text)
    for shown in (str(url), repr(url)):
        assert "9876" not in shown
        assert "5432" not in shown


@pytest.mark.parametrize(
    "text",
    [
        "stomp://bob:9876/5432@h:notaport/",
        "stomp://bob:9876/5432@h:99999/",
        "stomp://bob:9876/5432@/v",
        "stomp://bob:9876/5432@[::1/",
        "stomp://bob:9876/5432@h,h/",
        "http://bob:9876/5432@h/",
        "stomp:bob:9876/5432@h/",
        "bob:9876/5432@h",
        "9876/5432@h",
        "failover:(stomp://a:1,stomp://bob:9876/5432@h:x)",
        "failover:(stomp://bob:9876/5432@h",
    ],
)
def test_bad_url_errors_never_show_an_odd_passcode(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_urls(text)
    assert "9876" not in str(caught.value)
    assert "5432" not in str(caught.value)


def test_failover_lists_keep_passcodes_with_commas_and_parentheses_whole() -> None:
    urls = parse_urls("failover:(stomp://a:p,w/1@h1:1/,stomp+ssl://b:x)y,z@h2:2, ws://c@h3/ws)")
    assert [(u.scheme, u.host, u.port, u.login) for u in urls] == [
        ("stomp", "h1", 1, "a"),
        ("stomp+ssl", "h2", 2, "b"),
        ("ws", "h3", 15674, "c"),
    ]
    secrets = [u.passcode.get_secret_value() if u.passcode else None for u in urls]
    assert secrets == ["p,w/1", "x)y,z", None]
    assert all("p,w" not in str(u) and "x)y" not in str(u) for u in urls)


def test_a_url_names_one_host() -> None:
    with pytest.raises(ValueError, match="not a host name"):
        parse_url("stomp://a,b/")
    assert str(parse_url("stomp://bob:pw@[::1]:5/")) == "stomp://bob@[::1]:5"
