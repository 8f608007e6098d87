"""Deliveries: the messages of a connection, by identity, held weakly."""

from __future__ import annotations

import gc

from stompmodels import Message
from stompmodels._client.deliveries import Deliveries


def message(number: int) -> Message:
    return Message(
        destination="/queue/a", message_id=f"m-{number}", subscription="s", ack=f"a-{number}"
    )


def test_a_message_is_known_by_identity_not_by_equality() -> None:
    deliveries = Deliveries()
    first = message(1)
    deliveries.add(first)
    assert first in deliveries
    twin = message(1)
    assert twin == first
    assert twin not in deliveries  # the same frame delivered again is another delivery


def test_a_dead_message_is_not_known_even_if_its_id_is_reused() -> None:
    deliveries = Deliveries()
    deliveries.add(message(1))  # nobody holds it: it dies at once
    gc.collect()
    later = [message(n) for n in range(200)]  # some may reuse the dead one's address
    assert not any(m in deliveries for m in later)


def test_dead_entries_are_swept_so_memory_stays_bounded() -> None:
    deliveries = Deliveries()
    kept = [message(n) for n in range(10)]
    for m in kept:
        deliveries.add(m)
    for number in range(100_000):
        deliveries.add(message(number))  # each dies as soon as it is added
    assert len(deliveries) <= 2 * 1024  # the first sweep threshold, doubled at most
    assert all(m in deliveries for m in kept)


def test_absorb_takes_the_messages_of_an_ended_connection() -> None:
    earlier, current = Deliveries(), Deliveries()
    old, new = message(1), message(2)
    earlier.add(old)
    current.add(new)
    current.absorb(earlier)
    assert old in current and new in current
