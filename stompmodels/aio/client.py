"""The asyncio STOMP client: a loop around the sans-IO `ClientSession`.

The client owns the streams, the tasks (reader, heart-beats, reconnect), the timeouts and the
log; the session decides everything else (see `stompmodels._client.session`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Final, Never, Self, TypeAlias, TypeVar

from pydantic import SecretStr

from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import Closed, ConnectionEvent, ConnectionLost, describe_error
from stompmodels._client.health import Health
from stompmodels._client.options import ClientOptions, CredentialsHook, StateCallback
from stompmodels._client.payloads import PayloadError, decoder_for
from stompmodels._client.replies import Replies
from stompmodels._client.session import (
    ClientSession,
    Deliver,
    Dispatch,
    Dropped,
    Failed,
    Opened,
    Outgoing,
    Settled,
)
from stompmodels._client.subscribers import (
    Settlement,
    SubscriberSpec,
    settle_failed,
    settle_handled,
    settle_invalid,
)
from stompmodels._client.tls import ssl_context_for
from stompmodels._client.url import BrokerURL
from stompmodels._engine import Engine
from stompmodels._errors import LocalProtocolError
from stompmodels._frames import ClientFrame, Connected, Message
from stompmodels._headers import AckMode, HeartBeat
from stompmodels._heartbeat import EOL
from stompmodels._limits import Limits
from stompmodels._registry import F, Handler, Router
from stompmodels._spec import VERSIONS, Version
from stompmodels._state import State
from stompmodels.aio.connection import Connection
from stompmodels.aio.stream import open_stream
from stompmodels.aio.subscriber import Subscriber
from stompmodels.aio.subscription import Subscription

if TYPE_CHECKING:
    from stompmodels._client.telemetry import Telemetry

logger = logging.getLogger("stompmodels.aio")
logging.getLogger("stompmodels").addHandler(logging.NullHandler())  # the application decides

_CLOSING_CHECK: Final = 0.1  # seconds between looks at `close` while a full queue holds the reader
_T = TypeVar("_T")
_Replies: TypeAlias = Replies[asyncio.Future[Message]]
_Sink: TypeAlias = Subscription | Subscriber | _Replies
_Session: TypeAlias = ClientSession[asyncio.Future[None], _Sink]
AsyncHandler = TypeVar(
    "AsyncHandler",
    bound=Callable[[Never], Awaitable[object]] | Callable[[Never, Message], Awaitable[object]],
)


class Client:
    """An asyncio STOMP client.

    ``async with Client("stomp://guest:guest@127.0.0.1:61613/") as client:`` connects, and
    disconnects gracefully on exit. Every wait is bounded by `timeout` seconds. Give several
    URLs (a list or ``failover:(url,url)``) to fail over, and `reconnect` (True or a `Backoff`)
    to come back after a lost connection: subscriptions are renewed; transactions in flight are
    not replayed. `credentials` is called with each broker's URL before every connect and
    returns the URL to use; `on_state` is told "connected", "lost", "reconnected" and "closed".
    A handler registered with `on` runs on the reader: an exception it raises is logged, its
    message left unacknowledged (NACKed where the version and ack mode allow), and reading goes
    on. Typed messages: `subscriber` (async handlers of validated payloads, each in a task of
    its own), `publish`, `request` and `serve`. With `telemetry`, OpenTelemetry spans and
    metrics are recorded (the `otel` extra); `health` says whether the client is well.
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
        credentials: CredentialsHook | None = None,
        on_state: StateCallback | None = None,
        telemetry: bool = False,
    ) -> None:
        self.options = ClientOptions.build(
            url,
            host=host,
            port=port,
            login=login,
            passcode=passcode,
            vhost=vhost,
            tls=bool(ssl),
            heart_beat=heart_beat,
            versions=versions,
            timeout=timeout,
            limits=limits,
            queue_size=queue_size,
            reconnect=reconnect,
            credentials=credentials,
            on_state=on_state,
            telemetry=telemetry,
        )
        self._session: _Session = ClientSession(self.options)
        self._telemetry: Telemetry | None = None
        if telemetry:
            from stompmodels._client.telemetry import Telemetry

            self._telemetry = Telemetry()
        self._ssl = ssl
        self._connection: Connection | None = None
        self._connecting = False
        self._final: ConnectionLost | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._name = "stompmodels"
        self._subscribers: list[Subscriber] = []
        self._replies: _Replies = Replies()
        self._ended = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()

    # -- what the client knows -------------------------------------------------------------

    @property
    def urls(self) -> list[BrokerURL]:
        """The brokers, in failover order."""
        return list(self.options.urls)

    @property
    def url(self) -> BrokerURL:
        """The broker of the current (or next) connection."""
        return self._session.url if self._connection else self._session.next_url

    @property
    def timeout(self) -> float:
        """The bound, in seconds, of every wait."""
        return self.options.timeout

    @property
    def engine(self) -> Engine:
        """The Engine of the current connection."""
        return self._session.engine

    @property
    def failure(self) -> ConnectionLost | None:
        """Why the client stopped, if it failed (None while it runs or after a clean close)."""
        return None if isinstance(self._final, Closed) else self._final

    def health(self) -> Health:
        """Whether the client is well now (`Health.ok`), and each part of the answer:
        connected, broker, version, seconds since the broker's last byte, whether the reader
        and every subscriber run, messages in flight."""
        connection = self._connection
        connected = reader_running = False
        if connection is not None and connection.failure is None:
            connected = True
            reader_running = bool(connection.tasks) and not connection.tasks[0].done()
        subscribers_running = all(
            sink.workers and not any(task.done() for task in sink.workers)
            for sink in self._subscribers
        )
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            now = time.monotonic()  # the loop's own clock, read outside it
        return self._session.health(
            now,
            connected=connected,
            reader_running=reader_running,
            subscribers_running=subscribers_running,
            in_flight=sum(sink.running for sink in self._subscribers),
        )

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

    async def connect(self) -> Connected:
        """Connect to the first broker that answers (each tried once); return its CONNECTED."""
        owner = asyncio.current_task()
        self._name = owner.get_name() if owner is not None else "stompmodels"
        self._session.closing, self._final = False, None
        self._ended.clear()
        error: ConnectionLost | None = None
        self._connecting = True
        try:
            for url in self._session.connect_order():
                try:
                    connected = await self._attempt(url)
                except ConnectionLost as exc:
                    error = exc
                    self._session.failed_over()
                    continue
                self._start_workers()
                if self._telemetry is not None:
                    self._telemetry.connected(self.url, connected.server, again=False)
                self._notify("connected")
                return connected
        finally:
            self._connecting = False
        assert error is not None
        raise error

    async def close(self, timeout: float | None = None) -> None:
        """Disconnect gracefully (DISCONNECT, then wait for its receipt, bounded) and close."""
        session = self._session
        session.closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            await asyncio.wait([self._reconnecting], timeout=1.0)  # our own cancel propagates
        await self._stop_workers(self.timeout if timeout is None else timeout)
        connection = self._connection
        if connection is not None:
            if connection.failure is None and session.engine.state is State.CONNECTED:
                frame = session.engine.disconnect()
                try:
                    async with asyncio.timeout(self.timeout if timeout is None else timeout):
                        await self._request(frame)
                except Closed as closed:
                    logger.debug("%s", closed)
                except (TimeoutError, ConnectionLost):
                    logger.warning("no receipt for DISCONNECT from %s; closing anyway", self.url)
            await self._shut(connection, Closed(f"connection to {connection.url} closed"))
        self._end(Closed("the client is closed"))
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
        return self._session.router.on(
            kind, where=where, destination=destination, subscription=subscription
        )

    def include(self, router: Router) -> None:
        """Consult `router`'s handlers after the ones registered so far."""
        self._session.router.include(router)

    def subscriber(
        self,
        destination: str,
        *,
        ack: AckMode = "client-individual",
        max_concurrent: int = 1,
        dead_letter: str | None = None,
        prefetch: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Callable[[AsyncHandler], AsyncHandler]:
        """Register an async handler of typed messages from `destination`; see the README's
        "typed messages".

        The handler's first parameter's annotation is the payload type (anything pydantic's
        TypeAdapter takes, or `str` / `bytes`); an optional second parameter annotated
        `Message` gets the frame. It is subscribed on connect and on every reconnect; at most
        `max_concurrent` handlers run at once, and the broker sends at most `prefetch`
        (default: `max_concurrent`) messages ahead. A handler that returns is ACKed (its
        value, if any, replies to `reply-to`); one that raises is NACKed; a body that is not
        a valid payload goes to `dead_letter` (then ACKed), or is NACKed without requeue.
        """

        def register(handler: AsyncHandler) -> AsyncHandler:
            spec = SubscriberSpec.of(
                handler,
                destination,
                ack=ack,
                max_concurrent=max_concurrent,
                dead_letter=dead_letter,
                prefetch=prefetch,
                headers=headers,
                asynchronous=True,
            )
            sink = Subscriber(spec, self.options.queue_size)
            sink.id, frame = self._session.declare(
                destination, ack=ack, headers=spec.headers, prefetch=spec.prefetch, sink=sink
            )
            self._subscribers.append(sink)
            if frame is not None:  # connected already: subscribe now
                self._start_workers()
                self._in_background(self._request(frame), f"subscribe {destination}")
            return handler

        return register

    async def publish(
        self,
        destination: str,
        payload: object,
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        receipt: bool = False,
        transaction: str | None = None,
        reply_to: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """Send a typed payload: a model or any JSON-able value as JSON
        (``content-type:application/json``), `str` as UTF-8 text, bytes as they are. With
        `receipt`, wait until the broker confirms it."""
        pending = self._produce(
            destination,
            headers,
            correlation_id,
            lambda traced: self._session.publish(
                destination,
                payload,
                content_type=content_type,
                headers=traced,
                receipt=receipt,
                transaction=transaction,
                reply_to=reply_to,
                correlation_id=correlation_id,
            ),
        )
        if pending is not None:
            await pending

    async def request(
        self,
        destination: str,
        payload: object,
        *,
        response: type[_T],
        timeout: float | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _T:
        """Publish `payload` with a `reply-to` and a fresh `correlation-id`, and return the
        reply decoded as `response`. Raises TimeoutError when no reply comes within `timeout`
        seconds (the client's timeout if None), pydantic's ValidationError when the reply is
        not a valid `response`. Concurrent requests share one reply subscription."""
        decoder = decoder_for(response)
        self._current()
        replies = self._replies
        route = replies.route(self._session, replies)
        if route is not None:
            await self._request(route)
        waiter: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        correlation = replies.expect(waiter)
        limit = self.timeout if timeout is None else timeout
        try:
            pending = self._produce(
                destination,
                headers,
                correlation,
                lambda traced: self._session.publish(
                    destination,
                    payload,
                    content_type=content_type,
                    headers=traced,
                    reply_to=replies.destination,
                    correlation_id=correlation,
                ),
            )
            if pending is not None:
                await pending
            async with asyncio.timeout(limit):
                message = await waiter
        except TimeoutError:
            raise TimeoutError(f"no reply from {destination} within {limit:g} s") from None
        finally:
            replies.forget(correlation)
        return decoder.reply(message)

    async def serve(self) -> None:
        """Run the subscribers until the client is closed (then return) or fails for good
        (then raise why). Cancel it to stop; ``async with`` then closes the client."""
        if self._connection is None and not self._ended.is_set():
            raise ConnectionLost("the client is not connected: connect before serve()")
        await self._ended.wait()
        self._raise_if_failed()

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
        pending = self._produce(
            destination,
            headers,
            None,
            lambda traced: self._session.send(
                destination,
                body,
                content_type=content_type,
                headers=traced,
                receipt=receipt,
                transaction=transaction,
                omit_content_length=omit_content_length,
            ),
        )
        if pending is not None:
            await pending

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
        session = self._session
        frame = session.subscribe(
            destination, ack=ack, id=id, headers=headers, receipt=receipt, prefetch=prefetch
        )
        subscription = Subscription(self, frame, self.options.queue_size)
        session.add(frame, subscription)
        try:
            await self._request(frame)
        except BaseException:
            session.remove(subscription.id)
            raise
        return subscription

    async def ack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> None:
        """Acknowledge `message` with the headers of the negotiated version; with `receipt`,
        wait until the broker confirms.

        A message received before a reconnect is not acknowledged: the broker took it back
        when that connection ended, and delivers it again.
        """
        if self._stale(message, "ACK"):
            return
        connection = self._current()
        out = self._session.acknowledge(message, transaction=transaction, receipt=receipt)
        if self._telemetry is not None:
            self._telemetry.settled(message, "ACK")
        pending = self._transmit(connection, out)
        if pending is not None:
            await pending

    async def nack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> None:
        """Reject `message` (STOMP 1.1+); like `ack`, not for a message from before a reconnect."""
        if self._stale(message, "NACK"):
            return
        connection = self._current()
        out = self._session.acknowledge(
            message, nack=True, transaction=transaction, receipt=receipt
        )
        if self._telemetry is not None:
            self._telemetry.settled(message, "NACK")
        pending = self._transmit(connection, out)
        if pending is not None:
            await pending

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[str]:
        """``async with client.transaction() as tx:`` commits on success, aborts on error.

        Pass `transaction=tx` to `send`, `ack` and `nack` inside it. A transaction is never
        replayed on a new connection: if the connection was lost, COMMIT raises ConnectionLost.
        """
        session = self._session
        engine = session.engine
        begin = engine.begin(receipt=True)
        await self._request(begin)
        try:
            yield begin.transaction
        except BaseException:
            if session.engine is engine and self._connection is not None:
                with contextlib.suppress(ConnectionLost, ValueError):
                    await self._request(engine.abort(begin.transaction))
            raise
        if session.engine is not engine:
            raise ConnectionLost("the connection was lost during the transaction; not committed")
        commit = engine.commit(begin.transaction, receipt=True)
        await self._request(commit)

    # -- connections -----------------------------------------------------------------------

    async def _attempt(self, url: BrokerURL) -> Connected:
        """One attempt: stream, CONNECT, CONNECTED, renewed subscriptions."""
        session = self._session
        url = session.resolve(url)
        tls = ssl_context_for(url, self._ssl)
        try:
            async with asyncio.timeout(self.timeout):
                stream = await open_stream(
                    url, tls, self.options.limits or Limits(), self.options.versions
                )
        except ConnectionLost:
            raise  # already says why (a refused WebSocket handshake)
        except (OSError, TimeoutError) as exc:
            raise ConnectionLost(f"cannot reach {url}: {describe_error(exc)}") from None
        loop = asyncio.get_running_loop()
        connection = Connection(url, stream, self._wrote)
        self._connection = connection
        connect = session.begin(url, loop.time())
        if self._telemetry is not None:
            self._telemetry.connecting(url)
        reader = asyncio.create_task(self._read_loop(connection), name=f"{self._name}:reader")
        connection.tasks.append(reader)
        try:
            self._record_sent(connect)
            connection.send(connect)
            async with asyncio.timeout(self.timeout):
                connected = await connection.connected
            for frame in session.renewals():
                await self._request(frame)
        except LocalProtocolError as exc:  # a subscription the negotiated version cannot have
            error = ConnectionLost(f"cannot renew the subscriptions on {url}: {exc}")
            await self._shut(connection, error)
            raise error from None
        except TimeoutError:
            error = ConnectionLost(f"no answer from {url} within {self.timeout} s")
            await self._shut(connection, error)
            raise error from None
        except ConnectionLost as exc:
            await self._shut(connection, exc)
            raise
        logger.info("%s", session.describe())
        if session.heartbeat_tick is not None:
            beats = asyncio.create_task(
                self._heartbeat_loop(connection), name=f"{self._name}:heart-beat"
            )
            connection.tasks.append(beats)
        return connected

    def _wrote(self, now: float) -> None:
        self._session.last_sent = now

    def _fail(self, connection: Connection, error: ConnectionLost) -> None:
        """A connection failed: wake its waiters, then reconnect or end the client."""
        if connection.failure is not None:
            return
        current = connection is self._connection
        waiters: list[asyncio.Future[None]] = []
        if current:
            error, waiters = self._session.connection_lost(error)
            for request in self._replies.abandon():
                _fail_waiter(request, error)
        connection.failure = error
        logger.log(logging.DEBUG if isinstance(error, Closed) else logging.WARNING, "%s", error)
        for waiter in waiters:
            _fail_waiter(waiter, error)
        _fail_waiter(connection.connected, error)
        connection.stream.close()
        if not current or self._session.closing or self._connecting:
            return  # connect() and close() decide what comes next
        if not self._session.should_reconnect(error):
            self._end(error)
            return
        if self._reconnecting is not None and not self._reconnecting.done():
            return  # an attempt of the reconnect loop failed: the loop goes on
        self._notify("lost")
        self._reconnecting = asyncio.create_task(
            self._reconnect_loop(error), name=f"{self._name}:reconnect"
        )

    async def _reconnect_loop(self, error: ConnectionLost) -> None:
        session = self._session
        if self._connection is not None:
            await self._shut(self._connection, error)
        for delay in session.reconnect_delays():
            await asyncio.sleep(delay)
            session.failed_over()
            url = session.next_url
            try:
                await self._attempt(url)
            except ConnectionLost as exc:
                logger.warning("reconnect to %s failed: %s", url, exc)
                error = exc
                continue
            if self._telemetry is not None:
                self._telemetry.connected(self.url, self._session.engine.server, again=True)
            self._notify("reconnected")
            return
        self._end(ConnectionLost(f"gave up reconnecting: {error}"))

    def _end(self, error: ConnectionLost) -> None:
        """No more connections: end every subscription's iterator."""
        if self._final is None:
            self._final = error
        for _, sink in self._session.subscriptions.values():
            if not isinstance(sink, Replies):
                sink._close()
        self._ended.set()

    async def _shut(self, connection: Connection, error: ConnectionLost) -> None:
        """Fail `connection` (if not yet) and wait for its tasks and stream to finish."""
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
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(connection.stream.wait_closed(), 1.0)

    def _notify(self, event: ConnectionEvent) -> None:
        callback = self.options.on_state
        if callback is None:
            return
        try:
            callback(event, self.url)
        except Exception:
            logger.exception("the on_state callback failed on %r", event)

    # -- writing ---------------------------------------------------------------------------

    async def _unsubscribe(self, subscription: Subscription, *, receipt: bool) -> None:
        frame = self._session.engine.unsubscribe(subscription.id, receipt=receipt)
        self._session.remove(subscription.id)
        subscription._close()
        await self._request(frame)

    def _produce(
        self,
        destination: str,
        headers: Mapping[str, str] | None,
        correlation_id: str | None,
        make: Callable[[Mapping[str, str] | None], Outgoing],
    ) -> Awaitable[None] | None:
        """Write the SEND `make` builds with `headers` (see `_transmit`); with telemetry,
        inside a producer span whose trace context `make` gets in the headers."""
        connection = self._current()
        telemetry = self._telemetry
        if telemetry is None:
            return self._transmit(connection, make(headers))
        return self._produce_traced(
            telemetry,
            connection,
            destination=destination,
            headers=headers,
            correlation_id=correlation_id,
            make=make,
        )

    async def _produce_traced(
        self,
        telemetry: Telemetry,
        connection: Connection,
        *,
        destination: str,
        headers: Mapping[str, str] | None,
        correlation_id: str | None,
        make: Callable[[Mapping[str, str] | None], Outgoing],
    ) -> None:
        span, traced = telemetry.sending(destination, headers, correlation_id)
        try:
            out = make(traced)
            telemetry.sent_frame(span, destination, out.data)
            pending = self._transmit(connection, out)
            if pending is not None:
                with telemetry.waiting(span, out.command):
                    await pending
        except BaseException as exc:
            telemetry.end(span, exc)
            raise
        telemetry.end(span)

    async def _request(self, frame: ClientFrame) -> None:
        """Encode `frame` (the session checks it) and write it; see `_transmit`."""
        connection = self._current()
        pending = self._transmit(connection, self._session.outgoing(frame))
        if pending is not None:
            await pending

    def _transmit(self, connection: Connection, out: Outgoing) -> Awaitable[None] | None:
        """Queue `out` (see `Connection.send`); what the caller must await, if anything: the
        RECEIPT it asks for (bounded by `timeout`), or room in a full stream buffer. A plain
        frame costs no coroutine."""
        receipt = out.receipt
        waiter: asyncio.Future[None] | None = None
        if receipt is not None:
            # Parked before the write (the RECEIPT cannot be read before the caller next
            # waits) and after a successful encode (a refused frame leaves no waiter).
            waiter = asyncio.get_running_loop().create_future()
            self._session.expect(receipt, waiter)
        self._record_sent(out.data)
        flushed = connection.send(out.data)
        if waiter is not None:
            return self._confirm(connection, out, waiter, flushed)
        return self._drained(connection) if flushed else None

    @staticmethod
    async def _drained(connection: Connection) -> None:
        """After a batch was written: wait while the stream's buffer is full (back-pressure),
        and let the reader and heart-beats run even if the caller never waits."""
        await connection.stream.drain()
        await asyncio.sleep(0)

    async def _confirm(
        self, connection: Connection, out: Outgoing, waiter: asyncio.Future[None], flushed: bool
    ) -> None:
        if flushed:
            await self._drained(connection)
        try:
            async with asyncio.timeout(self.timeout):
                await waiter
        except TimeoutError:
            self._session.forget(out.receipt or "", waiter)
            raise TimeoutError(f"no RECEIPT for {out.command} within {self.timeout} s") from None

    def _record_sent(self, data: bytes) -> None:
        if self._telemetry is not None:
            self._telemetry.wrote(len(data))
        if logger.isEnabledFor(logging.DEBUG):  # the bytes are parsed for the log line only
            logger.debug("sent %r", self._session.sent(data))

    def _stale(self, message: Message, command: str) -> bool:
        """Whether `message` came on an earlier connection, so its `command` must not be sent
        (said at INFO)."""
        line = self._session.stale(message, command)
        if line is None:
            return False
        logger.info("%s", line)
        return True

    def _current(self) -> Connection:
        connection = self._connection
        if connection is None:
            raise ConnectionLost("the client is not connected")
        if connection.failure is not None:
            raise connection.failure
        return connection

    def _raise_if_failed(self) -> None:
        if self._final is not None and not isinstance(self._final, Closed):
            raise self._final

    # -- the reader and the heart-beats ----------------------------------------------------

    async def _read_loop(self, connection: Connection) -> None:
        stream = connection.stream
        loop = asyncio.get_running_loop()
        session = self._session
        try:
            while True:
                data = await stream.read()
                if not data:
                    raise ConnectionLost(f"{connection.url} closed the connection")
                telemetry = self._telemetry
                if telemetry is not None:
                    telemetry.read(len(data))
                debug = logger.isEnabledFor(logging.DEBUG)
                for action in session.receive(data, loop.time()):
                    if debug:
                        logger.debug("received %r", action.frame)
                    if isinstance(action, Deliver):
                        sink, message = action
                        if telemetry is not None:
                            telemetry.received(message)
                        if isinstance(sink, Replies):
                            self._replied(message)
                        elif session.closing or not sink._queue.offer(message):
                            await self._deliver(sink, message)
                    elif isinstance(action, Settled):
                        for waiter in action.waiters:
                            if not waiter.done():
                                waiter.set_result(None)
                    elif isinstance(action, Dispatch):
                        self._run_handler(connection, action)
                    elif isinstance(action, Opened):
                        if not connection.connected.done():
                            connection.connected.set_result(action.frame)
                    elif isinstance(action, Dropped):
                        logger.warning("%s", action.reason)
                    elif isinstance(action, Failed):
                        raise action.error
        except ConnectionLost as exc:
            self._fail(connection, exc)
        except OSError as exc:
            reason = f"connection to {connection.url} failed: {describe_error(exc)}"
            self._fail(connection, ConnectionLost(reason))

    def _run_handler(self, connection: Connection, action: Dispatch) -> None:
        """Run a handler on the reader; its exception is logged, never the end of reading."""
        telemetry = self._telemetry
        frame = action.frame
        if telemetry is not None and type(frame) is Message:
            telemetry.received(frame)
            name = getattr(action.handler, "__qualname__", repr(action.handler))
            with telemetry.processing(frame, name):
                outcome = self._session.run_handler(action.handler, frame)
                if outcome.error is not None:
                    telemetry.failed(outcome.error)
        else:
            outcome = self._session.run_handler(action.handler, frame)
        if outcome.error is not None:
            name = getattr(action.handler, "__qualname__", repr(action.handler))
            logger.error(
                "handler %s failed on %s",
                name,
                action.frame.command,
                exc_info=outcome.error,
            )
        if outcome.data and connection.failure is None:
            self._record_sent(outcome.data)
            connection.send(outcome.data)

    def _replied(self, message: Message) -> None:
        waiter = self._replies.take(message)
        if waiter is None:
            logger.debug("reply %s dropped: nobody waits for it", message.message_id)
        elif not waiter.done():
            waiter.set_result(message)

    async def _deliver(self, subscription: Subscription | Subscriber, message: Message) -> None:
        """Queue `message` when the queue is full: wait for room (back-pressure: the reader
        stops and TCP pushes back on the broker), but only until `close` begins. The reader
        must then go on to DISCONNECT's RECEIPT, and the MESSAGE is dropped: nobody takes it
        any more, and the broker delivers it again if it is unacknowledged. While reading
        waits, the broker's silence is not judged (its heart-beats wait unread)."""
        session = self._session
        queue = subscription._queue
        session.pause_reading()
        try:
            while not session.closing:
                if queue.offer(message):
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_CLOSING_CHECK):
                        await queue.put(message)
                        return
        finally:
            session.resume_reading(asyncio.get_running_loop().time())
        logger.debug("MESSAGE %s dropped: the client is closing", message.message_id)

    # -- typed subscribers -----------------------------------------------------------------

    def _start_workers(self) -> None:
        """Start each subscriber's `max_concurrent` workers (once; again after a close)."""
        for sink in self._subscribers:
            if sink.workers and not all(task.done() for task in sink.workers):
                continue
            sink._queue.items.clear()  # an end marker of an earlier close
            sink.workers = [
                asyncio.create_task(self._work(sink), name=f"{self._name}:{sink.spec.name}:{n}")
                for n in range(sink.spec.max_concurrent)
            ]

    async def _stop_workers(self, timeout: float) -> None:
        """Let running handlers finish (for at most `timeout` seconds), so their ACKs go out
        before DISCONNECT; messages not yet started are left to the broker."""
        workers = [task for sink in self._subscribers for task in sink.workers]
        for sink in self._subscribers:
            sink._close()
        pending = [task for task in workers if not task.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:
                logger.warning("handler %s still running at close: cancelled", task.get_name())
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1.0)

    async def _work(self, sink: Subscriber) -> None:
        queue = sink._queue
        while True:
            message = queue.take() if queue.items else await queue.get()
            if message is None:
                queue.offer(None)  # for the next worker
                return
            sink.running += 1
            try:
                if self._telemetry is None:
                    await self._settle(sink.spec, message, await self._handle(sink.spec, message))
                else:
                    with self._telemetry.processing(message, sink.spec.name):
                        settlement = await self._handle(sink.spec, message)
                        await self._settle(sink.spec, message, settlement)
            except (ConnectionLost, TimeoutError, ValueError) as exc:
                logger.warning(
                    "subscriber %s: message %s not settled: %s",
                    sink.spec.name,
                    message.message_id,
                    exc,
                )
            except Exception:  # a bug: loud, but the subscriber goes on
                logger.exception("subscriber %s: message %s", sink.spec.name, message.message_id)
            finally:
                sink.running -= 1

    async def _handle(self, spec: SubscriberSpec, message: Message) -> Settlement:
        """Run `spec`'s handler on `message`; what its outcome sends."""
        session = self._session
        try:
            arguments = spec.arguments(message)
        except PayloadError as exc:
            logger.error("%s", spec.refused(message, exc))
            if self._telemetry is not None:
                self._telemetry.failed(exc)
            return settle_invalid(session, spec, message, exc)
        try:
            result = await spec.handler(*arguments)  # type: ignore[misc]  # checked async at registration
            return settle_handled(session, spec, message, result)
        except Exception as exc:
            logger.exception("%s", spec.failed(message))
            if self._telemetry is not None:
                self._telemetry.failed(exc)
            return settle_failed(session, spec, message)

    async def _settle(self, spec: SubscriberSpec, message: Message, settlement: Settlement) -> None:
        if settlement.note is not None:
            logger.info("subscriber %s: %s", spec.name, settlement.note)
        telemetry = self._telemetry
        for out in settlement.sends:
            if telemetry is not None:
                telemetry.settled(message, out.command, dead_letter=settlement.outcome == "invalid")
            pending = self._transmit(self._current(), out)
            if pending is not None:
                await pending

    def _in_background(self, work: Awaitable[None], what: str) -> None:
        async def run() -> None:
            try:
                await work
            except (ConnectionLost, TimeoutError) as exc:
                logger.warning("%s failed: %s", what, exc)

        task = asyncio.get_running_loop().create_task(run(), name=f"{self._name}:{what}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _heartbeat_loop(self, connection: Connection) -> None:
        loop = asyncio.get_running_loop()
        session = self._session
        tick = session.heartbeat_tick
        assert tick is not None
        while connection.failure is None:
            await asyncio.sleep(tick)
            now = loop.time()
            if session.heartbeat_due(now) and connection.failure is None:
                connection.send(EOL)
                if self._telemetry is not None:
                    self._telemetry.wrote(len(EOL))
            overdue = session.overdue(now)
            if overdue is not None:
                if self._telemetry is not None:
                    self._telemetry.heartbeat_timeout()
                self._fail(connection, overdue)
                return


def _fail_waiter(waiter: asyncio.Future[_T], error: ConnectionLost) -> None:
    if not waiter.done():
        waiter.set_exception(error)
        waiter.exception()  # retrieved: nobody may be waiting any more
