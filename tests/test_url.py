"""Broker URLs and broker errors: what a transport tells its user about where and why."""

from __future__ import annotations

import pytest

from stompmodels import Error
from stompmodels._transport import BrokerError
from stompmodels._url import BrokerURL, parse_url, parse_urls


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
        ("http://h", "unsupported URL scheme 'http'"),
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
