"""The blocking client against real RabbitMQ 3.10 and ActiveMQ 5.17, on every STOMP version.

Each scenario runs on both brokers (the `broker` fixture of conftest.py) and on each version the
feature exists in, offered alone (`versions=(v,)`). Where the brokers differ (NACK, what makes an
ERROR, when unacknowledged messages come back) the test asserts each broker's documented
behaviour (shared/brokers/README.md).

Queues are new for each test (a uuid in the name), subscribed to before anything is sent to them,
and made with `x-expires` so that RabbitMQ deletes them a few minutes later (ActiveMQ ignores the
header). Every wait is bounded by the client's short timeout; a test takes at most a few seconds.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Final

import pytest

from stompmodels import VERSIONS, ClientFrame, LocalProtocolError, Message, State, Version
from stompmodels.blocking import BrokerError, Client, ConnectionLost, Subscription

from ._brokers import LOOPBACK, Broker

TIMEOUT: Final = 8.0  # the client's bound on each of its own waits (generous: CI is loaded)
QUIET: Final = 0.3  # how long "nothing arrives" is watched for
QUEUE_ARGS: Final = {"x-expires": "300000"}  # RabbitMQ: delete the queue 5 min after last use
# What the client asks for; RabbitMQ answers 1000,1000 (its minimum), ActiveMQ 500,500.
FAST_BEATS: Final = (500, 500)
PING: Final = "/topic/stompmodels-blocking-ping"  # a topic: no queue is left behind

each_version = pytest.mark.parametrize("version", VERSIONS)
versions_with_nack = pytest.mark.parametrize("version", ["1.1", "1.2"])
versions_with_heart_beats = pytest.mark.parametrize("version", ["1.1", "1.2"])


@pytest.fixture
def queue() -> str:
    return f"/queue/stompmodels-blocking-{uuid.uuid4().hex[:12]}"


def make_client(
    broker: Broker,
    version: Version,
    *,
    passcode: str | None = None,
    heart_beat: tuple[int, int] = (10000, 10000),
    timeout: float = TIMEOUT,
) -> Client:
    return Client(
        host=broker.host,
        port=broker.port,
        login=broker.login,
        passcode=broker.passcode if passcode is None else passcode,
        versions=(version,),
        heart_beat=heart_beat,
        timeout=timeout,
    )


def subscribe(client: Client, queue: str, ack: str = "auto") -> Subscription:
    assert ack in ("auto", "client", "client-individual")
    return client.subscribe(queue, ack=ack, headers=QUEUE_ARGS)  # type: ignore[arg-type]


def take(subscription: Subscription, count: int) -> list[Message]:
    return [subscription.get(TIMEOUT) for _ in range(count)]


def quiet(subscription: Subscription) -> bool:
    """Whether nothing arrives for QUIET seconds."""
    try:
        subscription.get(QUIET)
    except TimeoutError:
        return True
    return False


def leftovers(broker: Broker, version: Version, queue: str) -> list[bytes]:
    """What a fresh connection still receives from `queue` (what was never acknowledged)."""
    found: list[bytes] = []
    with make_client(broker, version) as client:
        subscription = subscribe(client, queue)
        for _ in range(100):  # bounded, whatever the broker does
            try:
                found.append(subscription.get(QUIET).body)
            except TimeoutError:
                break
    return found


@pytest.fixture(autouse=True)
def no_threads_left_behind() -> Iterator[None]:
    yield
    ours = [t for t in threading.enumerate() if t.name.startswith("stompmodels-")]
    for thread in ours:
        thread.join(2)
    assert not [t for t in ours if t.is_alive()], "a client thread outlived its test"


# -- connecting --------------------------------------------------------------------------------


@each_version
def test_connect_negotiates_the_offered_version(
    broker: Broker, version: Version, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(broker, version)
    with client:
        assert client.engine.version == version
        assert client.engine.server is not None
        assert client.engine.server.startswith(broker.product)
        assert client.engine.session
    assert client.engine.state is State.CLOSED
    assert not client.engine.pending_receipts  # the DISCONNECT's receipt came back
    assert "no receipt for DISCONNECT" not in caplog.text


@each_version
def test_a_url_works_as_well_as_keywords(broker: Broker, version: Version) -> None:
    with Client(broker.url, versions=(version,), timeout=TIMEOUT) as client:
        assert client.engine.version == version


@each_version
def test_a_wrong_passcode_is_a_broker_error(broker: Broker, version: Version) -> None:
    started = time.monotonic()
    with pytest.raises(BrokerError) as caught:
        make_client(broker, version, passcode="not-the-passcode").connect()
    assert time.monotonic() - started < 2.0
    assert caught.value.frame.command == "ERROR"


def test_an_unreachable_port_fails_fast() -> None:
    with socket.socket() as probe:  # free a moment ago: nothing listens there
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ConnectionLost, match="cannot reach"):
        Client(host=LOOPBACK, port=port, timeout=TIMEOUT).connect()
    assert time.monotonic() - started < 1.0


# -- messages ----------------------------------------------------------------------------------


@each_version
def test_text_and_binary_bodies_round_trip(broker: Broker, version: Version, queue: str) -> None:
    binary = bytes(range(256)) * 3  # NULs included: content-length frames it
    with make_client(broker, version) as client:
        subscription = subscribe(client, queue)
        client.send(queue, "héllo ✓", receipt=True)
        client.send(queue, binary, content_type="application/octet-stream", receipt=True)
        client.send(queue, "täxt", omit_content_length=True, receipt=True)
        text, data, bare = take(subscription, 3)
    assert text.text == "héllo ✓"
    assert text.content_type == "text/plain;charset=utf-8"
    assert data.body == binary
    assert data.content_length == len(binary)
    assert bare.body == "täxt".encode()
    # ActiveMQ makes a SEND without content-length a text message, sent back without one.
    assert bare.content_length == (None if broker.name == "activemq" else len(bare.body))


@each_version
def test_custom_headers_round_trip_escaped(broker: Broker, version: Version, queue: str) -> None:
    if version == "1.0":  # 1.0 has no escaping: plain values only
        headers = {"x-plain": "simple value", "x-dashes": "a-b_c.d"}
    else:
        headers = {"x-colon": "a:b:c", "x-backslash": "c\\d", "x-newline": "e\nf"}
        if version == "1.2":
            headers["x-return"] = "g\rh"  # CR is escapable in 1.2 only
    with make_client(broker, version) as client:
        subscription = subscribe(client, queue)
        client.send(queue, "h", headers=headers, receipt=True)
        message = subscription.get()
    assert {name: message.headers.get(name) for name in headers} == headers


# -- acknowledgement ---------------------------------------------------------------------------


@each_version
def test_client_ack_is_cumulative(broker: Broker, version: Version, queue: str) -> None:
    with make_client(broker, version) as client:
        subscription = subscribe(client, queue, "client")
        for body in ("m0", "m1", "m2"):
            client.send(queue, body, receipt=True)
        messages = take(subscription, 3)
        subscription.ack(messages[1], receipt=True)  # settles m0 and m1, not m2
    assert leftovers(broker, version, queue) == [b"m2"]


@versions_with_nack
def test_client_individual_ack_settles_one_message(
    broker: Broker, version: Version, queue: str
) -> None:
    with make_client(broker, version) as client:
        subscription = subscribe(client, queue, "client-individual")
        for body in ("m0", "m1", "m2"):
            client.send(queue, body, receipt=True)
        messages = take(subscription, 3)
        subscription.ack(messages[0], receipt=True)
        subscription.ack(messages[2], receipt=True)
    assert leftovers(broker, version, queue) == [b"m1"]


@versions_with_nack
def test_nack_follows_each_brokers_rule(broker: Broker, version: Version, queue: str) -> None:
    with make_client(broker, version) as client:
        subscription = subscribe(client, queue, "client-individual")
        client.send(queue, "refused", receipt=True)
        subscription.nack(subscription.get(), receipt=True)
        if broker.name == "rabbitmq":  # requeued and redelivered, marked as such
            again = subscription.get()
            assert again.body == b"refused"
            assert again.headers.get("redelivered") == "true"
            subscription.ack(again, receipt=True)
        else:  # ActiveMQ: a non-persistent message is dropped, never redelivered
            assert quiet(subscription)
    assert leftovers(broker, version, queue) == []


@each_version
def test_ack_on_an_auto_subscription_is_refused_locally(
    broker: Broker, version: Version, queue: str
) -> None:
    with make_client(broker, version) as client:
        subscription = subscribe(client, queue)
        client.send(queue, "x", receipt=True)
        with pytest.raises(LocalProtocolError, match="auto"):
            subscription.ack(subscription.get())
        client.send(queue, "still connected", receipt=True)


# -- transactions, unsubscribe -----------------------------------------------------------------


@each_version
def test_transaction_commit_delivers_and_abort_discards(
    broker: Broker, version: Version, queue: str
) -> None:
    with make_client(broker, version) as client:
        subscription = subscribe(client, queue)
        with client.transaction() as tx:
            client.send(queue, "kept", transaction=tx)
            assert quiet(subscription)  # nothing is delivered before COMMIT
        assert subscription.get().body == b"kept"
        with pytest.raises(RuntimeError, match="changed my mind"), client.transaction() as tx:
            client.send(queue, "dropped", transaction=tx)
            raise RuntimeError("changed my mind")
        assert not client.engine.transactions
        assert quiet(subscription)
        client.send(queue, "after", receipt=True)  # the session goes on
        assert subscription.get().body == b"after"


@each_version
def test_a_late_receipt_after_a_timeout_does_no_harm(
    broker: Broker, version: Version, queue: str
) -> None:
    """RabbitMQ holds back the RECEIPT of a SEND in a transaction until after the COMMIT."""
    with make_client(broker, version, timeout=1.5) as client:
        subscription = subscribe(client, queue)
        with client.transaction() as tx:
            if broker.name == "rabbitmq":
                with pytest.raises(TimeoutError, match="no RECEIPT for SEND"):
                    client.send(queue, "held", transaction=tx, receipt=True)
            else:
                client.send(queue, "held", transaction=tx, receipt=True)
        assert subscription.get().body == b"held"
        client.send(queue, "next", receipt=True)  # the late RECEIPT came in between, harmlessly
        assert subscription.get().body == b"next"
        assert client.failure is None
        assert not client.engine.pending_receipts


@each_version
def test_unsubscribe_ends_iteration_and_delivery(
    broker: Broker, version: Version, queue: str
) -> None:
    with make_client(broker, version) as client:
        first = subscribe(client, queue)
        first.unsubscribe()
        assert list(first) == []  # iteration ends at once
        second = subscribe(client, queue)
        client.send(queue, "for the second", receipt=True)
        assert second.get().body == b"for the second"
        with pytest.raises(LocalProtocolError, match="unsubscribed"):
            first.get(QUIET)


# -- heart-beats -------------------------------------------------------------------------------


@versions_with_heart_beats
def test_heart_beats_keep_an_idle_connection_alive(broker: Broker, version: Version) -> None:
    with make_client(broker, version, heart_beat=FAST_BEATS) as client:
        send_ms, receive_ms = client.engine.heart_beat
        assert send_ms and receive_ms
        # Longer than the broker waits for a silent client (RabbitMQ ~3 s, ActiveMQ ~1.5 s):
        # without our EOLs it would hang up, and without its EOLs our deadline would pass.
        time.sleep(3.5 if broker.name == "rabbitmq" else 2.0)
        assert client.failure is None
        assert client.engine.decoder.heartbeats_received >= 2
        client.send(PING, "alive", receipt=True)


@versions_with_heart_beats
def test_a_slow_handler_does_not_cause_a_heartbeat_timeout(
    broker: Broker, version: Version, queue: str
) -> None:
    handled = threading.Event()
    with make_client(broker, version, heart_beat=FAST_BEATS) as client:
        receive_ms = client.engine.heart_beat.receive_ms
        nap = 2 * receive_ms / 1000 + 0.5  # past the silence deadline (two intervals)

        @client.on(Message, destination=queue)
        def slow(message: Message) -> ClientFrame | None:
            time.sleep(nap)
            handled.set()
            return client.engine.ack(message)

        subscribe(client, queue, "client-individual")
        client.send(queue, "slow work", receipt=True)
        assert handled.wait(nap + TIMEOUT)
        client.send(PING, "alive", receipt=True)
        assert client.failure is None
        assert client.engine.decoder.heartbeats_received >= 1
    assert leftovers(broker, version, queue) == []  # the handler's ACK went out


# -- errors and the end ------------------------------------------------------------------------


@each_version
def test_an_error_frame_reaches_the_waiter_and_every_later_call(
    broker: Broker, version: Version, queue: str
) -> None:
    with make_client(broker, version) as client:
        subscription = subscribe(client, queue, "client")
        started = time.monotonic()
        with pytest.raises(BrokerError) as caught:
            if broker.name == "rabbitmq":  # RabbitMQ refuses an unknown destination prefix
                client.send("/invalid/x", "nowhere", receipt=True)
            else:  # ActiveMQ takes any destination, but not an ACK of an unknown message
                client.send(queue, "real", receipt=True)
                real = subscription.get()
                # An id no message ever had (a near miss of a real one may name a real one);
                # ActiveMQ wants a ':' in it, or it drops the socket without an ERROR.
                forged = real.model_copy(
                    update={
                        "message_id": "no-such:1",
                        "ack": None if real.ack is None else "no-such:1",
                    }
                )
                subscription.ack(forged, receipt=True)
        assert time.monotonic() - started < TIMEOUT / 2  # at once, not after the timeout
        assert caught.value.frame.command == "ERROR"
        assert client.engine.state is State.CLOSED
        with pytest.raises(BrokerError):
            client.send(queue, "after the error")
        with pytest.raises(BrokerError):
            list(subscription)


@each_version
def test_graceful_disconnect_delivers_what_was_sent(
    broker: Broker, version: Version, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stompmodels.blocking")
    with make_client(broker, version) as client:
        subscription = subscribe(client, queue)
        client.send(queue, "queued before close", receipt=True)
        deadline = time.monotonic() + TIMEOUT
        while not subscription.pending and time.monotonic() < deadline:
            time.sleep(0.01)
    assert client.engine.state is State.CLOSED
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [m.body for m in subscription] == [b"queued before close"]  # then it ends quietly
    with pytest.raises(ConnectionLost, match="closed"):
        client.send(queue, "after close")
