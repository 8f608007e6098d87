"""Telemetry and health (issue 15) against RabbitMQ and ActiveMQ, with the SDK's in-memory
exporters (`tests.otel`).

- One trace from `publish` in one client to the subscriber's handler in another: the process
  span is the child of the send span, the receipt a child span of the send; the attributes
  follow OpenTelemetry's messaging conventions.
- A trace context written by hand (`traceparent`, as another library would) by a client
  without telemetry is continued by a subscriber with it.
- A handler's exception shows on its span and in the metrics.
- The counts match the messages actually sent and received.
- `health()` turns false when the broker is cut (the fault proxy; true again after the
  reconnect, which is counted) and when its heart-beats stop (the proxy black-holes them).

The scenarios are driver-neutral: they drive a `Peer` (one client, through blocking calls
from the test's thread) that a `Driver` makes. A client kind is one `Driver` subclass: the
asyncio client runs on a loop in a thread of its own; the blocking client is called as it is;
Twisted's factories run on a SelectReactor of their own, in a thread of their own (Twisted's
global reactor is never started: it cannot run twice in a process).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, SpanKind, StatusCode
from pydantic import BaseModel
from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.selectreactor import SelectReactor

from stompmodels import Message
from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import ConnectionLost, HeartbeatTimeout
from stompmodels._client.health import Health
from stompmodels.aio import Client as AioClient
from stompmodels.blocking import Client as BlockingClient
from stompmodels.twisted import StompClientFactory, StompProtocol
from tests.drivers.harness import typed
from tests.faultproxy import FaultProxy
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
)

from ._brokers import Broker

T = TypeVar("T")

TIMEOUT: Final = 5.0
"""Each client's own bound on its waits."""
WAIT: Final = 10.0
"""The longest the test waits for anything (a delivery, a span, a verdict)."""
CALL: Final = 15.0
"""The bound on one call into the asyncio client's loop or the Twisted client's reactor."""
QUICK: Final = Backoff(initial=0.05, maximum=0.3, attempts=60)
LOOPBACK: Final = "127.0.0.1"

# A plain handler of typed messages: the payload and the MESSAGE, to a reply or None.
Handler = Callable[[Any, Message], object]


class Order(BaseModel):
    id: int
    amount: float


def unique() -> str:
    return f"/queue/stompmodels-otel-{uuid.uuid4().hex[:12]}"


def eventually(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Wait (polling) until `condition()` holds; AssertionError naming `what` if it does not
    within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.01)


# -- the client kinds ----------------------------------------------------------------------------


class Peer(ABC):
    """One client, driven from the test's thread with blocking calls."""

    @abstractmethod
    def subscriber(
        self, destination: str, payload: type, handler: Handler, *, dead_letter: str | None = None
    ) -> None:
        """Register `handler` as a typed subscriber of `payload` (before or after connect)."""

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def publish(
        self,
        destination: str,
        payload: object,
        *,
        receipt: bool = False,
        correlation_id: str | None = None,
    ) -> None: ...

    @abstractmethod
    def send(
        self,
        destination: str,
        body: str,
        *,
        headers: Mapping[str, str] | None = None,
        receipt: bool = False,
    ) -> None: ...

    @abstractmethod
    def health(self) -> Health: ...

    @property
    @abstractmethod
    def failure(self) -> ConnectionLost | None: ...

    @abstractmethod
    def close(self) -> None: ...


class Driver(ABC):
    """Makes the peers of one client kind, and closes them all at the end of a test."""

    def __init__(self) -> None:
        self.peers: list[Peer] = []

    def client(
        self,
        url: str,
        *,
        telemetry: bool = True,
        heart_beat: tuple[int, int] = (0, 0),
        reconnect: Backoff | bool = False,
    ) -> Peer:
        peer = self.make(url, telemetry=telemetry, heart_beat=heart_beat, reconnect=reconnect)
        self.peers.append(peer)
        return peer

    @abstractmethod
    def make(
        self, url: str, *, telemetry: bool, heart_beat: tuple[int, int], reconnect: Backoff | bool
    ) -> Peer: ...

    def stop(self) -> None:
        for peer in reversed(self.peers):
            try:
                peer.close()
            except (ConnectionLost, TimeoutError) as exc:  # a test that cut it
                print(f"close: {exc}")


