"""STOMP over WebSocket for the asyncio client: one frame per WebSocket message.

Needs the `websockets` package (``pip install 'stompmodels[ws]'``); `stream.open_stream`
imports this module only for ws:// and wss:// URLs.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl as ssl_module
from typing import Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, WebSocketException
from websockets.frames import CloseCode
from websockets.typing import Subprotocol

from stompmodels._client.errors import ConnectionLost, describe_error
from stompmodels._client.url import BrokerURL
from stompmodels._limits import Limits
from stompmodels._spec import Version

SUBPROTOCOLS: Final[dict[Version, Subprotocol]] = {
    "1.2": Subprotocol("v12.stomp"),
    "1.1": Subprotocol("v11.stomp"),
    "1.0": Subprotocol("v10.stomp"),
}
_CLOSE_WAIT: Final = 1.0  # seconds a closing handshake may take before the socket is dropped


def subprotocols_for(versions: tuple[Version, ...]) -> list[Subprotocol]:
    """The subprotocols to offer, newest version first."""
    return [SUBPROTOCOLS[version] for version in sorted(versions, reverse=True)]


def is_text(frame: bytes) -> bool:
    """Whether `frame` can travel as a text message (RFC 6455 text must be UTF-8)."""
    if frame.isascii():
        return True
    try:
        frame.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class WebSocketStream:
    """One STOMP connection over a WebSocket: one frame per message, sent in order."""

    def __init__(self, websocket: ClientConnection, url: BrokerURL, max_size: int) -> None:
        self._websocket = websocket
        self._url = url
        self._max_size = max_size
        self._outbox: collections.deque[bytes] = collections.deque()
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose (None if it chose none)."""
        return self._websocket.subprotocol

    async def read(self) -> bytes:
        try:
            # decode=False: a text message comes as its UTF-8 bytes, with no decoding round trip.
            return await self._websocket.recv(decode=False)
        except ConnectionClosedOK:
            return b""
        except ConnectionClosed as exc:
            raise ConnectionLost(self._describe(exc)) from None

    def _describe(self, closed: ConnectionClosed) -> str:
        if closed.sent is not None and closed.sent.code == CloseCode.MESSAGE_TOO_BIG:
            return (
                f"connection to {self._url} failed: a WebSocket message over "
                f"max_frame_size {self._max_size} ({closed.sent.reason})"
            )
        if closed.rcvd is not None:
            return f"{self._url} closed the connection: {closed}"
        return f"connection to {self._url} failed: {closed}"

    def write(self, chunks: list[bytes]) -> None:
        self._outbox.extend(chunks)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_all(), name="stompmodels:ws-sender")

    async def _send_all(self) -> None:
        while self._outbox:
            chunk = self._outbox.popleft()
            try:
                await self._websocket.send(chunk, text=is_text(chunk))
            except ConnectionClosed:
                self._outbox.clear()  # the reader reports why the connection ended
                return

    async def drain(self) -> None:
        if self._sender is not None and not self._sender.done():
            await asyncio.wait([self._sender])

    def close(self) -> None:
        if self._closer is None:
            self._closer = asyncio.create_task(self._close(), name="stompmodels:ws-close")

    async def _close(self) -> None:
        if self._sender is not None and not self._sender.done():
            await asyncio.wait([self._sender], timeout=_CLOSE_WAIT)
            self._sender.cancel()
        with contextlib.suppress(OSError, WebSocketException, TimeoutError):
            async with asyncio.timeout(_CLOSE_WAIT):
                await self._websocket.close()
        self._websocket.transport.abort()  # no-op when the close handshake finished

    async def wait_closed(self) -> None:
        self.close()
        assert self._closer is not None
        await asyncio.wait([self._closer])


async def open_websocket(
    url: BrokerURL,
    tls: ssl_module.SSLContext | None,
    limits: Limits,
    versions: tuple[Version, ...],
) -> WebSocketStream:
    """Open the WebSocket of `url`; a failed handshake raises ConnectionLost saying why."""
    uri = url.websocket_uri
    if tls is not None and uri.startswith("ws://"):
        uri = "wss://" + uri.removeprefix("ws://")  # TLS was asked for explicitly
    try:
        websocket = await connect(
            uri,
            subprotocols=subprotocols_for(versions),
            ssl=tls,
            # One message holds one frame: a larger one is refused before it is buffered.
            max_size=limits.max_frame_size,
            compression=None,
            open_timeout=None,  # the client bounds the whole connect
        )
    except WebSocketException as exc:
        raise ConnectionLost(f"cannot reach {url}: {describe_error(exc)}") from None
    return WebSocketStream(websocket, url, limits.max_frame_size)
