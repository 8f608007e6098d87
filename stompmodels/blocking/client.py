"""A blocking STOMP client for threads and plain sockets: the same features as `stompmodels.aio`.

```python
from stompmodels.blocking import Client

with Client("stomp://guest:guest@127.0.0.1:61613/") as client:
    subscription = client.subscribe("/queue/a", ack="client-individual")
    client.send("/queue/a", "hello", receipt=True)
    message = subscription.get(timeout=5)
    subscription.ack(message)
```

Every call that waits is bounded by the client's `timeout` (or the one given), and fails at once
with ConnectionLost (BrokerError, HeartbeatTimeout) when the connection ends. The one wait
without a deadline is iterating a subscription (`for message in subscription`), which ends when
the subscription or the connection does.

The client drives a `ClientSession` (the session logic every client shares) with daemon threads:
- reader: the only thread that reads the socket. It hands the bytes to the session (any byte is
  life), settles receipt waiters, and puts each MESSAGE into its subscription's bounded channel,
  or a handler's frame into the dispatcher's. It never runs user code, so a slow handler cannot
  keep heart-beats from being read. When a channel is full (a consumer lags) it waits for room,
  and TCP pushes back on the broker; meanwhile the session does not judge the broker's silence,
  and the deadline restarts when reading resumes.
- heart-beat: sends an EOL when one is due, and fails the connection with HeartbeatTimeout once
  the broker has been silent past the deadline.
- dispatcher: runs the handlers registered with `on`, one frame at a time, in arrival order, and
  sends the frame a handler returns (or, if it raised, the NACK the session asks for).
- subscribers: each `@client.subscriber` has `max_concurrent` threads that take its MESSAGEs
  from its channel, decode the payload, run the handler and send what its outcome asks (the
  session's `settle_*`), on the connection the outcome was decided for.
- reconnect: when a session that was up is lost and `reconnect` is on, whatever thread saw the
  loss (reader, heart-beat or a writer) wakes the waiters and starts this thread, so the reader
  never reconnects, sleeps or runs user code. It waits (bounded) for the old connection's threads,
  then sleeps each backoff delay (cut short by `close`) and tries the next broker in turn: a new
  socket, CONNECT, and the subscriptions renewed (their channels, and the messages in them,
  stay). When the attempts run out, the subscriptions end with the error. `on_state` callbacks
  run on the thread that caused the event: "lost" and "reconnected" on this one.

Locks: `_write_lock` orders all writes (frames and heart-beats); `_lock` guards the session (its
Engine, which is not thread-safe, receipts and subscriptions) and the client's connection state.
A writer takes the write lock, then `_lock` to encode the frame, lets `_lock` go and writes; the
reader only takes `_lock`. So there is no lock cycle, and a long write never stalls reading.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl as ssl_module
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Final, Never, Self, TypeAlias, TypeVar

from pydantic import SecretStr

from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import (
    BrokerError,
    Closed,
    ConnectionEvent,
    ConnectionLost,
    describe_error,
)
from stompmodels._client.health import Health
from stompmodels._client.options import ClientOptions
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
from stompmodels._client.url import BrokerURL, require_tcp
from stompmodels._engine import Engine
from stompmodels._errors import LocalProtocolError
from stompmodels._frames import ClientFrame, Connected, Message, ServerFrame
from stompmodels._headers import AckMode, HeartBeat
from stompmodels._heartbeat import EOL
from stompmodels._limits import Limits
from stompmodels._registry import F, Handler, Router
from stompmodels._spec import VERSIONS, Version
from stompmodels._state import State

from .subscriber import Subscriber
from .subscription import Subscription
from .sync import SLICE, Channel, Waiter, fresh

if TYPE_CHECKING:
    from stompmodels._client.telemetry import Telemetry

logger = logging.getLogger("stompmodels.blocking")

_READ_SIZE: Final = 64 * 1024
_T = TypeVar("_T")
_Replies: TypeAlias = Replies[Waiter[Message]]
_Sink: TypeAlias = Channel[Message] | _Replies
SyncHandler = TypeVar(
    "SyncHandler", bound=Callable[[Never], object] | Callable[[Never, Message], object]
)


class Client:
    """A blocking STOMP client.

    ``with Client("stomp://guest:guest@127.0.0.1:61613/") as client:`` connects, and disconnects
    gracefully on exit (DISCONNECT, then its receipt, waited for at most `timeout` seconds).
    Every wait is bounded by `timeout` seconds. A client connects once. Give several URLs (a
    list or ``failover:(url,url)``) to fail over, and `reconnect` to come back after a lost
    connection (on a background thread): subscriptions are renewed, with the same ids, ack modes
    and headers; transactions in flight are not replayed. `credentials` is called with each
    broker's URL before every connect, and returns the URL to use (fresh credentials, say);
    `on_state` is told "connected", "lost", "reconnected" and "closed". With `telemetry`,
    OpenTelemetry spans and metrics are recorded (the `otel` extra).
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
        telemetry: bool = False,
    ) -> None:
        options = ClientOptions.build(
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
        require_tcp(list(options.urls), "the blocking client")
        self.timeout = timeout
        self._session: ClientSession[Waiter[None], _Sink] = ClientSession(options)
        self._telemetry: Telemetry | None = None
        if telemetry:
            from stompmodels._client.telemetry import Telemetry

            self._telemetry = Telemetry()
        self._ssl = ssl
        self._sock: socket.socket | None = None
        self._write_lock = threading.Lock()
        self._lock = threading.RLock()
        self._stop = threading.Event()  # set when the current connection ends
        self._halt = threading.Event()  # set by close: stop reconnecting
        self._threads: list[threading.Thread] = []
        self._workers: list[threading.Thread] = []  # the current connection's reader, heart-beat
        self._dispatcher: threading.Thread | None = None
        self._reconnector: threading.Thread | None = None
        self._connected: Waiter[Connected] = Waiter("CONNECTED")
        self._jobs: Channel[Dispatch] = Channel(options.queue_size)
        self._failure: ConnectionLost | None = None  # why the current connection ended
        self._attempting = False  # a connect (or reconnect) is under way: it handles failures
        self._ended = False  # the subscriptions and the dispatcher have been ended
        self._over = threading.Event()  # set with `_ended`: what `serve` waits for
        self._subscribers: list[Subscriber] = []
        self._replies: _Replies = Replies()
        self._route_lock = threading.Lock()  # one reply route set-up at a time

    def __repr__(self) -> str:
        return f"Client({str(self.url)!r}, state={self.engine.state.value!r})"

    @property
    def urls(self) -> list[BrokerURL]:
        """The brokers, in failover order."""
        return list(self._session.options.urls)

    @property
    def url(self) -> BrokerURL:
        """The broker of the current connection (as the credentials hook gave it)."""
        return self._session.url

    @property
    def engine(self) -> Engine:
        """The Engine of the current connection (a new one on each reconnect)."""
        return self._session.engine

    # -- life cycle ------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def connect(self) -> Connected:
        """Open the connection and the session; return the broker's CONNECTED frame.

        Raises ConnectionLost if the broker cannot be reached or does not answer in time, and
        BrokerError if it refuses the session (bad credentials, unknown vhost, no common version).
        Several brokers are tried in turn, each once.
        """
        if self._dispatcher is not None:
            raise LocalProtocolError("this client has already connected once; make a new one")
        self._attempting = True
        self._dispatcher = self._start(self._dispatch_loop, "dispatcher")
        session = self._session
        error: ConnectionLost | None = None
        with self._lock:
            order = session.connect_order()
        for url in order:
            try:
                connected = self._attempt(url)
            except ConnectionLost as exc:
                error = exc
                with self._lock:
                    session.failed_over()
                continue
            for subscriber in self._subscribers:
                self._start_workers(subscriber)
            if self._telemetry is not None:
                self._telemetry.connected(self.url, connected.server, again=False)
            self._notify("connected")
            return connected
        assert error is not None
        with self._lock:
            self._attempting = False
            if self._failure is None:
                self._failure = error
        self._end(error)
        self._dispatcher.join(self.timeout)
        raise error

    def close(self, timeout: float | None = None) -> None:
        """Disconnect gracefully and stop the threads, within `timeout` seconds (plus a little).

        Handlers at work are given the time to finish; then DISCONNECT is sent and its receipt
        awaited. Safe to call more than once, and after a failure.
        """
        closed_before = self._halt.is_set()
        self._halt.set()
        limit = self.timeout if timeout is None else timeout
        reconnector = self._reconnector
        if reconnector is not None and reconnector is not threading.current_thread():
            # An attempt under way is bounded by `timeout` per step; it sees the halt at once.
            reconnector.join(limit)
        deadline = time.monotonic() + limit
        if self._failure is None and self.engine.state is State.CONNECTED:
            # Let the handler at work (and those queued) finish, so that their ACKs go out.
            in_handler = threading.current_thread() is self._dispatcher
            if not in_handler and not self._jobs.join(deadline - time.monotonic()):
                logger.warning("handlers still busy on close; disconnecting anyway")
            self._stop_workers(deadline)
            with self._lock:
                self._session.closing = True  # from now on, the broker hanging up is expected
            try:
                self._request(self.engine.disconnect, deadline - time.monotonic())
            except (TimeoutError, ConnectionLost, LocalProtocolError) as exc:
                logger.warning(
                    "no receipt for DISCONNECT from %s (%s); closing anyway", self.url, exc
                )
        self._shutdown(max(deadline - time.monotonic(), 0.5))
        if not closed_before:
            self._notify("closed")

    @property
    def failure(self) -> ConnectionLost | None:
        """Why the connection ended, once it has (None while it is up)."""
        return self._failure

    def health(self) -> Health:
        """Whether the client is well now (`Health.ok`), and each part of the answer:
        connected, broker, version, seconds since the broker's last byte, whether the reader
        and every subscriber's threads run, messages in flight."""
        with self._lock:
            connected = self._sock is not None and self._failure is None
            workers = self._workers  # the current connection's: the reader first
            reader_running = connected and bool(workers) and workers[0].is_alive()
            subscribers = list(self._subscribers)
            subscribers_running = all(
                subscriber.threads and all(thread.is_alive() for thread in subscriber.threads)
                for subscriber in subscribers
            )
            return self._session.health(
                time.monotonic(),
                connected=connected,
                reader_running=reader_running,
                subscribers_running=subscribers_running,
                in_flight=sum(subscriber.running for subscriber in subscribers),
            )

    # -- what users do ---------------------------------------------------------------------

    def on(
        self,
        kind: type[F],
        *,
        where: Callable[[F], bool] | None = None,
        destination: str | None = None,
        subscription: str | None = None,
    ) -> Callable[[Handler[F]], Handler[F]]:
        """Register a handler, as `Engine.on`; it runs on the dispatcher thread.

        A Message it takes is not queued on its subscription. The frame it returns (an ACK,
        say, from ``client.engine.ack(message)``) is sent; an exception it raises is logged, and
        the message NACKed where the version and the ack mode allow it.
        Handlers must not be registered on `client.engine` itself: those would run on the reader.
        """
        register = self._session.router.on(
            kind, where=where, destination=destination, subscription=subscription
        )

        def locked(handler: Handler[F]) -> Handler[F]:
            with self._lock:  # the reader consults the router under this lock
                return register(handler)

        return locked

    def include(self, router: Router) -> None:
        """Consult `router`'s handlers after the ones registered so far."""
        with self._lock:
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
    ) -> Callable[[SyncHandler], SyncHandler]:
        """Register a handler of typed messages from `destination`, run on a pool of
        `max_concurrent` threads; the same rules as the asyncio client's `subscriber` (see the
        README's "typed messages"), with a plain function."""

        def register(handler: SyncHandler) -> SyncHandler:
            spec = SubscriberSpec.of(
                handler,
                destination,
                ack=ack,
                max_concurrent=max_concurrent,
                dead_letter=dead_letter,
                prefetch=prefetch,
                headers=headers,
                asynchronous=False,
            )
            subscriber = Subscriber(spec, self._session.options.queue_size)
            with self._lock:
                subscriber.id, frame = self._session.declare(
                    destination,
                    ack=ack,
                    headers=spec.headers,
                    prefetch=spec.prefetch,
                    sink=subscriber.channel,
                )
                self._subscribers.append(subscriber)
            if frame is not None:  # connected already: subscribe now
                self._start_workers(subscriber)
                self._request(lambda: frame)
            return handler

        return register

    def publish(
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
        """Send a typed payload: a model or any JSON-able value as JSON, `str` as UTF-8 text,
        bytes as they are. With `receipt`, wait until the broker confirms it."""
        self._produce(
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

    def request(
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
        reply decoded as `response`; TimeoutError when none comes within `timeout` seconds
        (the client's if None), pydantic's ValidationError when it is not a valid `response`.
        Requests from many threads share one reply subscription."""
        decoder = decoder_for(response)
        replies = self._replies
        with self._route_lock:
            with self._lock:
                self._check_writable()
                route = replies.route(self._session, replies)
            if route is not None:
                self._request(lambda: route)
        waiter: Waiter[Message] = Waiter(f"reply from {destination}")
        with self._lock:
            correlation = replies.expect(waiter)
        try:
            self._produce(
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
            message = waiter.wait(self.timeout if timeout is None else timeout)
        finally:
            with self._lock:
                replies.forget(correlation)
        return decoder.reply(message)

    def serve(self) -> None:
        """Run the subscribers until the client is closed (then return; `close` may come from
        another thread or a signal handler) or fails for good (then raise why)."""
        if self._sock is None and not self._over.is_set():
            raise LocalProtocolError("the client is not connected: connect before serve()")
        while not self._over.wait(SLICE):
            pass
        failure = self._failure
        if failure is not None and not isinstance(failure, Closed):
            raise fresh(failure)

    def send(
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
        """Send a message; with `receipt`, wait until the broker confirms it.

        RabbitMQ sends the RECEIPT of a SEND inside a transaction only after the COMMIT, so
        waiting for it inside the transaction times out there.
        """
        self._produce(
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

    def subscribe(
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

        Messages that a handler registered with `on` takes do not reach the subscription.
        `prefetch` bounds the messages the broker sends ahead of acknowledgements (RabbitMQ's
        `prefetch-count`, ActiveMQ's `activemq.prefetchSize`); it defaults to `queue_size` when
        messages are acknowledged.
        """
        session = self._session
        channel: Channel[Message] = Channel(session.options.queue_size)
        with self._lock:
            frame = session.subscribe(
                destination, ack=ack, id=id, headers=headers, receipt=receipt, prefetch=prefetch
            )

        def make() -> Outgoing:
            out = session.outgoing(frame)  # checked first: a refused frame adds nothing
            session.add(frame, channel)  # before a MESSAGE can come
            return out

        waiter = self._transmit(make)
        assert frame.id is not None  # the session always gives one
        subscription = Subscription(self, frame.id, destination, ack, channel)
        self._confirm(waiter)
        return subscription

    def ack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> None:
        """Acknowledge `message` with the headers of the negotiated version.

        A message received before a reconnect is not acknowledged: the broker took it back
        when that connection ended, and delivers it again.
        """
        if self._stale(message, "ACK"):
            return
        waiter = self._transmit(
            lambda: self._session.acknowledge(message, transaction=transaction, receipt=receipt)
        )
        if self._telemetry is not None:
            self._telemetry.settled(message, "ACK")
        self._confirm(waiter)

    def nack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> None:
        """Reject `message` (STOMP 1.1+); like `ack`, not for a message from before a reconnect."""
        if self._stale(message, "NACK"):
            return
        waiter = self._transmit(
            lambda: self._session.acknowledge(
                message, nack=True, transaction=transaction, receipt=receipt
            )
        )
        if self._telemetry is not None:
            self._telemetry.settled(message, "NACK")
        self._confirm(waiter)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[str]:
        """``with client.transaction() as tx:`` commits on success, aborts on an exception.

        Pass `transaction=tx` to `send`, `ack` and `nack` inside it. BEGIN and COMMIT wait for
        their receipts. A transaction is never replayed on a new connection: if the connection
        was lost, COMMIT raises ConnectionLost.
        """
        engine = self.engine
        with self._lock:
            begin = engine.begin(receipt=True)
        self._request(lambda: begin)
        try:
            yield begin.transaction
        except BaseException:
            if self.engine is engine:
                self._abort_transaction(begin.transaction)
            raise
        if self.engine is not engine:
            raise ConnectionLost("the connection was lost during the transaction; not committed")
        self._request(lambda: engine.commit(begin.transaction, receipt=True))

    # -- internals -------------------------------------------------------------------------

    def _abort_transaction(self, transaction: str) -> None:
        if self._failure is not None or transaction not in self.engine.transactions:
            return
        try:
            self._request(lambda: self.engine.abort(transaction, receipt=True))
        except (ConnectionLost, TimeoutError, LocalProtocolError) as exc:
            logger.warning("ABORT of %s failed: %s", transaction, exc)

    def _unsubscribe(self, subscription: Subscription, *, receipt: bool) -> None:
        session = self._session
        try:  # even if it fails (a lost connection), it is not renewed on a new connection
            # Messages sent before the broker took it are still queued.
            self._request(lambda: session.engine.unsubscribe(subscription.id, receipt=receipt))
        finally:
            with self._lock:
                session.remove(subscription.id)
            subscription._channel.close()

    # -- connecting ------------------------------------------------------------------------

    def _attempt(self, url: BrokerURL) -> Connected:
        """One connection: socket, reader, CONNECT, CONNECTED, renewed subscriptions."""
        session = self._session
        url = session.resolve(url)
        sock = self._dial(url)
        with self._write_lock, self._lock:
            if self._halt.is_set():
                sock.close()
                raise ConnectionLost(f"the client closed while connecting to {url}")
            connect = session.begin(url, time.monotonic())
            if self._telemetry is not None:
                self._telemetry.connecting(url)
            self._stop = stop = threading.Event()
            connected_waiter: Waiter[Connected] = Waiter("CONNECTED")
            self._connected = connected_waiter
            self._sock = sock
            self._failure = None
        self._workers = []
        try:
            # CONNECT goes out before the reader starts: over TLS, writing it while the reader
            # takes in what follows the handshake (TLS 1.3 tickets) at times lost the exchange.
            self._transmit_bytes(lambda: connect)
            self._workers.append(self._start(lambda: self._read_loop(sock, stop), "reader"))
            connected = connected_waiter.wait(self.timeout)
            self._renew()
        except LocalProtocolError as exc:  # a subscription the negotiated version cannot have
            error = ConnectionLost(f"cannot renew the subscriptions on {url}: {exc}")
            self._fail(error, stop)
            self._retire()
            raise fresh(error) from None
        except TimeoutError as exc:
            what = "CONNECTED" if not connected_waiter.done else "renewed SUBSCRIBE receipt"
            error = ConnectionLost(f"no {what} from {url} within {self.timeout:g} s ({exc})")
            self._fail(error, stop)
            self._retire()
            raise fresh(error) from None
        except ConnectionLost:
            self._retire()
            raise
        with self._lock:
            failure = self.failure  # set by another thread meanwhile, maybe
            if failure is None:
                self._attempting = False
        if failure is not None:  # lost again at once
            self._retire()
            raise fresh(failure)
        logger.info("%s", session.describe())
        tick = session.heartbeat_tick
        if tick is not None:
            self._workers.append(self._start(lambda: self._heartbeat_loop(stop, tick), "heartbeat"))
        return connected

    def _dial(self, url: BrokerURL) -> socket.socket:
        try:
            sock = socket.create_connection((url.host, url.port), timeout=self.timeout)
        except OSError as exc:
            raise ConnectionLost(f"cannot reach {url}: {describe_error(exc)}") from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = ssl_context_for(url, self._ssl)
            if tls is not None:
                sock = tls.wrap_socket(sock, server_hostname=url.host)
        except (OSError, ValueError) as exc:
            sock.close()
            raise ConnectionLost(f"cannot set up TLS with {url}: {describe_error(exc)}") from None
        return sock

    def _renew(self) -> None:
        """Subscribe again, same ids, ack modes and headers, on a new connection."""
        with self._lock:
            renewals = deque(self._session.renewals())
        waiters = [
            self._transmit(lambda: self._session.outgoing(renewals.popleft()))
            for _ in range(len(renewals))
        ]
        deadline = time.monotonic() + self.timeout
        for waiter in waiters:
            self._confirm(waiter, deadline - time.monotonic())

    def _reconnect_loop(self, error: ConnectionLost) -> None:
        session = self._session
        self._notify("lost")
        self._retire()
        for delay in session.reconnect_delays():
            if self._halt.wait(delay):
                return  # closing: `close` ends the subscriptions
            with self._lock:
                session.failed_over()  # each attempt goes to the broker after the last one
                url = session.next_url
            try:
                connected = self._attempt(url)
            except ConnectionLost as exc:
                logger.warning("reconnect to %s failed: %s", url, exc)
                error = exc
                continue
            except Exception as exc:  # a credentials hook that fails, say: give up loudly
                logger.exception("reconnect to %s failed", url)
                error = ConnectionLost(f"reconnect to {url} failed: {exc!r}")
                break
            if self._telemetry is not None:
                self._telemetry.connected(self.url, connected.server, again=True)
            if not self._halt.is_set():
                self._notify("reconnected")
            return
        final = ConnectionLost(f"gave up reconnecting: {error}")
        logger.warning("%s", final)
        with self._lock:
            self._attempting = False
            self._failure = final
        self._end(final)

    def _notify(self, event: ConnectionEvent) -> None:
        callback = self._session.options.on_state
        if callback is None:
            return
        try:
            callback(event, self.url)
        except Exception:
            logger.exception("the on_state callback failed on %r", event)

    # -- threads, failure, closing ---------------------------------------------------------

    def _start(self, target: Callable[[], None], role: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"stompmodels-{role}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]  # reconnects add threads
        self._threads.append(thread)
        thread.start()
        return thread

    def _fail(self, error: ConnectionLost, stop: threading.Event | None = None) -> None:
        """Record the first failure of the current connection and wake every waiter with it.

        Later calls do nothing, and so do calls from a thread of an older connection (`stop`
        is that connection's). A lost session is handed to the reconnect thread when the
        session says so; otherwise the subscriptions end with the error (unless a connect
        attempt is under way).
        """
        session = self._session
        with self._lock:
            if self._failure is not None or (stop is not None and stop is not self._stop):
                return
            error, waiters = session.connection_lost(error)
            waiters_of_replies = self._replies.abandon()
            self._failure = error
            stop, sock, connected = self._stop, self._sock, self._connected
            retry = not self._attempting and session.should_reconnect(error)
            if retry:
                self._attempting = True
            end = not self._attempting
        stop.set()
        logger.log(logging.DEBUG if isinstance(error, Closed) else logging.WARNING, "%s", error)
        connected.fail(error)
        for waiter in waiters:
            waiter.fail(error)
        for request in waiters_of_replies:
            request.fail(error)
        if sock is not None:
            # shutdown() wakes the reader from recv(); the base class's, so that a TLS socket's
            # state is not torn down under the reader's feet.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        if end:
            self._end(error)
        if retry:
            self._reconnector = self._start(lambda: self._reconnect_loop(error), "reconnect")

    def _end(self, error: ConnectionLost) -> None:
        """No more connections: end every subscription, and the dispatcher, with `error`."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            sinks = [held.sink for held in self._session.subscriptions.values()]
        for subscriber in self._subscribers:
            subscriber.stop()
        for sink in sinks:
            if not isinstance(sink, Replies):
                sink.close(error)
        self._jobs.close(error)
        self._over.set()

    def _retire(self) -> None:
        """Wait (bounded) for the reader and heart-beat of the ended connection; close it."""
        current = threading.current_thread()
        for thread in self._workers:
            if thread is not current:
                thread.join(self.timeout)
        self._close_socket()

    def _shutdown(self, grace: float) -> None:
        """Fail what still waits (quietly), stop the threads, close the socket."""
        closed = Closed(f"connection to {self.url} closed")
        self._fail(closed)
        self._end(closed)
        deadline = time.monotonic() + grace
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(max(deadline - time.monotonic(), 0.05))
                if thread.is_alive():
                    logger.warning("%s did not stop within %.1f s", thread.name, grace)
        self._close_socket()

    def _close_socket(self, sock: socket.socket | None = None) -> None:
        sock = self._sock if sock is None else sock
        if sock is None:
            return
        locked = self._write_lock.acquire(timeout=self.timeout)  # no writer is mid-sendall
        try:
            sock.close()
        finally:
            if locked:
                self._write_lock.release()

    # -- writing ---------------------------------------------------------------------------

    def _transmit(self, make: Callable[[], Outgoing]) -> Waiter[None] | None:
        """Write what `make` returns (it runs under the session's lock, and may build and
        encode a frame); the waiter of its receipt, parked before the frame is written."""
        session = self._session
        with self._write_lock:
            with self._lock:
                self._check_writable()
                out = make()
                waiter: Waiter[None] | None = None
                if out.receipt is not None:
                    waiter = Waiter(f"RECEIPT for {out.command} ({out.receipt})", out.receipt)
                    session.expect(out.receipt, waiter)
            logger.debug("sent %r", session.sent(out.data))
            self._write(out.data)
        if self._telemetry is not None:
            self._telemetry.wrote(len(out.data))
        return waiter

    def _produce(
        self,
        destination: str,
        headers: Mapping[str, str] | None,
        correlation_id: str | None,
        make: Callable[[Mapping[str, str] | None], Outgoing],
    ) -> None:
        """Write the SEND `make` builds with `headers`, and wait for its receipt if it asks
        for one; with telemetry, inside a producer span whose trace context `make` gets in the
        headers."""
        telemetry = self._telemetry
        if telemetry is None:
            self._confirm(self._transmit(lambda: make(headers)))
            return
        span, traced = telemetry.sending(destination, headers, correlation_id)
        try:
            made: list[Outgoing] = []

            def build() -> Outgoing:
                made.append(make(traced))
                return made[0]

            waiter = self._transmit(build)
            out = made[0]
            telemetry.sent_frame(span, destination, out.data)
            if waiter is not None:
                with telemetry.waiting(span, out.command):
                    self._confirm(waiter)
        except BaseException as exc:
            telemetry.end(span, exc)
            raise
        telemetry.end(span)

    def _request(self, build: Callable[[], ClientFrame], timeout: float | None = None) -> None:
        """Send the frame `build` makes (under the lock), and wait for its receipt if it asks
        for one."""
        self._confirm(self._transmit(lambda: self._session.outgoing(build())), timeout)

    def _transmit_bytes(self, encode: Callable[[], bytes]) -> None:
        """Write what `encode` returns (nothing if it is empty): an `Engine.encode_*` call, or
        bytes the session made, which applied their frame's effects without building it."""
        with self._write_lock:
            with self._lock:
                self._check_writable()
                data = encode()
            if data:
                logger.debug("sent %r", self._session.sent(data))
                self._write(data)
        if data and self._telemetry is not None:
            self._telemetry.wrote(len(data))

    def _check_writable(self) -> None:
        if self._failure is not None:
            raise fresh(self._failure)
        if self._sock is None:
            raise LocalProtocolError("the client is not connected (use it in a with block)")

    def _confirm(self, waiter: Waiter[None] | None, timeout: float | None = None) -> None:
        """Wait for a receipt; on TimeoutError, stop waiting for it (a late one is ignored)."""
        if waiter is None:
            return
        try:
            waiter.wait(self.timeout if timeout is None else timeout)
        except TimeoutError:
            with self._lock:
                self._session.forget(waiter.key)
            raise

    def _write(self, data: bytes) -> None:
        """Write while holding the write lock; a failed write fails the connection."""
        assert self._sock is not None
        try:
            self._sock.sendall(data)
        except (OSError, ValueError) as exc:
            self._fail(ConnectionLost(f"cannot write to {self.url}: {describe_error(exc)}"))
            assert self._failure is not None
            raise fresh(self._failure) from None
        self._session.last_sent = time.monotonic()

    def _stale(self, message: Message, command: str) -> bool:
        """Whether `message` came on an earlier connection, so its `command` must not be sent."""
        with self._lock:
            line = self._session.stale(message, command)
        if line is None:
            return False
        logger.info("%s", line)
        return True

    # -- the reader thread -----------------------------------------------------------------

    def _read_loop(self, sock: socket.socket, stop: threading.Event) -> None:
        session = self._session
        telemetry = self._telemetry
        try:
            while not stop.is_set():
                try:
                    data = sock.recv(_READ_SIZE)
                except TimeoutError:
                    continue  # silence; the heart-beat thread judges it
                if not data:
                    self._fail(ConnectionLost(f"{self.url} closed the connection"), stop)
                    return
                if telemetry is not None:
                    telemetry.read(len(data))
                with self._lock:
                    if stop.is_set():  # the session may be a newer connection's by now
                        return
                    actions = session.receive(data, time.monotonic())
                for action in actions:
                    if type(action) is Deliver:
                        logger.debug("received %r", action.message)
                        if telemetry is not None:
                            telemetry.received(action.message)
                        sink = action.sink
                        if isinstance(sink, Replies):
                            self._replied(sink, action.message)
                        else:
                            self._deliver(sink, action.message, stop)
                    elif type(action) is Settled:
                        logger.debug("received %r", action.frame)
                        for waiter in action.waiters:
                            waiter.set(None)
                    elif type(action) is Dispatch:
                        if type(action.frame) is Message:  # others come with an action of theirs
                            logger.debug("received %r", action.frame)
                        self._deliver(self._jobs, action, stop)
                    elif type(action) is Opened:
                        logger.debug("received %r", action.frame)
                        self._connected.set(action.frame)
                    elif type(action) is Dropped:
                        logger.warning("%s", action.reason)
                    elif type(action) is Failed:
                        if isinstance(action.error, BrokerError):
                            logger.debug("received %r", action.error.frame)
                        self._fail(action.error, stop)
                        return
        except (OSError, ValueError) as exc:
            self._fail(Closed(str(exc)) if stop.is_set() else self._broken(exc), stop)
        except Exception as exc:  # a bug: make it loud, and never leave waiters hanging
            logger.exception("the reader thread failed")
            self._fail(self._broken(exc), stop)
        finally:
            self._fail(Closed(f"connection to {self.url} closed"), stop)
            self._close_socket(sock)

    def _replied(self, replies: _Replies, message: Message) -> None:
        with self._lock:
            waiter = replies.take(message)
        if waiter is None:
            logger.debug("reply %s dropped: nobody waits for it", message.message_id)
        else:
            waiter.set(message)

    def _broken(self, exc: BaseException) -> ConnectionLost:
        return ConnectionLost(f"connection to {self.url} failed: {describe_error(exc)}")

    def _deliver(self, channel: Channel[_T], item: _T, stop: threading.Event) -> None:
        """Put `item` in `channel`; when it is full, wait for room (the broker then waits too),
        but not once `close` has begun: DISCONNECT's RECEIPT must still be read, and nobody
        takes the item any more (the broker delivers an unacknowledged MESSAGE again)."""
        if channel.put(item, 0):
            return
        session = self._session
        if session.closing:
            logger.debug("a frame was dropped: the client is closing")
            return
        with self._lock:
            session.pause_reading()
        logger.debug("a consumer lags; reading pauses until its queue has room")
        try:
            while not channel.put(item, SLICE) and not stop.is_set() and not session.closing:
                pass
        finally:
            with self._lock:
                session.resume_reading(time.monotonic())

    # -- the heart-beat thread -------------------------------------------------------------

    def _heartbeat_loop(self, stop: threading.Event, tick: float) -> None:
        session = self._session
        while not stop.wait(tick):
            now = time.monotonic()
            with self._lock:
                due = session.heartbeat_due(now)
                timeout = session.overdue(now)
            if due:
                self._send_heartbeat()
            if timeout is not None:
                if self._telemetry is not None:
                    self._telemetry.heartbeat_timeout()
                self._fail(timeout, stop)

    def _send_heartbeat(self) -> None:
        # A write in progress holds the lock, and is as good as a heart-beat: skip, never wait.
        if not self._write_lock.acquire(blocking=False):
            return
        try:
            self._write(EOL)
            if self._telemetry is not None:
                self._telemetry.wrote(len(EOL))
        except ConnectionLost:
            pass  # already recorded by _write
        finally:
            self._write_lock.release()

    # -- typed subscribers -----------------------------------------------------------------

    def _start_workers(self, subscriber: Subscriber) -> None:
        if subscriber.threads:
            return
        spec = subscriber.spec
        subscriber.threads = [
            self._start(lambda: self._work(subscriber), f"{spec.name}-{n}")
            for n in range(spec.max_concurrent)
        ]

    def _stop_workers(self, deadline: float) -> None:
        """Let running handlers finish (until `deadline`), so that their ACKs go out before
        DISCONNECT; messages not yet started are left to the broker."""
        for subscriber in self._subscribers:
            subscriber.stop()
        current = threading.current_thread()
        for subscriber in self._subscribers:
            for thread in subscriber.threads:
                if thread is not current:
                    thread.join(max(deadline - time.monotonic(), 0.0))
                    if thread.is_alive():
                        logger.warning("%s still running at close", thread.name)

    def _work(self, subscriber: Subscriber) -> None:
        spec = subscriber.spec
        channel = subscriber.channel
        telemetry = self._telemetry
        while (message := channel.get(None)) is not None:
            with subscriber.lock:
                subscriber.running += 1
            try:
                if telemetry is None:
                    self._settle(spec, message, *self._handle(spec, message))
                else:  # the process span is current on this thread while the handler runs
                    with telemetry.processing(message, spec.name):
                        self._settle(spec, message, *self._handle(spec, message))
            except (ConnectionLost, TimeoutError, ValueError) as exc:
                logger.warning(
                    "subscriber %s: message %s not settled: %s", spec.name, message.message_id, exc
                )
            except Exception:  # a bug: loud, but the subscriber goes on
                logger.exception("subscriber %s: message %s", spec.name, message.message_id)
            finally:
                with subscriber.lock:
                    subscriber.running -= 1
                channel.task_done()

    def _handle(self, spec: SubscriberSpec, message: Message) -> tuple[Settlement, Engine]:
        """Run `spec`'s handler on `message`; what its outcome sends, and the Engine of the
        connection it was made for."""
        session = self._session
        try:
            arguments = spec.arguments(message)
        except PayloadError as exc:
            logger.error("%s", spec.refused(message, exc))
            if self._telemetry is not None:
                self._telemetry.failed(exc)
            with self._lock:
                return settle_invalid(session, spec, message, exc), session.engine
        try:
            result = spec.handler(*arguments)
            with self._lock:
                return settle_handled(session, spec, message, result), session.engine
        except Exception as exc:
            logger.exception("%s", spec.failed(message))
            if self._telemetry is not None:
                self._telemetry.failed(exc)
            with self._lock:
                return settle_failed(session, spec, message), session.engine

    def _settle(
        self, spec: SubscriberSpec, message: Message, settlement: Settlement, engine: Engine
    ) -> None:
        """Write what `settlement` sends, in order, on the connection it was made for."""
        if settlement.note is not None:
            logger.info("subscriber %s: %s", spec.name, settlement.note)
        telemetry = self._telemetry
        for out in settlement.sends:
            if telemetry is not None:
                telemetry.settled(message, out.command, dead_letter=settlement.outcome == "invalid")

            def same_connection(out: Outgoing = out) -> Outgoing:
                if self._session.engine is not engine:
                    raise ConnectionLost("the connection was replaced")
                return out

            self._confirm(self._transmit(same_connection))

    # -- the dispatcher thread -------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        while (job := self._jobs.get(None)) is not None:
            try:
                self._run_handler(*job)
            finally:
                self._jobs.task_done()

    def _run_handler(
        self, handler: Callable[[ServerFrame], ClientFrame | None], frame: ServerFrame
    ) -> None:
        name = getattr(handler, "__qualname__", repr(handler))
        telemetry = self._telemetry
        if telemetry is None or type(frame) is not Message:
            self._call_handler(handler, frame, name, None)
            return
        telemetry.received(frame)
        with telemetry.processing(frame, name):  # current on this thread while it runs
            self._call_handler(handler, frame, name, telemetry)

    def _call_handler(
        self,
        handler: Callable[[ServerFrame], ClientFrame | None],
        frame: ServerFrame,
        name: str,
        telemetry: Telemetry | None,
    ) -> None:
        """Run `handler` on `frame`; send the frame it returns, or what its failure asks for."""
        session = self._session
        try:
            reply = handler(frame)
        except Exception as exc:
            logger.error("handler %s failed on %s", name, frame.command, exc_info=exc)
            if telemetry is not None:
                telemetry.failed(exc)
            with contextlib.suppress(ConnectionLost):  # the broker takes the message back
                self._transmit_bytes(lambda: session.handler_failed(frame))
            return
        if reply is not None:
            try:
                self._transmit_bytes(lambda: session.handler_replied(reply))
            except (ConnectionLost, LocalProtocolError) as exc:
                logger.warning(
                    "the %s returned by handler %s was not sent: %s", reply.command, name, exc
                )
