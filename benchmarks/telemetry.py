"""What `telemetry=True` costs on a typed round trip through a real broker.

Each mode runs in a process of its own (OpenTelemetry's global providers are set once per
process): telemetry off; on with the API alone (no SDK installed as provider: every call is a
no-op); on with the SDK (a BatchSpanProcessor exporting to nowhere, an in-memory metric
reader). One asyncio process publishes N JSON orders with `publish` and takes them with an
`@subscriber` (client-individual) on a second connection; the table gives messages per second
and this process's CPU per message (both sides are in it), median of the runs.

    .venv/bin/python benchmarks/telemetry.py [--url stomp://guest:guest@127.0.0.1:61613/]
        [--count 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Final

from pydantic import BaseModel

from stompmodels import Message
from stompmodels.aio import Client

MODES: Final = ("off", "api", "sdk")
LABELS: Final = {
    "off": "telemetry off",
    "api": "telemetry=True, API only (no SDK provider)",
    "sdk": "telemetry=True, SDK (batch spans to nowhere, metrics in memory)",
}


class Order(BaseModel):
    id: int
    amount: float
    note: str


def install_sdk() -> None:
    """The SDK as the global providers, exporting spans to nowhere."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Nowhere(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Nowhere()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


async def one_run(url: str, count: int, telemetry: bool) -> tuple[float, float]:
    """(messages per second, CPU microseconds per message) of one round trip."""
    destination = f"/queue/stompmodels-bench-otel-{uuid.uuid4().hex}"
    headers = {"x-expires": "60000"} if "61613" in url else {}
    consumer = Client(url, telemetry=telemetry)
    done = asyncio.Event()
    taken = 0

    @consumer.subscriber(destination, prefetch=1000, headers=headers)
    async def take(order: Order, message: Message) -> None:
        nonlocal taken
        taken += 1
        if taken == count:
            done.set()

    order = Order(id=1, amount=9.5, note="x" * 980)
    async with consumer, Client(url, telemetry=telemetry) as producer:
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            await producer.publish(destination, order, headers=headers)
        async with asyncio.timeout(120):
            await done.wait()
        wall, used = time.perf_counter() - started, time.process_time() - cpu
    return count / wall, used / count * 1e6


def child(url: str, count: int, runs: int, mode: str) -> None:
    if mode == "sdk":
        install_sdk()
    results = [asyncio.run(one_run(url, count, mode != "off")) for _ in range(runs)]
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="stomp://guest:guest@127.0.0.1:61613/")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.mode is not None:
        child(args.url, args.count, args.runs, args.mode)
        return
    rows = []
    for mode in MODES:
        print(f"... {LABELS[mode]}", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, __file__, "--url", args.url, "--count", str(args.count),
             "--runs", str(args.runs), "--mode", mode],
            capture_output=True, text=True, timeout=1800, check=True,
        )  # fmt: skip
        results = json.loads(done.stdout)
        rows.append(
            (
                LABELS[mode],
                statistics.median(r[0] for r in results),
                statistics.median(r[1] for r in results),
            )
        )
    base_rate, base_cpu = rows[0][1], rows[0][2]
    print(f"{args.count} orders of ~1 KiB per run, {args.runs} runs per mode, {args.url}")
    print(f"{'mode':<66} {'msgs/s':>8} {'vs off':>7} {'CPU us/msg':>11} {'+us/msg':>8}")
    for label, rate, cpu in rows:
        print(
            f"{label:<66} {rate:>8,.0f} {rate / base_rate:>6.2f}x {cpu:>11.1f} "
            f"{cpu - base_cpu:>+8.1f}"
        )


if __name__ == "__main__":
    main()
