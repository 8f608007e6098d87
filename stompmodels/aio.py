"""An asyncio STOMP client: a thin loop around the sans-IO Engine.

The client owns sockets, timers (heart-beats, timeouts, reconnect backoff) and logging; the
Engine decides everything the protocol says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Self

from pydantic import SecretStr

from ._aio_session import ConnectionEvent, Subscription, _Closed, _Connection, _fail_waiter
from ._aio_stream import open_stream
from ._backoff import Backoff
from ._engine import Engine, Reaction
from ._frames import ClientFrame, Connected, Error, Message, Receipt
from ._headers import AckMode, HeartBeat
from ._heartbeat import EOL, peer_deadline
from ._reader import Limits
from ._registry import F, Handler, Router
from ._spec import VERSIONS, Version
from ._state import State
from ._transport import (
    BrokerError,
    ConnectionLost,
    HeartbeatTimeout,
    connect_frame,
    describe_error,
    ssl_context_for,
    subscribe_headers,
)
from ._url import BrokerURL, brokers_for

logger = logging.getLogger("stompmodels.aio")
logging.getLogger("stompmodels").addHandler(logging.NullHandler())  # the application decides


class Client:
    """An asyncio STOMP client.

    ``async with Client("stomp://guest:guest@127.0.0.1:61613/") as client:`` connects, and
    disconnects gracefully on exit. Every wait is bounded by `timeout` seconds. Give several
    URLs (a list or ``failover:(url,url)``) to fail over, and `reconnect` to come back after a
    lost connection: subscriptions are renewed; transactions in flight are not replayed.
    """

    def __init__(
        self,
        url: str | list[str] | BrokerURL | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 61613,
        login: str | None = None,
        passcode: str | SecretStr | None = None,
        vhost: str = "/",
        ssl: ssl_module.SSLContext | bool | None = None,
        heart_beat: HeartBeat | tuple[int, int] = (10000, 10000),
        versions: tuple[Version, ...] = VERSIONS,
        timeout: float = 10.0,
        limits: Limits | None = None,
        queue_size: int = 1000,
        reconnect: Backoff | bool = False,
        credentials: Callable[[BrokerURL], BrokerURL] | None = None,
        on_state: Callable[[ConnectionEvent, BrokerURL], None] | None = None,
    ) -> None:
        urls = brokers_for(
            url, host=host, port=port, login=login, passcode=passcode, vhost=vhost, tls=bool(ssl)
        )
        self.urls = urls
        self.timeout = timeout
        self._ssl = ssl
        self._heart_beat = HeartBeat(*heart_beat)
        self._versions = versions
        self._limits = limits
        self._queue_size = queue_size
        self._backoff = Backoff() if reconnect is True else reconnect or None
        self._credentials = credentials
        self._on_state = on_state
        self._router = Router()
        self._subscriptions: dict[str, Subscription] = {}
        self._connection: _Connection | None = None
        self._next_url = 0
        self._closing = False
        self._final: ConnectionLost | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._name = "stompmodels"

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

    # -- life cycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
        if error is None and self.failure is not None:
            raise self.failure  # e.g. an ERROR after a send without receipt: never lost silently

    @property
    def failure(self) -> ConnectionLost | None:
        """Why the client stopped, if it failed (None while it runs or after a clean close)."""
        return None if isinstance(self._final, _Closed) else self._final

    async def connect(self) -> Connected:
        """Connect to the first broker that answers (each tried once); return its CONNECTED."""
        owner = asyncio.current_task()
        self._name = owner.get_name() if owner is not None else "stompmodels"
        self._closing, self._final = False, None
        error: ConnectionLost | None = None
        for _ in self.urls:
            try:
                connected = await self._open(self.urls[self._next_url])
            except ConnectionLost as exc:
                error = exc
                self._next_url = (self._next_url + 1) % len(self.urls)
                continue
            self._notify("connected")
            return connected
        assert error is not None
        raise error

    async def close(self, timeout: float | None = None) -> None:
        """Disconnect gracefully (DISCONNECT, then wait for its receipt, bounded) and close."""
        self._closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            await asyncio.wait([self._reconnecting], timeout=1.0)  # our own cancel propagates
        connection = self._connection
        if connection is not None:
            if connection.failure is None and connection.engine.state is State.CONNECTED:
                frame = connection.engine.disconnect()
                waiter = self._expect_receipt(connection, frame.receipt)
                self._write(frame)
                try:
                    async with asyncio.timeout(self.timeout if timeout is None else timeout):
                        await waiter
                except _Closed as closed:
                    logger.debug("%s", closed)
                except (TimeoutError, ConnectionLost):
                    logger.warning("no receipt for DISCONNECT from %s; closing anyway", self.url)
            await self._shut(connection, _Closed(f"connection to {connection.url} closed"))
        self._end(_Closed("the client is closed"))
        self._notify("closed")

    # -- what users do ---------------------------------------------------------------------

    def on(
        self,
        kind: type[F],
        *,
        where: Callable[[F], bool] | None = None,
        destination: str | None = None,
        subscription: str | None = None,
    ) -> Callable[[Handler[F]], Handler[F]]:
        """Register a handler, as `Engine.on`; a Message it takes is not queued."""
        return self._router.on(
            kind, where=where, destination=destination, subscription=subscription
        )

    async def send(
        self,
        destination: str,
        body: bytes | str = b"",
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        receipt: bool = False,
        transaction: str | None = None,
        omit_content_length: bool = False,
    ) -> None:
        """Send a message; with `receipt`, wait until the broker confirms it."""
        frame = self.engine.send(
            destination,
            body,
            content_type=content_type,
            headers=headers,
            receipt=receipt,
            transaction=transaction,
            omit_content_length=omit_content_length,
        )
        await self._send_and_confirm(frame, frame.receipt)

    async def subscribe(
        self,
        destination: str,
        *,
        ack: AckMode = "auto",
        id: str | None = None,
        headers: Mapping[str, str] | None = None,
        receipt: bool = True,
        prefetch: int | None = None,
    ) -> Subscription:
        """Subscribe; iterate the result for messages (ACK them unless `ack` is auto).

        `prefetch` bounds the messages the broker sends ahead of acknowledgements (RabbitMQ's
        `prefetch-count`, ActiveMQ's `activemq.prefetchSize`); it defaults to `queue_size` when
        messages are acknowledged.
        """
        headers = subscribe_headers(headers, ack, prefetch, self._queue_size)
        frame = self.engine.subscribe(destination, ack=ack, id=id, headers=headers, receipt=receipt)
        subscription = Subscription(self, frame, self._queue_size)
        self._subscriptions[subscription.id] = subscription
        try:
            await self._send_and_confirm(frame, frame.receipt)
        except BaseException:
            self._subscriptions.pop(subscription.id, None)
            raise
        return subscription

    async def ack(self, message: Message, *, transaction: str | None = None) -> None:
        """Acknowledge `message` with the headers of the negotiated version."""
        await self._send_and_confirm(self.engine.ack(message, transaction=transaction), None)

    async def nack(self, message: Message, *, transaction: str | None = None) -> None:
        """Reject `message` (STOMP 1.1+)."""
        await self._send_and_confirm(self.engine.nack(message, transaction=transaction), None)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[str]:
        """``async with client.transaction() as tx:`` commits on success, aborts on error.

        Pass `transaction=tx` to `send`, `ack` and `nack` inside it. A transaction is never
        replayed on a new connection: if the connection was lost, COMMIT raises ConnectionLost.
        """
        engine = self.engine
        begin = engine.begin(receipt=True)
        await self._send_and_confirm(begin, begin.receipt)
        try:
            yield begin.transaction
        except BaseException:
            if self._connection is not None and self._connection.engine is engine:
                with contextlib.suppress(ConnectionLost, ValueError):
                    self._write(engine.abort(begin.transaction))
            raise
        if self._connection is None or self._connection.engine is not engine:
            raise ConnectionLost("the connection was lost during the transaction; not committed")
        commit = engine.commit(begin.transaction, receipt=True)
        await self._send_and_confirm(commit, commit.receipt)

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
            error = _Closed(f"{connection.url} closed the connection after DISCONNECT")
        self._fail(connection, error)
        if connection is not self._connection or self._closing:
            return
        if self._backoff is None or isinstance(error, _Closed):
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
        logger.log(logging.DEBUG if isinstance(error, _Closed) else logging.WARNING, "%s", error)
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
            # A batch was just written: wait while the socket's buffer is full (back-pressure),
            # and let the reader and heart-beats run even if the caller never waits.
            assert connection.stream is not None
            await connection.stream.drain()
            await asyncio.sleep(0)
        if waiter is not None:
            try:
                async with asyncio.timeout(self.timeout):
                    await waiter
            except TimeoutError:
                raise TimeoutError(
                    f"no RECEIPT for {frame.command} within {self.timeout} s"
                ) from None

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
        if self._final is not None and not isinstance(self._final, _Closed):
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
        try:
            while True:
                data = await stream.read()
                if not data:
                    raise ConnectionLost(f"{connection.url} closed the connection")
                connection.last_received = loop.time()  # any byte counts as life
                for reaction in connection.engine.receive(data):
                    await self._dispatch(connection, reaction)
        except ConnectionLost as exc:
            self._lost(connection, exc)
        except (OSError, ValueError) as exc:  # ValueError: ProtocolError and handler mistakes
            message = f"connection to {connection.url} failed: {describe_error(exc)}"
            self._lost(connection, ConnectionLost(message))

    async def _dispatch(self, connection: _Connection, reaction: Reaction) -> None:
        frame = reaction.frame
        logger.debug("received %r", frame)
        self._write_bytes(connection, reaction.reply)
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
        elif isinstance(frame, Message) and not reaction.handled:
            subscription = self._subscriptions.get(frame.subscription or "")
            if subscription is None:
                logger.warning("MESSAGE for unknown subscription %r dropped", frame.subscription)
            else:
                await subscription._queue.put(frame)  # waits when full: back-pressure

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


__all__ = [
    "Backoff",
    "BrokerError",
    "BrokerURL",
    "Client",
    "ConnectionEvent",
    "ConnectionLost",
    "HeartbeatTimeout",
    "Subscription",
]
