"""The Twisted client factory: one `ClientSession` across connections (handlers, subscriptions,
receipts, failover and reconnecting), and a `StompProtocol` per connection to drive it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Never, TypeAlias, TypeVar, cast

from pydantic import SecretStr
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import NotConnectingError
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
    IProtocolFactory,
    IReactorTime,
)
from twisted.internet.protocol import ClientFactory
from twisted.python.failure import Failure

from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import Closed, ConnectionEvent, ConnectionLost
from stompmodels._client.health import Health
from stompmodels._client.options import DEFAULT_HEART_BEAT, ClientOptions
from stompmodels._client.replies import Replies
from stompmodels._client.session import ClientSession
from stompmodels._client.subscribers import SubscriberSpec
from stompmodels._client.url import BrokerURL, require_tcp
from stompmodels._frames import Message, Receipt
from stompmodels._headers import AckMode, HeartBeat
from stompmodels._limits import Limits
from stompmodels._registry import F, Handler, Router
from stompmodels._spec import VERSIONS, Version

from .deferreds import bounded
from .interfaces import Connector, DelayedCall, Reactor
from .protocol import StompProtocol
from .subscriber import Subscriber
from .subscription import Subscription

if TYPE_CHECKING:
    from twisted.internet.interfaces import IAddress, IConnector

    from stompmodels._client.telemetry import Telemetry

logger = logging.getLogger("stompmodels.twisted")

TwistedReplies: TypeAlias = Replies[Deferred[Message]]
Sink: TypeAlias = Subscription | Subscriber | TwistedReplies
TwistedHandler = TypeVar(
    "TwistedHandler", bound=Callable[[Never], object] | Callable[[Never, Message], object]
)


class StompClientFactory(ClientFactory):
    """Connects to a broker and builds a `StompProtocol` per connection.

    ``factory.connect()`` fires with the protocol once CONNECTED came. The options are those of
    every stompmodels client (`ClientOptions`). Handlers (`on`, `include`) and subscriptions
    live here, so they outlive a connection. Give several URLs (a list or
    ``failover:(url,url)``) to fail over: a connect tries each broker once, in turn. With
    `reconnect` (a `Backoff`; True means ``Backoff()``) a lost connection is opened again after
    each of its delays, to the next broker each time, and every subscription is renewed (same
    id, ack mode and headers); a transaction is never replayed. `credentials` is called with
    each broker's URL before every dial and returns the URL to use. `on_state` is told
    "connected", "lost", "reconnected" and "closed". With `telemetry`, OpenTelemetry spans and
    metrics are recorded (the `otel` extra; see `stompmodels._client.telemetry`).

    `ssl` is Twisted's own: a connection creator from
    ``twisted.internet.ssl.optionsForClientTLS``, or True; a ``stomp+ssl://`` URL verifies the
    broker's certificate by default. Twisted speaks STOMP over TCP only: ``ws://`` and
    ``wss://`` URLs are refused (use `stompmodels.ws.Client`).
    """

    noisy = False  # Twisted's own "Starting factory" lines

    def __init__(
        self,
        url: str | list[str] | BrokerURL | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 61613,
        login: str | None = None,
        passcode: str | SecretStr | None = None,
        vhost: str = "/",
        ssl: IOpenSSLClientConnectionCreator | bool | None = None,
        heart_beat: HeartBeat | tuple[int, int] = DEFAULT_HEART_BEAT,
        versions: tuple[Version, ...] = VERSIONS,
        timeout: float = 10.0,
        limits: Limits | None = None,
        queue_size: int = 1000,
        reconnect: Backoff | bool = False,
        credentials: Callable[[BrokerURL], BrokerURL] | None = None,
        on_state: Callable[[ConnectionEvent, BrokerURL], None] | None = None,
        telemetry: bool = False,
        reactor: Reactor | None = None,
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
        require_tcp(list(options.urls), "StompClientFactory")
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.options = options
        self.reactor: Reactor = reactor
        self.session: ClientSession[Deferred[Receipt | None], Sink] = ClientSession(options)
        """The session logic, shared by every connection of this factory."""
        self.current: StompProtocol | None = None
        """The protocol of the connection now open (or opening); None between connections."""
        self._ssl = ssl
        self._ready: StompProtocol | None = None
        self._waiters: list[Deferred[StompProtocol]] = []
        self._final: ConnectionLost | None = None
        self._full: set[str] = set()  # subscriptions whose queue is full
        self._served = False  # a connection was handed out since `connect`
        self._untried = 0  # brokers the connect under way has not dialed yet
        self._dialing = options.urls[0]  # the broker of the attempt under way (resolved)
        self._connecting: Connector | None = None
        self._delays: Iterator[float] | None = None  # the reconnect under way
        self._retry: DelayedCall | None = None
        self._subscribers: list[Subscriber] = []
        self.replies: TwistedReplies = Replies()
        """Requests waiting for their replies (see `StompProtocol.request`)."""
        self._telemetry: Telemetry | None = None  # its protocols and subscribers use it too
        if telemetry:
            from stompmodels._client.telemetry import Telemetry

            self._telemetry = Telemetry()

    # -- what users do ---------------------------------------------------------------------

    @property
    def urls(self) -> list[BrokerURL]:
        """The brokers given, in failover order."""
        return list(self.options.urls)

    @property
    def url(self) -> BrokerURL:
        """The broker of the connection now open (as dialed), else the next one to try."""
        return self.current.url if self.current is not None else self.session.next_url

    @property
    def timeout(self) -> float:
        """The bound, in seconds, on each wait (receipts, CONNECTED, `Subscription.get`)."""
        return self.options.timeout

    @property
    def router(self) -> Router:
        """The handlers registered with `on` and `include`."""
        return self.session.router

    @property
    def subscriptions(self) -> Mapping[str, Subscription]:
        """Subscriptions by id (renewed on each new connection)."""
        return {
            id: held.sink
            for id, held in self.session.subscriptions.items()
            if isinstance(held.sink, Subscription)
        }

    @property
    def failure(self) -> ConnectionLost | None:
        """Why the client stopped, if it failed (None while it runs or after `close`)."""
        return None if isinstance(self._final, Closed) else self._final

    def health(self) -> Health:
        """Whether the client is well now (`Health.ok`), and each part of the answer:
        connected (a protocol is open and was handed out), broker, version, seconds since the
        broker's last byte, messages in flight. Twisted has no reader thread or task: the
        reactor reads, so `reader_running` says the current protocol's transport is connected
        and its session has not failed. Handlers run on the reactor, with no workers of their
        own: `subscribers_running` is false once the factory ended (closed, or gave up
        reconnecting) and its subscribers dropped their waiting messages, until it connects
        again."""
        ready = self._ready
        connected = ready is not None and ready._open()
        current = self.current
        reader_running = current is not None and current._open()
        return self.session.health(
            self.reactor.seconds(),
            connected=connected,
            reader_running=reader_running,
            subscribers_running=not any(subscriber.ended for subscriber in self._subscribers),
            in_flight=sum(subscriber.running for subscriber in self._subscribers),
        )

    def on(
        self,
        kind: type[F],
        *,
        where: Callable[[F], bool] | None = None,
        destination: str | None = None,
        subscription: str | None = None,
    ) -> Callable[[Handler[F]], Handler[F]]:
        """Register a handler, as `Engine.on`; a Message it takes goes to no subscription.

        It runs as each frame is read; the frame it returns is sent. If it raises, the error is
        logged and its message NACKed where the version and ack mode allow; reading goes on.
        """
        return self.session.router.on(
            kind, where=where, destination=destination, subscription=subscription
        )

    def include(self, router: Router) -> None:
        """Consult `router`'s handlers after the ones registered so far."""
        self.session.router.include(router)

    def subscriber(
        self,
        destination: str,
        *,
        ack: AckMode = "client-individual",
        max_concurrent: int = 1,
        dead_letter: str | None = None,
        prefetch: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Callable[[TwistedHandler], TwistedHandler]:
        """Register a handler of typed messages from `destination`: an `async def`, or a
        function returning a value or a Deferred, run on the reactor (at most
        `max_concurrent` under way at once). The same rules as the asyncio client's
        `subscriber` (see the README's "typed messages")."""

        def register(handler: TwistedHandler) -> TwistedHandler:
            spec = SubscriberSpec.of(
                handler,
                destination,
                ack=ack,
                max_concurrent=max_concurrent,
                dead_letter=dead_letter,
                prefetch=prefetch,
                headers=headers,
                asynchronous=None,
            )
            subscriber = Subscriber(self, spec, self.options.queue_size)
            subscriber.id, frame = self.session.declare(
                destination, ack=ack, headers=spec.headers, prefetch=spec.prefetch, sink=subscriber
            )
            self._subscribers.append(subscriber)
            if frame is not None and self.current is not None:  # connected: subscribe now
                subscribed = self.current._request(frame)
                subscribed.addErrback(
                    lambda failure: logger.warning(
                        "subscribing %s failed: %s", destination, failure.getErrorMessage()
                    )
                )
            return handler

        return register

    def connect(self) -> Deferred[StompProtocol]:
        """Open a connection, trying each broker once in turn; fire with its protocol once
        CONNECTED came (fail if none answered)."""
        self.session.closing = False
        self._final, self._served, self._delays = None, False, None
        self._untried = len(self.session.connect_order())
        ready = self.when_connected()
        self._dial()
        return ready

    def when_connected(self) -> Deferred[StompProtocol]:
        """The protocol of the open session, or of the next one (after a reconnect)."""
        if self._ready is not None:
            return succeed(self._ready)
        if self._final is not None:
            return fail(self._final)
        waiter: Deferred[StompProtocol] = Deferred()
        self._waiters.append(waiter)
        return waiter

    def close(self, timeout: float | None = None) -> Deferred[None]:
        """Stop reconnecting and disconnect gracefully (see `StompProtocol.disconnect`)."""
        self.session.closing = True
        self._cancel_retry()
        connecting, self._connecting = self._connecting, None
        if connecting is not None:
            with contextlib.suppress(NotConnectingError):  # connected: closed below
                connecting.stopConnecting()
        protocol = self.current
        limit = self.timeout if timeout is None else timeout
        idle = self._idle(limit) if protocol is not None else succeed(None)
        closed = idle.addCallback(
            lambda _: succeed(None) if protocol is None else protocol.disconnect(timeout)
        )

        def finish(_: None) -> None:
            # An ERROR (or silence) that ended the session before the close still counts.
            failure = protocol.failure if protocol is not None else None
            if failure is None or isinstance(failure, Closed):
                failure = Closed("the client is closed")
            self._end(failure)
            self._notify("closed", self.url)

        return closed.addCallback(finish)

    # -- Twisted's calls -------------------------------------------------------------------

    def buildProtocol(self, addr: IAddress | None) -> StompProtocol:
        """A protocol for a new connection to the broker being dialed."""
        self._connecting = None
        return StompProtocol(self, self._dialing)

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        """The TCP connection could not be opened."""
        self._connecting = None
        url = self._dialing
        self._after(url, ConnectionLost(f"cannot reach {url}: {reason.getErrorMessage()}"), False)

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        """An open connection closed: fail over, reconnect, or end."""
        protocol, self.current = self.current, None
        was_ready = protocol is not None and protocol is self._ready
        self._ready = None
        url = protocol.url if protocol is not None else self._dialing
        error = protocol.failure if protocol is not None else None
        if error is None:
            error = ConnectionLost(f"connection to {url} lost: {reason.getErrorMessage()}")
        self._after(url, error, was_ready)

    # -- connections -----------------------------------------------------------------------

    def _dial(self) -> None:
        """Connect to the session's next broker (through the credentials hook)."""
        given = self.session.next_url
        try:
            url = self.session.resolve(given)
        except Exception as exc:  # the user's hook: give up loudly rather than retry
            logger.exception("the credentials hook failed on %s", given)
            self._end(ConnectionLost(f"the credentials hook failed on {given}: {exc!r}"))
            return
        self._dialing = url
        if not self._served:
            self._untried -= 1
        factory: ClientFactory = self
        tls = self._tls_options(url)
        if tls is not None:
            from twisted.protocols.tls import TLSMemoryBIOFactory

            # Casts: mypy cannot see which zope interfaces an object provides. The clock is
            # ours, so that TLS writes are flushed by the reactor that runs this factory.
            clock = cast(IReactorTime, self.reactor)
            wrapped = TLSMemoryBIOFactory(tls, True, cast(IProtocolFactory, self), clock)
            factory = cast(ClientFactory, wrapped)
        connector = self.reactor.connectTCP(url.host, url.port, factory, timeout=self.timeout)
        self._connecting = cast(Connector, connector)

    def _tls_options(self, url: BrokerURL) -> IOpenSSLClientConnectionCreator | None:
        if self._ssl is not None and not isinstance(self._ssl, bool):
            return self._ssl
        if not (self._ssl or (self._ssl is None and url.tls)):
            return None
        try:
            from twisted.internet.ssl import optionsForClientTLS
        except ImportError as exc:
            raise ImportError(
                "TLS with Twisted needs pyOpenSSL: pip install 'stompmodels[twisted]'"
            ) from exc
        return optionsForClientTLS(url.host)

    def _connection_made(self, protocol: StompProtocol) -> None:
        self.current = protocol
        Deferred.fromCoroutine(self._start_session(protocol))

    async def _start_session(self, protocol: StompProtocol) -> None:
        """Wait for CONNECTED, renew the subscriptions, then hand the protocol out."""
        try:
            connected = await protocol.when_connected()
            for frame in self.session.renewals():
                await protocol._request(frame)
        except (ConnectionLost, TimeoutError, ValueError) as exc:
            error = exc if isinstance(exc, ConnectionLost) else None
            if error is None:
                error = ConnectionLost(f"renewing subscriptions failed: {exc}")
                protocol._fail(error, abort=True)
            if not self._served and self._untried == 0:
                self._fail_waiters(error)  # the last broker of a connect failed: say so at once
            return  # clientConnectionLost decides what comes next
        self._delays = None
        self._ready = protocol
        if self._full:
            # Paused only now: CONNECTED and the renewals' receipts must be read, else a slow
            # consumer would make every reconnect time out.
            self.session.pause_reading()
            protocol._pause()
        for subscriber in self._subscribers:
            subscriber.ended = False  # renewed: it handles messages again
        if self._telemetry is not None:
            self._telemetry.connected(protocol.url, connected.server, again=self._served)
        self._notify("reconnected" if self._served else "connected", protocol.url)
        self._served = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(protocol)

    def _after(self, url: BrokerURL, error: ConnectionLost, was_ready: bool) -> None:
        """An attempt failed or a connection closed: try the next broker, or end."""
        session = self.session
        if session.closing:
            error = Closed("the client is closed")  # an attempt cut short by close()
        if isinstance(error, Closed):
            self._end(error)
            return
        session.failed_over()
        if not self._served:  # a connect: each broker once
            if self._untried > 0:
                logger.warning("cannot connect to %s: %s; trying %s", url, error, session.next_url)
                self._dial()
            else:
                self._end(error)
            return
        if not session.should_reconnect(error):
            self._end(error)
            return
        if was_ready:
            logger.warning("lost %s: %s; reconnecting", url, error)
            self._notify("lost", url)
        else:
            logger.warning("reconnect to %s failed: %s", url, error)
        if self._delays is None:
            self._delays = session.reconnect_delays()
        delay = next(self._delays, None)
        if delay is None:
            self._end(ConnectionLost(f"gave up reconnecting to {url}: {error}"))
            return
        self._retry = self.reactor.callLater(delay, self._redial)

    def _redial(self) -> None:
        self._retry = None
        self._dial()

    def _cancel_retry(self) -> None:
        retry, self._retry = self._retry, None
        if retry is not None and retry.active():
            retry.cancel()

    def _end(self, error: ConnectionLost) -> None:
        """No more connections: fail whoever waits for one, end every subscription."""
        if self._final is None:
            self._final = error
        self._cancel_retry()
        self._fail_waiters(error)
        for id, held in list(self.session.subscriptions.items()):
            if isinstance(held.sink, Subscriber):
                held.sink._end(error)  # declared: subscribed again if the factory connects again
            elif isinstance(held.sink, Subscription):
                self.session.remove(id)
                held.sink._end(error)
        self._full.clear()

    def _idle(self, limit: float) -> Deferred[None]:
        """Fires once no subscriber's handler is under way (their ACKs then went out), or
        after `limit` seconds."""
        busy = [subscriber.idle() for subscriber in self._subscribers if subscriber.running]
        if not busy:
            return succeed(None)

        async def all_idle() -> None:
            for waiting in busy:
                await waiting

        def late(failure: Failure) -> None:
            logger.warning("handlers still busy on close; disconnecting anyway")

        waited = Deferred.fromCoroutine(all_idle())
        return bounded(waited, self.reactor, limit, "handlers still busy").addErrback(late)

    def _fail_waiters(self, error: ConnectionLost) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.errback(error)

    def _notify(self, event: ConnectionEvent, url: BrokerURL) -> None:
        on_state = self.options.on_state
        if on_state is None:
            return
        try:
            on_state(event, url)
        except Exception:
            logger.exception("the on_state callback failed on %r", event)

    # -- for protocols and subscriptions ---------------------------------------------------

    def _current(self) -> StompProtocol:
        if self.current is None:
            raise ConnectionLost("the client is not connected")
        return self.current

    def _pause_reading(self, subscription: str) -> None:
        """`subscription`'s queue is full: read nothing more until it drains."""
        if not self._full:
            self.session.pause_reading()
            if self.current is not None:
                self.current._pause()
        self._full.add(subscription)

    def _resume_reading(self, subscription: str) -> None:
        if subscription not in self._full:
            return
        self._full.discard(subscription)
        if not self._full:
            self.session.resume_reading(self.reactor.seconds())
            if self.current is not None:
                self.current._resume()
