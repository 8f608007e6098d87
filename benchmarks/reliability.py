"""Reliability under faults, measured: the fault scenarios of the tests, at full size.

    .venv/bin/python benchmarks/reliability.py             # every scenario (about 3 minutes)
    .venv/bin/python benchmarks/reliability.py --only stream --messages 20000 --cuts 9

Needs the two brokers on loopback (`make brokers`). Each scenario is the code the tests run
(tests/integration/_fault_*.py), sized up; this script only measures and prints one table
per scenario, and the machine line. Nothing here is a pass/fail verdict except "lost", which
must be 0: a run with a loss says so in its table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

_ROOT = Path(__file__).resolve().parents[1]
if (_ROOT / "stompmodels" / "__init__.py").is_file() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from report import format_table, machine_line  # noqa: E402

from stompmodels import AckMode  # noqa: E402
from tests.integration._brokers import BROKERS, Broker  # noqa: E402
from tests.integration._fault_cuts import stream_with_cuts  # noqa: E402
from tests.integration._fault_limits import (  # noqa: E402
    GIB_STREAM,
    HOSTILE,
    MIB,
    Hostile,
    HostileOutcome,
    play,
)
from tests.integration._fault_limits_twisted import play_twisted  # noqa: E402
from tests.integration._fault_limits_ws import play_websocket  # noqa: E402
from tests.integration._fault_silent import silent_peer_aio, silent_peer_blocking  # noqa: E402
from tests.integration._fault_slow import drain, fill, new_destination, take_slowly  # noqa: E402
from tests.integration._fault_stall import stalled_waits_aio, stalled_waits_blocking  # noqa: E402
from tests.integration._fault_stream import ClientKind  # noqa: E402

SCENARIOS: Final = ("stream", "silent", "stall", "slow", "limits")
CLIENTS: Final[tuple[ClientKind, ...]] = ("aio", "blocking")


def rss() -> int:
    """This process's resident set size, in bytes (Linux)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * 4096


@contextmanager
def rss_growth() -> Iterator[list[int]]:
    """Sample RSS every 20 ms while the block runs; yields [peak growth over the start]."""
    start, peak, stop = rss(), [0], threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], rss() - start)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join(1.0)
        peak[0] = max(peak[0], rss() - start)


def spread(values: Sequence[float]) -> str:
    """ "median / max" in seconds, or "-" when there is nothing."""
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} / {max(values):.2f}"


def mib(size: int) -> str:
    return f"{size / MIB:.1f} MiB"


def stream(brokers: list[Broker], messages: int, cuts: int) -> list[str]:
    header = [
        "client",
        "broker",
        "injected",
        "messages",
        "sent",
        "lost",
        "duplicated",
        "detect med/max s",
        "recover med/max s",
        "RSS growth",
        "time s",
    ]
    rows = []
    for client in CLIENTS:
        for broker in brokers:
            with rss_growth() as growth:
                run = stream_with_cuts(
                    broker.url, broker.port, broker.product, messages, cuts=cuts, client=client
                )
            result = run.stream
            kinds = sorted({cut.kind.split(" (")[0] for cut in run.cuts})
            rows.append(
                [
                    client,
                    broker.name,
                    f"{len(run.cuts)} cuts ({', '.join(kinds)})",
                    f"{result.confirmed}/{messages}",
                    str(result.sent),
                    str(result.lost) + ("" if result.failure is None else f" ({result.failure})"),
                    str(result.duplicated),
                    spread(run.detections()),
                    spread(result.recoveries),
                    mib(growth[0]),
                    f"{result.elapsed:.1f}",
                ]
            )
    return format_table(header, rows, left=3)


def silent(brokers: list[Broker]) -> list[str]:
    header = ["client", "broker", "heart-beat", "bound s", "detected after s", "recovered s"]
    rows = []
    for client, scenario in (("aio", silent_peer_aio), ("blocking", silent_peer_blocking)):
        for broker in brokers:
            run = scenario(broker.url, broker.port)
            bound = run.receive_ms / 1000 * 2.5
            rows.append(
                [
                    client,
                    broker.name,
                    f"{run.receive_ms} ms",
                    f"{bound:.2f}",
                    f"{run.detected_after:.2f} ({type(run.error).__name__})",
                    f"{run.recovered_after:.2f}",
                ]
            )
    return format_table(header, rows, left=3)