# asyncio: a loop in a thread of its own; every call is a coroutine run there, bounded.


class AioDriver(Driver):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="aio-peers", daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T], timeout: float = CALL) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def call(self, function: Callable[[], T]) -> T:
        async def on_the_loop() -> T:
            return function()

        return self.run(on_the_loop())

    def make(
        self, url: str, *, telemetry: bool, heart_beat: tuple[int, int], reconnect: Backoff | bool
    ) -> Peer:
        def build() -> AioClient:
            return AioClient(
                url,
                heart_beat=heart_beat,
                timeout=TIMEOUT,
                reconnect=reconnect,
                telemetry=telemetry,
            )

        return AioPeer(self, self.call(build))

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(CALL)
            if not self.thread.is_alive():
                self.loop.close()


@dataclass
class AioPeer(Peer):
    driver: AioDriver
    client: AioClient

    def subscriber(
        self, destination: str, payload: type, handler: Handler, *, dead_letter: str | None = None
    ) -> None:
        async def wrapper(payload: object, message: Message) -> object:
            return handler(payload, message)

        register = self.client.subscriber(destination, dead_letter=dead_letter)
        self.driver.call(lambda: register(typed(wrapper, payload, handler)))

    def connect(self) -> None:
        self.driver.run(self.client.connect())

    def publish(
        self,
        destination: str,
        payload: object,
        *,
        receipt: bool = False,
        correlation_id: str | None = None,
    ) -> None:
        self.driver.run(
            self.client.publish(
                destination, payload, receipt=receipt, correlation_id=correlation_id
            )
        )

    def send(
        self,
        destination: str,
        body: str,
        *,
        headers: Mapping[str, str] | None = None,
        receipt: bool = False,
    ) -> None:
        self.driver.run(self.client.send(destination, body, headers=headers, receipt=receipt))

    def health(self) -> Health:
        return self.driver.call(self.client.health)

    @property
    def failure(self) -> ConnectionLost | None:
        return self.client.failure

    def close(self) -> None:
        self.driver.run(self.client.close(timeout=TIMEOUT))


# blocking: the client as it is; its handlers run on its own threads.


class BlockingDriver(Driver):
    def make(
        self, url: str, *, telemetry: bool, heart_beat: tuple[int, int], reconnect: Backoff | bool
    ) -> Peer:
        client = BlockingClient(
            url, heart_beat=heart_beat, timeout=TIMEOUT, reconnect=reconnect, telemetry=telemetry
        )
        return BlockingPeer(client)


@dataclass
class BlockingPeer(Peer):
    client: BlockingClient

    def subscriber(
        self, destination: str, payload: type, handler: Handler, *, dead_letter: str | None = None
    ) -> None:
        def wrapper(payload: object, message: Message) -> object:
            return handler(payload, message)

        self.client.subscriber(destination, dead_letter=dead_letter)(
            typed(wrapper, payload, handler)
        )

    def connect(self) -> None:
        self.client.connect()

    def publish(
        self,
        destination: str,
        payload: object,
        *,
        receipt: bool = False,
        correlation_id: str | None = None,
    ) -> None:
        self.client.publish(destination, payload, receipt=receipt, correlation_id=correlation_id)

    def send(
        self,
        destination: str,
        body: str,
        *,
        headers: Mapping[str, str] | None = None,
        receipt: bool = False,
    ) -> None:
        self.client.send(destination, body, headers=headers, receipt=receipt)

    def health(self) -> Health:
        return self.client.health()

    @property
    def failure(self) -> ConnectionLost | None:
        return self.client.failure

    def close(self) -> None:
        self.client.close(timeout=TIMEOUT)


