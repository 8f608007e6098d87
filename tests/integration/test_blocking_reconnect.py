"""Reconnect and failover of the blocking client against the real RabbitMQ.

The same scenarios as test_aio_reconnect.py, on a vhost of their own so that the two files never
cut each other's connections. Every wait is bounded; a test takes a few seconds.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest

from stompmodels._client.url import parse_url
from stompmodels.blocking import Backoff, BrokerURL, Client, ConnectionEvent, ConnectionLost

from ._brokers import RABBITMQ as RABBITMQ_BROKER
from ._brokers import BrokerGate, cut_vhost_connections, prepare_vhost

# A vhost of our own, so cutting its connections leaves every other client alone.
VHOST = "stompmodels-reconnect-blocking"
RABBITMQ = f"stomp://guest:guest@127.0.0.1:61613/{VHOST}"
NOWHERE = "stomp://guest:guest@127.0.0.1:1/"  # nothing listens on port 1: refused at once
QUICK = Backoff(initial=0.1, maximum=0.5, attempts=20)


def queue() -> str:
    return f"/queue/stompmodels-reconnect-blocking-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module", autouse=True)
def vhost(brokers: BrokerGate) -> None:
    brokers.require(RABBITMQ_BROKER)
    prepare_vhost(VHOST)


def cut_all_connections() -> None:
    """Make RabbitMQ drop every connection to the test vhost (as a broker restart would)."""
    cut_vhost_connections(VHOST)


def wait_for(events: list[ConnectionEvent], event: ConnectionEvent) -> None:
    deadline = time.monotonic() + 15
    while event not in events:
        assert time.monotonic() < deadline, f"no {event!r} within 15 s: {events}"
        time.sleep(0.05)


def recorder(events: list[ConnectionEvent]) -> Callable[[ConnectionEvent, BrokerURL], None]:
    return lambda event, _: events.append(event)


def test_a_cut_connection_is_renewed_with_its_subscriptions() -> None:
    events: list[ConnectionEvent] = []
    destination = queue()
    with Client(RABBITMQ, reconnect=QUICK, timeout=5, on_state=recorder(events)) as client:
        subscription = client.subscribe(destination, ack="client-individual")
        client.send(destination, "before", receipt=True)
        first = subscription.get(5)
        subscription.ack(first)
        cut_all_connections()
        wait_for(events, "reconnected")
        client.send(destination, "after", receipt=True)
        second = subscription.get(5)
        subscription.ack(second)
        assert (first.text, second.text) == ("before", "after")
        assert subscription.active
    assert events == ["connected", "lost", "reconnected", "closed"]


def test_failover_skips_a_broker_that_does_not_answer() -> None:
    with Client([NOWHERE, RABBITMQ], timeout=5) as client:
        client.send(queue(), "via the second broker", receipt=True)
        assert client.url.port == 61613


def test_a_failover_url_is_understood() -> None:
    with Client(f"failover:({NOWHERE},{RABBITMQ})", timeout=5) as client:
        client.send(queue(), "via the second broker", receipt=True)
        assert client.url.port == 61613


def test_the_credentials_hook_runs_before_every_connect() -> None:
    seen: list[str] = []
    events: list[ConnectionEvent] = []

    def refresh(url: BrokerURL) -> BrokerURL:
        seen.append(url.host)
        return BrokerURL(url.host, url.port, "guest", url.passcode, url.vhost, url.tls)

    client = Client(
        f"stomp://nobody:guest@127.0.0.1:61613/{VHOST}",
        reconnect=QUICK,
        credentials=refresh,
        timeout=5,
        on_state=recorder(events),
    )
    with client:
        cut_all_connections()
        wait_for(events, "reconnected")
    assert seen == ["127.0.0.1", "127.0.0.1"]


def test_a_transaction_cut_short_is_not_replayed() -> None:
    events: list[ConnectionEvent] = []
    destination = queue()
    with Client(RABBITMQ, reconnect=QUICK, timeout=5, on_state=recorder(events)) as client:
        subscription = client.subscribe(destination)
        with (
            pytest.raises(ConnectionLost, match="not committed"),
            client.transaction() as tx,
        ):
            client.send(destination, "in the lost transaction", transaction=tx)
            cut_all_connections()
            wait_for(events, "reconnected")
        client.send(destination, "after", receipt=True)
        assert subscription.get(5).text == "after"  # nothing from the transaction


def test_without_reconnect_a_cut_ends_the_iterators_with_the_error() -> None:
    client = Client(RABBITMQ, timeout=5)
    caught: list[BaseException] = []

    def drain() -> None:
        try:
            for _ in subscription:
                pass
        except ConnectionLost as exc:
            caught.append(exc)

    with client:
        subscription = client.subscribe(queue())
        consumer = threading.Thread(target=drain, daemon=True)
        consumer.start()
        cut_all_connections()
        consumer.join(10)
        assert not consumer.is_alive(), "iteration did not end within 10 s"
    assert len(caught) == 1
    assert client.failure is not None


def test_giving_up_ends_the_iterators_with_the_error() -> None:
    events: list[ConnectionEvent] = []
    hopeless = Backoff(initial=0.05, maximum=0.1, attempts=2)
    cut = threading.Event()

    def after_the_cut(url: BrokerURL) -> BrokerURL:
        # The credentials hook decides where each attempt goes: after the cut, to a broker that
        # never answers, so every attempt fails.
        return parse_url(NOWHERE) if cut.is_set() else url

    with Client(
        RABBITMQ,
        reconnect=hopeless,
        timeout=5,
        credentials=after_the_cut,
        on_state=recorder(events),
    ) as client:
        subscription = client.subscribe(queue())
        cut.set()
        cut_all_connections()
        with pytest.raises(ConnectionLost, match="gave up reconnecting"):
            subscription.get(10)
        assert not subscription.active
    assert events == ["connected", "lost", "closed"]
