"""`listen --stats`: counts and rates of what a listener took, on stderr once a second."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from typing import Final, TextIO

from stompmodels._frames import Message

EVERY: Final = 1.0
"""Seconds between two lines."""


class Stats:
    """What a listener has taken so far, and the rates since the last line."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = self._last_at = clock()
        self.messages = self.bytes = self.acked = 0
        self.redelivered = 0
        self._last_messages = self._last_bytes = 0

    def took(self, message: Message, *, acked: bool) -> None:
        """Count `message` (and its ACK, if one was sent)."""
        self.messages += 1
        self.bytes += len(message.body)
        self.acked += acked
        self.redelivered += message.headers.get("redelivered") == "true"

    def line(self) -> str:
        """One line: totals, and the rates since the previous line."""
        now = self._clock()
        span = max(now - self._last_at, 1e-9)
        rate = (self.messages - self._last_messages) / span
        byte_rate = (self.bytes - self._last_bytes) / span
        self._last_at, self._last_messages, self._last_bytes = now, self.messages, self.bytes
        return (
            f"stats {now - self.started:.0f} s: {self.messages} messages ({rate:.0f}/s), "
            f"{self.bytes} body bytes ({byte_rate:.0f} B/s), {self.acked} acked, "
            f"{self.redelivered} redelivered"
        )


async def report(stats: Stats, out: TextIO | None = None, every: float = EVERY) -> None:
    """Write `stats.line()` to `out` (stderr) every `every` seconds, until cancelled."""
    while True:
        await asyncio.sleep(every)
        print(stats.line(), file=out or sys.stderr, flush=True)
