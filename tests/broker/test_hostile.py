"""Hostile clients against the embedded broker's real asyncio server, on 127.0.0.1.

Each test runs `serve(...)` in its own event loop (`asyncio.run`, or an `asyncio.Runner` for
the fuzzing), bounded in time and in bytes, and checks the same three things after the
attack (`Harness.check_healthy`):

- the broker stays up: a fresh well-behaved client connects, subscribes, sends and receives;
- other connections are unaffected: a client connected before the attack (the canary) still
  gets its messages;
- nothing raised inside the server (the event loop's exception handler saw nothing: an
  exception in `Broker.receive` would surface there as a failed `data_received`);

and, around the attack, that memory stays bounded (`tracemalloc`'s peak, under a ceiling far
below what buffering the attack would cost).

A broker that closes a socket with unread bytes in it makes the kernel answer with a reset,
which may overtake its ERROR: attacks that stream until they are stopped accept a reset; the
exact ERROR is checked with payloads the broker reads whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import resource
import time
import tracemalloc
import warnings
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stompmodels import (
    Connect,
    Connected,
    Disconnect,
    Error,
    Frame,
    FrameDecoder,
    Limits,
    Message,
    Receipt,
    Send,
    Subscribe,
    Version,
)
from stompmodels.broker import Broker, Output
from stompmodels.broker.server import BrokerServer, serve
from tests.broker._drive import Sendable, World, only
from tests.test_fuzz import frame_like, mutated, token_soup

KIB: Final = 1024
MIB: Final = 1024 * KIB
TIMEOUT: Final = 5.0  # seconds for any one exchange
CHUNK: Final = 64 * KIB
STREAM_CAP: Final = 64 * MIB  # an attack the broker lets run this long has failed
CANARY: Final = "/queue/canary"
VERSIONS: Final[tuple[Version, ...]] = ("1.0", "1.1", "1.2")
SMALL: Final = Limits(max_frame_size=16 * KIB, max_head_size=8 * KIB, max_header_line=KIB)
"""Limits small enough that a frame over them fits in one read of the server (no reset)."""


# --- a raw client ---------------------------------------------------------------------------


class Peer:
    """A STOMP client on a raw TCP socket: writes bytes or frames, decodes what comes back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = FrameDecoder("1.0")
        self.frames: deque[Frame] = deque()

    @classmethod
    async def open(cls, port: int) -> Peer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    @classmethod
    async def connect(cls, port: int, version: Version = "1.2") -> Peer:
        """A client with a session of `version`."""
        peer = await cls.open(port)
        accept = None if version == "1.0" else version
        host = None if version == "1.0" else "localhost"
        await peer.send(Connect(accept_version=accept, host=host))
        connected = await peer.next()
        assert isinstance(connected, Connected), connected
        return peer

    @property
    def sockname(self) -> str:
        host, port = self.writer.get_extra_info("sockname")[:2]
        return f"{host}:{port}"

    async def send(self, *frames: Sendable) -> None:
        version = self.decoder.version
        data = b"".join(f if isinstance(f, bytes) else f.to_wire(version) for f in frames)
        self.writer.write(data)
        await self.writer.drain()

    def feed(self, data: bytes) -> None:
        """Decode bytes the broker wrote."""
        self.decoder.receive(data)
        while (frame := self.decoder.next_frame()) is not None:
            if isinstance(frame, Connected):
                version = frame.version or "1.0"
                assert version in VERSIONS
                self.decoder.version = version
            self.frames.append(frame)

    async def next(self, timeout: float = TIMEOUT) -> Frame:
        """The next frame (heart-beats skipped); EOFError if the broker closes first."""
        async with asyncio.timeout(timeout):
            while not self.frames:
                data = await self.reader.read(CHUNK)
                if not data:
                    raise EOFError("the broker closed the connection")
                self.feed(data)
        return self.frames.popleft()

    async def rest(self, timeout: float = TIMEOUT) -> tuple[list[Frame], bool]:
        """Read until the broker closes: the frames, and whether it ended with a reset."""
        reset = False
        async with asyncio.timeout(timeout):
            while True:
                try:
                    data = await self.reader.read(CHUNK)
                except ConnectionError:
                    reset = True
                    break
                if not data:
                    break
                self.feed(data)
        frames = list(self.frames)
        self.frames.clear()
        return frames, reset

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def expect_error(peer: Peer, *names: str) -> Error:
    """The broker answers with one ERROR naming each of `names`, then closes (no reset)."""
    frames, reset = await peer.rest()
    assert frames, "the broker closed without an ERROR"
    error = frames[-1]
    assert isinstance(error, Error), frames
    assert error.message is not None
    for name in names:
        assert name in error.message, (name, error.message)
    assert not reset
    return error


