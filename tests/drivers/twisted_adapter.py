"""The Twisted driver in the harness: `StompClientFactory`/`StompProtocol` on an in-memory
reactor with a fake clock (the real reactor cannot be restarted per test).

`FakeReactor` is Twisted's `MemoryReactorClock` whose `connectTCP` (and each connector's
`connect`, as ReconnectingClientFactory calls it to retry) queues a dial; `pump` serves the
dials (a registered broker address accepts: a `Wire` transport from `tests.test_twisted_unit`
and a fresh `RecordingServer`; any other address, or a refusing broker, fails the attempt) and
relays bytes both ways until both sides are quiet. A transport the client paused (its queue is
full) is not fed: what the broker sends waits, as it would in the socket. A transport the client
closed or aborted is reported lost to the protocol and to the factory, as Twisted does.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import deque
from collections.abc import Callable, Mapping
from typing import ClassVar, Final, Protocol, TypeVar, cast

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.interfaces import IAddress, IConnector, IReactorTime, ITransport
from twisted.internet.protocol import ClientFactory
from twisted.internet.task import deferLater
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

from stompmodels import AckMode, ClientFrame, HeartBeat, Message, Router
from stompmodels._client.errors import ConnectionLost
from stompmodels.twisted import StompClientFactory, StompProtocol, Subscription
from tests.fake_server import NO_HEART_BEAT
from tests.test_twisted_unit import Wire, failure, fired, refused

from .harness import (
    FAKE_SERVER,
    WAIT,
    Broker,
    ClientKeywords,
    Driver,
    Gate,
    Mailbox,
    MessageHandler,
    Pending,
    RecordingServer,
    StompClient,
    Style,
    TypedHandler,
    broker_url,
    typed,
)

T = TypeVar("T")

HOST: Final = "127.0.0.1"
STEP: Final = 0.01  # seconds of fake time per tick
HARD_LIMIT: Final = 30.0  # fake seconds any one call may take (a hung scenario fails)
MAX_ROUNDS: Final = 10_000  # relay rounds per pump: more means the two sides never settle


class Connector:
    """A connector of the in-memory network (Twisted's IConnector): `connect` dials again."""

    def __init__(self, driver: TwistedDriver, host: str, port: int, factory: ClientFactory) -> None:
        self.driver = driver
        self.host = host
        self.port = port
        self.factory = factory

    def connect(self) -> None:
        self.factory.startedConnecting(cast(IConnector, self))
        self.driver.dials.append(self)

    def stopConnecting(self) -> None:
        if self in self.driver.dials:
            self.driver.dials.remove(self)

    def disconnect(self) -> None:
        for broker in self.driver.brokers.values():
            if broker.link is not None and broker.link.connector is self:
                broker.link.lose(ConnectionDone())

    def getDestination(self) -> IPv4Address:
        return IPv4Address("TCP", self.host, self.port)


class FakeReactor(MemoryReactorClock):
    """Twisted's in-memory reactor and clock; a connectTCP becomes a dial that `pump` serves."""

    def __init__(self, driver: TwistedDriver) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Twisted's is not annotated
        self.driver = driver

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: ClientFactory,
        timeout: float = 30.0,
        bindAddress: tuple[str, int] | None = None,
    ) -> IConnector:
        connector = Connector(self.driver, host, port, factory)
        connector.connect()
        return cast(IConnector, connector)


class Endpoint(Protocol):
    """What the network asks of the client's protocol (a Twisted IProtocol)."""

    def makeConnection(self, transport: ITransport) -> None: ...

    def dataReceived(self, data: bytes) -> None: ...

    def connectionLost(self, reason: Failure) -> None: ...