# Twisted: a SelectReactor of its own in a thread of its own; every call is made there, bounded.


class TwistedDriver(Driver):
    def __init__(self) -> None:
        super().__init__()
        self.reactor = SelectReactor()
        self.thread = threading.Thread(
            target=self.reactor.run,
            kwargs={"installSignalHandlers": False},
            name="twisted-peers",
            daemon=True,
        )
        self.thread.start()

    def run(self, work: Callable[[], Deferred[T]], timeout: float = CALL) -> T:
        """Start `work()` on the reactor; what its Deferred fires with (or its exception),
        within `timeout` seconds (else it is cancelled, and TimeoutError)."""
        result: concurrent.futures.Future[T] = concurrent.futures.Future()
        started: list[Deferred[T]] = []

        def start() -> None:
            done = maybeDeferred(work)
            started.append(done)
            done.addCallbacks(
                result.set_result, lambda failure: result.set_exception(failure.value)
            )

        def cancel() -> None:
            for done in started:
                done.cancel()

        self.reactor.callFromThread(start)
        try:
            return result.result(timeout)
        except concurrent.futures.TimeoutError:
            self.reactor.callFromThread(cancel)
            raise

    def call(self, function: Callable[[], T]) -> T:
        return self.run(lambda: succeed(function()))

    def make(
        self, url: str, *, telemetry: bool, heart_beat: tuple[int, int], reconnect: Backoff | bool
    ) -> Peer:
        def build() -> StompClientFactory:
            return StompClientFactory(
                url,
                heart_beat=heart_beat,
                timeout=TIMEOUT,
                reconnect=reconnect,
                telemetry=telemetry,
                reactor=self.reactor,
            )

        return TwistedPeer(self, self.call(build))

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self.reactor.callFromThread(self.reactor.stop)
            self.thread.join(CALL)


@dataclass
class TwistedPeer(Peer):
    driver: TwistedDriver
    factory: StompClientFactory
    protocol: StompProtocol | None = None

    def subscriber(
        self, destination: str, payload: type, handler: Handler, *, dead_letter: str | None = None
    ) -> None:
        async def wrapper(payload: object, message: Message) -> object:
            return handler(payload, message)

        register = self.factory.subscriber(destination, dead_letter=dead_letter)
        self.driver.call(lambda: register(typed(wrapper, payload, handler)))

    def connect(self) -> None:
        self.protocol = self.driver.run(self.factory.connect)

    def connected(self) -> StompProtocol:
        assert self.protocol is not None, "not connected"
        return self.protocol

    def publish(
        self,
        destination: str,
        payload: object,
        *,
        receipt: bool = False,
        correlation_id: str | None = None,
    ) -> None:
        protocol = self.connected()
        self.driver.run(
            lambda: protocol.publish(
                destination, payload, receipt=receipt, correlation_id=correlation_id
            )
        )

    def send(
        self,
        destination: str,
        body: str,
        *,
        headers: Mapping[str, str] | None = None,
        receipt: bool = False,
    ) -> None:
        protocol = self.connected()
        self.driver.run(lambda: protocol.send(destination, body, headers=headers, receipt=receipt))

    def health(self) -> Health:
        return self.driver.call(self.factory.health)

    @property
    def failure(self) -> ConnectionLost | None:
        return self.factory.failure

    def close(self) -> None:
        self.driver.run(lambda: self.factory.close(timeout=TIMEOUT))


DRIVERS: Final[dict[str, Callable[[], Driver]]] = {
    "aio": AioDriver,
    "blocking": BlockingDriver,
    "twisted": TwistedDriver,
}


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """Each client kind in turn; its clients are closed at the end of the test."""
    made = DRIVERS[request.param]()
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture
def otel() -> Otel:
    return capture()


# -- what handlers saw -----------------------------------------------------------------------------


