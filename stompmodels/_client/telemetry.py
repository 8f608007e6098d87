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

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Final

from stompmodels._client.errors import MissingExtra
from stompmodels._client.url import BrokerURL
from stompmodels._frames import Message

try:
    from opentelemetry import metrics, propagate, trace
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


class Telemetry:
    """One client's instruments; a driver calls it where things happen (see the module)."""

    def __init__(self) -> None:
        self.tracer = trace.get_tracer(NAME, _VERSION)
        meter = metrics.get_meter(NAME, _VERSION)
        self.sent = meter.create_counter(
            "messaging.client.sent.messages", "{message}", "Messages sent (SEND frames)."
        )
        self.consumed = meter.create_counter(
            "messaging.client.consumed.messages", "{message}", "MESSAGE frames received."
        )
        self.acknowledged = meter.create_counter(
            "stompmodels.messages.acknowledged", "{message}", "Messages ACKed."
        )
        self.nacked = meter.create_counter(
            "stompmodels.messages.nacked", "{message}", "Messages NACKed."
        )
        self.dead_lettered = meter.create_counter(
            "stompmodels.messages.dead_lettered", "{message}", "Messages sent to a dead letter."
        )
        self.process_duration = meter.create_histogram(
            "messaging.process.duration", "s", "How long handlers took, per message."
        )
        self.bytes_sent = meter.create_counter("stompmodels.bytes.sent", "By", "Bytes written.")
        self.bytes_received = meter.create_counter(
            "stompmodels.bytes.received", "By", "Bytes read."
        )
        self.reconnects = meter.create_counter(
            "stompmodels.reconnects", "{reconnect}", "Sessions opened again after a loss."
        )
        self.heartbeat_timeouts = meter.create_counter(
            "stompmodels.heartbeat.timeouts", "{timeout}", "Brokers found silent too long."
        )
        self.in_flight = meter.create_up_down_counter(
            "stompmodels.messages.in_flight", "{message}", "Messages whose handler runs now."
        )
        self.attributes: dict[str, str | int] = {"messaging.system": "stomp"}

    # -- the connection --------------------------------------------------------------------

    def connected(self, url: BrokerURL, server: str | None, *, again: bool) -> None:
        """A session opened with the broker at `url`, whose CONNECTED said `server`."""
        self.attributes = {
            "messaging.system": messaging_system(server),
            "server.address": url.host,
            "server.port": url.port,
        }
        if again:
            self.reconnects.add(1, self.attributes)

    def heartbeat_timeout(self) -> None:
        """The broker was silent past the agreed deadline."""
        self.heartbeat_timeouts.add(1, self.attributes)

    def wrote(self, size: int) -> None:
        """`size` bytes went to the broker."""
        self.bytes_sent.add(size, self.attributes)

    def read(self, size: int) -> None:
        """`size` bytes came from the broker."""
        self.bytes_received.add(size, self.attributes)

    def received(self, message: Message) -> None:
        """A MESSAGE came (for a subscription or a handler)."""
        self.consumed.add(1, self._on(message.destination, message.subscription))

    # -- producing -------------------------------------------------------------------------

    def sending(
        self, destination: str, headers: Mapping[str, str] | None, correlation_id: str | None
    ) -> tuple[Span, dict[str, str]]:
        """Start the producer span of a SEND to `destination`; `headers` with its trace
        context added, to send."""
        attributes = {
            **self._on(destination, None),
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
        self.sent.add(1, self._on(destination, None))

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
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, str(error)))
            span.set_attribute("error.type", type(error).__qualname__)
        span.end()

    # -- consuming -------------------------------------------------------------------------

    @contextmanager
    def processing(self, message: Message, handler: str) -> Iterator[Span]:
        """The consumer span around handling `message` (current while the handler runs), the
        child of the trace context its headers carry; the handler's duration and the message
        in flight are measured around it."""
        parent = propagate.extract(dict(message.headers))
        attributes = {
            **self._on(message.destination, message.subscription),
            "messaging.operation.name": "process",
            "messaging.operation.type": "process",
            "messaging.message.id": message.message_id,
            "messaging.message.body.size": len(message.body),
            "code.function.name": handler,
        }
        correlation = message.headers.get("correlation-id")
        if correlation is not None:
            attributes["messaging.message.conversation_id"] = correlation
        flight = self._on(message.destination, message.subscription)
        self.in_flight.add(1, flight)
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
            self.in_flight.add(-1, flight)
            self.process_duration.record(time.perf_counter() - started, flight)

    @staticmethod
    def failed(error: BaseException) -> None:
        """The handler of the current process span (or the payload) failed with `error`."""
        span = trace.get_current_span()
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, str(error)))
        span.set_attribute("error.type", type(error).__qualname__)

    def settled(self, message: Message, command: str, *, dead_letter: bool = False) -> None:
        """`command` settled `message`: an ACK or NACK, or a SEND (a dead-letter copy, or the
        handler's reply); an event on the current process span, and a count."""
        attributes = self._on(message.destination, message.subscription)
        if command == "ACK":
            self.acknowledged.add(1, attributes)
            event = "ack"
        elif command == "NACK":
            self.nacked.add(1, attributes)
            event = "nack"
        elif dead_letter:
            self.dead_lettered.add(1, attributes)
            event = "dead_letter"
        else:
            event = "reply"
        trace.get_current_span().add_event(event)

    def _on(self, destination: str | None, subscription: str | None) -> dict[str, str | int]:
        attributes = dict(self.attributes)
        if destination is not None:
            attributes["messaging.destination.name"] = destination
        if subscription is not None:
            attributes["messaging.destination.subscription.name"] = subscription
        return attributes