class Link:
    """One open connection: the client's protocol and transport, the broker's server."""

    def __init__(
        self,
        broker: TwistedBroker,
        server: RecordingServer,
        connector: Connector,
        protocol: Endpoint,
    ) -> None:
        self.broker = broker
        self.server = server
        self.connector = connector
        self.protocol = protocol
        self.wire = Wire()
        self.inbound: deque[bytes] = deque()
        self.open = True

    def step(self) -> bool:
        """Relay what is waiting on either side; whether anything moved."""
        moved = False
        out = self.wire.value()
        if out:
            self.wire.clear()
            moved = True
            try:
                replies = self.server.receive(out)
            except AssertionError as exc:  # ClientMisbehaved: reported at the end of the test
                self.broker.failures.append(exc)
                replies = []
            if replies:
                self.inbound.append(b"".join(replies))
        if self.wire.aborted():
            self.lose(ConnectionAborted())
            return True
        if self.wire.closing():
            self.lose(ConnectionDone())
            return True
        while self.inbound and not self.wire.paused():
            self.protocol.dataReceived(self.inbound.popleft())
            moved = True
            if self.wire.closing() or self.wire.aborted():
                return True
        if self.server.closed and not self.inbound:  # after ERROR or DISCONNECT it hangs up
            self.lose(ConnectionDone())
            moved = True
        return moved

    def lose(self, reason: Exception) -> None:
        """The connection ends: the protocol, then the factory, are told (as Twisted does)."""
        if not self.open:
            return
        self.open = False
        if self.broker.link is self:
            self.broker.link = None
        why = failure(reason)
        self.protocol.connectionLost(why)
        self.connector.factory.clientConnectionLost(cast(IConnector, self.connector), why)


class TwistedBroker(Broker):
    def __init__(
        self, driver: TwistedDriver, port: int, heart_beat: HeartBeat, server_name: str
    ) -> None:
        super().__init__(heart_beat, server_name)
        self.driver = driver
        self.url = broker_url(HOST, port)
        self.link: Link | None = None

    def push(self, data: bytes) -> None:
        assert self.link is not None, "no connection to push to"
        self.link.inbound.append(data)
        self.driver.pump()

    def hang_up(self) -> None:
        assert self.link is not None, "no connection to hang up"
        self.link.lose(ConnectionDone())
        self.driver.pump()

    def beat(self, every: float) -> None:
        """An EOL on the live connection every `every` s of the fake clock."""

        def tick() -> None:
            if self.link is not None:
                self.link.inbound.append(b"\n")
            self.driver.reactor.callLater(every, tick)

        self.driver.reactor.callLater(every, tick)


class TwistedGate(Gate):
    """A gate of reactor handlers: a Deferred each waits for (failed after `WAIT` s of the fake
    clock); opening it runs them on, and relays what they send."""

    def __init__(self, driver: TwistedDriver) -> None:
        super().__init__()
        self.driver = driver
        self.is_open = False
        self._waiters: list[Deferred[None]] = []

    def open(self) -> None:
        self.is_open = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.called:
                waiter.callback(None)
        self.driver.pump()

    def wait(self) -> Deferred[None]:
        if self.is_open:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._waiters.append(waiter)

        def expire() -> None:
            if not waiter.called:
                waiter.errback(TimeoutError(f"the gate stayed closed for {WAIT:g} s"))

        self.driver.reactor.callLater(WAIT, expire)
        return waiter


class TwistedPending(Pending[T]):
    """A Deferred's outcome, kept (a failure is handed to the scenario, never left unhandled)."""

    def __init__(self, deferred: Deferred[T]) -> None:
        self._outcome: list[T | Failure] = []
        deferred.addBoth(self._outcome.append)

    def done(self) -> bool:
        return bool(self._outcome)

    def result(self) -> T:
        assert self._outcome, "the call is still under way"
        outcome = self._outcome[0]
        if isinstance(outcome, Failure):
            assert isinstance(outcome.value, BaseException)
            raise outcome.value
        return outcome


class TwistedMailbox(Mailbox):
    def __init__(self, driver: TwistedDriver, subscription: Subscription) -> None:
        self.driver = driver
        self.subscription = subscription
        self.id = subscription.id

    def get(self, timeout: float = WAIT) -> Message:
        return self.driver.settle(self.subscription.get(timeout), timeout)


