"""STOMP over WebSocket for the embedded broker (the `websockets` package, `ws` extra).

Clients connect to ``ws://host:port/ws`` offering the subprotocols ``v12.stomp``,
``v11.stomp`` or ``v10.stomp``; each write of the broker goes out as one WebSocket message,
text when it is UTF-8, else binary.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Final

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

if TYPE_CHECKING:
    from stompmodels.broker.server import BrokerServer

PATH: Final = "/ws"
SUBPROTOCOLS: Final = [Subprotocol(f"v1{minor}.stomp") for minor in (2, 1, 0)]
_CLOSE: Final = b""  # the writer's signal to close


class _WebSocketLink:
    """A client over WebSocket: writes queue up for one writer task, in order."""

    def __init__(self, socket: ServerConnection) -> None:
        self._socket = socket
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()

    def write(self, data: bytes) -> None:
        if data:
            self._outbox.put_nowait(data)

    def close(self) -> None:
        self._outbox.put_nowait(_CLOSE)

    async def drain(self) -> None:
        """Send what is written, until closed."""
        with contextlib.suppress(ConnectionClosed):
            while (data := await self._outbox.get()) != _CLOSE:
                try:
                    await self._socket.send(data.decode())
                except UnicodeDecodeError:
                    await self._socket.send(data)
        await self._socket.close()


def _stomp_subprotocol(
    connection: ServerConnection, offered: Sequence[Subprotocol]
) -> Subprotocol | None:
    """The first STOMP subprotocol the client offers; None (none named in the answer) when it
    offers none, which RabbitMQ's Web-STOMP accepts too (stompman offers none)."""
    return next((name for name in offered if name in SUBPROTOCOLS), None)


def _only_ws_path(connection: ServerConnection, request: Request) -> Response | None:
    if request.path.partition("?")[0] != PATH:
        return connection.respond(404, f"STOMP over WebSocket is at {PATH}\n")
    return None


async def serve_websocket(
    server: BrokerServer, host: str, port: int
) -> tuple[Callable[[], Awaitable[None]], int]:
    """Listen for STOMP over WebSocket; the coroutine that stops it, and the port."""

    async def handle(socket: ServerConnection) -> None:
        link = _WebSocketLink(socket)
        peer = socket.remote_address
        where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        connection = server.opened(link, f"ws {where}")
        writer = asyncio.create_task(link.drain())
        try:
            async for message in socket:
                data = message.encode() if isinstance(message, str) else message
                server.received(connection, data)
        except ConnectionClosed:
            pass
        finally:
            server.lost(connection)
            link.close()
            await writer

    listener: Server = await ws_serve(
        handle,
        host,
        port,
        subprotocols=SUBPROTOCOLS,
        select_subprotocol=_stomp_subprotocol,
        process_request=_only_ws_path,
        compression=None,
    )
    bound = next(iter(listener.sockets)).getsockname()[1]

    async def stop() -> None:
        listener.close()
        await listener.wait_closed()

    return stop, bound
