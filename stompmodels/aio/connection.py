"""The asyncio client's parts: one connection with its write queue, and a subscription."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Final, Self, TypeVar

from stompmodels._client.deliveries import Deliveries
from stompmodels._client.errors import ConnectionLost
from stompmodels._client.url import BrokerURL
from stompmodels._engine import Engine
from stompmodels._frames import Connected, Message, Subscribe
from stompmodels._headers import AckMode

from .inbox import Inbox
from .stream import Stream

if TYPE_CHECKING:
    from .client import Client

_FLUSH_AT: Final = 64 * 1024  # queued bytes that are written at once
T = TypeVar("T")


class Subscription:
    """Messages of one subscription, as an async iterator; ends when unsubscribed or closed.

    It outlives reconnects: the client subscribes again, with the same id, on a new connection.
    """

    def __init__(
        self,
        client: Client,
        frame: Subscribe,
        size: int,
    ) -> None:
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
        """The next message, waiting at most `timeout` seconds (the client's default if None)."""
        async with asyncio.timeout(self.client.timeout if timeout is None else timeout):
            return await anext(self)

    def ack(self, message: Message, *, transaction: str | None = None) -> Awaitable[None]:
        """Acknowledge `message` (await it): `Client.ack`, without a coroutine of its own."""
        return self.client.ack(message, transaction=transaction)

    def nack(self, message: Message, *, transaction: str | None = None) -> Awaitable[None]:
        """Reject `message` (await it; the broker may redeliver it)."""
        return self.client.nack(message, transaction=transaction)

    async def unsubscribe(self, *, receipt: bool = True) -> None:
        """End the subscription; with `receipt`, wait until the broker confirms."""
        await self.client._unsubscribe(self, receipt=receipt)

    def _close(self) -> None:
        self._ended = True
        self._queue.offer(None)  # refused when full: nobody waits then; see __anext__


class _Connection:
    """One connection (TCP, TLS or WebSocket) and the Engine of its session."""

    def __init__(self, url: BrokerURL, engine: Engine, name: str) -> None:
        self.url = url
        self.engine = engine
        self.name = name
        self.stream: Stream | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.connected: asyncio.Future[Connected] = asyncio.get_running_loop().create_future()
        self.receipts: dict[str, asyncio.Future[None]] = {}
        # The MESSAGEs queued for subscriptions that ACK: their ACKs name this session.
        self.received = Deliveries()
        self.failure: ConnectionLost | None = None
        self._loop = asyncio.get_running_loop()
        self.last_sent = self.last_received = self._loop.time()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._flush_soon: asyncio.Handle | None = None

    def send(self, data: bytes) -> bool:
        """Queue `data`: everything queued in one pass of the event loop goes out in one write
        (ACKs of a batch of messages cost one system call). True when it was written at once,
        because enough had piled up that the caller should let the loop run."""
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= _FLUSH_AT:
            self.flush()
            return True
        if self._flush_soon is None:
            self._flush_soon = self._loop.call_soon(self.flush)
        return False

    def flush(self) -> None:
        """Hand what is queued to the transport."""
        if self._flush_soon is not None:
            self._flush_soon.cancel()
            self._flush_soon = None
        if self._pending and self.stream is not None and self.failure is None:
            self.stream.write(self._pending)
            self.last_sent = self._loop.time()  # once per write: heart-beats need no finer clock
        self._pending = []
        self._pending_size = 0


def _fail_waiter(waiter: asyncio.Future[T], error: ConnectionLost) -> None:
    if not waiter.done():
        waiter.set_exception(error)
        waiter.exception()  # retrieved: nobody may be waiting any more
