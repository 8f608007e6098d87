"""Telemetry and health (issue 15) without a broker: the asyncio client on the in-memory broker.

A real `stompmodels.aio.Client` made with ``telemetry=True`` talks to the driver suite's
in-memory broker (a `MockStream` per connection, as in tests/test_aio_typed.py); the test
pushes MESSAGEs itself, some with a hand-written W3C `traceparent`, and reads what the
OpenTelemetry SDK recorded through the global providers (`tests.otel.capture`): the producer
span of each SEND and the trace context it writes, the consumer span of each message handled
(the child of the context it carries), its ACK / NACK / dead-letter / reply events, a
handler's exception, and the counters. Metrics are cumulative, so each test reads them for its
own destination, or for its own broker's port (a unique one per test).

`health()` is checked on the client (connected, reader cancelled, broker gone, broker silent
past the heart-beat deadline, a subscriber's worker dead, handlers in flight) and on
`ClientSession.health` with a fake `now`. Without telemetry nothing is recorded, no trace
context is written, and OpenTelemetry is not even imported (in a fresh interpreter).
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Final

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from stompmodels import Message, Send, Subscribe
from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import HeartbeatTimeout
from stompmodels._client.health import Health
from stompmodels._client.options import ClientOptions
from stompmodels._client.session import ClientSession, Opened
from stompmodels._client.telemetry import SYSTEMS, body_size, messaging_system
from stompmodels._client.url import BrokerURL, parse_url
from stompmodels._headers import HeartBeat
from stompmodels.aio import Client
from stompmodels.aio.stream import Stream
from tests.drivers.aio_adapter import HOST, inject_streams
from tests.drivers.harness import PASSCODE
from tests.drivers.mock_stream import MockStream
from tests.fake_server import FakeServer
from tests.otel import (
    ACKNOWLEDGED,
    BYTES_RECEIVED,
    BYTES_SENT,
    CONSUMED,
    DEAD_LETTERED,
    HEARTBEAT_TIMEOUTS,
    IN_FLIGHT,
    NACKED,
    PROCESS_DURATION,
    RECONNECTS,
    SENT,
    Otel,
    capture,
    event_names,
    is_child,
    traceparent_of,
)
from tests.test_aio_typed import (
    INVALID,
    ORDER,
    RABBITMQ,
    SETTLE,
    WAIT,
    NamedBroker,
    Order,
    Price,
    reply_frame,
    run,
    sends_to,
    settled,
    until,
    written,
)

TRACE_ID: Final = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID: Final = "00f067aa0ba902b7"
TRACEPARENT: Final = f"00-{TRACE_ID}-{SPAN_ID}-01"
"""Another library's trace context (the W3C specification's example)."""
TRACESTATE: Final = "congo=t61rcWkgMzE"
QUICK: Final = Backoff(initial=0.01, maximum=0.05, attempts=50)
_ports = itertools.count(63601)


class CountingBroker(NamedBroker):
    """The in-memory broker, which also counts the bytes each of its streams gave the client."""

    def __init__(self, port: int, server_name: str = RABBITMQ) -> None:
        super().__init__(port, server_name)
        self.port = port
        self.read_bytes = 0

    def accept(self) -> MockStream:
        stream = super().accept()
        read = stream.read

        async def counted() -> bytes:
            data = await read()
            self.read_bytes += len(data)
            return data

        stream.read = counted  # type: ignore[method-assign]  # a spy on what the client read
        return stream


@pytest.fixture
def otel() -> Otel:
    return capture()


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingBroker]:
    """One in-memory broker ("RabbitMQ/3.10.8") on a port no other test uses."""
    port = next(_ports)
    made = CountingBroker(port)

    async def opener(url: BrokerURL, *args: object, **kwargs: object) -> Stream:
        if (url.host, url.port) != (HOST, port):
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        return made.accept()

    inject_streams(monkeypatch, opener)
    yield made
    assert not made.failures, made.failures


def traced(
    broker: NamedBroker,
    *,
    telemetry: bool = True,
    timeout: float = WAIT,
    heart_beat: tuple[int, int] = (0, 0),
    reconnect: Backoff | bool = False,
) -> Client:
    return Client(
        broker.url, heart_beat=heart_beat, timeout=timeout, reconnect=reconnect, telemetry=telemetry
    )


def unique(name: str) -> str:
    return f"/queue/otel-{name}-{next(_ports)}"


def on_port(broker: CountingBroker) -> dict[str, object]:
    """The attributes of the connection-wide metrics of a client of `broker`."""
    return {"server.port": broker.port}


def common(broker: CountingBroker, destination: str) -> dict[str, object]:
    """The attributes every span of a message to `destination` on `broker` has."""
    return {
        "messaging.system": "rabbitmq",
        "server.address": HOST,
        "server.port": broker.port,
        "messaging.destination.name": destination,
    }


def subscription_of(broker: NamedBroker, destination: str) -> str:
    [subscribe] = [f for f in written(broker, Subscribe) if f.destination == destination]
    assert subscribe.id is not None
    return subscribe.id


async def ended(otel: Otel, name: str, count: int = 1) -> None:
    """Wait until `count` spans named `name` ended (a span ends after its ACK is written)."""
    await until(lambda: len(otel.spans(name)) >= count, f"{count} span(s) {name!r}")


# -- producing -----------------------------------------------------------------------------------


def test_a_send_carries_the_trace_context_of_its_producer_span(
    broker: CountingBroker, otel: Otel
) -> None:
    destination = unique("orders")

    async def scenario() -> None:
        async with traced(broker) as client:
            await client.publish(destination, Order(id=1, amount=9.5), correlation_id="c-7")
            await until(lambda: written(broker, Send), "the SEND")
            [send] = written(broker, Send)
            span = otel.span(f"send {destination}")
            assert send.headers["traceparent"] == traceparent_of(span)
            assert span.kind is SpanKind.PRODUCER
            assert span.parent is None  # nothing was current: a trace of its own
            assert span.status.status_code is StatusCode.UNSET
            assert dict(span.attributes or {}) == {
                **common(broker, destination),
                "messaging.operation.name": "send",
                "messaging.operation.type": "send",
                "messaging.message.conversation_id": "c-7",
                "messaging.message.body.size": len(send.body),
            }
            assert len(send.body) == len(Order(id=1, amount=9.5).model_dump_json())
            assert otel.on(SENT, destination) == 1
            [attributes] = otel.attributes_of(SENT, destination)
            assert attributes == common(broker, destination)

    run(scenario)


def test_a_send_inside_the_application_s_span_is_its_child_and_keeps_its_headers(
    broker: CountingBroker, otel: Otel
) -> None:
    destination = unique("plain")
    tracer = trace.get_tracer("the-application")

    async def scenario() -> None:
        async with traced(broker) as client:
            with tracer.start_as_current_span("checkout") as outer:
                await client.send(destination, "hello", headers={"x-kept": "yes"})
            await until(lambda: written(broker, Send), "the SEND")
            [send] = written(broker, Send)
            span = otel.span(f"send {destination}")
            assert is_child(span, otel.span("checkout"))
            assert outer.get_span_context().trace_id == span.context.trace_id
            assert send.headers["traceparent"] == traceparent_of(span)
            assert send.headers["x-kept"] == "yes"
            assert send.body == b"hello"
            attributes = dict(span.attributes or {})
            assert attributes["messaging.message.body.size"] == 5
            assert "messaging.message.conversation_id" not in attributes
            assert otel.on(SENT, destination) == 1

    run(scenario)


def test_a_receipt_waited_for_is_a_child_span_of_the_send(
    broker: CountingBroker, otel: Otel
) -> None:
    destination = unique("receipted")

    async def scenario() -> None:
        async with traced(broker) as client:
            await client.publish(destination, {"n": 1}, receipt=True)
            send, receipt = otel.span(f"send {destination}"), otel.span("receipt SEND")
            assert is_child(receipt, send)
            assert receipt.kind is SpanKind.CLIENT
            assert receipt.status.status_code is StatusCode.UNSET
            assert send.status.status_code is StatusCode.UNSET
            assert receipt.end_time is not None and send.end_time is not None
            assert receipt.end_time <= send.end_time

    run(scenario)


def test_a_receipt_that_never_comes_fails_the_send_span(broker: CountingBroker, otel: Otel) -> None:
    destination = unique("unconfirmed")

    async def scenario() -> None:
        async with traced(broker, timeout=0.2) as client:
            broker.hold_receipts()
            with pytest.raises(TimeoutError):
                await client.send(destination, "lost?", receipt=True)
            broker.release_receipts()
            send, receipt = otel.span(f"send {destination}"), otel.span("receipt SEND")
            for span in (send, receipt):
                assert span.status.status_code is StatusCode.ERROR
                assert "exception" in event_names(span)
            assert (send.attributes or {})["error.type"] == "TimeoutError"
            assert otel.on(SENT, destination) == 1  # it was written

    run(scenario)


def test_a_request_s_span_carries_its_correlation_id(broker: CountingBroker, otel: Otel) -> None:
    destination = unique("prices")

    async def scenario() -> None:
        async with traced(broker) as client:
            asking = asyncio.create_task(
                client.request(destination, Order(id=3, amount=1.0), response=Price)
            )
            await until(lambda: sends_to(broker, destination), "the request's SEND")
            [send] = sends_to(broker, destination)
            correlation = send.headers["correlation-id"]
            broker.push(reply_frame(send.headers["reply-to"], correlation, b'{"n": 30}'))
            async with asyncio.timeout(WAIT):
                assert await asyncio.shield(asking) == Price(n=30)
            span = otel.span(f"send {destination}")
            assert send.headers["traceparent"] == traceparent_of(span)
            attributes = span.attributes or {}
            assert attributes["messaging.message.conversation_id"] == correlation
            assert otel.on(CONSUMED, send.headers["reply-to"]) == 1  # the reply

    run(scenario)


# -- consuming -----------------------------------------------------------------------------------


def test_a_message_s_trace_context_is_continued_by_its_process_span(
    broker: CountingBroker, otel: Otel
) -> None:
    destination = unique("orders")
    inside: list[trace.SpanContext] = []

    async def scenario() -> None:
        client = traced(broker)

        @client.subscriber(destination)
        async def take(order: Order) -> None:
            inside.append(trace.get_current_span().get_span_context())

        async with client:
            broker.deliver(
                destination,
                ORDER,
                headers={
                    "traceparent": TRACEPARENT,
                    "tracestate": TRACESTATE,
                    "correlation-id": "c-3",
                },
            )
            await ended(otel, f"process {destination}")
            span = otel.span(f"process {destination}")
            assert span.kind is SpanKind.CONSUMER
            assert span.parent is not None and span.parent.is_remote
            assert f"{span.parent.span_id:016x}" == SPAN_ID
            assert f"{span.context.trace_id:032x}" == TRACE_ID
            assert span.context.trace_state.get("congo") == "t61rcWkgMzE"
            assert inside == [span.context]  # current while the handler ran
            assert dict(span.attributes or {}) == {
                **common(broker, destination),
                "messaging.destination.subscription.name": subscription_of(broker, destination),
                "messaging.operation.name": "process",
                "messaging.operation.type": "process",
                "messaging.message.id": "m-1",
                "messaging.message.body.size": len(ORDER),
                "messaging.message.conversation_id": "c-3",
                "code.function.name": take.__qualname__,
            }
            assert event_names(span) == ["ack"]
            assert span.status.status_code is StatusCode.UNSET
            assert otel.counts(destination) == {
                SENT: 0,
                CONSUMED: 1,
                ACKNOWLEDGED: 1,
                NACKED: 0,
                DEAD_LETTERED: 0,
                IN_FLIGHT: 0,
                PROCESS_DURATION: 1,
            }

    run(scenario)


def test_a_message_without_trace_context_starts_a_trace(broker: CountingBroker, otel: Otel) -> None:
    destination = unique("untraced")

    async def scenario() -> None:
        client = traced(broker)

        @client.subscriber(destination)
        async def take(order: Order) -> None:
            return None

        async with client:
            broker.deliver(destination, ORDER)
            await ended(otel, f"process {destination}")
            span = otel.span(f"process {destination}")
            assert span.parent is None
            assert "messaging.message.conversation_id" not in (span.attributes or {})

    run(scenario)


def test_a_handler_s_exception_shows_on_its_span_and_in_the_metrics(
    broker: CountingBroker, otel: Otel
) -> None:
    destination = unique("failing")

    async def scenario() -> None:
        client = traced(broker)

        @client.subscriber(destination)
        async def take(order: Order) -> None:
            raise RuntimeError("boom in the handler")

        async with client:
            broker.deliver(destination, ORDER, headers={"traceparent": TRACEPARENT})
            await ended(otel, f"process {destination}")
            span = otel.span(f"process {destination}")
            assert span.status.status_code is StatusCode.ERROR
            assert span.status.description == "boom in the handler"
            assert event_names(span) == ["exception", "nack"]
            exception = span.events[0].attributes or {}
            assert exception["exception.type"] == "RuntimeError"
            assert exception["exception.message"] == "boom in the handler"
            assert (span.attributes or {})["error.type"] == "RuntimeError"
            assert f"{span.context.trace_id:032x}" == TRACE_ID
            counts = otel.counts(destination)
            assert (counts[NACKED], counts[ACKNOWLEDGED], counts[CONSUMED]) == (1, 0, 1)
            assert counts[PROCESS_DURATION] == 1

    run(scenario)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_payload_is_a_dead_letter_event_and_count(
    broker: CountingBroker, otel: Otel, case: str
) -> None:
    body, reason = INVALID[case]
    destination, dead = unique("orders"), unique("orders.dead")

    async def scenario() -> None:
        client = traced(broker)

        @client.subscriber(destination, dead_letter=dead)
        async def take(order: Order) -> None:
            raise AssertionError("never called")

        async with client:
            broker.deliver(destination, body)
            await ended(otel, f"process {destination}")
            span = otel.span(f"process {destination}")
            assert event_names(span) == ["exception", "dead_letter", "ack"]
            assert reason in str((span.events[0].attributes or {})["exception.message"])
            assert span.status.status_code is StatusCode.ERROR
            counts = otel.counts(destination)
            assert (counts[DEAD_LETTERED], counts[ACKNOWLEDGED], counts[NACKED]) == (1, 1, 0)
            [copy] = written(broker, Send)
            assert copy.destination == dead

    run(scenario)


def test_an_invalid_payload_without_dead_letter_is_a_nack_event_and_count(
    broker: CountingBroker, otel: Otel
) -> None:
    destination = unique("orders")

    async def scenario() -> None:
        client = traced(broker)

        @client.subscriber(destination)
        async def take(order: Order) -> None:
            raise AssertionError("never called")

        async with client:
            broker.deliver(destination, INVALID["invalid-json"][0])
            await ended(otel, f"process {destination}")
            span = otel.span(f"process {destination}")
            assert event_names(span) == ["exception", "nack"]
            counts = otel.counts(destination)
            assert (counts[NACKED], counts[DEAD_LETTERED], counts[ACKNOWLEDGED]) == (1, 0, 0)

    run(scenario)


def test_a_reply_is_an_event_on_the_process_span(broker: CountingBroker, otel: Otel) -> None:
    destination, reply_to = unique("prices"), unique("answers")

    async def scenario() -> None:
        client = traced(broker)

        @client.subscriber(destination)
        async def price(order: Order) -> Price:
            return Price(n=order.id * 10)

        async with client:
            broker.deliver(
                destination, ORDER, headers={"reply-to": reply_to, "correlation-id": "c-42"}
            )
            await ended(otel, f"process {destination}")
            span = otel.span(f"process {destination}")
            assert event_names(span) == ["reply", "ack"]
            assert (span.attributes or {})["messaging.message.conversation_id"] == "c-42"
            [reply] = written(broker, Send)
            assert reply.destination == reply_to and json.loads(reply.body) == {"n": 10}
            assert otel.on(ACKNOWLEDGED, destination) == 1
            assert otel.on(DEAD_LETTERED, destination) == 0

    run(scenario)


def test_an_on_handler_of_messages_runs_in_a_process_span(
    broker: CountingBroker, otel: Otel
) -> None:
    destination = unique("handled")
    inside: list[trace.SpanContext] = []

    async def scenario() -> None:
        client = traced(broker)

        @client.on(Message, destination=destination)
        def look(message: Message) -> None:
            inside.append(trace.get_current_span().get_span_context())
            if message.body == b"bad":
                raise ValueError("a bad body")

        async with client:
            await client.subscribe(destination)
            broker.deliver(destination, b"good", headers={"traceparent": TRACEPARENT})
            broker.deliver(destination, b"bad")
            await ended(otel, f"process {destination}", 2)
            good, bad = otel.spans(f"process {destination}")
            assert inside == [good.context, bad.context]
            assert good.parent is not None and f"{good.parent.span_id:016x}" == SPAN_ID
            assert (good.attributes or {})["code.function.name"] == look.__qualname__
            assert good.status.status_code is StatusCode.UNSET
            assert bad.status.status_code is StatusCode.ERROR
            assert event_names(bad) == ["exception"]
            assert otel.on(CONSUMED, destination) == 2  # each once
            assert otel.on(PROCESS_DURATION, destination) == 2

    run(scenario)


def test_user_acks_and_nacks_are_counted(broker: CountingBroker, otel: Otel) -> None:
    destination = unique("manual")

    async def scenario() -> None:
        async with traced(broker) as client:
            subscription = await client.subscribe(destination, ack="client-individual")
            broker.deliver(destination, b"one")
            broker.deliver(destination, b"two")
            first, second = await subscription.get(WAIT), await subscription.get(WAIT)
            await client.ack(first)
            await client.nack(second)
            await until(lambda: len(settled(broker)) == 2, "the ACK and the NACK")
            counts = otel.counts(destination)
            assert (counts[CONSUMED], counts[ACKNOWLEDGED], counts[NACKED]) == (2, 1, 1)

    run(scenario)


def test_bytes_each_way_are_counted_exactly(broker: CountingBroker, otel: Otel) -> None:
    destination = unique("bytes")
    before = otel.total(BYTES_SENT), otel.total(BYTES_RECEIVED)

    async def scenario() -> None:
        client = traced(broker)

        @client.subscriber(destination)
        async def take(order: Order) -> None:
            return None

        async with client:
            await client.publish(unique("elsewhere"), {"n": 1}, receipt=True)
            broker.deliver(destination, ORDER)
            await ended(otel, f"process {destination}")

    run(scenario)
    stream = broker.stream
    assert stream is not None
    wrote = sum(len(data) for data in stream.written)
    assert wrote == len(broker.server.wire) > 0
    assert broker.read_bytes > 0
    # Every client's bytes, whatever their attributes (no other client runs meanwhile).
    assert otel.total(BYTES_SENT) - before[0] == wrote
    assert otel.total(BYTES_RECEIVED) - before[1] == broker.read_bytes


def test_heart_beats_sent_are_counted_as_bytes(broker: CountingBroker, otel: Otel) -> None:
    """The client's heart-beats (EOLs, written apart from frames) are bytes sent too."""
    broker.heart_beat = HeartBeat(0, 50)  # the broker wants one every 50 ms

    async def scenario() -> None:
        async with traced(broker, heart_beat=(50, 0)) as client:
            assert client.engine.heart_beat.send_ms == 50
            await asyncio.sleep(0.4)

    run(scenario)
    stream = broker.stream
    assert stream is not None
    beats = [data for data in stream.written if data == b"\n"]
    assert len(beats) >= 3
    assert otel.total(BYTES_SENT, on_port(broker)) == sum(len(data) for data in stream.written)


