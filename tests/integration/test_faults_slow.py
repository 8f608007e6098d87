"""A slow consumer: the client's memory stays bounded, and a full queue holds nothing up.

20,000 messages of 1 KiB (20 MiB) wait at the broker; a consumer with `queue_size=100` takes
300 of them slowly while tracemalloc measures the peak. With client-individual ack the client
asks for a prefetch of its queue size, so the broker holds back; with auto ack there is no
prefetch, and only the client's back-pressure bounds memory. Closing afterwards must not wait
for the timeout because the reader is stuck on a full queue, and an iterator must end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import pytest

from stompmodels import AckMode

from ._brokers import BROKERS, Broker, BrokerGate
from ._fault_slow import (
    TIMEOUT,
    SlowConsumer,
    drain,
    fill,
    iterate_after_close,
    new_destination,
    take_slowly,
)
from ._fault_stream import ClientKind

QUEUED: Final = 20_000
SIZE: Final = 1024
BOUND: Final = 4 * 1024 * 1024  # bytes: under a quarter of what waits at the broker
CASES: Final[tuple[tuple[ClientKind, AckMode], ...]] = (
    ("aio", "client-individual"),
    ("aio", "auto"),
    ("blocking", "auto"),
)
case_ids = [f"{client}-{ack}" for client, ack in CASES]


@pytest.fixture(scope="module", params=sorted(BROKERS, reverse=True))
def filled(request: pytest.FixtureRequest, brokers: BrokerGate) -> Iterator[tuple[Broker, str]]:
    """A broker, and a queue of its own holding QUEUED messages (drained at the end)."""
    broker = brokers.require(BROKERS[request.param])
    destination = new_destination()
    fill(broker.url, broker.product, destination, QUEUED, SIZE)
    yield broker, destination
    drain(broker.url, broker.product, destination)


@pytest.fixture(scope="module")
def runs(filled: tuple[Broker, str]) -> dict[tuple[ClientKind, AckMode], SlowConsumer]:
    """Each case, run once per broker; the tests below check one property each."""
    broker, destination = filled
    return {
        (client, ack): take_slowly(
            broker.url, broker.product, destination, QUEUED, client=client, ack=ack, size=SIZE
        )
        for client, ack in CASES
    }


@pytest.mark.parametrize(("client", "ack"), CASES, ids=case_ids)
def test_a_slow_consumer_keeps_the_clients_memory_bounded(
    runs: dict[tuple[ClientKind, AckMode], SlowConsumer], client: ClientKind, ack: AckMode
) -> None:
    run = runs[client, ack]
    print(f"{client} {ack}: peak {run.peak / 1024:.0f} KiB with {QUEUED * SIZE >> 20} MiB queued")
    assert run.queued * run.size >= 4 * BOUND
    assert run.peak < BOUND


@pytest.mark.parametrize(("client", "ack"), CASES, ids=case_ids)
def test_closing_is_not_held_up_by_a_full_queue(
    runs: dict[tuple[ClientKind, AckMode], SlowConsumer], client: ClientKind, ack: AckMode
) -> None:
    run = runs[client, ack]
    assert not [w for w in run.close_warnings if "DISCONNECT" in w]  # its RECEIPT was read
    assert run.close_time < TIMEOUT


def test_an_iterator_ends_after_close_even_if_its_queue_was_full(
    filled: tuple[Broker, str],
) -> None:
    broker, destination = filled
    got, ended = iterate_after_close(broker.url, broker.product, destination)
    assert got > 0  # what was queued is still given out...
    assert ended  # ...and then the iteration ends