class TwistedClient(StompClient):
    styles: ClassVar[tuple[Style, ...]] = ("plain", "async", "deferred")

    def __init__(
        self,
        driver: TwistedDriver,
        url: str | list[str],
        keywords: ClientKeywords,
    ) -> None:
        super().__init__()
        self.driver = driver
        self.factory = StompClientFactory(
            url,
            reactor=driver.reactor,
            on_state=self.on_state,
            **keywords,
        )

    def protocol(self) -> StompProtocol:
        """The protocol of the open session (waiting, bounded, for a reconnect)."""
        return self.driver.settle(self.factory.when_connected())

    def connect(self) -> None:
        self.driver.settle(self.factory.connect())

    def on_message(self, handler: MessageHandler) -> None:
        @self.factory.on(Message)
        def handle(message: Message) -> ClientFrame | None:
            handler(message)
            return None

    def include(self, router: Router) -> None:
        self.factory.include(router)

    def subscribe(self, destination: str, *, ack: AckMode = "auto") -> Mailbox:
        subscribing = self.protocol().subscribe(destination, ack=ack)
        return TwistedMailbox(self.driver, self.driver.settle(subscribing))

    def send(self, destination: str, body: bytes | str = b"", *, receipt: bool = False) -> None:
        self.driver.settle(self.protocol().send(destination, body, receipt=receipt))

    def ack(self, message: Message, *, receipt: bool = False) -> None:
        protocol = self.protocol()
        acking = protocol.ack(message, receipt=True) if receipt else protocol.ack(message)
        self.driver.settle(acking)

    def nack(self, message: Message, *, receipt: bool = False) -> None:
        protocol = self.protocol()
        nacking = protocol.nack(message, receipt=True) if receipt else protocol.nack(message)
        self.driver.settle(nacking)

    def close(self) -> None:
        self.driver.settle(self.factory.close())

    def start_close(self) -> Pending[None]:
        return TwistedPending(self.factory.close())

    def subscriber(
        self,
        destination: str,
        payload: object,
        handler: TypedHandler,
        *,
        ack: AckMode = "client-individual",
        max_concurrent: int = 1,
        dead_letter: str | None = None,
        prefetch: int | None = None,
        gate: Gate | None = None,
        style: Style | None = None,
    ) -> None:
        assert gate is None or isinstance(gate, TwistedGate), gate
        chosen = style or self.styles[0]
        register = self.factory.subscriber(
            destination,
            ack=ack,
            max_concurrent=max_concurrent,
            dead_letter=dead_letter,
            prefetch=prefetch,
        )
        if chosen == "plain":
            if gate is not None:
                raise ValueError("a plain function cannot wait on the reactor: use async/deferred")

            def plain(payload: object, message: Message) -> object:
                return handler(payload, message)

            register(typed(plain, payload, handler))
        elif chosen == "async":

            async def coroutine(payload: object, message: Message) -> object:
                if gate is None:
                    return handler(payload, message)
                gate.enter()
                try:
                    await gate.wait()
                    return handler(payload, message)
                finally:
                    gate.leave()

            register(typed(coroutine, payload, handler))
        else:
            clock = cast(IReactorTime, self.driver.reactor)

            def deferring(payload: object, message: Message) -> Deferred[object]:
                if gate is None:  # a Deferred that fires later, on the reactor
                    return deferLater(clock, 0, handler, payload, message)
                gate.enter()

                def run(_: None) -> object:
                    return handler(payload, message)

                def left(outcome: object) -> object:
                    gate.leave()
                    return outcome

                return gate.wait().addCallback(run).addBoth(left)

            register(typed(deferring, payload, handler))

    def publish(
        self,
        destination: str,
        payload: object,
        *,
        receipt: bool = False,
        headers: Mapping[str, str] | None = None,
        reply_to: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        publishing = self.protocol().publish(
            destination,
            payload,
            receipt=receipt,
            headers=headers,
            reply_to=reply_to,
            correlation_id=correlation_id,
        )
        self.driver.settle(publishing)

    def request(
        self, destination: str, payload: object, *, response: type[T], timeout: float | None = None
    ) -> T:
        asking = self.protocol().request(destination, payload, response=response, timeout=timeout)
        return self.driver.settle(asking)

    def start_request(
        self, destination: str, payload: object, *, response: type[T], timeout: float | None = None
    ) -> Pending[T]:
        asking = self.protocol().request(destination, payload, response=response, timeout=timeout)
        return TwistedPending(asking)

    @property
    def failure(self) -> ConnectionLost | None:
        return self.factory.failure


class TwistedDriver(Driver):
    name = "twisted"
    logger = "stompmodels.twisted"
    package = "stompmodels.twisted"

    def __init__(self) -> None:
        self.reactor = FakeReactor(self)
        self.dials: deque[Connector] = deque()
        self.brokers: dict[tuple[str, int], TwistedBroker] = {}
        self.clients: list[TwistedClient] = []
        self._ports = itertools.count(62001)

    # -- the network -----------------------------------------------------------------------

    def pump(self) -> None:
        """Serve dials and relay bytes until nothing moves."""
        for _ in range(MAX_ROUNDS):
            moved = False
            while self.dials:
                self._serve(self.dials.popleft())
                moved = True
            for broker in list(self.brokers.values()):
                if broker.link is not None and broker.link.step():
                    moved = True
            if not moved:
                return
        raise AssertionError("the client and the broker never stopped talking")

    def _serve(self, connector: Connector) -> None:
        broker = self.brokers.get((connector.host, connector.port))
        if broker is not None:
            broker.dials += 1
        if broker is None or broker.refusing:
            connector.factory.clientConnectionFailed(cast(IConnector, connector), refused())
            return
        server = broker.new_server()
        protocol = connector.factory.buildProtocol(cast(IAddress, connector.getDestination()))
        assert protocol is not None
        link = Link(broker, server, connector, protocol)
        broker.link = link
        protocol.makeConnection(cast(ITransport, link.wire.transport))

    def advance(self, seconds: float) -> None:
        self.reactor.advance(seconds)
        self.pump()

    def settle(self, deferred: Deferred[T], limit: float = HARD_LIMIT) -> T:
        """The result of `deferred`, letting fake time pass (bounded) until it fires."""
        self.pump()
        deadline = self.reactor.seconds() + limit + STEP
        while not deferred.called and self.reactor.seconds() < deadline:
            self.advance(STEP)
        return fired(deferred)

    # -- the Driver ------------------------------------------------------------------------

    def broker(
        self,
        heart_beat: HeartBeat = NO_HEART_BEAT,
        *,
        beat_every: float | None = None,
        server_name: str = FAKE_SERVER,
    ) -> Broker:
        port = next(self._ports)
        broker = TwistedBroker(self, port, heart_beat, server_name)
        self.brokers[HOST, port] = broker
        if beat_every is not None:
            broker.beat(beat_every)
        return broker

    def refused_url(self) -> str:
        return broker_url(HOST, next(self._ports))

    def gate(self) -> Gate:
        return TwistedGate(self)

    def make_client(self, url: str | list[str], keywords: ClientKeywords) -> StompClient:
        client = TwistedClient(self, url, keywords)
        self.clients.append(client)
        return client

    def wait(self, seconds: float) -> None:
        for _ in range(round(seconds / STEP)):
            self.advance(STEP)

    def until(self, condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
        self.pump()
        deadline = self.reactor.seconds() + timeout
        while not condition():
            if self.reactor.seconds() > deadline:
                raise AssertionError(f"{what}: not within {timeout:g} s (fake clock)")
            self.advance(STEP)

    def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                self.settle(client.factory.close(), 2.0)
        failures = [problem for broker in self.brokers.values() for problem in broker.failures]
        assert not failures, failures
