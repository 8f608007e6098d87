"""OpenTelemetry instrumentation, for every driver: spans and metrics after OpenTelemetry's
messaging semantic conventions, through the global tracer and meter providers (as
instrumentation libraries do). Built only when a client is made with ``telemetry=True``; needs
the `otel` extra (opentelemetry-api).

- A producer span per SEND (``send /queue/orders``), whose W3C trace context goes out in the
  frame's `traceparent` / `tracestate` headers; a receipt waited for is a child span.
- A consumer span per message handled (``process /queue/orders``), the child of the context
  its headers carry, so one trace runs from the producer's `publish` to the consumer's handler;
  its ACK, NACK or dead-lettering are events on it, and a handler's exception is recorded.
- Counters of messages sent, received, acknowledged, NACKed and dead-lettered, of bytes each
  way, of reconnects and heart-beat timeouts; a histogram of handler durations; an up-down
  counter of messages in flight per subscription.

Not core: it reads a clock for durations (see `tests/test_purity.py`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Final, TypeAlias

from stompmodels._client.errors import MissingExtra
from stompmodels._client.url import BrokerURL
from stompmodels._frames import Message

try:
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.metrics import CallbackOptions, Histogram, Observation
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
except ModuleNotFoundError as exc:  # pragma: no cover - the extra is a test dependency
    if not MissingExtra.is_missing(exc, "opentelemetry"):
        raise
    raise MissingExtra("telemetry=True needs", "opentelemetry-api", "otel") from exc

NAME: Final = "stompmodels"
SYSTEMS: Final = {"RabbitMQ": "rabbitmq", "ActiveMQ": "activemq", "ActiveMQ-Artemis": "activemq"}
"""`messaging.system` by the product a CONNECTED `server` header names."""

try:
    _VERSION = version(NAME)
except PackageNotFoundError:  # pragma: no cover - run from a source tree without install
    _VERSION = "0"


def messaging_system(server: str | None) -> str:
    """`messaging.system` for a broker whose CONNECTED says `server` (``stomp`` if unknown)."""
    product = (server or "").partition("/")[0]
    return SYSTEMS.get(product, "stomp")


def body_size(data: bytes) -> int:
    """The body's length in an encoded frame (what follows the blank line, less the NUL)."""
    head = data.find(b"\n\n")
    return max(len(data) - head - 3, 0) if head >= 0 else 0


Attributes: TypeAlias = tuple[tuple[str, str | int], ...]
"""A set of metric attributes, frozen (a dict key)."""