@dataclass
class Seen:
    """What a scenario's handler was given, and the span that was current while it ran."""

    messages: list[Message] = field(default_factory=list)
    payloads: list[object] = field(default_factory=list)
    spans: list[SpanContext] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, fail_first: int = 0) -> Handler:
        """A handler that records each message; it raises on the first `fail_first`."""

        def take(payload: object, message: Message) -> None:
            with self.lock:
                self.messages.append(message)
                self.payloads.append(payload)
                self.spans.append(trace.get_current_span().get_span_context())
                count = len(self.messages)
            if count <= fail_first:
                raise RuntimeError(f"boom {count}")

        return take

    def __len__(self) -> int:
        with self.lock:
            return len(self.messages)


def ended(otel: Otel, name: str, count: int = 1) -> list[ReadableSpan]:
    """The spans named `name`, once `count` of them ended (a process span ends after its
    ACK or NACK is written)."""
    eventually(lambda: len(otel.spans(name)) >= count, f"{count} span(s) {name!r}")
    return otel.spans(name)


def server(broker: Broker, port: int | None = None) -> dict[str, object]:
    """The connection attributes of a client of `broker` (reached on `port`, if a proxy's)."""
    return {
        "messaging.system": broker.name,  # "rabbitmq", "activemq"
        "server.address": LOOPBACK,
        "server.port": port or broker.port,
    }


# -- traces ----------------------------------------------------------------------------------------


def test_one_trace_runs_from_publish_to_the_handler_in_another_client(
    broker: Broker, driver: Driver, otel: Otel
) -> None:
    destination, correlation = unique(), f"corr-{uuid.uuid4().hex[:8]}"
    seen = Seen()
    consumer = driver.client(broker.url)
    take = seen.handler()
    consumer.subscriber(destination, Order, take)
    consumer.connect()
    producer = driver.client(broker.url)
    producer.connect()
    producer.publish(destination, Order(id=7, amount=2.5), receipt=True, correlation_id=correlation)

    [process] = ended(otel, f"process {destination}")
    send, receipt = otel.span(f"send {destination}"), otel.span("receipt SEND")
    [message] = seen.messages
    assert seen.payloads == [Order(id=7, amount=2.5)]

    assert send.kind is SpanKind.PRODUCER and process.kind is SpanKind.CONSUMER
    assert receipt.kind is SpanKind.CLIENT
    assert is_child(receipt, send)
    assert is_child(process, send)
    assert process.parent is not None and process.parent.is_remote  # through the broker
    assert send.parent is None
    assert seen.spans == [process.context]  # current while the handler ran
    for span in (send, receipt, process):
        assert span.status.status_code is StatusCode.UNSET, span.name

    body_size = len(Order(id=7, amount=2.5).model_dump_json())
    assert dict(send.attributes or {}) == {
        **server(broker),
        "messaging.destination.name": destination,
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
        "messaging.message.conversation_id": correlation,
        "messaging.message.body.size": body_size,
    }
    assert message.subscription and message.message_id
    assert dict(process.attributes or {}) == {
        **server(broker),
        "messaging.destination.name": destination,
        "messaging.destination.subscription.name": message.subscription,
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "messaging.message.id": message.message_id,
        "messaging.message.body.size": body_size,
        "messaging.message.conversation_id": correlation,
        "code.function.name": take.__qualname__,
    }
    assert event_names(process) == ["ack"]
    eventually(lambda: otel.on(ACKNOWLEDGED, destination) == 1, "the ACK counted")
    assert otel.counts(destination) == {
        SENT: 1,
        CONSUMED: 1,
        ACKNOWLEDGED: 1,
        NACKED: 0,
        DEAD_LETTERED: 0,
        IN_FLIGHT: 0,
        PROCESS_DURATION: 1,
    }
    for metric in (SENT, CONSUMED, ACKNOWLEDGED, PROCESS_DURATION):
        for attributes in otel.attributes_of(metric, destination):
            assert attributes.items() >= server(broker).items(), (metric, attributes)


