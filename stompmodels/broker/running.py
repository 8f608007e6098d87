"""`RunningBroker`: the embedded broker serving in a thread of its own, for tests and tools
whose clients (of any kind) run outside its event loop; `stompmodels.testing` hands it to
pytest as the `stomp_broker` fixture."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, TypeVar

from stompmodels._headers import HeartBeat
from stompmodels.broker.core import Broker
from stompmodels.broker.server import BrokerServer, serve
from stompmodels.broker.views import ConnectionInfo, HeldMessage

T = TypeVar("T")

_STARTUP: Final = 10.0  # seconds for the broker's thread to start listening
_CALL: Final = 10.0  # seconds for a call into the broker's thread


def _has_websockets() -> bool:
    try:
        import websockets  # noqa: F401
    except ImportError:
        return False
    return True


class RunningBroker:
    """An embedded broker serving in a background thread; every method is thread-safe."""

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        heart_beat: HeartBeat | tuple[int, int] = (1000, 1000),
        websocket: bool | None = None,
        dead_letter: str | None = None,
    ) -> None:
        """Start serving; `websocket` None: serve WebSocket too when `websockets` is there."""
        self._loop = asyncio.new_event_loop()
        broker = Broker(users=users, heart_beat=heart_beat, dead_letter=dead_letter)
        ws = _has_websockets() if websocket is None else websocket
        started = threading.Event()
        servers: list[BrokerServer] = []
        failures: list[BaseException] = []
        self._stop: asyncio.Event | None = None

        async def run() -> None:
            self._stop = stop = asyncio.Event()
            try:
                server = await serve("127.0.0.1", 0, ws_port=0 if ws else None, broker=broker)
            except BaseException as exc:
                failures.append(exc)
                started.set()
                return
            servers.append(server)
            started.set()
            async with server:
                await stop.wait()

        self._thread = threading.Thread(
            target=self._loop.run_until_complete,
            args=(run(),),
            name="embedded-stomp-broker",
            daemon=True,
        )
        self._thread.start()
        if not started.wait(_STARTUP):
            raise TimeoutError("the embedded broker did not start listening in time")
        if failures:
            raise RuntimeError(f"the embedded broker did not start: {failures[0]}")
        self._server = servers[0]
        self.host: str = self._server.host
        self.port: int = self._server.port
        self.ws_port: int | None = self._server.ws_port

    @property
    def url(self) -> str:
        """``stomp://127.0.0.1:PORT/``."""
        return self._server.url

    @property
    def ws_url(self) -> str | None:
        """``ws://127.0.0.1:PORT/ws``, or None without WebSocket."""
        return self._server.ws_url

    def url_for(self, login: str, passcode: str) -> str:
        """The `stomp://` URL with credentials."""
        return f"stomp://{login}:{passcode}@{self.host}:{self.port}/"

    # What the broker holds.

    def held(self, destination: str) -> tuple[HeldMessage, ...]:
        """The messages waiting in a queue for a consumer."""
        return self._call(lambda server: server.broker.held(destination))

    def destinations(self) -> dict[str, int]:
        """Every queue, with how many messages wait in it."""
        return self._call(lambda server: server.broker.destinations())

    def connections(self) -> tuple[ConnectionInfo, ...]:
        """The connections the broker has now."""
        return self._call(lambda server: server.broker.connections())

    def unacked(self, destination: str) -> int:
        """Deliveries from `destination` not yet acknowledged or refused, on every connection."""
        return sum(
            subscription.unacked
            for connection in self.connections()
            for subscription in connection.subscriptions
            if subscription.destination == destination
        )

    def wait_until(self, condition: Callable[[RunningBroker], bool], timeout: float = 5.0) -> None:
        """Poll `condition(self)` until it holds; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the broker's condition did not hold within {timeout} s")
            time.sleep(0.01)

    # Faults.

    def cut(self) -> None:
        """Drop every connection, with no ERROR (a network failure)."""
        self._call(lambda server: server.cut())

    def silence(self) -> None:
        """Stop answering (no frames, no heart-beats) until `resume`: a silent peer."""
        self._call(lambda server: server.silence())

    def resume(self) -> None:
        """Answer again after `silence`."""
        self._call(lambda server: server.resume())

    def delay(self, seconds: float) -> None:
        """Write every frame `seconds` late; 0 to stop."""
        self._call(lambda server: server.delay(seconds))

    def refuse_logins(self, refuse: bool = True) -> None:
        """Answer every CONNECT with ERROR while `refuse` is True."""

        def set_refusal(server: BrokerServer) -> None:
            server.broker.refuse_logins = refuse

        self._call(set_refusal)

    def stop(self) -> None:
        """Close every connection and stop serving."""
        if self._thread.is_alive() and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(_CALL)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()

    def _call(self, action: Callable[[BrokerServer], T]) -> T:
        server = self._server
        if not self._thread.is_alive():
            raise RuntimeError("the embedded broker is not running")

        async def in_loop() -> T:
            return action(server)

        coroutine: Coroutine[Any, Any, T] = in_loop()
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_CALL)


@contextmanager
def running_broker(
    *,
    users: Mapping[str, str] | None = None,
    heart_beat: HeartBeat | tuple[int, int] = (1000, 1000),
    websocket: bool | None = None,
    dead_letter: str | None = None,
) -> Iterator[RunningBroker]:
    """An embedded broker on a free loopback port for the `with` block."""
    running = RunningBroker(
        users=users, heart_beat=heart_beat, websocket=websocket, dead_letter=dead_letter
    )
    try:
        yield running
    finally:
        running.stop()
