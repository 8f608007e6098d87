"""Hostile limits on the TCP transports: a fake broker that breaks them (tests and benchmark).

`HostileBroker` listens on 127.0.0.1 (an ephemeral port, its own thread and event loop),
answers CONNECT with CONNECTED, waits for the client's next frame, then sends the payload of
one `Hostile` case: a frame head that never ends, too many headers, a header line too long,
a body declared or streamed over the limit. The client (with small `Limits`, or the default
ones for the 1 GiB stream) must fail the connection with ConnectionLost naming the limit, and
close its socket; tracemalloc measures what it allocated meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import tracemalloc
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Protocol, Self

from stompmodels import Limits
from stompmodels.aio import Client as AioClient
from stompmodels.aio import ConnectionLost
from stompmodels.blocking import Client as BlockingClient

from ._fault_stream import ClientKind

KIB: Final = 1024
MIB: Final = 1024 * KIB
SMALL: Final = Limits(max_frame_size=64 * KIB, max_head_size=4 * KIB, max_header_line=KIB)
SMALL_HEADERS: Final = Limits(max_headers=20)
TIMEOUT: Final = 5.0
CHUNK: Final = 64 * KIB
CONNECTED: Final = b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\x00"
HEAD: Final = b"MESSAGE\ndestination:/queue/a\nmessage-id:1\nsubscription:0\n"


@dataclass(frozen=True, slots=True)
class Hostile:
    """One way to break a limit: the client's limits, what the broker sends, the limit's name.

    The broker sends `data`; with `streamed`, it then sends body bytes (never a NUL) until
    it has sent `streamed` bytes in all, or the client hangs up.
    """

    name: str
    limits: Limits | None  # None: the defaults
    data: bytes
    limit: str  # the Limits field the client's error must name
    streamed: int = 0
    timeout: float = TIMEOUT  # the client's bound on its SEND's receipt


HOSTILE: Final = (
    Hostile("endless frame head", SMALL, HEAD + b"x:y\n" * 2000, "max_head_size"),
    Hostile(
        "too many headers",
        SMALL_HEADERS,
        HEAD + b"".join(b"h%d:v\n" % n for n in range(30)) + b"\n\x00",
        "max_headers",
    ),
    Hostile("header line too long", SMALL, HEAD + b"x:" + b"v" * 4096, "max_header_line"),
    Hostile(
        "content-length over the limit",
        SMALL,
        HEAD + b"content-length:%d\n\nshort" % (10 * MIB),
        "max_frame_size",
    ),
    Hostile("body streamed over the limit", SMALL, HEAD + b"\n", "max_frame_size", 16 * MIB),
)
# Reading 100 MiB takes seconds on a loaded machine: the client's timeout must not end it first.
GIB_STREAM: Final = Hostile(
    "1 GiB body, default limits", None, HEAD + b"\n", "max_frame_size", 1024 * MIB, 60.0
)


async def _send(writer: asyncio.StreamWriter, case: Hostile) -> int:
    """Play `case` on a TCP connection; the bytes written."""
    writer.write(case.data)
    await writer.drain()
    sent = len(case.data)
    chunk = b"x" * CHUNK
    with contextlib.suppress(ConnectionError):
        while sent < case.streamed:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
    return sent


class Closable(Protocol):
    """What asyncio's and websockets' servers share."""

    def close(self) -> None: ...
    async def wait_closed(self) -> None: ...


class HostileBroker:
    """A fake broker on loopback that plays `case` against each connection, on an event loop
    and thread of its own (`_listen` starts the server; subclasses may listen otherwise)."""

    def __init__(self, case: Hostile) -> None:
        self.case = case
        self.port = 0
        self.sent = 0  # payload bytes written
        self.client_closed = threading.Event()  # the client hung up after the payload
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Closable | None = None

    def __enter__(self) -> Self:
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(TIMEOUT)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        with contextlib.suppress(TimeoutError):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()

    @property
    def url(self) -> str:
        return f"stomp://127.0.0.1:{self.port}/"

    async def _listen(self) -> int:
        server = await asyncio.start_server(self._play, "127.0.0.1", 0)
        self._server = server
        port: int = server.sockets[0].getsockname()[1]
        return port

    async def _play(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(90):
                await reader.readuntil(b"\x00")  # CONNECT
                writer.write(CONNECTED)
                await reader.readuntil(b"\x00")  # the client's next frame: it is connected
                self.sent = await _send(writer, self.case)
                while await reader.read(CHUNK):  # until the client hangs up
                    pass
                self.client_closed.set()
        except (ConnectionError, asyncio.IncompleteReadError):
            self.client_closed.set()
        except TimeoutError:
            pass
        finally:
            writer.transport.abort()


@dataclass(frozen=True, slots=True)
class HostileOutcome:
    """What the client did against one hostile case."""

    client: str  # "aio", "blocking" or "ws"
    case: str
    limit: str
    error: BaseException | None  # what the SEND after CONNECTED raised
    client_closed: bool  # the fake broker saw the client hang up
    sent: int  # payload bytes the fake broker wrote before that
    peak: int  # bytes: tracemalloc's peak in the client meanwhile
    elapsed: float  # seconds from the SEND to the error


def play(case: Hostile, client: ClientKind) -> HostileOutcome:
    """Connect `client` to a fake broker playing `case`; send one frame; see what happens."""
    with HostileBroker(case) as broker:
        tracemalloc.start()
        try:
            started = time.monotonic()
            if client == "aio":
                error = asyncio.run(_probe_aio(broker.url, case))
            else:
                error = _probe_blocking(broker.url, case)
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        closed = broker.client_closed.wait(TIMEOUT)
        return HostileOutcome(
            client, case.name, case.limit, error, closed, broker.sent, peak, elapsed
        )


async def _probe_aio(url: str, case: Hostile) -> BaseException | None:
    client = AioClient(url, limits=case.limits, timeout=case.timeout, heart_beat=(0, 0))
    await client.connect()
    try:
        await client.send("/queue/a", "probe", receipt=True)
    except (ConnectionLost, TimeoutError) as exc:
        return exc
    finally:
        await client.close()
    return None


def _probe_blocking(url: str, case: Hostile) -> BaseException | None:
    client = BlockingClient(url, limits=case.limits, timeout=case.timeout, heart_beat=(0, 0))
    client.connect()
    try:
        client.send("/queue/a", "probe", receipt=True)
    except (ConnectionLost, TimeoutError) as exc:
        return exc
    finally:
        client.close()
    return None
