"""The asyncio client's engine room: connections, reconnects, the read and heart-beat loops.

`stompmodels.aio.Client` is what users call; this base class owns what happens underneath.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from collections.abc import Callable
from typing import Final

from stompmodels._client.backoff import Backoff
from stompmodels._client.deliveries import Deliveries
from stompmodels._client.errors import (
    BrokerError,
    Closed,
    ConnectionEvent,
    ConnectionLost,
    HeartbeatTimeout,
    describe_error,
)
from stompmodels._client.transport import connect_frame, ssl_context_for
from stompmodels._client.url import BrokerURL
from stompmodels._engine import Engine, Reaction
from stompmodels._frames import ClientFrame, Connected, Error, Message, Receipt
from stompmodels._headers import HeartBeat
from stompmodels._heartbeat import EOL, peer_deadline
from stompmodels._limits import Limits
from stompmodels._registry import Router
from stompmodels._spec import Version
from stompmodels._state import State

from .connection import Subscription, _Connection, _fail_waiter
from .stream import open_stream

logger = logging.getLogger("stompmodels.aio")
_CLOSING_CHECK: Final = 0.1  # seconds between looks at `close` while a full queue holds the reader


class _ClientCore:
    """Connections and their loops; `Client.__init__` sets every attribute declared here."""

    urls: list[BrokerURL]
    timeout: float
    _ssl: ssl_module.SSLContext | bool | None
    _heart_beat: HeartBeat
    _versions: tuple[Version, ...]
    _limits: Limits | None
    _queue_size: int
    _backoff: Backoff | None
    _credentials: Callable[[BrokerURL], BrokerURL] | None
    _on_state: Callable[[ConnectionEvent, BrokerURL], None] | None
    _router: Router
    _subscriptions: dict[str, Subscription]
    _connection: _Connection | None
    _next_url: int
    _closing: bool
    _final: ConnectionLost | None
    _reconnecting: asyncio.Task[None] | None
    _stale: Deliveries  # the MESSAGEs of earlier connections
    _name: str

    @property
    def engine(self) -> Engine:
        """The Engine of the current connection."""
        if self._connection is None:
            raise ConnectionLost("the client is not connected")
        return self._connection.engine

    @property
    def url(self) -> BrokerURL:
        """The broker of the current (or next) connection."""
        return self._connection.url if self._connection else self.urls[self._next_url]

    # -- connections -----------------------------------------------------------------------

    async def _open(self, url: BrokerURL) -> Connected:
        """One attempt: socket, CONNECT, CONNECTED, renewed subscriptions."""
        if self._credentials is not None:
            url = self._credentials(url)
        engine = Engine(limits=self._limits, auto_ack=False)
        engine.include(self._router)
        connection = _Connection(url, engine, self._name)
        tls = ssl_context_for(url, self._ssl)
        try:
            async with asyncio.timeout(self.timeout):
                connection.stream = await open_stream(
                    url, tls, self._limits or Limits(), self._versions
                )
        except ConnectionLost:
            raise  # already says why (a refused WebSocket handshake)
        except (OSError, TimeoutError) as exc:
            raise ConnectionLost(f"cannot reach {url}: {describe_error(exc)}") from None
        if self._connection is not None:
            self._stale.absorb(self._connection.received)
        self._connection = connection
        reader = asyncio.create_task(self._read_loop(connection), name=f"{self._name}:reader")
        connection.tasks.append(reader)
        try:
            self._write(connect_frame(engine, url, self._heart_beat, self._versions))
            async with asyncio.timeout(self.timeout):
                connected = await connection.connected
            for subscription in self._subscriptions.values():
                await self._resubscribe(subscription)
        except TimeoutError:
            error = ConnectionLost(f"no answer from {url} within {self.timeout} s")
            await self._shut(connection, error)
            raise error from None
        except ConnectionLost as exc:
            await self._shut(connection, exc)
            raise
        logger.info("connected to %s: STOMP %s, session %s", url, engine.version, engine.session)
        if any(engine.heart_beat):
            beats = asyncio.create_task(
                self._heartbeat_loop(connection), name=f"{self._name}:heart-beat"
            )
            connection.tasks.append(beats)
        return connected

    async def _resubscribe(self, subscription: Subscription) -> None:
        frame = self.engine.subscribe(
            subscription.destination,
            ack=subscription.ack_mode,
            id=subscription.id,
            headers=subscription.headers,
            receipt=True,
        )
        await self._send_and_confirm(frame, frame.receipt)

    def _lost(self, connection: _Connection, error: ConnectionLost) -> None:
        """A connection failed: wake its waiters, then reconnect or end the client."""
        if connection.failure is not None:
            return
        if connection.engine.state is State.DISCONNECTING and type(error) is ConnectionLost:
            # Closed after our DISCONNECT: RabbitMQ's Web-STOMP does so without a RECEIPT.
            error = Closed(f"{connection.url} closed the connection after DISCONNECT")
        self._fail(connection, error)
        if connection is not self._connection or self._closing:
            return
        if self._backoff is None or isinstance(error, Closed):
            self._end(error)
            return
        self._notify("lost")
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.create_task(
                self._reconnect_loop(error), name=f"{self._name}:reconnect"
            )

    async def _reconnect_loop(self, error: ConnectionLost) -> None:
        assert self._backoff is not None
        if self._connection is not None:
            await self._shut(self._connection, error)
        for delay in self._backoff.delays():
            await asyncio.sleep(delay)
            self._next_url = (self._next_url + 1) % len(self.urls)
            try:
                await self._open(self.urls[self._next_url])
            except ConnectionLost as exc:
                logger.warning("reconnect to %s failed: %s", self.urls[self._next_url], exc)
                error = exc
                continue
            self._notify("reconnected")
            return
        self._end(ConnectionLost(f"gave up reconnecting: {error}"))

    def _fail(self, connection: _Connection, error: ConnectionLost) -> None:
        connection.failure = error
        if connection.engine.state is not State.CLOSED:
            connection.engine.connection_lost()
        logger.log(logging.DEBUG if isinstance(error, Closed) else logging.WARNING, "%s", error)
        for waiter in connection.receipts.values():
            _fail_waiter(waiter, error)
        connection.receipts.clear()
        _fail_waiter(connection.connected, error)
        if connection.stream is not None:
            connection.stream.close()

    def _end(self, error: ConnectionLost) -> None:
        """No more connections: end every subscription's iterator."""
        if self._final is None:
            self._final = error
        for subscription in self._subscriptions.values():
            subscription._close()

    async def _shut(self, connection: _Connection, error: ConnectionLost) -> None:
        """Fail `connection` (if not yet) and wait for its tasks and socket to finish."""
        if connection.failure is None:
            self._fail(connection, error)
        current = asyncio.current_task()
        others = [task for task in connection.tasks if task is not current]
        for task in others:
            task.cancel()
        if others:
            # asyncio.wait neither raises the tasks' errors nor swallows our own cancellation
            # (awaiting each under suppress(CancelledError) would eat a Ctrl-C).
            await asyncio.wait(others, timeout=1.0)
        if connection.stream is not None:
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(connection.stream.wait_closed(), 1.0)

    def _notify(self, event: ConnectionEvent) -> None:
        if self._on_state is not None:
            self._on_state(event, self.url)

    # -- reading and writing ---------------------------------------------------------------

    async def _unsubscribe(self, subscription: Subscription, *, receipt: bool) -> None:
        frame = self.engine.unsubscribe(subscription.id, receipt=receipt)
        self._subscriptions.pop(subscription.id, None)
        subscription._close()
        await self._send_and_confirm(frame, frame.receipt)

    async def _send_and_confirm(self, frame: ClientFrame, receipt: str | None) -> None:
        connection = self._current()
        wrote_batch = self._write(frame)
        # Registered after a successful encode (no waiter is left behind by a refused frame);
        # the RECEIPT cannot be read before this coroutine next waits.
        waiter = self._expect_receipt(connection, receipt) if receipt else None
        if wrote_batch:
            await self._sent_batch(connection)
        if waiter is not None:
            try:
                async with asyncio.timeout(self.timeout):
                    await waiter
            except TimeoutError:
                raise TimeoutError(
                    f"no RECEIPT for {frame.command} within {self.timeout} s"
                ) from None

    @staticmethod
    async def _sent_batch(connection: _Connection) -> None:
        """After a write of a batch (`_Connection.send` said so): wait while the socket's buffer
        is full (back-pressure), and let the reader and heart-beats run even if the caller
        never waits."""
        assert connection.stream is not None
        await connection.stream.drain()
        await asyncio.sleep(0)

    @staticmethod
    def _expect_receipt(connection: _Connection, receipt: str | None) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if receipt is not None:
            connection.receipts[receipt] = waiter
        return waiter

    def _current(self) -> _Connection:
        connection = self._connection
        if connection is None:
            raise ConnectionLost("the client is not connected")
        if connection.failure is not None:
            raise connection.failure
        return connection

    def _raise_if_failed(self) -> None:
        if self._final is not None and not isinstance(self._final, Closed):
            raise self._final

    def _write(self, frame: ClientFrame) -> bool:
        """Encode `frame` through the Engine and queue it; see `_Connection.send`."""
        connection = self._current()
        data = connection.engine.encode(frame)
        logger.debug("sent %r", frame)  # models hide the passcode
        return connection.send(data)

    @staticmethod
    def _write_bytes(connection: _Connection, data: bytes) -> None:
        if data and connection.failure is None:
            connection.send(data)

    async def _read_loop(self, connection: _Connection) -> None:
        stream = connection.stream
        assert stream is not None
        loop = asyncio.get_running_loop()
        engine = connection.engine
        try:
            while True:
                data = await stream.read()
                if not data:
                    raise ConnectionLost(f"{connection.url} closed the connection")
                connection.last_received = loop.time()  # any byte counts as life
                debug = logger.isEnabledFor(logging.DEBUG)
                for reaction in engine.receive(data):
                    frame = reaction.frame
                    if debug:
                        logger.debug("received %r", frame)
                    if reaction.reply:
                        self._write_bytes(connection, reaction.reply)
                    if type(frame) is Message:
                        if not reaction.handled:
                            full = self._offer(connection, frame)
                            if full is not None:
                                await self._deliver(full, frame)
                    else:
                        self._dispatch(connection, reaction)
        except ConnectionLost as exc:
            self._lost(connection, exc)
        except (OSError, ValueError) as exc:  # ValueError: ProtocolError and handler mistakes
            message = f"connection to {connection.url} failed: {describe_error(exc)}"
            self._lost(connection, ConnectionLost(message))

    def _dispatch(self, connection: _Connection, reaction: Reaction) -> None:
        """What a frame other than MESSAGE settles: CONNECTED, receipts, an ERROR."""
        frame = reaction.frame
        if isinstance(frame, Connected):
            if not connection.connected.done():
                connection.connected.set_result(frame)
        elif isinstance(frame, Receipt):
            for receipt in reaction.receipts:
                waiter = connection.receipts.pop(receipt, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)
        elif isinstance(frame, Error):
            raise BrokerError(frame)

    def _offer(self, connection: _Connection, frame: Message) -> Subscription | None:
        """Queue a MESSAGE for its subscription if there is room (or drop it); the subscription
        whose queue is full, for `_deliver` to wait on."""
        subscription = self._subscriptions.get(frame.subscription or "")
        if subscription is None:
            logger.warning("MESSAGE for unknown subscription %r dropped", frame.subscription)
            return None
        if subscription.ack_mode != "auto":
            connection.received.add(frame)
        if self._closing or not subscription._queue.offer(frame):
            return subscription  # `_deliver` drops it or waits for room
        return None

    async def _deliver(self, subscription: Subscription, frame: Message) -> None:
        """Queue `frame`; when the queue is full, wait for room (back-pressure: the reader stops
        and TCP pushes back on the broker), but only until `close` begins. The reader must then
        go on to DISCONNECT's RECEIPT, and the MESSAGE is dropped: nobody takes it any more,
        and the broker delivers it again if it is unacknowledged."""
        queue = subscription._queue
        while not self._closing:
            if queue.offer(frame):
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_CLOSING_CHECK):
                    await queue.put(frame)
                    return
        logger.debug("MESSAGE %s dropped: the client is closing", frame.message_id)

    async def _heartbeat_loop(self, connection: _Connection) -> None:
        loop = asyncio.get_running_loop()
        send_ms, receive_ms = connection.engine.heart_beat
        tick = min(ms for ms in (send_ms, receive_ms) if ms) / 1000 / 2
        while connection.failure is None:
            await asyncio.sleep(tick)
            now = loop.time()
            if send_ms and now - connection.last_sent >= send_ms / 1000 - tick:
                self._write_bytes(connection, EOL)
            deadline = peer_deadline(connection.last_received, receive_ms)
            if deadline is not None and now > deadline:
                silence = now - connection.last_received
                self._lost(
                    connection,
                    HeartbeatTimeout(
                        f"{connection.url} sent nothing for {silence:.1f} s "
                        f"(a heart-beat every {receive_ms} ms was agreed)"
                    ),
                )
                return