def test_a_trace_context_written_by_hand_is_continued(
    broker: Broker, driver: Driver, otel: Otel
) -> None:
    destination = unique()
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    seen = Seen()
    consumer = driver.client(broker.url)
    consumer.subscriber(destination, str, seen.handler())
    consumer.connect()
    other = driver.client(broker.url, telemetry=False)  # "another library"
    other.connect()
    other.send(
        destination,
        "from elsewhere",
        headers={"traceparent": f"00-{trace_id}-{span_id}-01", "tracestate": "congo=t61rcWkg"},
        receipt=True,
    )

    [process] = ended(otel, f"process {destination}")
    assert seen.payloads == ["from elsewhere"]
    assert process.parent is not None and process.parent.is_remote
    assert f"{process.parent.span_id:016x}" == span_id
    assert f"{process.context.trace_id:032x}" == trace_id
    assert process.context.trace_state.get("congo") == "t61rcWkg"
    assert seen.spans == [process.context]
    assert otel.spans(f"send {destination}") == []  # the sender records nothing
    assert otel.on(SENT, destination) == 0
    assert otel.on(CONSUMED, destination) == 1


def test_a_handler_s_exception_shows_on_its_span_and_in_the_metrics(
    broker: Broker, driver: Driver, otel: Otel
) -> None:
    destination = unique()
    seen = Seen()
    consumer = driver.client(broker.url)
    consumer.subscriber(destination, Order, seen.handler(fail_first=1))
    consumer.connect()
    producer = driver.client(broker.url)
    producer.connect()
    producer.publish(destination, Order(id=1, amount=1.0), receipt=True)

    name = f"process {destination}"
    eventually(
        lambda: any(s.status.status_code is StatusCode.ERROR for s in otel.spans(name)),
        "the failed process span",
    )
    [failed] = [s for s in otel.spans(name) if s.status.status_code is StatusCode.ERROR]
    assert failed.status.description == "boom 1"
    assert event_names(failed) == ["exception", "nack"]
    exception = failed.events[0].attributes or {}
    assert exception["exception.type"] == "RuntimeError"
    assert exception["exception.message"] == "boom 1"
    assert (failed.attributes or {})["error.type"] == "RuntimeError"
    assert is_child(failed, otel.span(f"send {destination}"))
    assert seen.spans[0] == failed.context
    assert otel.on(NACKED, destination) == 1
    assert otel.on(CONSUMED, destination) >= 1
    assert otel.on(PROCESS_DURATION, destination) >= 1
    # A redelivery (if the broker makes one) is handled and ACKed, in a span of its own.
    for span in otel.spans(name):
        if span is not failed:
            assert event_names(span) == ["ack"]
            assert span.status.status_code is StatusCode.UNSET


def test_the_counts_match_the_messages_sent_and_received(
    broker: Broker, driver: Driver, otel: Otel
) -> None:
    destination, count = unique(), 5
    bytes_before = otel.total(BYTES_SENT), otel.total(BYTES_RECEIVED)
    seen = Seen()
    consumer = driver.client(broker.url)
    consumer.subscriber(destination, Order, seen.handler())
    consumer.connect()
    producer = driver.client(broker.url)
    producer.connect()
    for n in range(count):
        producer.publish(destination, Order(id=n, amount=1.0), receipt=n == count - 1)

    processes = ended(otel, f"process {destination}", count)
    eventually(lambda: otel.on(ACKNOWLEDGED, destination) == count, f"{count} ACKs counted")
    assert sorted(payload.id for payload in seen.payloads if isinstance(payload, Order)) == list(
        range(count)
    )
    assert otel.counts(destination) == {
        SENT: count,
        CONSUMED: count,
        ACKNOWLEDGED: count,
        NACKED: 0,
        DEAD_LETTERED: 0,
        IN_FLIGHT: 0,
        PROCESS_DURATION: count,
    }
    sends = otel.spans(f"send {destination}")
    assert len(sends) == count and len(processes) == count
    # Each message's process span is the child of its own send span: one trace each.
    parents = sorted(p.parent.span_id for p in processes if p.parent is not None)
    assert parents == sorted(s.context.span_id for s in sends)
    assert len({p.context.trace_id for p in processes}) == count
    body_sizes = sum(len(Order(id=n, amount=1.0).model_dump_json()) for n in range(count))
    assert otel.total(BYTES_SENT) - bytes_before[0] > body_sizes
    assert otel.total(BYTES_RECEIVED) - bytes_before[1] > body_sizes