def test_every_byte_is_counted_with_the_broker_s_attributes(
    broker: CountingBroker, otel: Otel
) -> None:
    destination = unique("attributed")

    async def scenario() -> None:
        client = traced(broker)

        @client.subscriber(destination)
        async def take(order: Order) -> None:
            return None

        async with client:
            await client.publish(destination, {"id": 1, "amount": 1}, receipt=True)
            await ended(otel, f"process {destination}")

    run(scenario)
    stream = broker.stream
    assert stream is not None
    assert otel.total(BYTES_SENT, on_port(broker)) == sum(len(data) for data in stream.written)
    assert otel.total(BYTES_RECEIVED, on_port(broker)) == broker.read_bytes


# -- without telemetry ---------------------------------------------------------------------------


def test_without_telemetry_nothing_is_recorded_and_no_trace_context_is_written(
    broker: CountingBroker, otel: Otel
) -> None:
    destination = unique("dark")
    got: list[Order] = []

    async def scenario() -> None:
        client = traced(broker, telemetry=False)

        @client.subscriber(destination)
        async def take(order: Order) -> None:
            got.append(order)

        async with client:
            await client.publish(unique("elsewhere"), {"id": 2, "amount": 1.0}, receipt=True)
            await client.send(unique("elsewhere"), "plain")
            broker.deliver(destination, ORDER, headers={"traceparent": TRACEPARENT})
            await until(lambda: settled(broker), "the ACK")
            assert all("traceparent" not in send.headers for send in written(broker, Send))
            assert all("tracestate" not in send.headers for send in written(broker, Send))
        assert otel.spans() == []
        assert set(otel.counts(destination).values()) == {0}
        assert otel.total(BYTES_SENT, on_port(broker)) == 0
        assert got == [Order(id=1, amount=9.5)]

    run(scenario)


