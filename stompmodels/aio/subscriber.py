"""A typed subscriber of the asyncio client: its inbox and the tasks that run its handler."""

from __future__ import annotations

import asyncio

from stompmodels._client.subscribers import SubscriberSpec
from stompmodels._frames import Message
from stompmodels.aio.inbox import Inbox


class Subscriber:
    """The MESSAGEs of one `@client.subscriber`, waiting for one of its `max_concurrent`
    workers. The inbox holds what the broker sent ahead (`prefetch`); it outlives reconnects."""

    def __init__(self, spec: SubscriberSpec, size: int) -> None:
        self.spec = spec
        self.id = ""
        """The subscription's id (the client's session assigns it)."""
        self._queue: Inbox[Message | None] = Inbox(size)
        self.workers: list[asyncio.Task[None]] = []
        self.running = 0
        """Handlers running now (never more than `spec.max_concurrent`)."""

    def _close(self) -> None:
        """No more messages: every worker ends once its handler is done. Messages not yet
        handled are dropped; unacknowledged, the broker delivers them again."""
        self._queue.items.clear()
        self._queue.offer(None)
