"""The blocking client's shared state: the socket, the Engine behind a lock, waiters, writing.

Locks: `_write_lock` orders all writes (frames and heart-beats); `_engine_lock` guards the Engine
(it is not thread-safe). A writer takes the write lock, then the engine lock to build and encode
the frame, lets the engine lock go and writes; the reader thread only takes the engine lock. So
there is no lock cycle, and a long write never stalls reading. `_lock` guards the receipt waiters
and the subscriptions' channels. The threads themselves are in `_blocking_threads`.
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

from ._blocking_sync import Channel, Closed, Waiter, fresh
from ._engine import Engine
from ._errors import LocalProtocolError
from ._frames import ClientFrame, Connected, Message, ServerFrame
from ._headers import HeartBeat
from ._reader import Limits
from ._registry import Router
from ._spec import Version
from ._state import State
from ._transport import ConnectionLost, describe_error
from ._url import BrokerURL

logger = logging.getLogger("stompmodels.blocking")

_C = TypeVar("_C", bound=ClientFrame)
_Job = tuple[Callable[[ServerFrame], ClientFrame | None], ServerFrame]


class Inbox(NamedTuple):
    """Where the reader puts the MESSAGEs of one subscription."""

    destination: str
    channel: Channel[Message]


class Connection:
    """One STOMP connection run by threads; `blocking.Client` adds what users call."""

    def __init__(
        self,
        url: BrokerURL,
        *,
        ssl: ssl_module.SSLContext | None,
        heart_beat: HeartBeat,
        versions: tuple[Version, ...],
        timeout: float,
        limits: Limits | None,
        queue_size: int,
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self.url = url
        self.timeout = timeout
        self.engine = Engine(limits=limits, auto_ack=False)
        self._ssl = ssl
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
        self._dispatcher: threading.Thread | None = None
        self._connected: Waiter[Connected] = Waiter("CONNECTED")
        self._receipts: dict[str, Waiter[None]] = {}
        self._inboxes: dict[str, Inbox] = {}
        self._jobs: Channel[_Job] = Channel(queue_size)
        self._failure: ConnectionLost | None = None
        self._closing = False
        self._paused = False  # the reader waits for room in a full channel
        self._last_sent = self._last_received = time.monotonic()

    # -- threads, failure -------------------------------------------------------------------

    def _start(self, target: Callable[[], None], role: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"stompmodels-{role}", daemon=True)
        self._threads.append(thread)
        thread.start()
        return thread

    def _close_socket(self) -> None:
        if self._sock is None:
            return
        locked = self._write_lock.acquire(timeout=self.timeout)  # no writer is mid-sendall
        try:
            self._sock.close()
        finally:
            if locked:
                self._write_lock.release()

    def _fail(self, error: ConnectionLost) -> None:
        """Record the first failure and wake every waiter with it; later calls do nothing."""
        with self._lock:
            if self._failure is not None:
                return
            self._failure = error
            waiters = [*self._receipts.values()]
            self._receipts.clear()
            inboxes = [*self._inboxes.values()]
        self._stop.set()
        with self._engine_lock:
            if self.engine.state is not State.CLOSED:
                self.engine.connection_lost()
        logger.log(logging.DEBUG if isinstance(error, Closed) else logging.WARNING, "%s", error)
        self._connected.fail(error)
        for waiter in waiters:
            waiter.fail(error)
        for inbox in inboxes:
            inbox.channel.close(error)
        self._jobs.close(error)
        if self._sock is not None:
            # shutdown() wakes the reader from recv(); the base class's, so that a TLS socket's
            # state is not torn down under the reader's feet.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)

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
