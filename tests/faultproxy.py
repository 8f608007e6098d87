"""A fault-injecting TCP proxy for tests: loopback only, on its own thread and event loop.

```python
with FaultProxy(61613) as proxy:            # listens on 127.0.0.1:<proxy.port>
    client = Client(proxy.url("stomp://guest:guest@127.0.0.1:61613/"))
    proxy.set("down", blackhole=True)       # the broker's bytes vanish; sockets stay open
    proxy.cut(after=5)                      # each connection forwards 5 more bytes, then ends
    proxy.heal()
```

Faults are set per direction ("up": client to target, "down": target to client) and take
effect on the next chunk: `delay` holds each chunk, `split` writes it in tiny pieces, `stall`
stops reading (so TCP pushes back) while the sockets stay open, `blackhole` reads and discards.
`cut` ends every open connection, at once or mid-stream; `refuse` closes new ones on accept.
Every call from the test's thread is bounded in time; `stop` ends everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Final, Literal, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

Direction = Literal["up", "down"]
"""Which way bytes flow: "up" from the client to the target, "down" back."""
DIRECTIONS: Final[tuple[Direction, Direction]] = ("up", "down")
LOOPBACK: Final = "127.0.0.1"
CHUNK: Final = 64 * 1024
CALL_TIMEOUT: Final = 10.0  # bound on any call the test's thread makes into the proxy's loop

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Faults:
    """What happens to one direction's bytes; the default forwards them as they come."""

    delay: float = 0.0
    split: tuple[int, int] | None = None  # write each chunk in pieces of min..max bytes
    stall: bool = False
    blackhole: bool = False


@dataclass(slots=True)
class Counters:
    """What the proxy has seen so far."""

    connections: int = 0  # accepted (refused ones included)
    active: int = 0  # open now, to the client and to the target
    refused: int = 0
    cut: int = 0  # ended by `cut`
    forwarded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DIRECTIONS, 0))
    writes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DIRECTIONS, 0))
    discarded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DIRECTIONS, 0))


class _Link:
    """One proxied connection: the client's socket, the target's socket, two pumps."""

    def __init__(
        self, streams: dict[Direction, tuple[asyncio.StreamReader, asyncio.StreamWriter]]
    ) -> None:
        self.streams = streams
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = asyncio.Event()
        self.cut_after: int | None = None  # armed by cut(after=...)
        self.cut_direction: Direction | None = None

    def close(self, *, flush: bool) -> None:
        """End both sockets: `flush` sends what is written first (FIN), else abort at once."""
        if self.closed.is_set():
            return
        self.closed.set()
        for _, writer in self.streams.values():
            if flush:
                writer.close()
            else:
                writer.transport.abort()
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()


