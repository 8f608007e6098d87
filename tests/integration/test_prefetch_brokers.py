"""Prefetch against the real brokers: an unacknowledged subscription gets no more than its
window, and each ACK lets one more message through (aio and blocking clients)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Final

import pytest

from stompmodels import Message, aio, blocking

from ._brokers import Broker

WINDOW: Final = 3
SENT: Final = 10
QUIET: Final = 1.0  # seconds watched for a message beyond the window


def queue_name() -> str:
    return f"/queue/stompmodels-prefetch-{uuid.uuid4().hex[:12]}"


def test_aio_subscription_receives_no_more_than_its_window(broker: Broker) -> None:
    async def scenario() -> tuple[int, int]:
        queue = queue_name()
        async with aio.Client(broker.url, timeout=5.0) as client:
            subscription = await client.subscribe(
                queue, ack="client-individual", prefetch=WINDOW, headers={"x-expires": "300000"}
            )
            for number in range(SENT):
                await client.send(queue, str(number), receipt=True)
            held: list[Message] = [await subscription.get() for _ in range(WINDOW)]
            with pytest.raises(TimeoutError):
                await subscription.get(timeout=QUIET)  # the broker holds the rest back
            await subscription.ack(held[0])
            await subscription.get(timeout=5.0)  # one ACK, one more message
            with pytest.raises(TimeoutError):
                await subscription.get(timeout=QUIET)
            return len(held), len(subscription._queue)

    held, queued = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert (held, queued) == (WINDOW, 0)


def test_blocking_subscription_receives_no_more_than_its_window(broker: Broker) -> None:
    queue = queue_name()
    with blocking.Client(broker.url, timeout=5.0) as client:
        subscription = client.subscribe(
            queue, ack="client-individual", prefetch=WINDOW, headers={"x-expires": "300000"}
        )
        for number in range(SENT):
            client.send(queue, str(number), receipt=True)
        held = [subscription.get(timeout=5.0) for _ in range(WINDOW)]
        with pytest.raises(TimeoutError):
            subscription.get(timeout=QUIET)
        subscription.ack(held[0])
        subscription.get(timeout=5.0)
        with pytest.raises(TimeoutError):
            subscription.get(timeout=QUIET)
