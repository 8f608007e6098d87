"""`MockStream`: the asyncio client's `Stream` in memory, in the spirit of httpcore's
AsyncMockStream.

Each read gives one chunk, exactly as it was fed (a test decides what arrives in one read: two
MESSAGEs in one chunk, say), then b"" once the peer closed (`feed_eof`) or the client closed the
stream. Chunks given to the constructor are replayed first. What the client writes is kept in
`written`, one entry per write, and handed to `on_write` (a broker's answer may be fed back
from there). Nothing here sleeps or touches a socket.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable


class MockStream:
    """An in-memory `stompmodels.aio.stream.Stream`: reads what is fed, keeps what is written."""

    def __init__(
        self,
        chunks: Iterable[bytes] = (),
        *,
        on_write: Callable[[bytes], None] | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.written: list[bytes] = []
        self.closed = False
        self._chunks: deque[bytes] = deque(chunk for chunk in chunks if chunk)
        self._eof = False
        self._reader: asyncio.Future[None] | None = None
        self._on_write = on_write
        self._on_close = on_close

    # -- the peer's side -------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Make `data` the result of one read (nothing once the stream ended)."""
        if data and not self._eof and not self.closed:
            self._chunks.append(data)
            self._wake()

    def feed_eof(self) -> None:
        """The peer closes: once the chunks fed are read, reads give b""."""
        self._eof = True
        self._wake()

    @property
    def ended(self) -> bool:
        """Whether either side closed."""
        return self._eof or self.closed

    @property
    def unread(self) -> int:
        """Chunks fed and not read yet (a reader held back leaves them here)."""
        return len(self._chunks)

    # -- the Stream protocol ---------------------------------------------------------------

    async def read(self) -> bytes:
        while not self._chunks:
            if self._eof or self.closed:
                return b""
            self._reader = asyncio.get_running_loop().create_future()
            try:
                await self._reader
            finally:
                self._reader = None
        return self._chunks.popleft()

    def write(self, chunks: list[bytes]) -> None:
        if self.closed:
            return  # as a closed transport: the bytes go nowhere
        data = b"".join(chunks)
        self.written.append(data)
        if self._on_write is not None:
            self._on_write(data)

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._chunks.clear()
        self._wake()
        if self._on_close is not None:
            self._on_close()

    async def wait_closed(self) -> None:
        return None

    def _wake(self) -> None:
        if self._reader is not None and not self._reader.done():
            self._reader.set_result(None)