async def stream(peer: Peer, first: bytes, unit: bytes) -> tuple[int, list[Frame]]:
    """Write `first`, then `unit` over and over, until the broker closes the connection: the
    bytes written by then and the frames received (an ERROR, unless a reset overtook it)."""
    reading = asyncio.create_task(peer.rest(timeout=30.0))
    chunk = unit * max(1, CHUNK // len(unit))
    sent = 0
    with contextlib.suppress(ConnectionError):
        peer.writer.write(first)
        sent += len(first)
        while sent < STREAM_CAP and not reading.done():
            await peer.writer.drain()
            peer.writer.write(chunk)
            sent += len(chunk)
            await asyncio.sleep(0)  # let the reader see the close
    assert sent < STREAM_CAP, f"the broker took {sent} bytes without closing the connection"
    frames, _ = await reading
    for frame in frames:
        assert isinstance(frame, Error), frames
    return sent, frames


# --- the server, the canary, the checks -----------------------------------------------------


@dataclass
class Harness:
    """A served broker, with a client subscribed before any attack (the canary)."""

    server: BrokerServer
    canary: Peer
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def broker(self) -> Broker:
        return self.server.broker

    @property
    def port(self) -> int:
        return self.server.port

    def connection_count(self) -> int:
        return len(self.broker.connections())

    async def check_healthy(self) -> None:
        """A fresh client connects, sends and receives; the canary still gets its messages;
        nothing was raised in the server."""
        assert not self.failures, self.failures
        fresh = await Peer.connect(self.port, "1.2")
        await fresh.send(
            Subscribe(destination="/queue/fresh", id="f"),
            Send(destination="/queue/fresh", body=b"fresh"),
            Send(destination=CANARY, body=b"still there"),
        )
        got = await fresh.next()
        assert isinstance(got, Message) and got.body == b"fresh", got
        canary = await self.canary.next()
        assert isinstance(canary, Message) and canary.body == b"still there", canary
        await fresh.send(Disconnect(receipt="bye"))
        assert await fresh.next() == Receipt(receipt_id="bye")
        await fresh.close()
        assert not self.failures, self.failures


@contextlib.asynccontextmanager
async def harness(
    *,
    handshake_timeout: float = 10.0,
    limits: Limits | None = None,
    broker: Broker | None = None,
) -> AsyncIterator[Harness]:
    """Serve a broker on a free loopback port with a canary subscribed; after the block,
    check the broker is healthy, and stop it."""
    loop = asyncio.get_running_loop()
    failures: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: failures.append(context))
    core = broker or Broker(heart_beat=(0, 0), handshake_timeout=handshake_timeout, limits=limits)
    server = await serve("127.0.0.1", 0, broker=core)
    try:
        canary = await Peer.connect(server.port, "1.1")
        await canary.send(Subscribe(destination=CANARY, id="canary", receipt="ready"))
        assert await canary.next() == Receipt(receipt_id="ready")
        state = Harness(server, canary, failures)
        yield state
        await state.check_healthy()
        await canary.close()
    finally:
        await server.close()


def run(scenario: Callable[[], Awaitable[None]], timeout: float = 20.0) -> None:
    """Run a coroutine function in a fresh event loop, bounded in time."""

    async def bounded() -> None:
        async with asyncio.timeout(timeout):
            await scenario()

    asyncio.run(bounded())