@pytest.mark.slow  # a fresh interpreter
def test_without_telemetry_opentelemetry_is_not_even_imported() -> None:
    # Each client is made (and asked for its health) without telemetry; after each, the
    # modules of OpenTelemetry and of the instruments that are loaded (none, if all is well).
    program = textwrap.dedent(
        """
        import sys

        def loaded(driver):
            names = [m for m in sys.modules if "telemetry" in m or "opentelemetry" in m]
            print(driver + ":" + ",".join(sorted(names)))

        URL = "stomp://guest:guest@127.0.0.1:61613/"
        from stompmodels.aio import Client

        assert Client(URL).health().ok is False
        loaded("aio")
        from stompmodels.blocking import Client as BlockingClient

        assert BlockingClient(URL).health().ok is False
        loaded("blocking")
        from stompmodels.twisted import StompClientFactory

        assert StompClientFactory(URL).health().ok is False
        loaded("twisted")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["aio:", "blocking:", "twisted:"]


# -- health: the client --------------------------------------------------------------------------


def test_health_before_connecting_says_not_connected(broker: CountingBroker) -> None:
    health = traced(broker).health()
    assert isinstance(health, Health)
    assert not health.ok and not health.connected and not health.reader_running
    assert health.problems == ("not connected", "the reader is not running")
    assert health.server is None and health.version is None and health.since_last_byte is None
    assert health.subscribers_running  # there are none
    assert PASSCODE not in health.broker and PASSCODE not in repr(health)


def test_health_is_ok_while_connected_with_a_running_reader(broker: CountingBroker) -> None:
    async def scenario() -> None:
        client = traced(broker)

        @client.subscriber(unique("healthy"))
        async def take(order: Order) -> None:
            return None

        async with client:
            await asyncio.sleep(SETTLE)
            health = client.health()
            assert health.ok, health.problems
            assert health.problems == ()
            assert health.connected and health.reader_running and health.subscribers_running
            assert (health.server, health.version) == (RABBITMQ, "1.2")
            assert health.broker == str(client.url)
            assert PASSCODE not in health.broker
            assert health.since_last_byte is not None
            assert 0 <= health.since_last_byte < WAIT
            assert health.in_flight == 0
        closed = client.health()
        assert not closed.ok and "not connected" in closed.problems

    run(scenario)


def test_health_is_not_ok_once_the_reader_is_cancelled(broker: CountingBroker) -> None:
    async def scenario() -> None:
        async with traced(broker) as client:
            assert client.health().ok
            connection = client._connection
            assert connection is not None
            reader = connection.tasks[0]
            assert reader.get_name().endswith(":reader")
            reader.cancel()
            await asyncio.wait([reader], timeout=WAIT)
            health = client.health()
            assert not health.ok
            assert not health.reader_running
            assert health.problems == ("the reader is not running",)

    run(scenario)


def test_health_is_not_ok_once_the_broker_hangs_up(broker: CountingBroker) -> None:
    async def scenario() -> None:
        client = traced(broker)
        await client.connect()
        try:
            assert client.health().ok
            broker.hang_up()
            await until(lambda: not client.health().ok, "health turning false")
            health = client.health()
            assert not health.connected
            assert "not connected" in health.problems
            assert (health.server, health.version) == (None, None)
        finally:
            await client.close()

    run(scenario)


def test_health_comes_back_after_a_reconnect_which_is_counted(
    broker: CountingBroker, otel: Otel
) -> None:
    async def scenario() -> None:
        async with traced(broker, reconnect=QUICK) as client:
            assert client.health().ok
            assert otel.total(RECONNECTS, on_port(broker)) == 0
            broker.refuse()
            broker.hang_up()
            await until(lambda: not client.health().ok, "health turning false")
            assert "not connected" in client.health().problems
            broker.refusing = False
            await until(lambda: client.health().ok, "health after the reconnect", timeout=5)
            # counted once the subscriptions are renewed, which may be just after health is ok
            await until(lambda: otel.total(RECONNECTS, on_port(broker)) >= 1, "the count")
            assert otel.total(RECONNECTS, on_port(broker)) == 1
            [attributes] = [
                point.attributes
                for point in otel.points(RECONNECTS)
                if point.attributes.get("server.port") == broker.port
            ]
            assert attributes == {
                "messaging.system": "rabbitmq",
                "server.address": HOST,
                "server.port": broker.port,
            }

    run(scenario)


def test_health_is_not_ok_when_the_broker_is_silent_past_the_heart_beat_deadline(
    broker: CountingBroker, otel: Otel
) -> None:
    broker.heart_beat = HeartBeat(100, 0)  # it promises a heart-beat every 100 ms, and is silent

    async def scenario() -> None:
        client = traced(broker, heart_beat=(0, 100))
        await client.connect()
        seen: set[str] = set()
        try:
            assert client.health().ok
            assert client.engine.heart_beat.receive_ms == 100

            def unwell() -> bool:
                health = client.health()
                seen.update(health.problems)
                return not health.ok

            await until(unwell, "health turning false")
            # Overdue first (until the heart-beat timer's next tick fails the connection):
            # health says so, or already that the connection is gone.
            overdue = "sent nothing for"
            assert seen and all(
                overdue in problem or problem in ("not connected", "the reader is not running")
                for problem in seen
            ), seen
            await until(lambda: client.failure is not None, "the heart-beat timeout")
            assert isinstance(client.failure, HeartbeatTimeout)
            health = client.health()
            assert not health.ok and "not connected" in health.problems
            assert otel.total(HEARTBEAT_TIMEOUTS, on_port(broker)) == 1
        finally:
            await client.close()

    run(scenario)


def test_health_stays_ok_while_the_broker_heart_beats(broker: CountingBroker, otel: Otel) -> None:
    broker.heart_beat = HeartBeat(100, 0)

    async def scenario() -> None:
        async with traced(broker, heart_beat=(0, 100)) as client:
            beats = asyncio.create_task(broker.beat(0.03))
            try:
                for _ in range(20):  # 0.5 s: twice the deadline
                    await asyncio.sleep(0.025)
                    assert client.health().ok, client.health().problems
            finally:
                beats.cancel()
            assert otel.total(HEARTBEAT_TIMEOUTS, on_port(broker)) == 0

    run(scenario)


def test_health_is_not_ok_when_a_subscriber_s_worker_died(broker: CountingBroker) -> None:
    async def scenario() -> None:
        client = traced(broker)

        @client.subscriber(unique("workers"), max_concurrent=2)
        async def take(order: Order) -> None:
            return None

        async with client:
            await asyncio.sleep(SETTLE)
            assert client.health().ok
            [sink] = client._subscribers
            worker = sink.workers[1]
            worker.cancel()
            await asyncio.wait([worker], timeout=WAIT)
            health = client.health()
            assert not health.ok and not health.subscribers_running
            assert health.problems == ("a subscriber has stopped",)
            assert health.connected and health.reader_running

    run(scenario)


def test_in_flight_counts_the_handlers_running_now(broker: CountingBroker, otel: Otel) -> None:
    destination = unique("slow")
    release = asyncio.Event()

    async def scenario() -> None:
        client = traced(broker)

        @client.subscriber(destination, max_concurrent=2)
        async def take(order: Order) -> None:
            async with asyncio.timeout(WAIT):
                await release.wait()

        async with client:
            for _ in range(3):
                broker.deliver(destination, ORDER)
            await until(lambda: client.health().in_flight == 2, "2 handlers in flight")
            await asyncio.sleep(SETTLE)
            assert client.health().in_flight == 2  # max_concurrent: the third waits
            assert client.health().ok
            assert otel.on(IN_FLIGHT, destination) == 2
            release.set()
            await until(lambda: len(settled(broker)) == 3, "3 ACKs")
            await ended(otel, f"process {destination}", 3)
            assert client.health().in_flight == 0
            assert otel.on(IN_FLIGHT, destination) == 0
            assert otel.on(PROCESS_DURATION, destination) == 3
            assert otel.on(ACKNOWLEDGED, destination) == 3

    run(scenario)


# -- health: the session, on a fake clock --------------------------------------------------------


def opened_session(heart_beat: HeartBeat) -> ClientSession[str, str]:
    """A session connected (at time 0) to a FakeServer that promises `heart_beat`."""
    url = parse_url(f"stomp://guest:{PASSCODE}@127.0.0.1:61613/")
    server = FakeServer(heart_beat=heart_beat, server_name="ActiveMQ/5.17.2")
    session: ClientSession[str, str] = ClientSession(
        ClientOptions(urls=(url,), heart_beat=HeartBeat(0, 1000))
    )
    answer = server.receive(session.begin(session.next_url, now=0.0))
    assert [type(a) for a in session.receive(b"".join(answer), now=0.0)] == [Opened]
    return session


def well(session: ClientSession[str, str], now: float, **parts: object) -> Health:
    given: dict[str, object] = {
        "connected": True,
        "reader_running": True,
        "subscribers_running": True,
        "in_flight": 0,
        **parts,
    }
    return session.health(now, **given)  # type: ignore[arg-type]  # the keywords' own types


def test_session_health_before_the_deadline_is_ok() -> None:
    session = opened_session(HeartBeat(1000, 0))
    health = well(session, 2.4, in_flight=3)
    assert health.ok and health.problems == ()
    assert (health.server, health.version) == ("ActiveMQ/5.17.2", "1.2")
    assert health.since_last_byte == pytest.approx(2.4)
    assert health.in_flight == 3
    assert PASSCODE not in health.broker


def test_session_health_past_the_heart_beat_deadline_says_how_long_the_broker_was_silent() -> None:
    session = opened_session(HeartBeat(1000, 0))
    health = well(session, 2.6)
    assert not health.ok and health.connected
    assert health.problems == (
        "stomp://guest@127.0.0.1:61613 sent nothing for 2.6 s"
        " (a heart-beat every 1000 ms was agreed)",
    )
    assert health.since_last_byte == pytest.approx(2.6)
    session.receive(b"\n", now=2.7)  # a heart-beat: well again
    assert well(session, 2.8).ok


def test_session_health_without_heart_beats_is_never_overdue() -> None:
    session = opened_session(HeartBeat(0, 0))
    assert well(session, 10_000.0).ok


def test_session_health_names_every_problem_in_order() -> None:
    session = opened_session(HeartBeat(1000, 0))
    health = well(session, 5.0, connected=False, reader_running=False, subscribers_running=False)
    assert health.problems == (
        "not connected",
        "the reader is not running",
        "a subscriber has stopped",
    )  # not overdue: silence is judged only on an open connection
    assert (health.server, health.version) == (None, None)
    assert health.since_last_byte == pytest.approx(5.0)


def test_health_is_frozen() -> None:
    session = opened_session(HeartBeat(0, 0))
    health = well(session, 1.0)
    with pytest.raises(AttributeError):
        health.ok = False  # type: ignore[misc]  # frozen


# -- the pure helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "system"),
    [
        ("RabbitMQ/3.10.8", "rabbitmq"),
        ("ActiveMQ/5.17.2", "activemq"),
        ("ActiveMQ-Artemis/2.31.2 ActiveMQ Artemis Messaging Engine", "activemq"),
        ("ActiveMQ", "activemq"),
        ("FakeMQ/1.0", "stomp"),
        ("rabbitmq/3.10.8", "stomp"),  # the product's own spelling only
        ("", "stomp"),
        (None, "stomp"),
    ],
)
def test_messaging_system_of_the_connected_server_header(server: str | None, system: str) -> None:
    assert messaging_system(server) == system


def test_every_known_system_is_a_conventional_name() -> None:
    assert set(SYSTEMS.values()) <= {"rabbitmq", "activemq"}


@pytest.mark.parametrize(
    "body", [b"", b"x", b"hello", b"two\n\nblank lines\n\n", b'{"id": 1, "amount": 9.5}']
)
def test_body_size_of_an_encoded_send(body: bytes) -> None:
    for version in ("1.0", "1.1", "1.2"):
        frame = Send(destination="/queue/a", body=body, headers={"x-h": "v"})
        data = frame.to_wire(version)
        assert body_size(data) == len(body), (version, data)


def test_body_size_of_no_frame_is_zero() -> None:
    assert body_size(b"") == 0
    assert body_size(b"SEND\ndestination:/a\n") == 0
