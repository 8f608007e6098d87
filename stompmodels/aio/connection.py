"""One connection of the asyncio client: its stream, its tasks and its write queue."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from stompmodels._client.errors import ConnectionLost
from stompmodels._client.url import BrokerURL
from stompmodels._frames import Connected
from stompmodels.aio.stream import Stream

_FLUSH_AT: Final = 64 * 1024  # queued bytes that are written at once


class Connection:
    """One connection (TCP, TLS or WebSocket) to `url`; `wrote(now)` is told of each write."""

    def __init__(self, url: BrokerURL, stream: Stream, wrote: Callable[[float], None]) -> None:
        self.url = url
        self.stream = stream
        self.tasks: list[asyncio.Task[None]] = []
        self._loop = asyncio.get_running_loop()
        self.connected: asyncio.Future[Connected] = self._loop.create_future()
        self.failure: ConnectionLost | None = None
        self._wrote = wrote
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
        if self._pending and self.failure is None:
            self.stream.write(self._pending)
            self._wrote(self._loop.time())  # once per write: heart-beats need no finer clock
        self._pending = []
        self._pending_size = 0