@contextlib.contextmanager
def peak_memory() -> Iterator[list[int]]:
    """tracemalloc's peak over the block, in bytes, appended to the list yielded."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        found: list[int] = []
        yield found
        found.append(tracemalloc.get_traced_memory()[1] - base)
    finally:
        tracemalloc.stop()


# --- garbage --------------------------------------------------------------------------------

GARBAGE: Final = random.Random(20240607).randbytes(16 * KIB)


@pytest.mark.parametrize("after_connect", [False, True], ids=["before-CONNECT", "after-CONNECT"])
def test_garbage_bytes_get_an_error_and_a_close(after_connect: bool) -> None:
    async def scenario() -> None:
        async with harness() as state:
            with peak_memory() as peak:
                if after_connect:
                    attacker = await Peer.connect(state.port, "1.2")
                else:
                    attacker = await Peer.open(state.port)
                await attacker.send(GARBAGE)
                await expect_error(attacker)
                await attacker.close()
            assert peak[0] < 2 * MIB, peak
            assert state.connection_count() == 1

    run(scenario)


def test_streamed_garbage_is_cut_off() -> None:
    async def scenario() -> None:
        async with harness() as state:
            attacker = await Peer.open(state.port)
            with peak_memory() as peak:
                sent, _ = await stream(attacker, b"CONNECT\n", GARBAGE)
            await attacker.close()
            assert peak[0] < 2 * MIB, (peak, sent)

    run(scenario)


# --- oversize heads and bodies --------------------------------------------------------------

HEAD: Final = b"SEND\ndestination:/queue/a\n"


@dataclass(frozen=True)
class Oversize:
    """A frame over a limit: `whole` goes over SMALL's limit in one write; `first` then
    `unit` streamed forever go over the default limits."""

    name: str
    whole: bytes
    first: bytes
    unit: bytes
    limit: str  # what the ERROR names
    ceiling: int  # the most the attack may cost while streamed, in bytes


OVERSIZE: Final = [
    Oversize(
        "header line",
        HEAD + b"x-big:" + b"v" * 2 * KIB,
        HEAD + b"x-big:",
        b"v",
        "max_header_line",
        2 * MIB,
    ),
    Oversize(
        "head",
        HEAD + b"h:v\n" * (3 * KIB),
        HEAD,
        b"header:value\n",
        "max_head_size",
        8 * MIB,
    ),
    Oversize(
        "body without NUL",
        HEAD + b"\n" + b"b" * 20 * KIB,
        HEAD + b"\n",
        b"b",
        "max_frame_size",
        8 * MIB,
    ),
]


@pytest.mark.parametrize("case", OVERSIZE, ids=[case.name for case in OVERSIZE])
def test_an_oversize_frame_is_an_error_naming_the_limit(case: Oversize) -> None:
    async def scenario() -> None:
        async with harness(limits=SMALL) as state:
            attacker = await Peer.connect(state.port, "1.2")
            with peak_memory() as peak:
                await attacker.send(case.whole)
                await expect_error(attacker, case.limit)
            await attacker.close()
            assert peak[0] < MIB, peak

    run(scenario)


@pytest.mark.parametrize("case", OVERSIZE[:2], ids=[case.name for case in OVERSIZE[:2]])
def test_a_streamed_oversize_head_is_cut_off_in_bounded_memory(case: Oversize) -> None:
    """With the default limits (10 KiB a header line, 1 MiB a head)."""

    async def scenario() -> None:
        async with harness() as state:
            attacker = await Peer.connect(state.port, "1.2")
            with peak_memory() as peak:
                sent, frames = await stream(attacker, case.first, case.unit)
            await attacker.close()
            assert peak[0] < case.ceiling, (peak, sent)
            if frames:
                message = only(frames, Error)[-1].message
                assert message is not None and case.limit in message

    run(scenario)


def test_a_streamed_body_is_cut_off_at_max_frame_size() -> None:
    limits = Limits(max_frame_size=2 * MIB)

    async def scenario() -> None:
        async with harness(limits=limits) as state:
            attacker = await Peer.connect(state.port, "1.2")
            with peak_memory() as peak:
                sent, _ = await stream(attacker, HEAD + b"\n", b"b")
            await attacker.close()
            assert sent < 32 * MIB
            assert peak[0] < 8 * MIB, (peak, sent)

    run(scenario)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_petabyte_content_length_is_refused_without_allocating_it(version: Version) -> None:
    async def scenario() -> None:
        async with harness() as state:
            attacker = await Peer.connect(state.port, version)
            with peak_memory() as peak:
                await attacker.send(HEAD + b"content-length:1000000000000000\n\n" + b"x" * KIB)
                await expect_error(attacker, "content-length", "max_frame_size")
            await attacker.close()
            assert peak[0] < MIB, peak
            assert state.broker.held("/queue/a") == ()

    run(scenario)


# --- slowloris ------------------------------------------------------------------------------

PARTIAL_CONNECT: Final = b"CONNECT\naccept-version:1.2\nhost:local"


def test_clients_that_never_connect_are_closed_after_the_handshake_timeout() -> None:
    """Three at once: one silent, one that stalls in its CONNECT, one that trickles bytes
    forever (a slowloris). Bytes do not extend the handshake timeout."""

    async def stall(peer: Peer) -> None:
        for index in range(len(PARTIAL_CONNECT)):  # one byte at a time, then nothing
            await peer.send(PARTIAL_CONNECT[index : index + 1])
            await asyncio.sleep(0.2 / len(PARTIAL_CONNECT))

    async def trickle(peer: Peer) -> None:
        with contextlib.suppress(ConnectionError):
            for index in range(10_000):
                await peer.send(PARTIAL_CONNECT[index % len(PARTIAL_CONNECT) :][:1])
                await asyncio.sleep(0.02)

    async def scenario() -> None:
        async with harness(broker=Broker(heart_beat=(0, 0), handshake_timeout=0.5)) as state:
            with peak_memory() as peak:
                started = time.monotonic()
                silent, stalled, slowloris = [await Peer.open(state.port) for _ in range(3)]
                await stall(stalled)
                trickling = asyncio.create_task(trickle(slowloris))
                for peer in (silent, stalled):
                    await expect_error(peer, "CONNECT", "0.5 s")
                frames, _ = await slowloris.rest()  # a reset may overtake its ERROR
                assert all(isinstance(frame, Error) for frame in frames), frames
                elapsed = time.monotonic() - started
                assert 0.45 <= elapsed < 2.0, elapsed
                await asyncio.wait_for(trickling, 1.0)  # its writes fail: it was cut off
                for peer in (silent, stalled, slowloris):
                    await peer.close()
            assert peak[0] < MIB, peak
            assert state.connection_count() == 1

    run(scenario)


# --- a thousand idle connections ------------------------------------------------------------


def _idle_count(wanted: int = 1000) -> int:
    """How many idle connections fit the file descriptor limit: both ends are in this process,
    so each takes two descriptors (plus some for everything else)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(10, min(wanted, (soft - 200) // 2))


@pytest.mark.slow
def test_a_thousand_idle_connections() -> None:
    count = _idle_count()
    if count < 1000:
        warnings.warn(f"ulimit -n allows only {count} idle connections, not 1000", stacklevel=1)

    async def scenario() -> None:
        broker = Broker(heart_beat=(0, 0), handshake_timeout=3.0)
        async with harness(broker=broker) as state:
            idle: list[Peer] = []
            with peak_memory() as peak:
                for _ in range(0, count, 50):
                    batch = min(50, count - len(idle))
                    idle += await asyncio.gather(*(Peer.open(state.port) for _ in range(batch)))
                deadline = time.monotonic() + TIMEOUT
                while state.connection_count() < count + 1:
                    assert time.monotonic() < deadline, state.connection_count()
                    await asyncio.sleep(0.01)
            # Both ends of every connection are in this process: about 8 KiB each, measured.
            assert peak[0] < count * 16 * KIB, peak
            await state.check_healthy()  # while they are all open
            # The handshake timeout closes every one of them, with an ERROR each.
            endings = await asyncio.gather(*(peer.rest(timeout=10.0) for peer in idle))
            for frames, reset in endings:
                assert len(frames) == 1 and isinstance(frames[0], Error), frames
                assert not reset
            assert state.connection_count() == 1
            await asyncio.gather(*(peer.close() for peer in idle))

    run(scenario, timeout=60.0)


# --- fuzzing --------------------------------------------------------------------------------


def _check_answer(output_frames: list[Frame], closed: bool) -> None:
    """What the broker answers to anything: server frames only; after an ERROR it closes."""
    for frame in output_frames:
        assert isinstance(frame, Message | Receipt | Error), frame
    errors = [i for i, frame in enumerate(output_frames) if isinstance(frame, Error)]
    if errors:
        assert errors == [len(output_frames) - 1], output_frames
        assert closed


FUZZ_INPUT: Final = (
    st.binary(max_size=200) | token_soup | frame_like() | st.sampled_from(VERSIONS).flatmap(mutated)
)
CRASHERS: Final = [
    ("1.1", b"SEND\ndestination:/queue/a\nreceipt:r\rx\n\n\0"),
    ("1.0", b"SEND\ndestination:/queue/a\nreceipt:r\rx\n\n\0"),
    ("1.2", b"SUBSCRIBE\ndestination:/queue/a\nid:1\nprefetch-count:\xc2\xb2\n\n\0"),
]


def _fuzz_sans_io(version: Version, data: bytes, cuts: list[int]) -> None:
    """The sans-IO broker, fed hostile bytes in any chunking after CONNECT: it never raises,
    writes only server frames, and closes after an ERROR; a bystander is unaffected."""
    world = World(Broker(heart_beat=(0, 0)))
    bystander = world.connect("1.2")
    bystander.send(Subscribe(destination="/queue/bystander", id="b"))
    client = world.connect(version)
    client.send(Subscribe(destination="/queue/bystander", id="x"))  # it competes
    points = sorted({c % (len(data) + 1) for c in cuts})
    for start, end in zip([0, *points], [*points, len(data)], strict=True):
        client.raw(data[start:end])
    _check_answer(client.take(), client.closed)
    world.connect("1.2").send(
        *[Send(destination="/queue/bystander", body=b"%d" % n) for n in (1, 2)]
    )
    got = bystander.take()
    assert got and all(isinstance(f, Message) for f in got)


FUZZ_ARGS: Final = {
    "version": st.sampled_from(VERSIONS),
    "data": FUZZ_INPUT,
    "cuts": st.lists(st.integers(0, 400)),
}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**FUZZ_ARGS)
@example(version=CRASHERS[0][0], data=CRASHERS[0][1], cuts=[])
@example(version=CRASHERS[1][0], data=CRASHERS[1][1], cuts=[])
@example(version=CRASHERS[2][0], data=CRASHERS[2][1], cuts=[])
def test_fuzzed_bytes_after_connect_get_an_error_or_nothing(
    version: Version, data: bytes, cuts: list[int]
) -> None:
    _fuzz_sans_io(version, data, cuts)


@pytest.mark.slow
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**FUZZ_ARGS)
def test_fuzzed_bytes_after_connect_at_length(
    version: Version, data: bytes, cuts: list[int]
) -> None:
    _fuzz_sans_io(version, data, cuts)


