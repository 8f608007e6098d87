"""The blocking client's shared state: the socket, the Engine behind a lock, waiters, writing.

Locks: `_write_lock` orders all writes (frames and heart-beats); `_engine_lock` guards the Engine
(it is not thread-safe). A writer takes the write lock, then the engine lock to build and encode
the frame, lets the engine lock go and writes; the reader thread only takes the engine lock. So
there is no lock cycle, and a long write never stalls reading. `_lock` guards the receipt waiters
and the subscriptions' channels. The threads themselves are in `blocking.threads`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl as ssl_module
import threading
import time
from collections.abc import Callable
from typing import NamedTuple, TypeVar

from stompmodels._client.backoff import Backoff
from stompmodels._client.deliveries import Deliveries
from stompmodels._client.errors import Closed, ConnectionLost, describe_error
from stompmodels._client.url import BrokerURL
from stompmodels._engine import Engine
from stompmodels._errors import LocalProtocolError
from stompmodels._frames import ClientFrame, Connected, Message, ServerFrame, Subscribe
from stompmodels._headers import HeartBeat
from stompmodels._limits import Limits
from stompmodels._registry import Router
from stompmodels._spec import Version
from stompmodels._state import State

from .sync import Channel, Waiter, fresh

logger = logging.getLogger("stompmodels.blocking")

_C = TypeVar("_C", bound=ClientFrame)
_Job = tuple[Callable[[ServerFrame], ClientFrame | None], ServerFrame]


class Inbox(NamedTuple):
    """Where the reader puts the MESSAGEs of one subscription."""

    destination: str
    channel: Channel[Message]
    frame: Subscribe | None = None  # what to send again on a new connection


class Connection:
    """One STOMP connection run by threads; `blocking.Client` adds what users call."""

    def __init__(
        self,
        urls: list[BrokerURL],
        *,
        ssl: ssl_module.SSLContext | bool | None,
        heart_beat: HeartBeat,
        versions: tuple[Version, ...],
        timeout: float,
        limits: Limits | None,
        queue_size: int,
        reconnect: Backoff | None = None,
        credentials: Callable[[BrokerURL], BrokerURL] | None = None,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.urls = urls
        self.url = urls[0]
        self.timeout = timeout
        self.engine = Engine(limits=limits, auto_ack=False)
        self._limits = limits
        self._ssl = ssl
        self._backoff = reconnect
        self._credentials = credentials
        self._next_url = 0
        self._heart_beat = heart_beat
        self._versions = versions
        self._queue_size = queue_size
        self._router = Router()  # handlers run by the dispatcher, never by the reader
        self._sock: socket.socket | None = None
        self._write_lock = threading.Lock()
        self._engine_lock = threading.RLock()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._workers: list[threading.Thread] = []  # the current connection's reader, heart-beat
        self._dispatcher: threading.Thread | None = None
        self._connected: Waiter[Connected] = Waiter("CONNECTED")
        self._receipts: dict[str, Waiter[None]] = {}
        self._inboxes: dict[str, Inbox] = {}
        self._jobs: Channel[_Job] = Channel(queue_size)
        self._failure: ConnectionLost | None = None  # why the current connection ended
        self._closing = False
        self._up = False  # a session is established: losing it means reconnecting
        self._attempting = False  # a connect (or reconnect) is under way: it handles failures
        self._ended = False  # the subscriptions and the dispatcher have been ended
        self._halt = threading.Event()  # set by close: stop reconnecting
        self._paused = False  # the reader waits for room in a full channel
        self._last_sent = self._last_received = time.monotonic()
        # The MESSAGEs given to subscriptions that ACK: this connection's, and those of
        # earlier connections (see `_stale_ack`).
        self._received = Deliveries()
        self._stale = Deliveries()

    # -- threads, failure -------------------------------------------------------------------

    def _start(self, target: Callable[[], None], role: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"stompmodels-{role}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]  # reconnects add threads
        self._threads.append(thread)
        thread.start()
        return thread

    def _close_socket(self, sock: socket.socket | None = None) -> None:
        sock = self._sock if sock is None else sock
        if sock is None:
            return
        locked = self._write_lock.acquire(timeout=self.timeout)  # no writer is mid-sendall
        try:
            sock.close()
        finally:
            if locked:
                self._write_lock.release()

    def _fail(self, error: ConnectionLost, stop: threading.Event | None = None) -> None:
        """Record the first failure of the current connection and wake every waiter with it.

        Later calls do nothing, and so do calls from a thread of an older connection (`stop`
        is that connection's). A lost session is handed to `_retry` when reconnecting is on;
        otherwise the subscriptions end with `error` (unless a connect attempt is under way).
        """
        with self._lock:
            if self._failure is not None or (stop is not None and stop is not self._stop):
                return
            self._failure = error
            sock = self._sock
            waiters = [*self._receipts.values()]
            self._receipts.clear()
            retry = (
                self._up
                and self._backoff is not None
                and not self._closing
                and not isinstance(error, Closed)
            )
            self._up = False
            if retry:
                self._attempting = True
            end = not retry and not self._attempting
        self._stop.set()
        with self._engine_lock:
            if self.engine.state is not State.CLOSED:
                self.engine.connection_lost()
        logger.log(logging.DEBUG if isinstance(error, Closed) else logging.WARNING, "%s", error)
        self._connected.fail(error)
        for waiter in waiters:
            waiter.fail(error)
        if sock is not None:
            # shutdown() wakes the reader from recv(); the base class's, so that a TLS socket's
            # state is not torn down under the reader's feet.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        if end:
            self._end(error)
        if retry:
            self._retry(error)

    def _end(self, error: ConnectionLost) -> None:
        """No more connections: end every subscription, and the dispatcher, with `error`."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            inboxes = [*self._inboxes.values()]
        for inbox in inboxes:
            inbox.channel.close(error)
        self._jobs.close(error)

    def _retry(self, error: ConnectionLost) -> None:
        """Start reconnecting after `error` (on a thread of its own); see `blocking.reconnect`."""
        self._end(error)

    def _stale_ack(self, message: Message, command: str) -> bool:
        """Whether `message` came on an earlier connection, so its ACK must not be sent."""
        with self._lock:
            return self._stale.refuses(message, command, logger)

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise fresh(self._failure)
        if self._sock is None:
            raise LocalProtocolError("the client is not connected (use it in a with block)")

    # -- writing ---------------------------------------------------------------------------

    def _transmit(
        self, build: Callable[[], _C], prepare: Callable[[_C], None] | None = None
    ) -> tuple[_C, Waiter[None] | None]:
        """Build a frame with the Engine, encode it, write it; return it and its receipt waiter.

        `prepare` runs after encoding and before writing (to get ready for what it causes).
        """
        with self._write_lock:
            self._check_usable()
            with self._engine_lock:
                frame = build()
                data = self.engine.encode(frame)
            receipt: str | None = getattr(frame, "receipt", None)
            waiter = self._expect(receipt, frame.command) if receipt is not None else None
            if prepare is not None:
                prepare(frame)
            logger.debug("sent %r", frame)  # models hide the passcode
            self._write(data)
        return frame, waiter

    def _transmit_bytes(self, encode: Callable[[], bytes]) -> None:
        """Write what `encode` returns: an `Engine.encode_*` call, which applies its frame's
        effects without building it (for frames without a receipt, when nobody logs them)."""
        with self._write_lock:
            self._check_usable()
            with self._engine_lock:
                data = encode()
            self._write(data)

    def _confirm(self, waiter: Waiter[None] | None, timeout: float | None = None) -> None:
        """Wait for a receipt; on TimeoutError, stop waiting for it (a late one is ignored)."""
        if waiter is None:
            return
        try:
            waiter.wait(self.timeout if timeout is None else timeout)
        except TimeoutError:
            with self._lock:
                if self._receipts.get(waiter.key) is waiter:
                    del self._receipts[waiter.key]
            raise

    def _expect(self, receipt: str, command: str) -> Waiter[None]:
        waiter: Waiter[None] = Waiter(f"RECEIPT for {command} ({receipt})", receipt)
        with self._lock:
            if self._failure is not None:
                raise fresh(self._failure)
            self._receipts[receipt] = waiter
        return waiter

    def _write(self, data: bytes) -> None:
        """Write while holding the write lock; a failed write fails the connection."""
        assert self._sock is not None
        try:
            self._sock.sendall(data)
        except (OSError, ValueError) as exc:
            self._fail(ConnectionLost(f"cannot write to {self.url}: {describe_error(exc)}"))
            assert self._failure is not None
            raise fresh(self._failure) from None
        self._last_sent = time.monotonic()
