"""The stream scenario with its connections cut by the fault proxy (tests and benchmark).

`stream_with_cuts` runs `_fault_stream.run_stream` through a `FaultProxy` that cuts every
connection (publisher's and consumer's) at evenly spaced points of the stream: alternately at
once, mid-frame on the way up (part of a SEND or ACK reaches the broker) and mid-frame on the
way down (part of a MESSAGE or RECEIPT reaches the client).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from tests.faultproxy import Direction, FaultProxy

from ._fault_stream import (
    ClientKind,
    StreamProgress,
    StreamResult,
    act_in_stages,
    queue_args,
    run_stream,
)

PREFETCH: Final = 500  # unacknowledged messages the broker may send ahead
# (bytes of the next chunk forwarded before the cut, which way); None: cut at once.
CUT_KINDS: Final[tuple[tuple[int | None, Direction | None], ...]] = (
    (None, None),
    (7, "up"),
    (30, "down"),
)


@dataclass(frozen=True, slots=True)
class Cut:
    """One cut: when it began (seconds into the stream), what it did, what it ended."""

    at: float
    after: int | None
    direction: Direction | None
    connections: int

    @property
    def kind(self) -> str:
        if self.after is None:
            return "at once"
        return f"mid-frame {self.direction} (after {self.after} B)"


@dataclass(frozen=True, slots=True)
class CutStream:
    """A stream's counts, and the cuts made while it ran."""

    stream: StreamResult
    cuts: tuple[Cut, ...]

    def detections(self) -> list[float]:
        """For each cut and client it cut, seconds from the cut to that client's "lost"."""
        found: list[float] = []
        for cut, end in zip(self.cuts, [*self.cuts[1:], None], strict=True):
            for role in ("publisher", "consumer"):
                lost = [
                    event.at
                    for event in self.stream.events
                    if event.role == role
                    and event.event == "lost"
                    and cut.at <= event.at < (end.at if end else float("inf"))
                ]
                if lost:
                    found.append(lost[0] - cut.at)
        return found


def stream_with_cuts(
    broker_url: str,
    broker_port: int,
    product: str,
    count: int,
    *,
    cuts: int = 3,
    client: ClientKind = "aio",
    persistent: bool = False,
    deadline: float = 120.0,
) -> CutStream:
    """Stream `count` messages to `product` through a proxy that cuts `cuts` times."""
    made: list[Cut] = []
    holds = [(number + 1) * count // (cuts + 1) for number in range(cuts)]
    with FaultProxy(broker_port) as proxy:

        def disrupt(progress: StreamProgress) -> None:
            def cut() -> None:
                after, direction = CUT_KINDS[len(made) % len(CUT_KINDS)]
                at = time.monotonic() - progress.started
                ended = proxy.cut(after=after, direction=direction)
                made.append(Cut(at, after, direction, ended))

            act_in_stages(progress, holds, cut, timeout=deadline)

        url = proxy.url(broker_url)
        result = run_stream(
            url,
            url,
            count,
            disrupt,
            client=client,
            subscribe_headers=queue_args(product),
            send_headers=queue_args(product),
            prefetch=PREFETCH,
            persistent=persistent,
            deadline=deadline,
            hold_at=holds[0],
        )
    return CutStream(result, tuple(made))