class Tally:
    """Counts kept in Python and reported when a metric reader collects (observable
    instruments): a message costs a dict update under a lock, not an SDK measurement, whose
    attribute hashing costs more than the rest of a message's handling."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the blocking client counts from several threads
        self._counts: dict[str, dict[Attributes, int]] = {}

    def add(self, name: str, attributes: Attributes, amount: int = 1) -> None:
        """Add `amount` to the count `name` of `attributes`."""
        with self._lock:
            counts = self._counts.setdefault(name, {})
            counts[attributes] = counts.get(attributes, 0) + amount

    def observer(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        """The callback an observable instrument reads the count `name` with."""

        def observe(options: CallbackOptions) -> Iterable[Observation]:
            with self._lock:
                counts = list(self._counts.get(name, {}).items())
            return [Observation(value, dict(attributes)) for attributes, value in counts]

        return observe


_COUNTERS: Final = (
    ("messaging.client.sent.messages", "{message}", "Messages sent (SEND frames)."),
    ("messaging.client.consumed.messages", "{message}", "MESSAGE frames received."),
    ("stompmodels.messages.acknowledged", "{message}", "Messages ACKed."),
    ("stompmodels.messages.nacked", "{message}", "Messages NACKed."),
    ("stompmodels.messages.dead_lettered", "{message}", "Messages sent to a dead letter."),
    ("stompmodels.bytes.sent", "By", "Bytes written."),
    ("stompmodels.bytes.received", "By", "Bytes read."),
    ("stompmodels.reconnects", "{reconnect}", "Sessions opened again after a loss."),
    ("stompmodels.heartbeat.timeouts", "{timeout}", "Brokers found silent too long."),
)
IN_FLIGHT: Final = "stompmodels.messages.in_flight"


_shared: tuple[Tally, Histogram] | None = None
_shared_lock = threading.Lock()


def _instruments() -> tuple[Tally, Histogram]:
    """The process's one Tally and histogram, with their instruments (made on first use):
    an instrument made twice under one name keeps only its first callback, so every client
    counts into the same Tally, told apart by the attributes."""
    global _shared  # noqa: PLW0603  # one set of instruments per process, made lazily
    with _shared_lock:
        if _shared is None:
            meter = metrics.get_meter(NAME, _VERSION)
            tally = Tally()
            for name, unit, description in _COUNTERS:
                meter.create_observable_counter(name, [tally.observer(name)], unit, description)
            meter.create_observable_up_down_counter(
                IN_FLIGHT,
                [tally.observer(IN_FLIGHT)],
                "{message}",
                "Messages whose handler runs now.",
            )
            duration = meter.create_histogram(
                "messaging.process.duration", "s", "How long handlers took, per message."
            )
            _shared = (tally, duration)
        return _shared


class Telemetry:
    """One client's instruments; a driver calls it where things happen (see the module)."""

    def __init__(self) -> None:
        self.tracer = trace.get_tracer(NAME, _VERSION)
        self.tally, self.process_duration = _instruments()
        self.attributes: dict[str, str | int] = {"messaging.system": "stomp"}
        self._frozen: Attributes = tuple(self.attributes.items())
        self._handshake: list[int] | None = None  # bytes of a handshake under way: sent, read
        self._sets: dict[
            tuple[str | None, str | None], tuple[Attributes, dict[str, str | int]]
        ] = {}

    # -- the connection --------------------------------------------------------------------

    def connecting(self, url: BrokerURL) -> None:
        """A connection to `url` is open, its session not yet: the bytes of the handshake are
        counted once CONNECTED says which broker it is (`connected`)."""
        self._flush_handshake()  # an attempt that failed: counted as an unknown broker's
        self._set_attributes(
            {"messaging.system": "stomp", "server.address": url.host, "server.port": url.port}
        )
        self._handshake = [0, 0]

    def connected(self, url: BrokerURL, server: str | None, *, again: bool) -> None:
        """A session opened with the broker at `url`, whose CONNECTED said `server`."""
        self._set_attributes(
            {
                "messaging.system": messaging_system(server),
                "server.address": url.host,
                "server.port": url.port,
            }
        )
        self._flush_handshake()
        if again:
            self.tally.add("stompmodels.reconnects", self._frozen)

    def _set_attributes(self, attributes: dict[str, str | int]) -> None:
        self.attributes = attributes
        self._frozen = tuple(attributes.items())
        self._sets.clear()

    def _flush_handshake(self) -> None:
        handshake, self._handshake = self._handshake, None
        if handshake is not None:
            self.tally.add("stompmodels.bytes.sent", self._frozen, handshake[0])
            self.tally.add("stompmodels.bytes.received", self._frozen, handshake[1])

    def heartbeat_timeout(self) -> None:
        """The broker was silent past the agreed deadline."""
        self.tally.add("stompmodels.heartbeat.timeouts", self._frozen)

    def wrote(self, size: int) -> None:
        """`size` bytes (frames or heart-beats) went to the broker."""
        handshake = self._handshake
        if handshake is not None:
            handshake[0] += size
        else:
            self.tally.add("stompmodels.bytes.sent", self._frozen, size)

    def read(self, size: int) -> None:
        """`size` bytes came from the broker."""
        handshake = self._handshake
        if handshake is not None:
            handshake[1] += size
        else:
            self.tally.add("stompmodels.bytes.received", self._frozen, size)

    def received(self, message: Message) -> None:
        """A MESSAGE came (for a subscription or a handler)."""
        frozen, _ = self._on(message.destination, message.subscription)
        self.tally.add("messaging.client.consumed.messages", frozen)

    # -- producing -------------------------------------------------------------------------

    def sending(
        self, destination: str, headers: Mapping[str, str] | None, correlation_id: str | None
    ) -> tuple[Span, dict[str, str]]:
        """Start the producer span of a SEND to `destination`; `headers` with its trace
        context added, to send."""
        attributes = {
            **self._on(destination, None)[1],
            "messaging.operation.name": "send",
            "messaging.operation.type": "send",
        }
        if correlation_id is not None:
            attributes["messaging.message.conversation_id"] = correlation_id
        span = self.tracer.start_span(
            f"send {destination}", kind=SpanKind.PRODUCER, attributes=attributes
        )
        carrier = dict(headers or {})
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        return span, carrier

    def sent_frame(self, span: Span | None, destination: str, data: bytes) -> None:
        """A SEND to `destination` (of `span`, if it has one) was written as `data`."""
        if span is not None:
            span.set_attribute("messaging.message.body.size", body_size(data))
        self.tally.add("messaging.client.sent.messages", self._on(destination, None)[0])

    @contextmanager
    def waiting(self, span: Span | None, command: str) -> Iterator[None]:
        """A child span of `span` (or of the current span) while a receipt is waited for."""
        context = trace.set_span_in_context(span) if span is not None else None
        with self.tracer.start_as_current_span(
            f"receipt {command}", context=context, kind=SpanKind.CLIENT
        ):
            yield

    @staticmethod
    def end(span: Span, error: BaseException | None = None) -> None:
        """End `span`, recording `error` if the operation failed."""
        if error is not None:
            _record_error(span, error)
        span.end()

    # -- consuming -------------------------------------------------------------------------

    @contextmanager
    def processing(self, message: Message, handler: str) -> Iterator[Span]:
        """The consumer span around handling `message` (current while the handler runs), the
        child of the trace context its headers carry; the handler's duration and the message
        in flight are measured around it."""
        parent = propagate.extract(dict(message.headers))
        flight, labels = self._on(message.destination, message.subscription)
        attributes = {
            **labels,
            "messaging.operation.name": "process",
            "messaging.operation.type": "process",
            "messaging.message.id": message.message_id,
            "messaging.message.body.size": len(message.body),
            "code.function.name": handler,
        }
        correlation = message.headers.get("correlation-id")
        if correlation is not None:
            attributes["messaging.message.conversation_id"] = correlation
        tally = self.tally
        tally.add(IN_FLIGHT, flight)
        started = time.perf_counter()
        try:
            with self.tracer.start_as_current_span(
                f"process {message.destination}",
                context=parent,
                kind=SpanKind.CONSUMER,
                attributes=attributes,
                record_exception=True,
                set_status_on_exception=True,
            ) as span:
                yield span
        finally:
            tally.add(IN_FLIGHT, flight, -1)
            self.process_duration.record(time.perf_counter() - started, labels)

    @staticmethod
    def failed(error: BaseException) -> None:
        """The handler of the current process span (or the payload) failed with `error`."""
        _record_error(trace.get_current_span(), error)

    def settled(self, message: Message, command: str, *, dead_letter: bool = False) -> None:
        """`command` settled `message`: an ACK or NACK, or a SEND (a dead-letter copy, or the
        handler's reply); an event on the current process span, and a count."""
        frozen, _ = self._on(message.destination, message.subscription)
        if command == "ACK":
            self.tally.add("stompmodels.messages.acknowledged", frozen)
            event = "ack"
        elif command == "NACK":
            self.tally.add("stompmodels.messages.nacked", frozen)
            event = "nack"
        elif dead_letter:
            self.tally.add("stompmodels.messages.dead_lettered", frozen)
            event = "dead_letter"
        else:
            event = "reply"
        trace.get_current_span().add_event(event)

    def _on(
        self, destination: str | None, subscription: str | None
    ) -> tuple[Attributes, dict[str, str | int]]:
        """The attributes of the connection with a destination and subscription, frozen and
        as a dict (made once per pair)."""
        found = self._sets.get((destination, subscription))
        if found is None:
            labels = dict(self.attributes)
            if destination is not None:
                labels["messaging.destination.name"] = destination
            if subscription is not None:
                labels["messaging.destination.subscription.name"] = subscription
            found = self._sets[(destination, subscription)] = (tuple(labels.items()), labels)
        return found


def _record_error(span: Span, error: BaseException) -> None:
    """`error` on `span`: an exception event, an error status and `error.type`."""
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, str(error)))
    span.set_attribute("error.type", type(error).__qualname__)
