"""The asyncio driver in the harness: `stompmodels.aio.Client` over `MockStream`s.

The client's streams come from `inject_streams`, the one place that knows where the client
opens its stream. Every connection to a registered broker address gets a `MockStream` whose
writes go to a fresh `RecordingServer`; the server's answers come back as one read. The loop is
private to the test and runs only inside the adapter's calls (each bounded), so nothing of the
client runs while the test itself looks at the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
from collections.abc import Awaitable, Callable, Mapping
from typing import ClassVar, Final, TypeVar

import pytest

import stompmodels.aio.client
from stompmodels import AckMode, ClientFrame, HeartBeat, Message, Router
from stompmodels._client.errors import ConnectionLost
from stompmodels._client.url import BrokerURL
from stompmodels.aio import Client, Subscription
from stompmodels.aio.stream import Stream
from tests.fake_server import NO_HEART_BEAT

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
from .mock_stream import MockStream

T = TypeVar("T")
StreamOpener = Callable[..., Awaitable[Stream]]

HOST: Final = "127.0.0.1"
HARD_LIMIT: Final = 10.0  # seconds any one call into the loop may take (a hung scenario fails)


def inject_streams(monkeypatch: pytest.MonkeyPatch, opener: StreamOpener) -> None:
    """Make the asyncio client open its streams with `opener` (the single injection point)."""
    monkeypatch.setattr(stompmodels.aio.client, "open_stream", opener)


class AioBroker(Broker):
    """A broker address of the in-memory network: a MockStream per connection."""

    def __init__(self, port: int, heart_beat: HeartBeat, server_name: str = FAKE_SERVER) -> None:
        super().__init__(heart_beat, server_name)
        self.url = broker_url(HOST, port)
        self.stream: MockStream | None = None

    def accept(self) -> MockStream:
        self.dials += 1
        if self.refusing:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        server = self.new_server()
        stream = MockStream(on_write=lambda data: self._answer(stream, server, data))
        self.stream = stream
        return stream

    def _answer(self, stream: MockStream, server: RecordingServer, data: bytes) -> None:
        try:
            replies = server.receive(data)
        except AssertionError as exc:  # ClientMisbehaved: reported at the end of the test
            self.failures.append(exc)
            stream.feed_eof()
            return
        if replies:
            stream.feed(b"".join(replies))
        if server.closed:  # after ERROR or DISCONNECT the broker hangs up
            stream.feed_eof()

    def push(self, data: bytes) -> None:
        assert self.stream is not None, "no connection to push to"
        self.stream.feed(data)

    def hang_up(self) -> None:
        assert self.stream is not None, "no connection to hang up"
        self.stream.feed_eof()

    async def beat(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            if self.stream is not None:
                self.stream.feed(b"\n")


class AioGate(Gate):
    """A gate of asyncio handlers: an `asyncio.Event` they await (bounded)."""

    def __init__(self) -> None:
        super().__init__()
        self.event = asyncio.Event()

    def open(self) -> None:
        self.event.set()

    async def wait(self) -> None:
        async with asyncio.timeout(WAIT):
            await self.event.wait()


class AioPending(Pending[T]):
    """A task of the driver's loop (it runs whenever the loop does)."""

    def __init__(self, task: asyncio.Task[T]) -> None:
        self.task = task

    def done(self) -> bool:
        return self.task.done()

    def result(self) -> T:
        assert self.task.done(), "the call is still under way"
        return self.task.result()


class AioMailbox(Mailbox):
    def __init__(self, driver: AioDriver, subscription: Subscription) -> None:
        self.driver = driver
        self.subscription = subscription
        self.id = subscription.id

    def get(self, timeout: float = WAIT) -> Message:
        return self.driver.run(self.subscription.get(timeout))


