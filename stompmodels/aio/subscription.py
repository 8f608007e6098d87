"""A subscription of the asyncio client: its messages, as an async iterator."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Self

from stompmodels._frames import Message, Subscribe
from stompmodels._headers import AckMode
from stompmodels.aio.inbox import Inbox

if TYPE_CHECKING:
    from stompmodels.aio.client import Client


class Subscription:
    """Messages of one subscription, as an async iterator; ends when unsubscribed or closed.

    It outlives reconnects: the client subscribes again, with the same id, on a new connection.
    """

    def __init__(self, client: Client, frame: Subscribe, size: int) -> None:
        assert frame.id is not None  # the client's subscriptions always have ids
        self.client = client
        self.id = frame.id
        self.destination = frame.destination
        self.ack_mode: AckMode = frame.ack
        self.headers = dict(frame.headers)
        # A bounded queue: when the consumer lags, the reader waits, and TCP pushes back.
        self._queue: Inbox[Message | None] = Inbox(size)
        self._ended = False  # no more messages will come (the end marker may not fit in)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        queue = self._queue
        if queue.items:
            message = queue.take()  # no coroutine for what is already there
        elif self._ended:
            self.client._raise_if_failed()
            raise StopAsyncIteration
        else:
            connection = self.client._connection
            if connection is not None:
                # Nothing left to take: what the consumer queued meanwhile (its ACKs) goes out
                # now, not a pass of the event loop later, so the broker sends more sooner.
                connection.flush()
            message = await queue.get()
        if message is None:
            queue.offer(None)  # every later call ends too
            self.client._raise_if_failed()
            raise StopAsyncIteration
        return message

    async def get(self, timeout: float | None = None) -> Message:
        """The next message, waiting at most `timeout` seconds (the client's default if None).

        Raises TimeoutError ("no message within 0.5 s") when none comes in time.
        """
        if self._queue.items:
            return await anext(self)  # there already: no wait, so no timer to set and cancel
        limit = self.client.timeout if timeout is None else timeout
        scope = asyncio.timeout(limit)
        try:
            async with scope:
                return await anext(self)
        except TimeoutError:
            if not scope.expired():
                raise  # not this wait's own limit
            raise TimeoutError(f"no message within {limit:g} s") from None

    def ack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> Awaitable[None]:
        """Acknowledge `message` (await it): `Client.ack`, without a coroutine of its own."""
        return self.client.ack(message, transaction=transaction, receipt=receipt)

    def nack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> Awaitable[None]:
        """Reject `message` (await it; the broker may redeliver it)."""
        return self.client.nack(message, transaction=transaction, receipt=receipt)

    async def unsubscribe(self, *, receipt: bool = True) -> None:
        """End the subscription; with `receipt`, wait until the broker confirms."""
        await self.client._unsubscribe(self, receipt=receipt)

    def _close(self) -> None:
        self._ended = True
        self._queue.offer(None)  # refused when full: nobody waits then; see __anext__
