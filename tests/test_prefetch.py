"""The prefetch headers every client adds to SUBSCRIBE (RabbitMQ's and ActiveMQ's)."""

from __future__ import annotations

import pytest

from stompmodels import AckMode
from stompmodels._client.options import PREFETCH_HEADERS, ClientOptions
from stompmodels._client.url import parse_url

BOTH = ("prefetch-count", "activemq.prefetchSize")
OPTIONS = ClientOptions(urls=(parse_url("stomp://127.0.0.1:61613/"),), queue_size=250)


def subscribe_headers(
    headers: dict[str, str] | None, mode: AckMode, prefetch: int | None
) -> dict[str, str]:
    return OPTIONS.subscribe_headers(headers, mode, prefetch)


def test_both_brokers_headers_are_named() -> None:
    assert PREFETCH_HEADERS == BOTH


@pytest.mark.parametrize("mode", ["client", "client-individual"])
def test_acknowledged_subscriptions_default_to_the_queue_size(mode: AckMode) -> None:
    headers = subscribe_headers({"x-a": "1"}, mode, None)
    assert headers == {"x-a": "1", "prefetch-count": "250", "activemq.prefetchSize": "250"}


def test_auto_ack_adds_nothing_unless_asked() -> None:
    assert subscribe_headers(None, "auto", None) == {}
    assert subscribe_headers(None, "auto", 7) == dict.fromkeys(BOTH, "7")


def test_an_explicit_prefetch_wins_over_the_queue_size() -> None:
    assert subscribe_headers(None, "client", 5) == dict.fromkeys(BOTH, "5")


def test_headers_given_by_the_caller_win() -> None:
    headers = subscribe_headers({"prefetch-count": "1"}, "client", 5)
    assert headers == {"prefetch-count": "1", "activemq.prefetchSize": "5"}


def test_the_callers_mapping_is_not_changed() -> None:
    given = {"x-a": "1"}
    subscribe_headers(given, "client", 5)
    assert given == {"x-a": "1"}


@pytest.mark.parametrize("prefetch", [0, -1])
def test_a_prefetch_below_one_is_refused(prefetch: int) -> None:
    with pytest.raises(ValueError, match="prefetch must be at least 1"):
        subscribe_headers(None, "client", prefetch)