def stall(brokers: list[Broker]) -> list[str]:
    header = ["client", "broker", "wait", "timeout s", "ended after s", "error"]
    rows = []
    for client, scenario in (("aio", stalled_waits_aio), ("blocking", stalled_waits_blocking)):
        for broker in brokers:
            for wait in scenario(broker.url, broker.port):
                said = repr(wait.error) if wait.error is not None else "; ".join(wait.warnings)
                rows.append(
                    [
                        client,
                        broker.name,
                        wait.wait,
                        f"{wait.timeout:.2f}",
                        f"{wait.elapsed:.3f}",
                        said[:90],
                    ]
                )
    return format_table(header, rows, left=6)


def slow(brokers: list[Broker], queued: int) -> list[str]:
    header = ["client", "broker", "ack", "queued", "taken", "queue size", "peak", "close s"]
    rows = []
    cases: tuple[tuple[ClientKind, AckMode], ...] = (
        ("aio", "client-individual"),
        ("aio", "auto"),
        ("blocking", "client-individual"),
        ("blocking", "auto"),
    )
    for broker in brokers:
        destination = new_destination()
        fill(broker.url, broker.product, destination, queued, 1024)
        for client, ack in cases:
            run = take_slowly(
                broker.url, broker.product, destination, queued, client=client, ack=ack, taken=1000
            )
            rows.append(
                [
                    client,
                    broker.name,
                    ack,
                    f"{queued} x 1 KiB",
                    str(run.taken),
                    str(run.queue_size),
                    mib(run.peak),
                    f"{run.close_time:.2f}",
                ]
            )
        drain(broker.url, broker.product, destination)
    return format_table(header, rows, left=3)


def limits() -> list[str]:
    header = ["transport", "case", "error", "sent to it", "peak"]
    rows = []
    players: dict[str, Callable[[Hostile], HostileOutcome]] = {
        "aio": lambda case: play(case, "aio"),
        "blocking": lambda case: play(case, "blocking"),
        "twisted (in memory)": play_twisted,
        "ws": play_websocket,
    }
    for transport, player in players.items():
        for case in (*HOSTILE, GIB_STREAM):
            outcome = player(case)
            error = str(outcome.error).split(": ", 1)[-1][:70]  # after "connection to X failed"
            rows.append([transport, case.name, error, mib(outcome.sent), mib(outcome.peak)])
    return format_table(header, rows, left=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=SCENARIOS, action="append", help="run only these")
    parser.add_argument("--messages", type=int, default=10_000, help="messages per stream")
    parser.add_argument("--cuts", type=int, default=6, help="connection cuts per stream")
    parser.add_argument("--queued", type=int, default=50_000, help="messages a slow consumer faces")
    options = parser.parse_args()
    chosen = options.only or list(SCENARIOS)
    brokers = [BROKERS["rabbitmq"], BROKERS["activemq"]]
    print(machine_line("RabbitMQ 3.10 and ActiveMQ 5.17 on loopback"))
    sections: dict[str, Callable[[], list[str]]] = {
        "stream": lambda: stream(brokers, options.messages, options.cuts),
        "silent": lambda: silent(brokers),
        "stall": lambda: stall(brokers),
        "slow": lambda: slow(brokers, options.queued),
        "limits": limits,
    }
    titles = {
        "stream": "Connection loss during a stream (at-least-once: lost must be 0)",
        "silent": "A silent peer: heart-beats black-holed, then healed",
        "stall": "Every wait under a stalled connection",
        "slow": "A slow consumer: client memory (tracemalloc peak) and close time",
        "limits": "Hostile limits: a fake broker breaks a limit",
    }
    for name in chosen:
        started = time.monotonic()
        lines = sections[name]()
        print(f"\n## {titles[name]} ({time.monotonic() - started:.0f} s)\n")
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
