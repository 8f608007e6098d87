"""The blocking client's life cycle and its three daemon threads, over `Connection`.

- reader: the only thread that reads the socket. It notes the time of every byte (any byte is
  life), feeds the Engine, settles receipt waiters, and puts each MESSAGE into its subscription's
  bounded channel, or a (handler, frame) job into the dispatcher's. It never runs user code, so a
  slow handler cannot keep heart-beats from being read.
- heart-beat: sends an EOL when one is due, and fails the connection with HeartbeatTimeout once
  the broker has been silent past the deadline (the interval times DEFAULT_GRACE).
- dispatcher: runs the handlers registered with `on`, one frame at a time, in arrival order, and
  sends the frame a handler returns.

When a channel is full (a consumer lags) the reader waits for room, and TCP pushes back on the
broker. While it waits it cannot see the broker's bytes, so the silence deadline is suspended,
and restarts when reading resumes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Final, TypeVar

from stompmodels._client.deliveries import Deliveries
from stompmodels._client.errors import (
    BrokerError,
    Closed,
    ConnectionLost,
    HeartbeatTimeout,
    describe_error,
)
from stompmodels._client.transport import connect_frame, ssl_context_for
from stompmodels._client.url import BrokerURL
from stompmodels._engine import Engine, Reaction
from stompmodels._errors import LocalProtocolError, ProtocolError
from stompmodels._frames import ClientFrame, Connected, Error, Message, Receipt, ServerFrame
from stompmodels._heartbeat import EOL, peer_deadline
from stompmodels._state import State

from .connection import Connection, Inbox, logger
from .sync import SLICE, Channel, Waiter, fresh

_READ_SIZE: Final = 64 * 1024
_T = TypeVar("_T")


class Session(Connection):
    """A `Connection` that opens, runs its threads, and closes; `blocking.Client` builds on it."""

    # -- opening and closing ---------------------------------------------------------------

    def _open(self) -> Connected:
        """Connect to the first broker that answers (each tried once, in turn)."""
        if self._dispatcher is not None:
            raise LocalProtocolError("this client has already connected once; make a new one")
        self._attempting = True
        self._dispatcher = self._start(self._dispatch_loop, "dispatcher")
        error: ConnectionLost | None = None
        for _ in self.urls:
            try:
                return self._attempt(self.urls[self._next_url])
            except ConnectionLost as exc:
                error = exc
                self._next_url = (self._next_url + 1) % len(self.urls)
        assert error is not None
        with self._lock:
            self._attempting = False
            if self._failure is None:
                self._failure = error
        self._end(error)
        self._dispatcher.join(self.timeout)
        raise error

    def _attempt(self, url: BrokerURL) -> Connected:
        """One connection: socket, reader, CONNECT, CONNECTED, renewed subscriptions."""
        if self._credentials is not None:
            url = self._credentials(url)
        sock = self._dial(url)
        with self._write_lock, self._engine_lock, self._lock:
            if self._halt.is_set():
                sock.close()
                raise ConnectionLost(f"the client closed while connecting to {url}")
            self.url = url
            self.engine = Engine(limits=self._limits, auto_ack=False)
            self._stop = stop = threading.Event()
            self._connected = Waiter("CONNECTED")
            self._stale.absorb(self._received)
            self._received = Deliveries()
            self._sock = sock
            self._failure = None
            self._last_sent = self._last_received = time.monotonic()
        self._workers = [self._start(lambda: self._read_loop(sock, stop), "reader")]
        try:
            self._transmit(
                lambda: connect_frame(self.engine, url, self._heart_beat, self._versions)
            )
            connected = self._connected.wait(self.timeout)
            self._resubscribe()
        except TimeoutError as exc:
            what = "CONNECTED" if not self._connected.done else "renewed SUBSCRIBE receipt"
            error = ConnectionLost(f"no {what} from {url} within {self.timeout:g} s ({exc})")
            self._fail(error, stop)
            self._retire()
            raise fresh(error) from None
        except ConnectionLost:
            self._retire()
            raise
        with self._lock:
            if self._failure is None:
                self._up, self._attempting = True, False
        if not self._up:  # lost again at once
            self._retire()
            assert self._failure is not None
            raise fresh(self._failure)
        logger.info(
            "connected to %s: STOMP %s, session %s, heart-beats %s",
            url,
            self.engine.version,
            self.engine.session,
            tuple(self.engine.heart_beat),
        )
        if any(self.engine.heart_beat):
            self._workers.append(self._start(lambda: self._heartbeat_loop(stop), "heartbeat"))
        return connected

    def _dial(self, url: BrokerURL) -> socket.socket:
        try:
            sock = socket.create_connection((url.host, url.port), timeout=self.timeout)
        except OSError as exc:
            raise ConnectionLost(f"cannot reach {url}: {describe_error(exc)}") from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = ssl_context_for(url, self._ssl)
            if tls is not None:
                sock = tls.wrap_socket(sock, server_hostname=url.host)
        except (OSError, ValueError) as exc:
            sock.close()
            raise ConnectionLost(f"cannot set up TLS with {url}: {describe_error(exc)}") from None
        return sock

    def _resubscribe(self) -> None:
        """Subscribe again, same ids, ack modes and headers, on a new connection."""
        with self._lock:
            frames = [inbox.frame for inbox in self._inboxes.values() if inbox.frame is not None]
        for old in frames:
            _, waiter = self._transmit(
                lambda old=old: self.engine.subscribe(  # type: ignore[misc]
                    old.destination, ack=old.ack, id=old.id, headers=old.headers, receipt=True
                )
            )
            self._confirm(waiter)

    def _retire(self) -> None:
        """Wait (bounded) for the reader and heart-beat of the ended connection; close it."""
        current = threading.current_thread()
        for thread in self._workers:
            if thread is not current:
                thread.join(self.timeout)
        self._close_socket()

    def _close(self, timeout: float | None) -> None:
        """DISCONNECT and wait for its receipt (if the session is up), then stop; all bounded."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        in_handler = threading.current_thread() is self._dispatcher
        if self._failure is None and self.engine.state is State.CONNECTED:
            # Let the handler at work (and those queued) finish, so that their ACKs go out.
            if not in_handler and not self._jobs.join(deadline - time.monotonic()):
                logger.warning("handlers still busy on close; disconnecting anyway")
            self._closing = True  # from now on, the broker hanging up is expected
            try:
                _, waiter = self._transmit(self.engine.disconnect)
                self._confirm(waiter, deadline - time.monotonic())
            except (TimeoutError, ConnectionLost, LocalProtocolError) as exc:
                logger.warning(
                    "no receipt for DISCONNECT from %s (%s); closing anyway", self.url, exc
                )
        self._shutdown(max(deadline - time.monotonic(), 0.5))

    def _shutdown(self, grace: float) -> None:
        """Fail what still waits (quietly), stop the threads, close the socket."""
        closed = Closed(f"connection to {self.url} closed")
        self._fail(closed)
        self._end(closed)
        deadline = time.monotonic() + grace
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(max(deadline - time.monotonic(), 0.05))
                if thread.is_alive():
                    logger.warning("%s did not stop within %.1f s", thread.name, grace)
        self._close_socket()

    # -- the reader thread -----------------------------------------------------------------

    def _read_loop(self, sock: socket.socket, stop: threading.Event) -> None:
        engine = self.engine
        try:
            while not stop.is_set():
                try:
                    data = sock.recv(_READ_SIZE)
                except TimeoutError:
                    continue  # silence; the heart-beat thread judges it
                if not data:
                    raise ConnectionLost(f"{self.url} closed the connection")
                self._last_received = time.monotonic()
                with self._engine_lock:
                    reactions = engine.receive(data)
                    routed = [(r, self._router.handler_for(r.frame)) for r in reactions]
                for reaction, handler in routed:
                    self._take(reaction, handler)
        except BrokerError as exc:
            self._fail(exc, stop)
        except ConnectionLost as exc:  # end of stream: expected after our DISCONNECT
            self._fail(Closed(str(exc)) if self._closing or stop.is_set() else exc, stop)
        except ProtocolError as exc:
            errors = [frame for frame in exc.frames if isinstance(frame, Error)]
            self._fail(BrokerError(errors[0]) if errors else self._broken(exc), stop)
        except (OSError, ValueError) as exc:
            self._fail(Closed(str(exc)) if stop.is_set() else self._broken(exc), stop)
        except Exception as exc:  # a bug: make it loud, and never leave waiters hanging
            logger.exception("the reader thread failed")
            self._fail(self._broken(exc), stop)
        finally:
            self._fail(Closed(f"connection to {self.url} closed"), stop)
            self._close_socket(sock)

    def _broken(self, exc: BaseException) -> ConnectionLost:
        return ConnectionLost(f"connection to {self.url} failed: {describe_error(exc)}")

    def _take(
        self, reaction: Reaction, handler: Callable[[ServerFrame], ClientFrame | None] | None
    ) -> None:
        frame = reaction.frame
        logger.debug("received %r", frame)
        if reaction.reply:  # only if someone registered handlers on the Engine itself
            with self._write_lock:
                self._write(reaction.reply)
        if handler is not None:
            self._deliver(self._jobs, (handler, frame))
        if isinstance(frame, Connected):
            self._connected.set(frame)
        elif isinstance(frame, Receipt):
            with self._lock:
                waiters = [self._receipts.pop(r, None) for r in reaction.receipts]
            for waiter in waiters:
                if waiter is not None:
                    waiter.set(None)
        elif isinstance(frame, Error):
            raise BrokerError(frame)
        elif isinstance(frame, Message) and handler is None:
            inbox = self._inbox_for(frame)
            if inbox is None:
                logger.warning("MESSAGE for unknown subscription %r dropped", frame.subscription)
            else:
                if inbox.frame is None or inbox.frame.ack != "auto":
                    with self._lock:
                        self._received.add(frame)
                self._deliver(inbox.channel, frame)

    def _inbox_for(self, message: Message) -> Inbox | None:
        with self._lock:
            if message.subscription is not None:
                return self._inboxes.get(message.subscription)
            # A 1.0 MESSAGE may name no subscription: go by destination when unambiguous.
            found = [i for i in self._inboxes.values() if i.destination == message.destination]
        return found[0] if len(found) == 1 else None

    def _deliver(self, channel: Channel[_T], item: _T) -> None:
        """Put `item` in `channel`; when it is full, wait for room (the broker then waits too),
        but not once `close` has begun: DISCONNECT's RECEIPT must still be read, and nobody
        takes the item any more (the broker delivers an unacknowledged MESSAGE again)."""
        if channel.put(item, 0):
            return
        if self._closing:
            logger.debug("a frame was dropped: the client is closing")
            return
        self._paused = True
        logger.debug("a consumer lags; reading pauses until its queue has room")
        try:
            while not channel.put(item, SLICE) and not self._stop.is_set() and not self._closing:
                pass
        finally:
            self._last_received = time.monotonic()  # the silence deadline restarts
            self._paused = False

    # -- the heart-beat thread -------------------------------------------------------------

    def _heartbeat_loop(self, stop: threading.Event) -> None:
        send_ms, receive_ms = self.engine.heart_beat
        tick = max(min(ms for ms in (send_ms, receive_ms) if ms) / 1000 / 2, 0.01)
        while not stop.wait(tick):
            now = time.monotonic()
            if send_ms and now - self._last_sent >= send_ms / 1000 - tick:
                self._send_heartbeat()
            if self._paused:  # read first: the reader sets _last_received before unpausing
                continue
            deadline = peer_deadline(self._last_received, receive_ms)
            if deadline is not None and now > deadline:
                self._fail(
                    HeartbeatTimeout(
                        f"{self.url} sent nothing for {now - self._last_received:.1f} s "
                        f"(heart-beat every {receive_ms} ms expected)"
                    ),
                    stop,
                )

    def _send_heartbeat(self) -> None:
        # A write in progress holds the lock, and is as good as a heart-beat: skip, never wait.
        if not self._write_lock.acquire(blocking=False):
            return
        try:
            self._write(EOL)
        except ConnectionLost:
            pass  # already recorded by _write
        finally:
            self._write_lock.release()

    # -- the dispatcher thread -------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        while (job := self._jobs.get(None)) is not None:
            handler, frame = job
            try:
                self._run(handler, frame)
            finally:
                self._jobs.task_done()

    def _run(
        self, handler: Callable[[ServerFrame], ClientFrame | None], frame: ServerFrame
    ) -> None:
        name = getattr(handler, "__qualname__", repr(handler))
        try:
            reply = handler(frame)
        except Exception:
            logger.exception("handler %s failed on %s", name, frame.command)
            return
        if reply is not None:
            try:
                self._transmit(lambda: reply)
            except (ConnectionLost, LocalProtocolError) as exc:
                logger.warning(
                    "the %s returned by handler %s was not sent: %s", reply.command, name, exc
                )
