"""Reconnect policy: bounded exponential backoff with jitter (pure; the transport sleeps)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reconnect attempts: `initial` * `factor`**n, capped at `maximum`, each
    scaled by a random factor in [1 - jitter, 1]; at most `attempts` tries (None: no limit)."""

    initial: float = 0.1
    maximum: float = 10.0
    factor: float = 2.0
    jitter: float = 0.5
    attempts: int | None = 20

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum and self.factor >= 1 and 0 <= self.jitter <= 1):
            raise ValueError("Backoff needs 0 < initial <= maximum, factor >= 1, 0 <= jitter <= 1")
        if self.attempts is not None and self.attempts < 1:
            raise ValueError("Backoff.attempts must be positive (or None)")

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The delay before each attempt, in seconds (the first attempt waits `initial`)."""
        rng = rng or random.Random()
        attempt = 0
        while self.attempts is None or attempt < self.attempts:
            base = min(self.maximum, self.initial * self.factor**attempt)
            yield base * (1 - self.jitter * rng.random())
            attempt += 1
