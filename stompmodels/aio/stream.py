"""The byte streams the asyncio client runs over: TCP (or TLS) here, WebSocket in `websocket`."""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from typing import Final, Protocol

from stompmodels._client.errors import MissingExtra
from stompmodels._client.url import BrokerURL
from stompmodels._limits import Limits
from stompmodels._spec import Version

_READ_SIZE: Final = 64 * 1024


class Stream(Protocol):
    """What the client needs of a connection; the client bounds every wait itself."""

    async def read(self) -> bytes:
        """The next bytes received; b"" once the peer has closed."""
        ...

    def write(self, chunks: list[bytes]) -> None:
        """Queue `chunks` for sending, in order; each is one frame (or a heart-beat EOL)."""
        ...

    async def drain(self) -> None:
        """Wait while too much is queued (back-pressure)."""
        ...

    def close(self) -> None:
        """Start closing; `wait_closed` waits for the end."""
        ...

    async def wait_closed(self) -> None:
        """Wait until the stream is closed."""
        ...


class TcpStream:
    """STOMP over a TCP (or TLS) socket: frames go out back to back, in one write per batch."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self) -> bytes:
        return await self._reader.read(_READ_SIZE)

    def write(self, chunks: list[bytes]) -> None:
        self._writer.write(b"".join(chunks))

    async def drain(self) -> None:
        await self._writer.drain()

    def close(self) -> None:
        self._writer.close()

    async def wait_closed(self) -> None:
        await self._writer.wait_closed()


async def open_tcp(url: BrokerURL, tls: ssl_module.SSLContext | None) -> TcpStream:
    """Open a TCP connection to `url` (TLS when `tls` is given); raises OSError."""
    reader, writer = await asyncio.open_connection(
        url.host, url.port, ssl=tls, server_hostname=url.host if tls else None
    )
    return TcpStream(reader, writer)


async def open_stream(
    url: BrokerURL,
    tls: ssl_module.SSLContext | None,
    limits: Limits,
    versions: tuple[Version, ...],
) -> Stream:
    """Open the stream `url` asks for: WebSocket for ws:// and wss://, else TCP."""
    if url.websocket_path is None:
        return await open_tcp(url, tls)
    try:
        from stompmodels.aio.websocket import open_websocket
    except ModuleNotFoundError as exc:
        if not MissingExtra.is_missing(exc, "websockets"):
            raise
        raise MissingExtra(f"{url.scheme}:// URLs need", "websockets", "ws") from exc
    return await open_websocket(url, tls, limits, versions)
