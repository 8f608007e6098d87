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
import time
from collections.abc import Callable, Iterator
from typing import Final

from stompmodels import AckMode, ClientFrame, HeartBeat, Message, Router
from stompmodels._client.errors import ConnectionLost
from stompmodels.blocking import Client, Subscription
from tests.fake_server import NO_HEART_BEAT
from tests.test_blocking_unit import FakeBroker

from .harness import (
    WAIT,
    Broker,
    ClientKeywords,
    Driver,
    Mailbox,
    MessageHandler,
    RecordingServer,
    StompClient,
    broker_url,
)

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
    def __init__(self, heart_beat: HeartBeat, beat_every: float | None) -> None:
        super().__init__(heart_beat)
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


class BlockingMailbox(Mailbox):
    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.id = subscription.id

    def get(self, timeout: float = WAIT) -> Message:
        return self.subscription.get(timeout)


class BlockingClient(StompClient):
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
        self, heart_beat: HeartBeat = NO_HEART_BEAT, *, beat_every: float | None = None
    ) -> Broker:
        broker = BlockingBroker(heart_beat, beat_every)
        self.brokers.append(broker)
        return broker

    def refused_url(self) -> str:
        return broker_url(HOST, free_port())

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
