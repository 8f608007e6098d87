"""Hostile limits on the WebSocket transport: `_fault_limits`' cases from a fake WS broker.

Each STOMP frame travels as one WebSocket message; a streamed case becomes one message sent
in fragments, which the client must refuse once it passes its `max_frame_size` (the most a
message may hold), without buffering the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Final, Self

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from ._fault_limits import CHUNK, CONNECTED, TIMEOUT, Hostile, HostileOutcome, _probe_aio

SUBPROTOCOLS: Final = [Subprotocol("v12.stomp"), Subprotocol("v11.stomp"), Subprotocol("v10.stomp")]


class HostileWebSocketBroker:
    """A fake STOMP-over-WebSocket broker on loopback that plays `case`."""

    def __init__(self, case: Hostile) -> None:
        self.case = case
        self.port = 0
        self.sent = 0
        self.client_closed = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Server | None = None

    def __enter__(self) -> Self:
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(TIMEOUT)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        with contextlib.suppress(TimeoutError):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def _listen(self) -> int:
        self._server = await serve(
            self._play, "127.0.0.1", 0, subprotocols=SUBPROTOCOLS, max_size=None
        )
        port: int = next(iter(self._server.sockets)).getsockname()[1]
        return port

    async def _fragments(self) -> AsyncIterator[bytes]:
        yield self.case.data
        self.sent = len(self.case.data)
        chunk = b"x" * CHUNK
        while self.sent < self.case.streamed:
            yield chunk
            self.sent += len(chunk)

    async def _play(self, websocket: ServerConnection) -> None:
        try:
            async with asyncio.timeout(90):
                await websocket.recv()  # CONNECT
                await websocket.send(CONNECTED)
                await websocket.recv()  # the client's next frame: it is connected
                if self.case.streamed:
                    await websocket.send(self._fragments())
                else:
                    await websocket.send(self.case.data)
                    self.sent = len(self.case.data)
                await websocket.wait_closed()
                self.client_closed.set()
        except ConnectionClosed:
            self.client_closed.set()
        except TimeoutError:
            pass


def play_websocket(case: Hostile) -> HostileOutcome:
    """Connect `stompmodels.aio` over WebSocket to a fake broker playing `case`."""
    with HostileWebSocketBroker(case) as broker:
        tracemalloc.start()
        try:
            started = time.monotonic()
            error = asyncio.run(_probe_aio(broker.url, case))
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        closed = broker.client_closed.wait(TIMEOUT)
        return HostileOutcome(
            "ws", case.name, case.limit, error, closed, broker.sent, peak, elapsed
        )
