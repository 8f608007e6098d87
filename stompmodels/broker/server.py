"""`serve`: the embedded broker as an asyncio server, over TCP and (with the `ws` extra) over
WebSocket, with the faults tests inject: cut, silence, delay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Final, Protocol, Self

from stompmodels._headers import HeartBeat
from stompmodels._limits import Limits
from stompmodels.broker.core import Broker, Output

logger = logging.getLogger("stompmodels.broker")

_TICK_CAP: Final = 0.25  # seconds: the longest the timer sleeps, so new deadlines are met


class Link(Protocol):
    """One client's transport, as the server writes to it."""

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class _Faults:
    """What a test has asked the server to do wrong."""

    def __init__(self) -> None:
        self.silent = False
        self.delay = 0.0


class BrokerServer:
    """A running embedded broker: its address, its `broker`, and fault injection.

    Made by `serve`; `close()` (or leaving `async with`) stops it and drops every connection.
    """

    def __init__(self, broker: Broker, host: str) -> None:
        self.broker = broker
        self.host = host
        self.port = 0
        self.ws_port: int | None = None
        self._links: dict[int, Link] = {}
        self._held: dict[int, list[bytes]] = {}  # what arrived while silent, per connection
        self._faults = _Faults()
        self._servers: list[asyncio.AbstractServer] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._timer: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()

    @property
    def url(self) -> str:
        """The broker's `stomp://` URL (without credentials)."""
        return f"stomp://{self.host}:{self.port}/"

    @property
    def ws_url(self) -> str | None:
        """The broker's `ws://` URL (STOMP over WebSocket at /ws), if it serves WebSocket."""
        return None if self.ws_port is None else f"ws://{self.host}:{self.ws_port}/ws"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        await asyncio.Event().wait()

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        for server in self._servers:
            server.close()
        self.cut()
        for closer in self._closers:
            await closer()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        self._closers.clear()

    # Faults.

    def cut(self) -> None:
        """Drop every connection at once, with no ERROR (as a network failure would)."""
        for link in list(self._links.values()):
            link.close()

    def silence(self) -> None:
        """Stop answering: nothing is written (heart-beats included) and nothing read is
        acted on, until `resume`."""
        self._faults.silent = True

    def resume(self) -> None:
        """Answer again; what arrived in silence is acted on now."""
        self._faults.silent = False
        held, self._held = self._held, {}
        for connection, chunks in held.items():
            self._apply(self.broker.receive(connection, b"".join(chunks), self._loop.time()))

    def delay(self, seconds: float) -> None:
        """Write every frame `seconds` late (0: on time again)."""
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        self._faults.delay = seconds

    # The transports' side.

    def opened(self, link: Link, peer: str) -> int:
        """A client connected: its connection id."""
        connection = self.broker.open(self._loop.time(), peer)
        self._links[connection] = link
        logger.info("connection %d from %s", connection, peer)
        return connection

    def received(self, connection: int, data: bytes) -> None:
        """Bytes arrived from a client."""
        if self._faults.silent:
            self._held.setdefault(connection, []).append(data)
            return
        self._apply(self.broker.receive(connection, data, self._loop.time()))

    def full(self, connection: int) -> None:
        """A client's transport buffers too much: deliver it nothing for now."""
        self.broker.hold_back(connection)

    def drained(self, connection: int) -> None:
        """A client's transport has room again."""
        self._apply(self.broker.go_on(connection, self._loop.time()))

    def lost(self, connection: int) -> None:
        """A client's transport is gone."""
        if self._links.pop(connection, None) is None:
            return
        self._held.pop(connection, None)
        logger.info("connection %d closed", connection)
        self._apply(self.broker.closed(connection, self._loop.time()))

    def _apply(self, output: Output) -> None:
        for connection, what in output.notes:
            logger.info("connection %d %s", connection, what)
        delay = self._faults.delay
        for connection, data in output.writes.items():
            link = self._links.get(connection)
            if link is None:
                continue
            if delay:
                self._loop.call_later(delay, link.write, data)
            else:
                link.write(data)
        for connection in output.close:
            link = self._links.get(connection)
            if link is None:
                continue
            if delay:
                self._loop.call_later(delay, link.close)
            else:
                link.close()

    async def _tick(self) -> None:
        broker = self.broker
        shortest = min((ms for ms in broker.heart_beat if ms), default=1000) / 1000
        cap = min(_TICK_CAP, shortest / 4)
        while True:
            now = self._loop.time()
            deadline = broker.next_deadline()
            wait = cap if deadline is None else min(cap, max(0.0, deadline - now))
            await asyncio.sleep(wait)
            if not self._faults.silent:
                try:
                    self._apply(broker.tick(self._loop.time()))
                except Exception:  # a bug must not stop every heart-beat for good
                    logger.exception("the broker's timer failed")


class _TcpLink(asyncio.Protocol):
    """A client over TCP."""

    def __init__(self, server: BrokerServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._connection = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self._connection = self._server.opened(self, where)

    def data_received(self, data: bytes) -> None:
        self._server.received(self._connection, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.lost(self._connection)

    def pause_writing(self) -> None:
        self._server.full(self._connection)

    def resume_writing(self) -> None:
        self._server.drained(self._connection)

    def write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def serve(
    host: str = "127.0.0.1",
    port: int = 61613,
    *,
    ws_port: int | None = None,
    users: Mapping[str, str] | None = None,
    heart_beat: HeartBeat | tuple[int, int] = (1000, 1000),
    limits: Limits | None = None,
    broker: Broker | None = None,
) -> BrokerServer:
    """Start the embedded broker on `host`:`port` (0: a free port), and STOMP over WebSocket
    at `ws://host:ws_port/ws` if `ws_port` is given (0: a free port; needs the `ws` extra).

    `users` maps logins to passcodes (None: any login is accepted). Pass a `broker` to serve
    one made with other options.
    """
    core = broker or Broker(users=users, heart_beat=heart_beat, limits=limits)
    server = BrokerServer(core, host)
    loop = asyncio.get_running_loop()
    tcp = await loop.create_server(lambda: _TcpLink(server), host, port)
    server._servers.append(tcp)
    server.port = tcp.sockets[0].getsockname()[1]
    try:
        if ws_port is not None:
            from stompmodels.broker.websocket import serve_websocket

            ws_server, server.ws_port = await serve_websocket(server, host, ws_port)
            server._closers.append(ws_server)
    except BaseException:
        await server.close()
        raise
    server._timer = asyncio.create_task(server._tick(), name="stompmodels-broker-timer")
    return server