def test_without_telemetry_nothing_is_recorded(broker: Broker, driver: Driver, otel: Otel) -> None:
    destination = unique()
    seen = Seen()
    consumer = driver.client(broker.url, telemetry=False)
    consumer.subscriber(destination, Order, seen.handler())
    consumer.connect()
    producer = driver.client(broker.url, telemetry=False)
    producer.connect()
    producer.publish(destination, Order(id=1, amount=1.0), receipt=True)
    eventually(lambda: len(seen) == 1, "the delivery")
    [message] = seen.messages
    assert "traceparent" not in message.headers
    assert seen.spans == [trace.INVALID_SPAN_CONTEXT]
    assert otel.spans() == []
    assert set(otel.counts(destination).values()) == {0}


# -- health ----------------------------------------------------------------------------------------


def test_health_turns_false_when_the_broker_is_cut_and_true_after_the_reconnect(
    broker: Broker, driver: Driver, otel: Otel
) -> None:
    with FaultProxy(broker.port) as proxy:
        client = driver.client(proxy.url(broker.url), reconnect=QUICK)
        client.subscriber(unique(), Order, Seen().handler())
        client.connect()
        eventually(lambda: client.health().ok, "health after connecting")
        health = client.health()
        assert health.server is not None and health.server.startswith(broker.product)
        reconnects = server(broker, proxy.port)
        assert otel.total(RECONNECTS, reconnects) == 0
        proxy.refuse()
        proxy.cut()
        eventually(lambda: not client.health().ok, "health turning false")
        assert "not connected" in client.health().problems
        assert not client.health().connected
        proxy.refuse(False)
        eventually(lambda: client.health().ok, "health after the reconnect", timeout=15)
        # counted once the subscriptions are renewed, which may be just after health is ok
        eventually(lambda: otel.total(RECONNECTS, reconnects) >= 1, "the reconnect counted")
        assert otel.total(RECONNECTS, reconnects) == 1
        client.close()


def test_health_turns_false_when_the_broker_s_heart_beats_stop(
    broker: Broker, driver: Driver, otel: Otel
) -> None:
    with FaultProxy(broker.port) as proxy:
        client = driver.client(proxy.url(broker.url), heart_beat=(1000, 1000))
        client.connect()
        time.sleep(1.2)  # a heart-beat or two have come
        assert client.health().ok, client.health().problems
        timeouts = server(broker, proxy.port)
        assert otel.total(HEARTBEAT_TIMEOUTS, timeouts) == 0
        proxy.set("down", blackhole=True)
        silent = time.monotonic()
        problems: set[str] = set()

        def unwell() -> bool:
            health = client.health()
            problems.update(health.problems)
            return not health.ok

        eventually(unwell, "health turning false")
        assert time.monotonic() - silent > 1.0  # not before the deadline (2.5 intervals)
        assert all(
            "sent nothing for" in problem
            or problem in ("not connected", "the reader is not running")
            for problem in problems
        ), problems
        eventually(lambda: client.failure is not None, "the heart-beat timeout")
        assert isinstance(client.failure, HeartbeatTimeout)
        assert "not connected" in client.health().problems
        assert otel.total(HEARTBEAT_TIMEOUTS, timeouts) == 1
        proxy.heal()