class FaultProxy:
    """A TCP proxy from 127.0.0.1:`port` (ephemeral) to `target_host`:`target_port`."""

    def __init__(self, target_port: int, target_host: str = LOOPBACK, *, seed: int = 0) -> None:
        if target_host not in (LOOPBACK, "localhost", "::1"):
            raise ValueError("the fault proxy forwards to loopback only")
        self.target = (target_host, target_port)
        self.port = 0
        self._faults: dict[Direction, Faults] = dict.fromkeys(DIRECTIONS, Faults())
        self._refuse = False
        self._random = random.Random(seed)
        self._counters = Counters()
        self._links: set[_Link] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._flowing: dict[Direction, asyncio.Event] = {}
        self._handlers: set[asyncio.Task[None]] = set()  # one per accepted connection
        self._late_cuts: set[asyncio.Task[None]] = set()

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the loop's thread and listen; returns once `port` is known."""
        if self._thread is not None:
            raise RuntimeError("a FaultProxy starts once")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="faultproxy", daemon=True
        )
        self._thread.start()
        self.port = self._call(self._listen())

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every connection, stop the loop and its thread (bounded)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return
        with contextlib.suppress(TimeoutError, RuntimeError):
            self._call(self._shutdown(), timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()

    def url(self, url: str) -> str:
        """`url` (stomp://user:pass@host:port/vhost) with host and port replaced by the proxy's."""
        parts = urlsplit(url)
        credentials, at, _ = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{credentials}{at}{LOOPBACK}:{self.port}"))

    # -- faults, from any thread ------------------------------------------------------------

    def set(
        self,
        direction: Direction | None = None,
        *,
        delay: float | None = None,
        split: tuple[int, int] | Literal[False] | None = False,
        stall: bool | None = None,
        blackhole: bool | None = None,
    ) -> None:
        """Change the faults of `direction` (None: both); arguments left out keep their value.

        `split=None` turns splitting off (`False`, the default, leaves it as it is).
        """
        if split and not 1 <= split[0] <= split[1]:
            raise ValueError("split needs (min, max) with 1 <= min <= max")

        def change() -> None:
            for way in DIRECTIONS if direction is None else (direction,):
                now = self._faults[way]
                self._faults[way] = replace(
                    now,
                    delay=now.delay if delay is None else delay,
                    split=now.split if split is False else split,
                    stall=now.stall if stall is None else stall,
                    blackhole=now.blackhole if blackhole is None else blackhole,
                )
                self._update_flow(way)

        self._run_soon(change)

    def faults(self, direction: Direction) -> Faults:
        """The faults in force for `direction`."""
        return self._faults[direction]

    def refuse(self, refuse: bool = True) -> None:
        """Close new connections as soon as they are accepted (a broker that is away)."""

        def change() -> None:
            self._refuse = refuse

        self._run_soon(change)

    def heal(self) -> None:
        """Turn every fault off, and accept connections again."""

        def change() -> None:
            self._refuse = False
            for way in DIRECTIONS:
                self._faults[way] = Faults()
                self._update_flow(way)

        self._run_soon(change)

    def cut(
        self,
        *,
        after: int | None = None,
        direction: Direction | None = None,
        within: float = 2.0,
        wait: bool = True,
    ) -> int:
        """End every open connection; return how many were open.

        With `after`, each connection first forwards `after` bytes of its next chunk (in
        `direction`, or either), then closes both ways: the peer gets part of a frame. A
        connection that carries nothing for `within` seconds is cut anyway. `wait=False`
        returns once the cuts are armed, without waiting for them.
        """
        return self._call(self._cut(after, direction, within, wait), within + CALL_TIMEOUT)

    @property
    def counters(self) -> Counters:
        """A snapshot of the counters."""

        async def snapshot() -> Counters:
            now = self._counters
            return replace(
                now,
                forwarded=dict(now.forwarded),
                writes=dict(now.writes),
                discarded=dict(now.discarded),
            )

        return self._call(snapshot())

    def wait_active(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until exactly `count` connections are open; False if that took over `timeout`."""

        async def wait() -> bool:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while self._counters.active != count:
                if loop.time() > deadline:
                    return False
                await asyncio.sleep(0.01)
            return True

        return self._call(wait(), timeout + CALL_TIMEOUT)

    # -- the loop's side ---------------------------------------------------------------------

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the FaultProxy is not started")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def _run_soon(self, change: Callable[[], None]) -> None:
        async def apply() -> None:
            change()

        self._call(apply())

    def _update_flow(self, way: Direction) -> None:
        if self._faults[way].stall:
            self._flowing[way].clear()
        else:
            self._flowing[way].set()

    async def _listen(self) -> int:
        self._flowing = {way: asyncio.Event() for way in DIRECTIONS}
        for way in DIRECTIONS:
            self._update_flow(way)
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.close(flush=False)
        for task in self._late_cuts:
            task.cancel()
        # The handlers end by themselves once their links are closed: cancelling one makes
        # asyncio's streams log a spurious CancelledError.
        tasks = [task for link in self._links for task in link.tasks]
        tasks += [*self._handlers, *self._late_cuts]
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        self._links.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        if handler is not None:
            self._handlers.add(handler)
            handler.add_done_callback(self._handlers.discard)
        counters = self._counters
        counters.connections += 1
        if self._refuse:
            counters.refused += 1
            writer.transport.abort()
            return
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                target = await asyncio.open_connection(*self.target)
        except (OSError, TimeoutError):
            writer.transport.abort()
            return
        link = _Link({"up": (reader, target[1]), "down": (target[0], writer)})
        for stream_writer in (writer, target[1]):
            sock = stream_writer.get_extra_info("socket")
            if sock is not None:  # so that split pieces travel as separate segments
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._links.add(link)
        counters.active += 1
        link.tasks = [
            asyncio.create_task(self._pump(link, way, *link.streams[way])) for way in DIRECTIONS
        ]
        try:
            await link.closed.wait()
        finally:
            self._links.discard(link)
            counters.active -= 1

    async def _pump(
        self,
        link: _Link,
        way: Direction,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        flowing, counters = self._flowing[way], self._counters
        try:
            while True:
                await flowing.wait()  # a stall stops reading: TCP pushes back on the sender
                data = await reader.read(CHUNK)
                if not data:
                    break
                faults = self._faults[way]
                if faults.blackhole:
                    counters.discarded[way] += len(data)
                    continue
                if faults.delay:
                    await asyncio.sleep(faults.delay)
                await flowing.wait()  # a stall that began during the read holds this chunk
                if link.cut_after is not None and link.cut_direction in (None, way):
                    await self._forward(writer, data[: link.cut_after], way)
                    self._counters.cut += 1
                    break
                await self._forward(writer, data, way)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            link.close(flush=True)

    async def _forward(self, writer: asyncio.StreamWriter, data: bytes, way: Direction) -> None:
        split = self._faults[way].split
        if split is None:
            writer.write(data)
            self._counters.writes[way] += 1
        else:
            low, high = split
            position = 0
            while position < len(data):
                size = self._random.randint(low, high)
                writer.write(data[position : position + size])
                self._counters.writes[way] += 1
                position += size
                await writer.drain()
                await asyncio.sleep(0)
        self._counters.forwarded[way] += len(data)
        await writer.drain()

    async def _cut(
        self, after: int | None, direction: Direction | None, within: float, wait: bool
    ) -> int:
        links = list(self._links)
        for link in links:
            if after is None:
                self._counters.cut += 1
                link.close(flush=False)
            else:
                link.cut_direction, link.cut_after = direction, after
        if after is not None and links:
            deadline = asyncio.create_task(self._cut_late(links, within))
            self._late_cuts.add(deadline)
            deadline.add_done_callback(self._late_cuts.discard)
            if wait:
                await asyncio.wait([deadline], timeout=within + 1.0)
        return len(links)

    async def _cut_late(self, links: list[_Link], within: float) -> None:
        """Cut the armed links that carried nothing within `within` seconds."""
        waits = [asyncio.create_task(link.closed.wait()) for link in links]
        _, late = await asyncio.wait(waits, timeout=within)
        for task in late:
            task.cancel()
        for link in links:
            if not link.closed.is_set():
                self._counters.cut += 1
                link.close(flush=False)
