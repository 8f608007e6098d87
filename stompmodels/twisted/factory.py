"""The Twisted client factory: settings, handlers and subscriptions that outlive a connection,
and reconnects through Twisted's `ReconnectingClientFactory`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, cast

from pydantic import SecretStr
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import (
    IConnector,
    IOpenSSLClientConnectionCreator,
    IProtocolFactory,
    IReactorTime,
)
from twisted.internet.protocol import ClientFactory, ReconnectingClientFactory
from twisted.python.failure import Failure

from stompmodels._client.deliveries import Deliveries
from stompmodels._client.errors import Closed, ConnectionEvent, ConnectionLost
from stompmodels._client.url import BrokerURL, brokers_for, require_tcp
from stompmodels._frames import Message
from stompmodels._headers import HeartBeat
from stompmodels._limits import Limits
from stompmodels._registry import F, Handler, Router
from stompmodels._spec import VERSIONS, Version

from .interfaces import Reactor
from .protocol import StompProtocol
from .subscription import Subscription

if TYPE_CHECKING:
    from twisted.internet.interfaces import IAddress

logger = logging.getLogger("stompmodels.twisted")


class StompClientFactory(ReconnectingClientFactory):
    """Connects to one broker and builds a `StompProtocol` per connection.

    ``factory.connect()`` fires with the protocol once CONNECTED came. Handlers (`on`) and
    subscriptions live here, so they outlive a connection: with `reconnect`, a lost connection
    is opened again with Twisted's backoff (`initialDelay`, `factor`, `maxDelay`, `maxRetries`)
    and every subscription is renewed (same id); a transaction is never replayed.
    """

    noisy = False  # Twisted's own "Starting factory" lines
    initialDelay = 0.1
    maxDelay = 10
    maxRetries = 20  # type: ignore[assignment]  # Twisted's default is None: retry forever

    def __init__(
        self,
        url: str | BrokerURL | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 61613,
        login: str | None = None,
        passcode: str | SecretStr | None = None,
        vhost: str = "/",
        ssl: IOpenSSLClientConnectionCreator | bool | None = None,
        heart_beat: HeartBeat | tuple[int, int] = (10000, 10000),
        versions: tuple[Version, ...] = VERSIONS,
        timeout: float = 10.0,
        limits: Limits | None = None,
        queue_size: int = 1000,
        reconnect: bool = False,
        reactor: Reactor | None = None,
        on_state: Callable[[ConnectionEvent, BrokerURL], None] | None = None,
    ) -> None:
        """`ssl`: a connection creator from ``twisted.internet.ssl.optionsForClientTLS``, or
        True; a ``stomp+ssl://`` URL verifies the broker's certificate by default."""
        urls = brokers_for(
            url, host=host, port=port, login=login, passcode=passcode, vhost=vhost, tls=bool(ssl)
        )
        if len(urls) != 1:
            raise ValueError("StompClientFactory connects to one broker: give one URL")
        require_tcp(urls, "StompClientFactory")
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.url = urls[0]
        self.reactor: Reactor = reactor
        # ReconnectingClientFactory schedules its retries on `clock` (typed there as the
        # global reactor's interface, which a test clock does not match for mypy).
        self.clock = reactor  # type: ignore[assignment]
        self.heart_beat = HeartBeat(*heart_beat)
        self.versions = versions
        self.timeout = timeout
        self.limits = limits
        self.queue_size = queue_size
        self.router = Router()
        self.current: StompProtocol | None = None
        """The protocol of the connection now open (or opening); None between connections."""
        self._ssl = ssl
        self._reconnect = reconnect
        self._on_state = on_state
        self._subscriptions: dict[str, Subscription] = {}
        # MESSAGEs delivered on earlier connections, by identity (see `_stale`).
        self._earlier = Deliveries()
        self._ready: StompProtocol | None = None
        self._waiters: list[Deferred[StompProtocol]] = []
        self._established = False
        self._closing = False
        self._final: ConnectionLost | None = None
        self._full: set[str] = set()

    # -- what users do ---------------------------------------------------------------------

    @property
    def subscriptions(self) -> Mapping[str, Subscription]:
        """Subscriptions by id (renewed on each new connection)."""
        return dict(self._subscriptions)

    @property
    def failure(self) -> ConnectionLost | None:
        """Why the client stopped, if it failed (None while it runs or after `close`)."""
        return None if isinstance(self._final, Closed) else self._final

    def on(
        self,
        kind: type[F],
        *,
        where: Callable[[F], bool] | None = None,
        destination: str | None = None,
        subscription: str | None = None,
    ) -> Callable[[Handler[F]], Handler[F]]:
        """Register a handler, as `Engine.on`; a Message it takes goes to no subscription."""
        return self.router.on(kind, where=where, destination=destination, subscription=subscription)

    def connect(self) -> Deferred[StompProtocol]:
        """Open a connection; fire with its protocol once CONNECTED came (fail if it did not)."""
        self._closing, self._final, self._established = False, None, False
        self.continueTrying = 1
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
        self._closing = True
        self.stopTrying()  # type: ignore[no-untyped-call]  # Twisted's method is not annotated
        protocol = self.current
        closed = succeed(None) if protocol is None else protocol.disconnect(timeout)

        def finish(_: None) -> None:
            # An ERROR (or silence) that ended the session before the close still counts.
            failure = protocol.failure if protocol is not None else None
            if failure is None or isinstance(failure, Closed):
                failure = Closed("the client is closed")
            self._end(failure)
            self._notify("closed")

        return closed.addCallback(finish)

    # -- Twisted's calls -------------------------------------------------------------------

    def buildProtocol(self, addr: IAddress | None) -> StompProtocol:
        """A protocol for a new connection."""
        return StompProtocol(self)

    def startedConnecting(self, connector: IConnector) -> None:
        """Remember the attempt, so that `close` (through `stopTrying`) can cut it short."""
        self.connector = connector

    def clientConnectionFailed(self, connector: IConnector, reason: Failure) -> None:
        """The TCP connection could not be opened."""
        message = reason.getErrorMessage()
        self._after(connector, ConnectionLost(f"cannot reach {self.url}: {message}"), False)

    def clientConnectionLost(self, connector: IConnector, reason: Failure) -> None:
        """An open connection closed: reconnect, or end."""
        protocol, self.current = self.current, None
        if protocol is not None:
            self._earlier.absorb(protocol.delivered)
        was_ready = protocol is not None and protocol is self._ready
        self._ready = None
        error = protocol.failure if protocol is not None else None
        if error is None:
            error = ConnectionLost(f"connection to {self.url} lost: {reason.getErrorMessage()}")
        self._after(connector, error, was_ready)

    # -- connections -----------------------------------------------------------------------

    def _dial(self) -> None:
        factory: ClientFactory = self
        tls = self._tls_options()
        if tls is not None:
            from twisted.protocols.tls import TLSMemoryBIOFactory

            # Casts: mypy cannot see which zope interfaces an object provides. The clock is
            # ours, so that TLS writes are flushed by the reactor that runs this factory.
            clock = cast(IReactorTime, self.reactor)
            wrapped = TLSMemoryBIOFactory(tls, True, cast(IProtocolFactory, self), clock)
            factory = cast(ClientFactory, wrapped)
        self.reactor.connectTCP(self.url.host, self.url.port, factory, timeout=self.timeout)

    def _tls_options(self) -> IOpenSSLClientConnectionCreator | None:
        if self._ssl is not None and not isinstance(self._ssl, bool):
            return self._ssl
        if not (self._ssl or (self._ssl is None and self.url.tls)):
            return None
        try:
            from twisted.internet.ssl import optionsForClientTLS
        except ImportError as exc:
            raise ImportError(
                "TLS with Twisted needs pyOpenSSL: pip install 'stompmodels[twisted]'"
            ) from exc
        return optionsForClientTLS(self.url.host)

    def _connection_made(self, protocol: StompProtocol) -> None:
        self.current = protocol
        if self._full:
            protocol._pause()
        Deferred.fromCoroutine(self._start_session(protocol))

    async def _start_session(self, protocol: StompProtocol) -> None:
        """Wait for CONNECTED, renew the subscriptions, then hand the protocol out."""
        try:
            await protocol.when_connected()
            for subscription in list(self._subscriptions.values()):
                await protocol._resubscribe(subscription)
        except (ConnectionLost, TimeoutError, ValueError) as exc:
            error = exc if isinstance(exc, ConnectionLost) else None
            if error is None:
                error = ConnectionLost(f"renewing subscriptions failed: {exc}")
                protocol._fail(error, abort=True)
            if not self._established:
                self._fail_waiters(error)  # a first connect fails at once
            return  # clientConnectionLost decides what comes next
        self.resetDelay()  # type: ignore[no-untyped-call]  # Twisted's method is not annotated
        self._ready = protocol
        self._notify("reconnected" if self._established else "connected")
        self._established = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(protocol)

    def _after(self, connector: IConnector, error: ConnectionLost, was_ready: bool) -> None:
        """A connection failed or closed: try again, or end the client."""
        if self._closing:
            error = Closed("the client is closed")  # an attempt cut short by close()
        if not (self._established and self._reconnect) or isinstance(error, Closed):
            self.stopTrying()  # type: ignore[no-untyped-call]  # Twisted's method is not annotated
            self._end(error)
            return
        if was_ready:
            logger.warning("lost %s: %s; reconnecting", self.url, error)
            self._notify("lost")
        self.retry(connector)  # type: ignore[no-untyped-call]  # Twisted's method is not annotated
        if self.maxRetries is not None and self.retries > self.maxRetries:
            self._end(ConnectionLost(f"gave up reconnecting to {self.url}: {error}"))

    def _end(self, error: ConnectionLost) -> None:
        """No more connections: fail whoever waits for one, end every subscription."""
        if self._final is None:
            self._final = error
        self._fail_waiters(error)
        for subscription in self._subscriptions.values():
            subscription._end(error)
        self._subscriptions.clear()
        self._full.clear()

    def _fail_waiters(self, error: ConnectionLost) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.errback(error)

    def _notify(self, event: ConnectionEvent) -> None:
        if self._on_state is not None:
            self._on_state(event, self.url)

    # -- for protocols and subscriptions ---------------------------------------------------

    def _stale(self, message: Message, command: str) -> bool:
        """Whether `message` came on an earlier connection, so its ACK must not be sent."""
        return self._earlier.refuses(message, command, logger)

    def _current(self) -> StompProtocol:
        if self.current is None:
            raise ConnectionLost("the client is not connected")
        return self.current

    def _deliver(self, message: Message) -> None:
        subscription = self._subscriptions.get(message.subscription or "")
        if subscription is None:
            logger.warning("MESSAGE for unknown subscription %r dropped", message.subscription)
        else:
            subscription._deliver(message)

    def _pause_reading(self, subscription: str) -> None:
        if not self._full and self.current is not None:
            self.current._pause()
        self._full.add(subscription)

    def _resume_reading(self, subscription: str) -> None:
        self._full.discard(subscription)
        if not self._full and self.current is not None:
            self.current._resume()