class Recorder(Broker):
    """A broker that counts what each connection sent and was answered."""

    def __init__(self) -> None:
        super().__init__(heart_beat=(0, 0))
        self.received: dict[int, int] = {}
        self.written: dict[int, int] = {}
        self.ended: set[int] = set()

    def receive(self, connection: int, data: bytes, now: float) -> Output:
        self.received[connection] = self.received.get(connection, 0) + len(data)
        output = super().receive(connection, data, now)
        self.written[connection] = self.written.get(connection, 0) + len(
            output.writes.get(connection, b"")
        )
        self.ended |= output.close
        return output


async def _fuzz_one(state: Harness, version: Version, data: bytes) -> None:
    broker = state.broker
    assert isinstance(broker, Recorder)
    client = await Peer.connect(state.port, version)
    ident = next(c.id for c in broker.connections() if c.peer == client.sockname)
    before = broker.received[ident]
    written = broker.written.get(ident, 0)
    if data:
        await client.send(data)
    deadline = time.monotonic() + TIMEOUT
    while broker.received[ident] < before + len(data) and ident not in broker.ended:
        assert time.monotonic() < deadline, "the broker did not read the bytes"
        await asyncio.sleep(0.001)
    answer = broker.written.get(ident, 0) - written
    async with asyncio.timeout(TIMEOUT):
        raw = await client.reader.readexactly(answer) if answer else b""
    client.feed(raw)
    frames = list(client.frames)
    closed = ident in broker.ended
    _check_answer(frames, closed)
    if closed:
        assert await client.reader.read() == b""
    await client.close()