class AioClient(StompClient):
    styles: ClassVar[tuple[Style, ...]] = ("async",)

    def __init__(
        self,
        driver: AioDriver,
        url: str | list[str],
        keywords: ClientKeywords,
    ) -> None:
        super().__init__()
        self.driver = driver
        self.client = Client(
            url,
            on_state=self.on_state,
            **keywords,
        )

    def connect(self) -> None:
        self.driver.run(self.client.connect())

    def on_message(self, handler: MessageHandler) -> None:
        @self.client.on(Message)
        def handle(message: Message) -> ClientFrame | None:
            handler(message)
            return None

    def include(self, router: Router) -> None:
        self.client.include(router)

    def subscribe(self, destination: str, *, ack: AckMode = "auto") -> Mailbox:
        return AioMailbox(self.driver, self.driver.run(self.client.subscribe(destination, ack=ack)))

    def send(self, destination: str, body: bytes | str = b"", *, receipt: bool = False) -> None:
        self.driver.run(self.client.send(destination, body, receipt=receipt))

    def ack(self, message: Message, *, receipt: bool = False) -> None:
        if receipt:
            self.driver.run(self.client.ack(message, receipt=True))
        else:
            self.driver.run(self.client.ack(message))

    def nack(self, message: Message, *, receipt: bool = False) -> None:
        if receipt:
            self.driver.run(self.client.nack(message, receipt=True))
        else:
            self.driver.run(self.client.nack(message))

    def close(self) -> None:
        self.driver.run(self.client.close())

    def start_close(self) -> Pending[None]:
        return AioPending(self.driver.loop.create_task(self.client.close()))

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
        assert gate is None or isinstance(gate, AioGate), gate

        async def wrapper(payload: object, message: Message) -> object:
            if gate is None:
                return handler(payload, message)
            gate.enter()
            try:
                await gate.wait()
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
        publishing = self.client.publish(
            destination,
            payload,
            receipt=receipt,
            headers=headers,
            reply_to=reply_to,
            correlation_id=correlation_id,
        )
        self.driver.run(publishing)

    def request(
        self, destination: str, payload: object, *, response: type[T], timeout: float | None = None
    ) -> T:
        asking = self.client.request(destination, payload, response=response, timeout=timeout)
        return self.driver.run(asking)

    def start_request(
        self, destination: str, payload: object, *, response: type[T], timeout: float | None = None
    ) -> Pending[T]:
        asking = self.client.request(destination, payload, response=response, timeout=timeout)
        return AioPending(self.driver.loop.create_task(asking))

    @property
    def failure(self) -> ConnectionLost | None:
        return self.client.failure


class AioDriver(Driver):
    name = "aio"
    logger = "stompmodels.aio"
    package = "stompmodels.aio"

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.loop = asyncio.new_event_loop()
        self.brokers: dict[tuple[str, int], AioBroker] = {}
        self.clients: list[AioClient] = []
        self._ports = itertools.count(62001)
        inject_streams(monkeypatch, self.open_stream)

    async def open_stream(self, url: BrokerURL, *args: object, **kwargs: object) -> Stream:
        """The stream to `url`: a registered broker's MockStream, else a refused connection."""
        broker = self.brokers.get((url.host, url.port))
        if broker is None:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        return broker.accept()

    def run(self, work: Awaitable[T]) -> T:
        """Run the loop until `work` is done (bounded)."""

        async def bounded() -> T:
            scope = asyncio.timeout(HARD_LIMIT)
            try:
                async with scope:
                    return await work
            except TimeoutError:
                if scope.expired():
                    raise AssertionError(f"an asyncio call outlived {HARD_LIMIT} s") from None
                raise

        return self.loop.run_until_complete(bounded())

    def broker(
        self,
        heart_beat: HeartBeat = NO_HEART_BEAT,
        *,
        beat_every: float | None = None,
        server_name: str = FAKE_SERVER,
    ) -> Broker:
        port = next(self._ports)
        broker = AioBroker(port, heart_beat, server_name)
        self.brokers[HOST, port] = broker
        if beat_every is not None:
            self.loop.create_task(broker.beat(beat_every))
        return broker

    def refused_url(self) -> str:
        return broker_url(HOST, next(self._ports))

    def gate(self) -> Gate:
        return AioGate()

    def make_client(self, url: str | list[str], keywords: ClientKeywords) -> StompClient:
        client = AioClient(self, url, keywords)
        self.clients.append(client)
        return client

    def wait(self, seconds: float) -> None:
        self.run(asyncio.sleep(seconds))

    def until(self, condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
        async def poll() -> bool:
            deadline = self.loop.time() + timeout
            while not condition():
                if self.loop.time() > deadline:
                    return False
                await asyncio.sleep(0.005)
            return True

        if not self.run(poll()):
            raise AssertionError(f"{what}: not within {timeout:g} s")

    def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                self.run(client.client.close(timeout=0.5))
        pending: set[asyncio.Task[object]] = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
        failures = [problem for broker in self.brokers.values() for problem in broker.failures]
        assert not failures, failures
