"""The blocking driver in the harness: `stompmodels.blocking.Client` over loopback TCP.

The broker is `tests.test_blocking_unit.FakeBroker` (a thread serving a socket on 127.0.0.1,
port 0, with a FakeServer), taught to accept one connection after another, each with a fresh
`RecordingServer`, and to refuse (accept, count, reset) once told to. Time is real: every wait
is a bounded poll.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import ClassVar, Final, TypeVar

from stompmodels import AckMode, ClientFrame, HeartBeat, Message, Router
from stompmodels._client.errors import ConnectionLost
from stompmodels.blocking import Client, Subscription
from tests.fake_server import NO_HEART_BEAT
from tests.test_blocking_unit import FakeBroker

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
POLL: Final = 0.005  # seconds between looks at a condition


def free_port() -> int:
    """A port that was free a moment ago: nobody listens there."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


class Listener(FakeBroker):
    """FakeBroker serving one connection after another (a fresh server each), or refusing."""

    def __init__(self, owner: BlockingBroker, beat_every: float | None) -> None:
        self.owner = owner  # before the thread starts, in FakeBroker.__init__
        super().__init__(RecordingServer(), heartbeat_every=beat_every)  # one per connection

    def _run(self) -> None:
        try:
            self.listener.settimeout(0.05)
            while not self.stopped.is_set():
                try:
                    conn, _ = self.listener.accept()
                except TimeoutError:
                    continue
                with self.lock:
                    self.owner.dials += 1
                    refusing = self.owner.refusing
                    if not refusing:
                        self.server = self.owner.new_server()
                        self.conn = conn
                if refusing:  # a reset: the attempt fails at once
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
                    continue
                conn.settimeout(0.02)
                self.accepted.set()
                try:
                    self._serve(conn)
                finally:
                    conn.close()
        except Exception as exc:  # surfaced by `stop`
            self.failures.append(exc)
        finally:
            self.stopped.set()


class BlockingBroker(Broker):
    def __init__(
        self, heart_beat: HeartBeat, beat_every: float | None, server_name: str = FAKE_SERVER
    ) -> None:
        super().__init__(heart_beat, server_name)
        self.listener = Listener(self, beat_every)
        self.url = broker_url(HOST, self.listener.port)

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        with self.listener.lock:
            yield

    def push(self, data: bytes) -> None:
        self.listener.push(data)

    def hang_up(self) -> None:
        self.listener.hang_up()

    def stop(self) -> None:
        self.listener.stop()


class BlockingGate(Gate):
    """A gate of handler threads: a `threading.Event` they wait on (bounded)."""

    def __init__(self) -> None:
        super().__init__()
        self.event = threading.Event()

    def open(self) -> None:
        self.event.set()

    def wait(self) -> None:
        if not self.event.wait(WAIT):
            raise TimeoutError(f"the gate stayed closed for {WAIT:g} s")


class BlockingPending(Pending[T]):
    """A call made on a thread of its own (it ends within the client's bounded waits)."""

    def __init__(self, call: Callable[[], T], what: str) -> None:
        self._value: list[T] = []
        self._error: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(call,), name=what, daemon=True)
        self.thread.start()

    def _run(self, call: Callable[[], T]) -> None:
        try:
            self._value.append(call())
        except BaseException as exc:  # handed to the scenario by `result`
            self._error.append(exc)

    def done(self) -> bool:
        return not self.thread.is_alive()

    def result(self) -> T:
        assert self.done(), "the call is still under way"
        if self._error:
            raise self._error[0]
        return self._value[0]


class BlockingMailbox(Mailbox):
    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.id = subscription.id

    def get(self, timeout: float = WAIT) -> Message:
        return self.subscription.get(timeout)


class BlockingClient(StompClient):
    styles: ClassVar[tuple[Style, ...]] = ("plain",)

    def __init__(
        self,
        url: str | list[str],
        keywords: ClientKeywords,
    ) -> None:
        super().__init__()
        self.client = Client(
            url,
            on_state=self.on_state,
            **keywords,
        )

    def connect(self) -> None:
        self.client.connect()

    def on_message(self, handler: MessageHandler) -> None:
        @self.client.on(Message)
        def handle(message: Message) -> ClientFrame | None:
            handler(message)
            return None

    def include(self, router: Router) -> None:
        self.client.include(router)

    def subscribe(self, destination: str, *, ack: AckMode = "auto") -> Mailbox:
        return BlockingMailbox(self.client.subscribe(destination, ack=ack))

    def send(self, destination: str, body: bytes | str = b"", *, receipt: bool = False) -> None:
        self.client.send(destination, body, receipt=receipt)

    def ack(self, message: Message, *, receipt: bool = False) -> None:
        self.client.ack(message, receipt=receipt)

    def nack(self, message: Message, *, receipt: bool = False) -> None:
        self.client.nack(message, receipt=receipt)

    def close(self) -> None:
        self.client.close()

    def start_close(self) -> Pending[None]:
        return BlockingPending(self.client.close, "close")

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
        assert gate is None or isinstance(gate, BlockingGate), gate

        def wrapper(payload: object, message: Message) -> object:
            if gate is None:
                return handler(payload, message)
            gate.enter()
            try:
                gate.wait()
                return handler(payload, message)
            finally:
                gate.leave()

        register = self.client.subscriber(
            destination,
            ack=ack,
            max_concurrent=max_concurrent,
            dead_letter=dead_letter,
            prefetch=prefetch,
        )
        register(typed(wrapper, payload, handler))

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
        self.client.publish(
            destination,
            payload,
            receipt=receipt,
            headers=headers,
            reply_to=reply_to,
            correlation_id=correlation_id,
        )

    def request(
        self, destination: str, payload: object, *, response: type[T], timeout: float | None = None
    ) -> T:
        return self.client.request(destination, payload, response=response, timeout=timeout)

    def start_request(
        self, destination: str, payload: object, *, response: type[T], timeout: float | None = None
    ) -> Pending[T]:
        def ask() -> T:
            return self.client.request(destination, payload, response=response, timeout=timeout)

        return BlockingPending(ask, f"request {destination}")

    @property
    def failure(self) -> ConnectionLost | None:
        return self.client.failure


class BlockingDriver(Driver):
    name = "blocking"
    logger = "stompmodels.blocking"
    package = "stompmodels.blocking"

    def __init__(self) -> None:
        self.brokers: list[BlockingBroker] = []
        self.clients: list[BlockingClient] = []

    def broker(
        self,
        heart_beat: HeartBeat = NO_HEART_BEAT,
        *,
        beat_every: float | None = None,
        server_name: str = FAKE_SERVER,
    ) -> Broker:
        broker = BlockingBroker(heart_beat, beat_every, server_name)
        self.brokers.append(broker)
        return broker

    def refused_url(self) -> str:
        return broker_url(HOST, free_port())

    def gate(self) -> Gate:
        return BlockingGate()

    def make_client(self, url: str | list[str], keywords: ClientKeywords) -> StompClient:
        client = BlockingClient(url, keywords)
        self.clients.append(client)
        return client

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def until(self, condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout:g} s")
            time.sleep(POLL)

    def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                client.client.close(timeout=0.5)
        problems: list[BaseException] = []
        for broker in self.brokers:
            try:
                broker.stop()
            except AssertionError as exc:
                problems.append(exc)
        assert not problems, problems
