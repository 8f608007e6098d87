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