def _fuzz_over_tcp(max_examples: int) -> None:
    with asyncio.Runner() as runner:
        context = harness(broker=Recorder())
        state = runner.run(context.__aenter__())
        try:

            @settings(
                max_examples=max_examples,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            )
            @given(version=st.sampled_from(VERSIONS), data=FUZZ_INPUT)
            @example(version=CRASHERS[0][0], data=CRASHERS[0][1])
            @example(version=CRASHERS[2][0], data=CRASHERS[2][1])
            def check(version: Version, data: bytes) -> None:
                known = len(state.failures)
                try:
                    runner.run(asyncio.wait_for(_fuzz_one(state, version, data), 2 * TIMEOUT))
                finally:
                    # What raised in the server (seen by the loop), for this example alone.
                    raised = state.failures[known:]
                    del state.failures[known:]
                assert not raised, raised

            check()
        except BaseException as exc:
            runner.run(context.__aexit__(type(exc), exc, exc.__traceback__))
            raise
        runner.run(context.__aexit__(None, None, None))


def test_fuzzed_bytes_over_tcp() -> None:
    """The real server, fed hostile bytes after CONNECT: it answers ERROR (then closes) or
    nothing but server frames, nothing raises in the server, and the canary is unaffected."""
    _fuzz_over_tcp(60)


