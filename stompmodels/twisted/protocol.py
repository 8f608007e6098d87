"""The Twisted protocol: one STOMP connection, driving the factory's `ClientSession`.

The protocol owns the transport, the timers (CONNECTED, receipts, heart-beats) and logging;
the session decides everything else: the CONNECT, what each frame from the broker means, when
a heart-beat is due, which ACK must not be sent, what a failing handler leaves behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, TypeVar, cast

from twisted.internet.defer import Deferred, maybeDeferred, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from stompmodels._client.errors import BrokerError, Closed, ConnectionLost
from stompmodels._client.payloads import decoder_for
from stompmodels._client.replies import Replies
from stompmodels._client.session import (
    Deliver,
    Dispatch,
    Dropped,
    Failed,
    Opened,
    Outgoing,
    Settled,
)
from stompmodels._client.url import BrokerURL
from stompmodels._engine import Engine
from stompmodels._frames import ClientFrame, Connected, Message, Receipt
from stompmodels._headers import AckMode
from stompmodels._heartbeat import EOL
from stompmodels._registry import F, Handler
from stompmodels._state import State

from .deferreds import OneShot, bounded
from .interfaces import DelayedCall, Transport
from .subscription import MessageCallback, Subscription

if TYPE_CHECKING:
    from stompmodels._client.telemetry import Telemetry

    from .factory import StompClientFactory

logger = logging.getLogger("stompmodels.twisted")
_T = TypeVar("_T")

ABORT_AFTER: Final = 1.0
"""Seconds a closing connection may take to flush before it is cut (a peer may never close)."""


class StompProtocol(Protocol):
    """One STOMP connection, built by `StompClientFactory`.

    The methods that send a frame return a Deferred. With a receipt it fires with the RECEIPT
    once the broker confirms (within the factory's `timeout`, else TimeoutError); without one
    it fires at once with None. It fails with ConnectionLost (BrokerError after an ERROR,
    HeartbeatTimeout after silence) once the connection is gone, and with LocalProtocolError
    when the session forbids the frame. Nothing raises. With the factory's `telemetry`,
    `send`, `publish` and `request` each make a producer span (see `stompmodels._client.telemetry`).
    """

    def __init__(self, factory: StompClientFactory, url: BrokerURL) -> None:
        self.factory = factory
        self.client = factory  # typed: Twisted's Protocol.factory is Any
        self.session = factory.session
        self.url = url
        """The broker of this connection (after the credentials hook)."""
        self.engine = Engine(limits=self.session.options.limits, auto_ack=False)
        """The Engine of this connection's session (the session's, once the connection is made)."""
        self.failure: ConnectionLost | None = None
        """Why the connection ended (a `Closed` after `disconnect`); None while it is open."""
        self._clock = factory.reactor
        self._out: Transport | None = None
        self._connected: OneShot[Connected] = OneShot()
        self._closed: OneShot[None] = OneShot()
        self._timers: dict[str, DelayedCall] = {}

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
        """Register a handler (on the factory: it stays after a reconnect); see its `on`."""
        return self.client.on(kind, where=where, destination=destination, subscription=subscription)

    def send(
        self,
        destination: str,
        body: bytes | str = b"",
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        receipt: bool = False,
        transaction: str | None = None,
        omit_content_length: bool = False,
    ) -> Deferred[Receipt | None]:
        """Send a message; with `receipt`, fire with the broker's RECEIPT."""
        return self._produce(
            destination,
            headers,
            None,
            lambda traced: self.session.send(
                destination,
                body,
                content_type=content_type,
                headers=traced,
                receipt=receipt,
                transaction=transaction,
                omit_content_length=omit_content_length,
            ),
        )

    def publish(
        self,
        destination: str,
        payload: object,
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        receipt: bool = False,
        transaction: str | None = None,
        reply_to: str | None = None,
        correlation_id: str | None = None,
    ) -> Deferred[Receipt | None]:
        """Send a typed payload: a model or any JSON-able value as JSON, `str` as UTF-8 text,
        bytes as they are; with `receipt`, fire with the broker's RECEIPT."""
        return self._produce(
            destination,
            headers,
            correlation_id,
            lambda traced: self.session.publish(
                destination,
                payload,
                content_type=content_type,
                headers=traced,
                receipt=receipt,
                transaction=transaction,
                reply_to=reply_to,
                correlation_id=correlation_id,
            ),
        )

    def request(
        self,
        destination: str,
        payload: object,
        *,
        response: type[_T],
        timeout: float | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Deferred[_T]:
        """Publish `payload` with a `reply-to` and a fresh `correlation-id`; fire with the
        reply decoded as `response`. Fails with TimeoutError when none comes within `timeout`
        seconds (the factory's if None), pydantic's ValidationError when it is not a valid
        `response`. Concurrent requests share one reply subscription."""
        return Deferred.fromCoroutine(
            self._request_reply(
                destination,
                payload,
                response=response,
                timeout=timeout,
                content_type=content_type,
                headers=headers,
            )
        )

    async def _request_reply(
        self,
        destination: str,
        payload: object,
        *,
        response: type[_T],
        timeout: float | None,
        content_type: str | None,
        headers: Mapping[str, str] | None,
    ) -> _T:
        decoder = decoder_for(response)
        replies = self.client.replies
        self._check_writable()
        route = replies.route(self.session, replies)
        if route is not None:
            await self._request(route)
        limit = self.session.options.timeout if timeout is None else timeout
        waiter: Deferred[Message] = Deferred()
        correlation = replies.expect(waiter)
        try:
            await self._produce(
                destination,
                headers,
                correlation,
                lambda traced: self.session.publish(
                    destination,
                    payload,
                    content_type=content_type,
                    headers=traced,
                    reply_to=replies.destination,
                    correlation_id=correlation,
                ),
            )
            message = await bounded(
                waiter, self._clock, limit, f"no reply from {destination} within {limit:g} s"
            )
        finally:
            replies.forget(correlation)
        return decoder.reply(message)

    def subscribe(
        self,
        destination: str,
        *,
        ack: AckMode = "auto",
        id: str | None = None,
        headers: Mapping[str, str] | None = None,
        receipt: bool = True,
        prefetch: int | None = None,
        callback: MessageCallback | None = None,
    ) -> Deferred[Subscription]:
        """Subscribe; messages go to `callback`, else to the subscription's `get()`.

        ACK them (unless `ack` is auto) with `protocol.ack` or `subscription.ack`. The broker
        sends at most `prefetch` unacknowledged messages (by default, when messages are
        acknowledged, as many as the factory's `queue_size`).
        """

        def start() -> Deferred[Subscription]:
            self._check_writable()
            session = self.session
            frame = session.subscribe(
                destination, ack=ack, id=id, headers=headers, receipt=receipt, prefetch=prefetch
            )
            subscription = Subscription(self.client, frame, callback, session.options.queue_size)
            session.add(frame, subscription)  # before it is written: a MESSAGE may follow at once

            def refused(failure: Failure) -> Failure:
                session.remove(subscription.id)
                return failure

            try:
                confirmed = self._request(frame)
            except Exception:
                session.remove(subscription.id)
                raise
            return confirmed.addCallbacks(lambda _: subscription, refused)

        return maybeDeferred(start)

    def unsubscribe(
        self, subscription: Subscription | str, *, receipt: bool = True
    ) -> Deferred[Receipt | None]:
        """End a subscription (given as itself or by id)."""

        def stop() -> Deferred[Receipt | None]:
            id = subscription if isinstance(subscription, str) else subscription.id
            confirmed = self._request(self.engine.unsubscribe(id, receipt=receipt))
            ended = self.session.remove(id)
            if ended is not None and not isinstance(ended, Replies):
                ended._end(Closed(f"subscription {id} ended"))
            self.client._resume_reading(id)  # its full queue holds the reader back no more
            return confirmed

        return maybeDeferred(stop)

    def ack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> Deferred[Receipt | None]:
        """Acknowledge `message` with the headers of the negotiated version.

        A message received before a reconnect is not acknowledged (fires with None): the broker
        took it back when that connection ended, and delivers it again.
        """
        if self._stale(message, "ACK"):
            return succeed(None)
        return maybeDeferred(
            self._transmit,
            lambda: self._settling(
                message,
                "ACK",
                self.session.acknowledge(message, transaction=transaction, receipt=receipt),
            ),
        )

    def nack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> Deferred[Receipt | None]:
        """Reject `message` (STOMP 1.1+); like `ack`, not for a message from before a reconnect."""
        if self._stale(message, "NACK"):
            return succeed(None)
        return maybeDeferred(
            self._transmit,
            lambda: self._settling(
                message,
                "NACK",
                self.session.acknowledge(
                    message, nack=True, transaction=transaction, receipt=receipt
                ),
            ),
        )

    def begin(self, *, receipt: bool = True) -> Deferred[str]:
        """Begin a transaction; fire with its id (pass it as `transaction=` to send/ack/nack).

        A transaction belongs to this connection: it is never replayed after a reconnect.
        """

        def start() -> Deferred[str]:
            frame = self.engine.begin(receipt=receipt)
            return self._request(frame).addCallback(lambda _: frame.transaction)

        return maybeDeferred(start)

    def commit(self, transaction: str, *, receipt: bool = True) -> Deferred[Receipt | None]:
        """Commit `transaction`."""
        return maybeDeferred(
            lambda: self._request(self.engine.commit(transaction, receipt=receipt))
        )

    def abort(self, transaction: str, *, receipt: bool = True) -> Deferred[Receipt | None]:
        """Abort `transaction`."""
        return maybeDeferred(lambda: self._request(self.engine.abort(transaction, receipt=receipt)))

    def disconnect(self, timeout: float | None = None) -> Deferred[None]:
        """Close gracefully: DISCONNECT, wait (bounded) for its RECEIPT, then close the socket.

        Fires once the connection is closed, whatever happened on the way.
        """
        closed = self._closed.wait()
        if self.failure is None and self._out is not None and self.engine.state is State.CONNECTED:
            confirmed = self._request(self.engine.disconnect(), timeout)
            confirmed.addCallbacks(lambda _: self._close(), self._disconnect_unconfirmed)
        else:
            self._close()
        return closed

    # -- Twisted's calls -------------------------------------------------------------------

    def connectionMade(self) -> None:
        """Begin the session: send CONNECT, and start the clock for CONNECTED."""
        self._out = cast(Transport, self.transport)
        connect = self.session.begin(self.url, self._clock.seconds())
        if self.client._telemetry is not None:
            self.client._telemetry.connecting(self.url)
        self.engine = self.session.engine
        self.client._connection_made(self)
        timeout = self.session.options.timeout
        self._later("connect", timeout, self._connect_timed_out, timeout)
        self._write(connect)

    def dataReceived(self, data: bytes) -> None:
        """Hand the bytes to the session; act on what they mean, in order."""
        if self.failure is not None:
            return  # the session is over: what still arrives is dropped
        telemetry = self.client._telemetry
        if telemetry is not None:
            telemetry.read(len(data))
        for action in self.session.receive(data, self._clock.seconds()):
            if self._ended():
                return  # closed meanwhile (by a callback, say): nothing after is acted on
            if isinstance(action, Deliver):
                logger.debug("received %r", action.message)
                if telemetry is not None:
                    telemetry.received(action.message)
                sink = action.sink
                if isinstance(sink, Replies):
                    self._replied(sink, action.message)
                else:
                    sink._deliver(action.message)
            elif isinstance(action, Dispatch):
                logger.debug("received %r", action.frame)
                self._run_handler(action)
            elif isinstance(action, Settled):
                logger.debug("received %r", action.frame)
                for waiter in action.waiters:
                    if not waiter.called:
                        waiter.callback(action.frame)
            elif isinstance(action, Opened):
                logger.debug("received %r", action.frame)
                self._opened(action.frame)
            elif isinstance(action, Dropped):
                logger.warning("%s", action.reason)
            elif isinstance(action, Failed):
                # ERROR: the broker closes its end; broken bytes: nothing more is worth reading.
                self._fail(action.error, abort=not isinstance(action.error, BrokerError))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """Fail what still waits; the factory (told by Twisted) may reconnect."""
        self._out = None
        if isinstance(reason.value, ConnectionDone):
            self._fail(ConnectionLost(f"{self.url} closed the connection"))
        else:
            message = reason.getErrorMessage()
            self._fail(ConnectionLost(f"connection to {self.url} failed: {message}"))
        self._cancel_timers()
        self._closed.fire(None)

    # -- reading ---------------------------------------------------------------------------

    def _opened(self, frame: Connected) -> None:
        self._cancel_timer("connect")
        logger.info("%s", self.session.describe())
        tick = self.session.heartbeat_tick
        if tick is not None:
            self._later("heart-beat", tick, self._beat, tick)
        self._connected.fire(frame)

    def _replied(self, replies: Replies[Deferred[Message]], message: Message) -> None:
        waiter = replies.take(message)
        if waiter is None:
            logger.debug("reply %s dropped: nobody waits for it", message.message_id)
        elif not waiter.called:
            waiter.callback(message)

    def _run_handler(self, action: Dispatch) -> None:
        """Run a registered handler inline; its exception is logged, never the connection's."""
        handler, frame = action
        telemetry = self.client._telemetry
        if telemetry is not None and type(frame) is Message:
            telemetry.received(frame)
            name = getattr(handler, "__qualname__", repr(handler))
            with telemetry.processing(frame, name):
                outcome = self.session.run_handler(handler, frame)
                if outcome.error is not None:
                    telemetry.failed(outcome.error)
        else:
            outcome = self.session.run_handler(handler, frame)
        if outcome.error is not None:
            name = getattr(handler, "__qualname__", repr(handler))
            logger.error("handler %s failed on %s", name, frame.command, exc_info=outcome.error)
        self._write(outcome.data)

    # -- writing and receipts --------------------------------------------------------------

    def _request(
        self, frame: ClientFrame, timeout: float | None = None
    ) -> Deferred[Receipt | None]:
        """Send `frame` (the session checks it); see `_transmit`."""
        return self._transmit(lambda: self.session.outgoing(frame), timeout)

    def _transmit(
        self, make: Callable[[], Outgoing], timeout: float | None = None
    ) -> Deferred[Receipt | None]:
        """Write what `make` returns (once this connection is known to be writable); a
        Deferred of its RECEIPT if it asks for one, else of None."""
        self._check_writable()
        return self._write_out(make(), timeout)

    def _write_out(self, out: Outgoing, timeout: float | None = None) -> Deferred[Receipt | None]:
        """Write `out`; a Deferred of its RECEIPT if it asks for one, else of None."""
        waiter: Deferred[Receipt | None] = (
            succeed(None)
            if out.receipt is None
            else self._expect(out.receipt, out.command, timeout)
        )
        self._write(out.data)
        return waiter

    def _produce(
        self,
        destination: str,
        headers: Mapping[str, str] | None,
        correlation_id: str | None,
        make: Callable[[Mapping[str, str] | None], Outgoing],
    ) -> Deferred[Receipt | None]:
        """Write the SEND `make` builds with `headers` (see `_transmit`); with telemetry,
        inside a producer span whose trace context `make` gets in the headers."""
        telemetry = self.client._telemetry
        if telemetry is None:
            return maybeDeferred(self._transmit, lambda: make(headers))
        return Deferred.fromCoroutine(
            self._produce_traced(
                telemetry,
                destination=destination,
                headers=headers,
                correlation_id=correlation_id,
                make=make,
            )
        )

    async def _produce_traced(
        self,
        telemetry: Telemetry,
        *,
        destination: str,
        headers: Mapping[str, str] | None,
        correlation_id: str | None,
        make: Callable[[Mapping[str, str] | None], Outgoing],
    ) -> Receipt | None:
        self._check_writable()  # no span for a SEND never attempted
        span, traced = telemetry.sending(destination, headers, correlation_id)
        try:
            out = make(traced)
            telemetry.sent_frame(span, destination, out.data)
            confirmed = self._write_out(out)
            if out.receipt is None:
                receipt = await confirmed
            else:
                # Entered in this coroutine (one contextvars context for all its steps).
                with telemetry.waiting(span, out.command):
                    receipt = await confirmed
        except BaseException as exc:
            telemetry.end(span, exc)
            raise
        telemetry.end(span)
        return receipt

    def _settling(self, message: Message, command: str, out: Outgoing) -> Outgoing:
        """`out`, the `command` (ACK or NACK) of `message`, about to be written: counted."""
        if self.client._telemetry is not None:
            self.client._telemetry.settled(message, command)
        return out

    def _open(self) -> bool:
        """Whether the transport is connected and the session has not failed."""
        return self._out is not None and self.failure is None

    def _stale(self, message: Message, command: str) -> bool:
        """Whether `message` came on an earlier connection, so its `command` must not be sent
        (said at INFO)."""
        line = self.session.stale(message, command)
        if line is None:
            return False
        logger.info("%s", line)
        return True

    def _check_writable(self) -> None:
        if self.failure is not None:
            raise self.failure
        if self._out is None:
            raise ConnectionLost(f"not connected to {self.url}")

    def _write(self, data: bytes) -> None:
        if data and self._out is not None and self.failure is None:
            logger.debug("sent %r", self.session.sent(data))  # parsed only if logged
            if self.client._telemetry is not None:
                self.client._telemetry.wrote(len(data))
            self._out.write(data)
            self.session.last_sent = self._clock.seconds()

    def _expect(
        self, receipt: str, command: str, timeout: float | None
    ) -> Deferred[Receipt | None]:
        waiter: Deferred[Receipt | None] = Deferred(lambda _: self._forget(receipt))
        self.session.expect(receipt, waiter)
        limit = self.session.options.timeout if timeout is None else timeout
        bounded(waiter, self._clock, limit, f"no RECEIPT for {command} within {limit} s")
        return waiter.addErrback(self._forget_on_error, receipt)

    def _forget_on_error(self, failure: Failure, receipt: str) -> Failure:
        self._forget(receipt)
        return failure

    def _forget(self, receipt: str) -> None:
        # Timed out or cancelled: a late RECEIPT is ignored. Only while this connection is the
        # session's: a later one may use the same receipt id.
        if self.failure is None:
            self.session.forget(receipt)

    def _disconnect_unconfirmed(self, failure: Failure) -> None:
        if self.failure is None:
            logger.warning(
                "no receipt for DISCONNECT from %s (%s); closing anyway",
                self.url,
                failure.getErrorMessage(),
            )
        self._close()

    # -- heart-beats and flow --------------------------------------------------------------

    def _beat(self, tick: float) -> None:
        """Send an EOL when one is due; end the connection when the broker fell silent."""
        now = self._clock.seconds()
        session = self.session
        if session.heartbeat_due(now) and self._out is not None:
            self._out.write(EOL)
            session.last_sent = now
            if self.client._telemetry is not None:
                self.client._telemetry.wrote(len(EOL))
        timeout = session.overdue(now)  # never while reading is paused
        if timeout is not None:
            if self.client._telemetry is not None:
                self.client._telemetry.heartbeat_timeout()
            self._fail(timeout, abort=True)
            return
        self._later("heart-beat", tick, self._beat, tick)

    def _pause(self) -> None:
        if self._out is not None and self.failure is None:
            self._out.pauseProducing()

    def _resume(self) -> None:
        if self._out is not None and self.failure is None:
            self._out.resumeProducing()

    # -- ending ----------------------------------------------------------------------------

    def _connect_timed_out(self, timeout: float) -> None:
        self._fail(ConnectionLost(f"no answer from {self.url} within {timeout} s"), abort=True)

    def _ended(self) -> bool:
        return self.failure is not None  # a method: mypy keeps no narrowing across its call

    def _close(self) -> None:
        self._fail(Closed(f"connection to {self.url} closed"))

    def _fail(self, error: ConnectionLost, *, abort: bool = False) -> None:
        """End the session with `error`: fail every waiter, stop the timers, close."""
        if self.failure is not None:
            return
        waiters: list[Deferred[Receipt | None]] = []
        requests: list[Deferred[Message]] = []
        if self.engine is self.session.engine:  # this connection is the session's current one
            error, waiters = self.session.connection_lost(error)
            requests = self.client.replies.abandon()
        self.failure = error
        logger.log(logging.DEBUG if isinstance(error, Closed) else logging.WARNING, "%s", error)
        self._cancel_timers()
        for waiter in waiters:
            if not waiter.called:
                waiter.errback(error)
        for request in requests:
            if not request.called:
                request.errback(error)
        self._connected.fail(error)
        out = self._out
        if out is None:
            self._closed.fire(None)  # no transport (any more): nothing to wait for
        elif abort:
            out.abortConnection()
        else:
            out.loseConnection()
            self._later("abort", ABORT_AFTER, out.abortConnection)

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
