"""Hostile limits on the WebSocket transport: `_fault_limits`' cases from a fake WS broker.

Each STOMP frame travels as one WebSocket message; a streamed case becomes one message sent
in fragments, which the client must refuse once it passes its `max_frame_size` (the most a
message may hold), without buffering the rest.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator
from typing import Final

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from ._fault_limits import (
    CHUNK,
    CONNECTED,
    TIMEOUT,
    Hostile,
    HostileBroker,
    HostileOutcome,
    _probe_aio,
)

SUBPROTOCOLS: Final = [Subprotocol("v12.stomp"), Subprotocol("v11.stomp"), Subprotocol("v10.stomp")]


class HostileWebSocketBroker(HostileBroker):
    """A fake STOMP-over-WebSocket broker on loopback that plays `case`."""

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def _listen(self) -> int:
        server = await serve(
            self._play_messages, "127.0.0.1", 0, subprotocols=SUBPROTOCOLS, max_size=None
        )
        self._server = server
        port: int = next(iter(server.sockets)).getsockname()[1]
        return port

    async def _fragments(self) -> AsyncIterator[bytes]:
        yield self.case.data
        self.sent = len(self.case.data)
        chunk = b"x" * CHUNK
        while self.sent < self.case.streamed:
            yield chunk
            self.sent += len(chunk)

    async def _play_messages(self, websocket: ServerConnection) -> None:
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