@pytest.mark.slow
def test_fuzzed_bytes_over_tcp_at_length() -> None:
    _fuzz_over_tcp(1000)


# --- a client that does not read ------------------------------------------------------------


def test_a_subscriber_that_never_reads_does_not_fill_the_broker() -> None:
    """A subscriber whose socket is never read: once its transport is full, messages wait in
    the queue (where `held` shows them) instead of piling up in the broker's write buffer,
    and the competing consumer that reads gets the rest."""
    body = b"x" * (64 * KIB)
    count = 400  # 25 MiB in all

    async def scenario() -> None:
        async with harness() as state:
            stuck = await Peer.connect(state.port, "1.2")
            await stuck.send(Subscribe(destination="/queue/flood", id="s", receipt="r"))
            assert await stuck.next() == Receipt(receipt_id="r")
            stuck.reader._transport.pause_reading()  # type: ignore[attr-defined]  # never read
            producer = await Peer.connect(state.port, "1.2")
            with peak_memory() as peak:
                for _ in range(count):
                    await producer.send(Send(destination="/queue/flood", body=body))
                await producer.send(Disconnect(receipt="sent"))
                assert await producer.next() == Receipt(receipt_id="sent")
                waiting = len(state.broker.held("/queue/flood"))
            # Far less than the whole flood reached the stuck client's buffers: beyond what
            # waits in the queue, the broker (and this test's clients) held a few MiB at most.
            assert waiting > count // 2, waiting
            assert peak[0] - waiting * len(body) < 8 * MIB, (peak, waiting)
            reader = await Peer.connect(state.port, "1.2")
            await reader.send(Subscribe(destination="/queue/flood", id="r"))
            for _ in range(waiting):
                got = await reader.next()
                assert isinstance(got, Message) and got.body == body
            for peer in (stuck, producer, reader):
                await peer.close()

    run(scenario, timeout=60.0)
