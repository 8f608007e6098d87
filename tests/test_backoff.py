"""Reconnect backoff: exponential, capped, jittered, bounded in count."""

from __future__ import annotations

import random

import pytest

from stompmodels.aio import Backoff


def test_delays_grow_exponentially_up_to_the_cap_without_jitter() -> None:
    delays = list(Backoff(initial=0.1, maximum=1.0, factor=2, jitter=0, attempts=6).delays())
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_jitter_only_shortens_a_delay_and_is_seeded() -> None:
    policy = Backoff(initial=1, maximum=1, jitter=0.5, attempts=200)
    delays = list(policy.delays(random.Random(7)))
    assert all(0.5 <= delay <= 1.0 for delay in delays)
    assert len(set(delays)) > 100  # really random
    assert delays == list(policy.delays(random.Random(7)))


def test_unbounded_attempts_keep_coming() -> None:
    delays = Backoff(attempts=None, jitter=0).delays()
    assert [next(delays) for _ in range(100)][-1] == 10.0


@pytest.mark.parametrize(
    "bad",
    [
        {"initial": 0},
        {"initial": 2, "maximum": 1},
        {"factor": 0.5},
        {"jitter": 1.5},
        {"attempts": 0},
    ],
)
def test_nonsense_policies_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="Backoff"):
        Backoff(**bad)  # type: ignore[arg-type]  # the values are of the right types
