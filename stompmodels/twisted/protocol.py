"""The Twisted protocol: one STOMP connection. Bytes in go to the Engine; its replies go out.

The protocol owns the transport, the timers (CONNECTED, receipts, heart-beats) and logging;
the Engine decides everything the protocol says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, cast

from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from stompmodels._client.deliveries import Deliveries
from stompmodels._client.errors import BrokerError, Closed, ConnectionLost, HeartbeatTimeout
from stompmodels._client.transport import connect_frame
from stompmodels._engine import Engine, Reaction
from stompmodels._frames import ClientFrame, Connected, Error, Message, Receipt
from stompmodels._heartbeat import EOL, peer_deadline
from stompmodels._registry import F, Handler
from stompmodels._state import State

from .commands import StompCommands
from .deferreds import OneShot, bounded
from .interfaces import DelayedCall, Transport
from .subscription import Subscription

if TYPE_CHECKING:
    from .factory import StompClientFactory

logger = logging.getLogger("stompmodels.twisted")

ABORT_AFTER: Final = 1.0
"""Seconds a closing connection may take to flush before it is cut (a peer may never close)."""


class StompProtocol(StompCommands, Protocol):
    """One STOMP connection, built by `StompClientFactory`.

    The methods that send a frame return a Deferred. With a receipt it fires with the RECEIPT
    once the broker confirms (within the factory's `timeout`, else TimeoutError); without one
    it fires at once with None. It fails with ConnectionLost (BrokerError after an ERROR,
    HeartbeatTimeout after silence) once the connection is gone, and with LocalProtocolError
    when the session forbids the frame.
    """

    def __init__(self, factory: StompClientFactory) -> None:
        self.factory = factory
        self.client = factory
        self.url = factory.url
        self.engine = Engine(limits=factory.limits, auto_ack=False)
        self.engine.include(factory.router)
        self.failure: ConnectionLost | None = None
        """Why the connection ended (a `Closed` after `disconnect`); None while it is open."""
        self.last_sent = self.last_received = factory.reactor.seconds()
        self._clock = factory.reactor
        self._out: Transport | None = None
        self._connected: OneShot[Connected] = OneShot()
        self._closed: OneShot[None] = OneShot()
        self._receipts: dict[str, Deferred[Receipt | None]] = {}
        # The MESSAGEs this connection delivered: their ack ids name this session.
        self.delivered = Deliveries()
        self._timers: dict[str, DelayedCall] = {}
        self._tick = 0.0

    # -- what users do ---------------------------------------------------------------------

    def when_connected(self) -> Deferred[Connected]:
        """Fires with the CONNECTED frame; fails if the connection ends before it."""
        return self._connected.wait()

    def when_closed(self) -> Deferred[None]:
        """Fires once the connection is closed, for whatever reason (`failure` says which)."""
        return self._closed.wait()

    def on(
        self,
        kind: type[F],
        *,
        where: Callable[[F], bool] | None = None,
        destination: str | None = None,
        subscription: str | None = None,
    ) -> Callable[[Handler[F]], Handler[F]]:
        """Register a handler, as `Engine.on` (on the factory: it stays after a reconnect)."""
        return self.client.on(kind, where=where, destination=destination, subscription=subscription)

    def disconnect(self, timeout: float | None = None) -> Deferred[None]:
        """Close gracefully: DISCONNECT, wait (bounded) for its RECEIPT, then close the socket.

        Fires once the connection is closed, whatever happened on the way.
        """
        closed = self._closed.wait()
        if self.failure is None and self.engine.state is State.CONNECTED:
            frame = self.engine.disconnect()
            assert frame.receipt is not None
            self._send(frame)
            confirmed = self._expect(frame.receipt, frame.command, timeout)
            confirmed.addCallbacks(lambda _: self._close(), self._disconnect_unconfirmed)
        else:
            self._close()
        return closed

    # -- Twisted's calls -------------------------------------------------------------------

    def connectionMade(self) -> None:
        """Send CONNECT and start the clock for CONNECTED."""
        self._out = cast(Transport, self.transport)
        self.last_sent = self.last_received = self._clock.seconds()
        self.client._connection_made(self)
        timeout = self.client.timeout
        self._later("connect", timeout, self._connect_timed_out, timeout)
        client = self.client
        self._send(connect_frame(self.engine, self.url, client.heart_beat, client.versions))

    def dataReceived(self, data: bytes) -> None:
        """Feed the Engine; act on what each server frame did."""
        if self.failure is not None:
            return  # the session is over: what still arrives is dropped
        self.last_received = self._clock.seconds()  # any byte counts as life
        try:
            reactions = self.engine.receive(data)
        except ValueError as exc:  # ProtocolError, or a handler's mistake
            self._fail(ConnectionLost(f"connection to {self.url} failed: {exc}"), abort=True)
            return
        for reaction in reactions:
            if self._ended():
                return  # an ERROR ended the session: nothing after it is acted on
            self._dispatch(reaction)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Fail what still waits; tell the factory (which may reconnect)."""
        self._out = None
        if isinstance(reason.value, ConnectionDone):
            self._fail(ConnectionLost(f"{self.url} closed the connection"))
        else:
            message = reason.getErrorMessage()
            self._fail(ConnectionLost(f"connection to {self.url} failed: {message}"))
        self._cancel_timers()
        self._closed.fire(None)

    # -- reading ---------------------------------------------------------------------------

    def _dispatch(self, reaction: Reaction) -> None:
        frame = reaction.frame
        logger.debug("received %r", frame)
        self._write_bytes(reaction.reply)
        if isinstance(frame, Connected):
            self._cancel_timer("connect")
            logger.info(
                "connected to %s: STOMP %s, session %s",
                self.url,
                self.engine.version,
                self.engine.session,
            )
            self._start_heartbeats()
            self._connected.fire(frame)
        elif isinstance(frame, Receipt):
            for receipt in reaction.receipts:
                waiter = self._receipts.pop(receipt, None)
                if waiter is not None and not waiter.called:
                    waiter.callback(frame)
        elif isinstance(frame, Error):
            self._fail(BrokerError(frame))
        elif isinstance(frame, Message) and not reaction.handled:
            self.delivered.add(frame)
            self.client._deliver(frame)

    def _resubscribe(self, subscription: Subscription) -> Deferred[Receipt | None]:
        frame = self.engine.subscribe(
            subscription.destination,
            ack=subscription.ack_mode,
            id=subscription.id,
            headers=subscription.headers,
            receipt=True,
        )
        return self._request(frame)

    # -- writing and receipts --------------------------------------------------------------

    def _request(self, frame: ClientFrame) -> Deferred[Receipt | None]:
        """Send `frame`; a Deferred of its RECEIPT if it asks for one, else of None."""
        self._send(frame)
        receipt: str | None = getattr(frame, "receipt", None)
        if receipt is None:
            return succeed(None)
        return self._expect(receipt, frame.command)

    def _request_bytes(self, encode: Callable[[], bytes]) -> Deferred[Receipt | None]:
        self._check_writable()
        self._write_bytes(encode())
        return succeed(None)

    def _send(self, frame: ClientFrame) -> None:
        """Encode `frame` through the Engine (which checks it) and write it."""
        self._check_writable()
        data = self.engine.encode(frame)
        logger.debug("sent %r", frame)  # models hide the passcode
        self._write_bytes(data)

    def _check_writable(self) -> None:
        if self.failure is not None:
            raise self.failure
        if self._out is None:
            raise ConnectionLost(f"not connected to {self.url}")

    def _write_bytes(self, data: bytes) -> None:
        if data and self._out is not None and self.failure is None:
            self._out.write(data)
            self.last_sent = self._clock.seconds()

    def _expect(
        self, receipt: str, command: str, timeout: float | None = None
    ) -> Deferred[Receipt | None]:
        waiter: Deferred[Receipt | None] = Deferred(lambda _: self._drop_receipt(receipt))
        self._receipts[receipt] = waiter
        limit = self.client.timeout if timeout is None else timeout
        bounded(waiter, self._clock, limit, f"no RECEIPT for {command} within {limit} s")
        return waiter.addErrback(self._forget_receipt, receipt)

    def _forget_receipt(self, failure: Failure, receipt: str) -> Failure:
        self._drop_receipt(receipt)
        return failure

    def _drop_receipt(self, receipt: str) -> None:
        self._receipts.pop(receipt, None)  # timed out or cancelled: a late RECEIPT is ignored

    def _disconnect_unconfirmed(self, failure: Failure) -> None:
        if self.failure is None:
            logger.warning(
                "no receipt for DISCONNECT from %s (%s); closing anyway",
                self.url,
                failure.getErrorMessage(),
            )
        self._close()

    # -- heart-beats -----------------------------------------------------------------------

    def _start_heartbeats(self) -> None:
        intervals = [ms for ms in self.engine.heart_beat if ms]
        if intervals:
            self._tick = min(intervals) / 1000 / 2
            self._later("heart-beat", self._tick, self._beat)

    def _beat(self) -> None:
        """Send an EOL when one is due; end the connection when the broker fell silent."""
        now = self._clock.seconds()
        send_ms, receive_ms = self.engine.heart_beat
        if send_ms and now - self.last_sent >= send_ms / 1000 - self._tick:
            self._write_bytes(EOL)
        deadline = peer_deadline(self.last_received, receive_ms)
        if deadline is not None and now > deadline:
            silence = now - self.last_received
            error = HeartbeatTimeout(
                f"{self.url} sent nothing for {silence:.1f} s "
                f"(a heart-beat every {receive_ms} ms was agreed)"
            )
            self._fail(error, abort=True)
            return
        self._later("heart-beat", self._tick, self._beat)

    # -- ending ----------------------------------------------------------------------------

    def _connect_timed_out(self, timeout: float) -> None:
        error = ConnectionLost(f"no answer from {self.url} within {timeout} s")
        self._fail(error, abort=True)

    def _ended(self) -> bool:
        return self.failure is not None  # a method: mypy keeps no narrowing across its call

    def _close(self) -> None:
        self._fail(Closed(f"connection to {self.url} closed"))

    def _fail(self, error: ConnectionLost, *, abort: bool = False) -> None:
        """End the session with `error`: fail every waiter, stop the timers, close."""
        if self.failure is not None:
            return
        self.failure = error
        if self.engine.state is not State.CLOSED:
            self.engine.connection_lost()
        logger.log(logging.DEBUG if isinstance(error, Closed) else logging.WARNING, "%s", error)
        self._cancel_timers()
        receipts, self._receipts = self._receipts, {}
        for waiter in receipts.values():
            if not waiter.called:
                waiter.errback(error)
        self._connected.fail(error)
        out = self._out
        if out is None:
            self._closed.fire(None)  # no transport (any more): nothing to wait for
        elif abort:
            out.abortConnection()
        else:
            out.loseConnection()
            self._later("abort", ABORT_AFTER, out.abortConnection)

    def _pause(self) -> None:
        if self._out is not None and self.failure is None:
            self._out.pauseProducing()

    def _resume(self) -> None:
        if self._out is not None and self.failure is None:
            self._out.resumeProducing()

    def _later(self, name: str, delay: float, call: Callable[..., object], *args: object) -> None:
        def run() -> None:
            del self._timers[name]
            call(*args)

        self._timers[name] = self._clock.callLater(delay, run)

    def _cancel_timer(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None and timer.active():
            timer.cancel()

    def _cancel_timers(self) -> None:
        for name in list(self._timers):
            self._cancel_timer(name)
