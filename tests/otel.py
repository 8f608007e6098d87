"""The tests' OpenTelemetry SDK: in-memory exporters behind the global providers.

The global tracer and meter providers can be set only once per process, so every test of the
telemetry (asyncio, blocking, Twisted; with or without a broker) goes through `capture()`: the
first call installs a `TracerProvider` whose `SimpleSpanProcessor` exports to an
`InMemorySpanExporter`, and a `MeterProvider` read by an `InMemoryMetricReader`; every call
clears the finished spans and hands back the `Otel` view of both.

Metrics are cumulative over the process: read them for the test's own destination (every test
uses a unique one), or as the difference between two readings (`Otel.total` before and after).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

DESTINATION: Final = "messaging.destination.name"

# The metrics of `stompmodels._client.telemetry.Telemetry` (named here, so a renamed instrument
# fails the tests instead of reading as zero).
SENT: Final = "messaging.client.sent.messages"
CONSUMED: Final = "messaging.client.consumed.messages"
ACKNOWLEDGED: Final = "stompmodels.messages.acknowledged"
NACKED: Final = "stompmodels.messages.nacked"
DEAD_LETTERED: Final = "stompmodels.messages.dead_lettered"
PROCESS_DURATION: Final = "messaging.process.duration"
BYTES_SENT: Final = "stompmodels.bytes.sent"
BYTES_RECEIVED: Final = "stompmodels.bytes.received"
RECONNECTS: Final = "stompmodels.reconnects"
HEARTBEAT_TIMEOUTS: Final = "stompmodels.heartbeat.timeouts"
IN_FLIGHT: Final = "stompmodels.messages.in_flight"
PER_MESSAGE: Final = (SENT, CONSUMED, ACKNOWLEDGED, NACKED, DEAD_LETTERED, IN_FLIGHT)
"""The counters with a `messaging.destination.name` (and the histogram, PROCESS_DURATION)."""


@dataclass(frozen=True, slots=True)
class Point:
    """One data point of a metric: its attributes and its value (a histogram's: its count)."""

    attributes: Mapping[str, object]
    value: float
    total: float
    """The sum of a histogram's values; the value of a counter."""


@dataclass(frozen=True, slots=True)
class Otel:
    """What the SDK recorded: finished spans (cleared per test) and cumulative metrics."""

    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    # -- spans -------------------------------------------------------------------------------

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        """The finished spans (named `name`, if given), in the order they ended."""
        finished = self.exporter.get_finished_spans()
        return [span for span in finished if name is None or span.name == name]

    def span(self, name: str) -> ReadableSpan:
        """The one finished span named `name` (AssertionError if none or several)."""
        found = self.spans(name)
        names = [span.name for span in self.spans()]
        assert len(found) == 1, f"{len(found)} spans named {name!r}; all: {names}"
        return found[0]

    # -- metrics -----------------------------------------------------------------------------

    def points(self, metric: str) -> list[Point]:
        """Every data point of `metric` so far (cumulative), whatever its attributes."""
        data = self.reader.get_metrics_data()
        found: list[Point] = []
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for recorded in scope.metrics:
                    if recorded.name != metric:
                        continue
                    for point in recorded.data.data_points:
                        if isinstance(point, HistogramDataPoint):
                            found.append(
                                Point(dict(point.attributes or {}), point.count, point.sum)
                            )
                        elif isinstance(point, NumberDataPoint):
                            value = float(point.value)
                            found.append(Point(dict(point.attributes or {}), value, value))
        return found

    def total(self, metric: str, attributes: Mapping[str, object] | None = None) -> float:
        """The sum of `metric` (a histogram: its count) over the points whose attributes
        include all of `attributes`."""
        wanted = dict(attributes or {})
        return sum(
            point.value
            for point in self.points(metric)
            if all(point.attributes.get(key) == value for key, value in wanted.items())
        )

    def on(self, metric: str, destination: str) -> float:
        """`metric` for one destination (a histogram: how many values it recorded)."""
        return self.total(metric, {DESTINATION: destination})

    def counts(self, destination: str) -> dict[str, float]:
        """Every per-message metric for `destination` (the histogram: its count), by name."""
        names = (*PER_MESSAGE, PROCESS_DURATION)
        return {name: self.on(name, destination) for name in names}

    def attributes_of(self, metric: str, destination: str) -> list[Mapping[str, object]]:
        """The attribute sets `metric` has for `destination`."""
        return [
            point.attributes
            for point in self.points(metric)
            if point.attributes.get(DESTINATION) == destination
        ]


_installed: list[Otel] = []  # the one Otel of the process, once installed


def capture() -> Otel:
    """The SDK behind the global providers (installed on the first call), its spans cleared."""
    if not _installed:
        exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[reader])
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
        # Set once per process: a provider installed elsewhere first would leave ours unused.
        assert trace.get_tracer_provider() is tracer_provider, "a tracer provider was set before"
        assert metrics.get_meter_provider() is meter_provider, "a meter provider was set before"
        _installed.append(Otel(exporter, reader))
    otel = _installed[0]
    otel.exporter.clear()
    return otel


# -- checks shared by the tests ------------------------------------------------------------------


def traceparent_of(span: ReadableSpan) -> str:
    """The W3C `traceparent` header that names `span` (with its flags: sampled, random)."""
    context = span.get_span_context()
    assert context is not None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def is_child(child: ReadableSpan, parent: ReadableSpan) -> bool:
    """Whether `child` is a direct child of `parent`, in the same trace."""
    context, parent_context = child.get_span_context(), parent.get_span_context()
    assert context is not None and parent_context is not None
    return (
        child.parent is not None
        and child.parent.span_id == parent_context.span_id
        and context.trace_id == parent_context.trace_id
    )


def event_names(span: ReadableSpan) -> list[str]:
    return [event.name for event in span.events]
