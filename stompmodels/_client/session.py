"""ClientSession: what every STOMP client does alike, whatever drives its I/O.

Pure like the core (no sockets, clocks, threads or logging; time comes in as `now`). A driver
(asyncio, blocking threads, Twisted) owns the socket, the timers and the log, and asks the
session everything else: which broker to dial and how long to wait before the next attempt,
the CONNECT to send, the subscriptions to renew, what each frame from the broker means for it
(`receive` returns `Action`s), whether a heart-beat is due or the broker is overdue, whether an
ACK must be refused because its message came before a reconnect, and what to send when a
handler fails.

The session is generic over the driver's own things: `W`, the waiter a driver parks on a
receipt (a Future, a Deferred, a thread's Waiter), and `S`, the sink a subscription's MESSAGEs
go to (a queue, a channel, a callback).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Final, Generic, NamedTuple, TypeAlias, TypeVar

from stompmodels._client.deliveries import Deliveries
from stompmodels._client.errors import BrokerError, Closed, ConnectionLost, HeartbeatTimeout
from stompmodels._client.health import Health
from stompmodels._client.options import ClientOptions
from stompmodels._client.payloads import encode_payload
from stompmodels._client.url import BrokerURL
from stompmodels._decoder import parse_frame
from stompmodels._engine import Engine
from stompmodels._errors import LocalProtocolError, ProtocolError
from stompmodels._frames import (
    ClientFrame,
    Connected,
    Error,
    Message,
    Receipt,
    ServerFrame,
    Subscribe,
)
from stompmodels._headers import AckMode
from stompmodels._heartbeat import peer_deadline
from stompmodels._registry import Router
from stompmodels._spec import Version
from stompmodels._state import State

W = TypeVar("W")
S = TypeVar("S")
_new: Final = tuple.__new__  # a NamedTuple's own __new__ is a Python function: see Engine
_MIN_TICK: Final = 0.01  # seconds: the heart-beat check never spins faster than this
_NACKABLE: Final = ("client", "client-individual")
_SERVER_FRAMES: Final = (Connected, Message, Receipt, Error)

RawHandler: TypeAlias = Callable[[ServerFrame], ClientFrame | None]


# -- what a frame from the broker means for the driver --------------------------------------


class Opened(NamedTuple):
    """CONNECTED came: the session is open."""

    frame: Connected


class Settled(NamedTuple, Generic[W]):
    """A RECEIPT came: these waiters are confirmed with `frame`."""

    waiters: tuple[W, ...]
    frame: Receipt


class Deliver(NamedTuple, Generic[S]):
    """A MESSAGE for the subscription whose sink is `sink`."""

    sink: S
    message: Message

    @property
    def frame(self) -> Message:
        """The frame received (every action names it, for the driver's log)."""
        return self.message


class Dispatch(NamedTuple):
    """A frame for a registered handler: run it (`ClientSession.run_handler` or, off the reader,
    the handler itself, then `handler_replied` / `handler_failed`)."""

    handler: RawHandler
    frame: ServerFrame


class Dropped(NamedTuple):
    """A MESSAGE nobody takes (no such subscription); `reason` is the line to log."""

    message: Message
    reason: str

    @property
    def frame(self) -> Message:
        """The frame received."""
        return self.message


class Failed(NamedTuple):
    """The connection is over: the broker sent ERROR, or broke the protocol. Nothing follows."""

    error: ConnectionLost

    @property
    def frame(self) -> Error | None:
        """The ERROR received, if the broker sent one."""
        return self.error.frame if isinstance(self.error, BrokerError) else None


Action: TypeAlias = "Opened | Settled[W] | Deliver[S] | Dispatch | Dropped | Failed"


class HandlerOutcome(NamedTuple):
    """What running a handler gave: the bytes to send, and the exception it raised (if any)."""

    data: bytes
    error: Exception | None


class Subscribed(NamedTuple, Generic[S]):
    """A subscription the client holds: the SUBSCRIBE to renew it with, and its sink."""

    frame: Subscribe
    sink: S


class Outgoing(NamedTuple):
    """A frame to write: its bytes (checked against the session and encoded), the receipt to
    wait for (None when none was asked), and its command (for a timeout's message)."""

    data: bytes
    receipt: str | None
    command: str


class SentFrame:
    """Bytes written, shown as their frame only when a log line is rendered (parsed then).

    One code path whatever the log level: the bytes are what went out; the repr is the model
    (which hides a passcode).
    """

    __slots__ = ("data", "version")

    def __init__(self, data: bytes, version: Version) -> None:
        self.data = data
        self.version = version

    def __repr__(self) -> str:
        try:
            return repr(parse_frame(self.data, self.version))
        except ProtocolError:
            return f"<{len(self.data)} bytes>"


class ClientSession(Generic[W, S]):
    """One client's session logic across its connections; see the module docstring."""

    def __init__(self, options: ClientOptions) -> None:
        self.options = options
        self.router = Router()
        """Handlers registered on the client (`on`, `include`); consulted for every frame."""
        self.engine = Engine(limits=options.limits, auto_ack=False)
        """The Engine of the current connection (a fresh one per connection)."""
        self.url: BrokerURL = options.urls[0]
        """The broker of the current connection (after the credentials hook), or the next."""
        self.established = False
        """Whether a session was open once: losing one then means reconnecting (if asked)."""
        self.closing = False
        """Whether the client is closing: the broker hanging up is then expected."""
        self.last_sent = 0.0
        self.last_received = 0.0
        self._next = 0
        self._subscriptions: dict[str, Subscribed[S]] = {}
        self._attached: dict[str, S] = {}
        self._declared = 0
        self._receipts: dict[str, W] = {}
        self._delivered = Deliveries()  # this connection's messages that are acknowledged
        self._earlier = Deliveries()  # those of the connections before it
        self._paused = False

    # -- brokers and connections -----------------------------------------------------------

    @property
    def next_url(self) -> BrokerURL:
        """The broker to try next (as given, before the credentials hook)."""
        return self.options.urls[self._next]

    def connect_order(self) -> list[BrokerURL]:
        """The brokers to try for a connect, each once, starting with the next one; call
        `failed_over` after each attempt that fails."""
        urls = self.options.urls
        return [*urls[self._next :], *urls[: self._next]]

    def failed_over(self) -> None:
        """The attempt on `next_url` failed: the next broker is tried next."""
        self._next = (self._next + 1) % len(self.options.urls)

    def reconnect_delays(self) -> Iterator[float]:
        """The delays before each reconnect attempt (none if reconnecting is off). Each attempt
        goes to the broker after the one that was lost."""
        backoff = self.options.backoff
        if backoff is None:
            return iter(())
        return backoff.delays()

    def resolve(self, url: BrokerURL) -> BrokerURL:
        """The URL to dial for `url`: what the credentials hook makes of it."""
        hook = self.options.credentials
        return url if hook is None else hook(url)

    def begin(self, url: BrokerURL, now: float) -> bytes:
        """A new connection to `url` (resolved) is open: a fresh Engine; the CONNECT to send."""
        self.url = url
        self.engine = engine = Engine(limits=self.options.limits, auto_ack=False)
        self._earlier.absorb(self._delivered)
        self._delivered = Deliveries()
        self._receipts.clear()
        self._paused = False
        self.last_sent = self.last_received = now
        connect = engine.connect(
            login=url.login,
            passcode=url.passcode,
            host=url.vhost,
            versions=self.options.versions,
            heart_beat=self.options.heart_beat,
        )
        return engine.encode(connect)

    def renewals(self) -> list[Subscribe]:
        """The SUBSCRIBEs that renew every subscription on a new connection (same ids, ack
        modes and headers), each asking for a receipt. A transaction is never replayed."""
        engine = self.engine
        return [
            engine.subscribe(
                old.destination, ack=old.ack, id=old.id, headers=old.headers, receipt=True
            )
            for old, _ in self._subscriptions.values()
        ]

    def connection_lost(self, error: ConnectionLost) -> tuple[ConnectionLost, list[W]]:
        """The connection ended with `error`: the error as the client reports it, and the
        receipt waiters to fail with it."""
        engine = self.engine
        if engine.state is State.DISCONNECTING and type(error) is ConnectionLost:
            # Closed after our DISCONNECT: RabbitMQ's Web-STOMP does so without a RECEIPT.
            error = Closed(f"{self.url} closed the connection after DISCONNECT")
        elif self.closing and type(error) is ConnectionLost:
            error = Closed(str(error))
        if engine.state is not State.CLOSED:
            engine.connection_lost()
        waiters = list(self._receipts.values())
        self._receipts.clear()
        return error, waiters

    def should_reconnect(self, error: ConnectionLost) -> bool:
        """Whether losing the connection with `error` calls for reconnecting."""
        return (
            self.established
            and self.options.backoff is not None
            and not self.closing
            and not isinstance(error, Closed)
        )

    def describe(self) -> str:
        """One line on the open session, for the driver's log."""
        engine = self.engine
        return (
            f"connected to {self.url}: STOMP {engine.version}, session {engine.session}, "
            f"heart-beats {tuple(engine.heart_beat)}"
        )

    # -- subscriptions ---------------------------------------------------------------------

    @property
    def subscriptions(self) -> Mapping[str, Subscribed[S]]:
        """The subscriptions the client holds, by id: renewed on each new connection."""
        return MappingProxyType(self._subscriptions)

    def subscribe(
        self,
        destination: str,
        *,
        ack: AckMode,
        id: str | None,
        headers: Mapping[str, str] | None,
        receipt: bool,
        prefetch: int | None,
    ) -> Subscribe:
        """The SUBSCRIBE of a new subscription, with the brokers' prefetch headers; `add` it
        with its sink before it is written (a MESSAGE may follow at once)."""
        merged = self.options.subscribe_headers(headers, ack, prefetch)
        return self.engine.subscribe(destination, ack=ack, id=id, headers=merged, receipt=receipt)

    def add(self, frame: Subscribe, sink: S) -> None:
        """Hold the subscription `frame` made: its MESSAGEs go to `sink`."""
        assert frame.id is not None  # a client's subscriptions always have ids
        self._subscriptions[frame.id] = _new(Subscribed, (frame, sink))

    def remove(self, id: str) -> S | None:
        """Forget subscription `id` (it is not renewed any more); its sink, if it was held."""
        held = self._subscriptions.pop(id, None)
        return None if held is None else held.sink

    def declare(
        self,
        destination: str,
        *,
        ack: AckMode,
        headers: Mapping[str, str] | None,
        prefetch: int | None,
        sink: S,
    ) -> tuple[str, Subscribe | None]:
        """Hold a subscription whatever the connection's state (a typed subscriber): it is
        subscribed on every connection, as `renewals` renew the others. Its id, and the
        SUBSCRIBE to write now if a session is open (None: the next connect subscribes it)."""
        self._declared += 1
        merged = self.options.subscribe_headers(headers, ack, prefetch)
        ident = f"subscriber-{self._declared}"
        engine = self.engine
        if engine.state is State.CONNECTED:
            frame = engine.subscribe(destination, ack=ack, id=ident, headers=merged, receipt=True)
        else:
            frame = Subscribe(destination=destination, id=ident, ack=ack, headers=merged)
        self.add(frame, sink)
        return ident, frame if engine.state is State.CONNECTED else None

    def attach(self, id: str, sink: S) -> None:
        """MESSAGEs of subscription `id`, which the broker made without a SUBSCRIBE (RabbitMQ's
        reply queues: the id is the `/temp-queue/` destination), go to `sink`. Never renewed."""
        self._attached[id] = sink

    # -- receipts --------------------------------------------------------------------------

    def expect(self, receipt: str, waiter: W) -> None:
        """Park `waiter` on `receipt`: a RECEIPT settles it, a lost connection fails it."""
        self._receipts[receipt] = waiter

    def forget(self, receipt: str, waiter: W | None = None) -> None:
        """Stop waiting for `receipt` (timed out): a late RECEIPT is ignored. With `waiter`,
        only if that is the one parked there (receipt ids start again on each connection)."""
        if waiter is None or self._receipts.get(receipt) is waiter:
            self._receipts.pop(receipt, None)

    # -- what the broker sends -------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> list[Action[W, S]]:
        """What the broker's bytes mean, in order. `Failed`, if any, comes last."""
        self.last_received = now  # any byte counts as life
        try:
            reactions = self.engine.receive(data)
        except ProtocolError as exc:
            # Frames completed before the error still count; an ERROR among them is the cause.
            actions: list[Action[W, S]] = []
            for frame in exc.frames:
                if isinstance(frame, _SERVER_FRAMES) and self._route(frame, (), actions):
                    return actions
            error = ConnectionLost(f"connection to {self.url} failed: {exc}")
            actions.append(_new(Failed, (error,)))
            return actions
        actions = []
        # The common case inline (a MESSAGE for a subscription, no handlers): one look-up and
        # one tuple per message; everything else goes through `_route`.
        plain = not self.router.has_handlers
        subscriptions = self._subscriptions
        for reaction in reactions:
            frame = reaction.frame
            if plain and type(frame) is Message:
                held = subscriptions.get(frame.__dict__["subscription"] or "")
                if held is not None:
                    if held.frame.ack != "auto":
                        self._delivered.add(frame)
                    actions.append(_new(Deliver, (held.sink, frame)))
                    continue
            if self._route(frame, reaction.receipts, actions):
                break
        return actions

    def _route(
        self, frame: ServerFrame, receipts: tuple[str, ...], actions: list[Action[W, S]]
    ) -> bool:
        """Append what `frame` means to `actions`; True once the connection is over."""
        handler = self.router.handler_for(frame)
        if type(frame) is Message:
            if handler is not None:
                actions.append(_new(Dispatch, (handler, frame)))
                return False
            held = self._subscription_of(frame)
            if held is None:
                attached = self._attached.get(frame.subscription or "")
                if attached is not None:
                    actions.append(_new(Deliver, (attached, frame)))
                    return False
                reason = f"MESSAGE for unknown subscription {frame.subscription!r} dropped"
                actions.append(_new(Dropped, (frame, reason)))
                return False
            if held.frame.ack != "auto":
                self._delivered.add(frame)
            actions.append(_new(Deliver, (held.sink, frame)))
            return False
        if handler is not None:
            actions.append(_new(Dispatch, (handler, frame)))
        if type(frame) is Receipt:
            pop = self._receipts.pop
            waiters = tuple(w for w in (pop(r, None) for r in receipts) if w is not None)
            actions.append(_new(Settled, (waiters, frame)))
        elif type(frame) is Connected:
            self.established = True
            actions.append(_new(Opened, (frame,)))
        elif type(frame) is Error:
            actions.append(_new(Failed, (BrokerError(frame),)))
            return True
        return False

    def _subscription_of(self, message: Message) -> Subscribed[S] | None:
        if message.subscription is not None:
            return self._subscriptions.get(message.subscription)
        # A 1.0 MESSAGE may name no subscription: go by destination when unambiguous.
        found = [
            s for s in self._subscriptions.values() if s.frame.destination == message.destination
        ]
        return found[0] if len(found) == 1 else None

    # -- handlers --------------------------------------------------------------------------

    def run_handler(self, handler: RawHandler, frame: ServerFrame) -> HandlerOutcome:
        """Run `handler` on `frame` where frames are read (asyncio, Twisted): the bytes of its
        reply, or, if it raised, what `handler_failed` sends and the exception to log. A
        user's exception never ends the connection."""
        try:
            reply = handler(frame)
        except Exception as exc:
            return HandlerOutcome(self.handler_failed(frame), exc)
        try:
            return HandlerOutcome(self.handler_replied(reply), None)
        except LocalProtocolError as exc:
            return HandlerOutcome(b"", exc)

    def handler_replied(self, reply: ClientFrame | None) -> bytes:
        """The bytes of the frame a handler returned (LocalProtocolError if the session
        forbids it now)."""
        return b"" if reply is None else self.engine.encode(reply)

    def handler_failed(self, frame: ServerFrame) -> bytes:
        """A handler raised on `frame`: the message stays unacknowledged, and where the
        version has NACK and its subscription acknowledges (client, client-individual), it is
        NACKed, so the broker can redeliver it now rather than after the connection ends."""
        if type(frame) is not Message or frame in self._earlier:
            return b""
        engine = self.engine
        if engine.state is not State.CONNECTED or engine.version not in ("1.1", "1.2"):
            return b""
        known = engine.subscriptions.get(frame.subscription or "")
        mode = known.ack if known is not None else None
        if mode not in _NACKABLE or (engine.version == "1.2" and frame.ack is None):
            return b""
        try:
            return engine.encode(engine.nack(frame))
        except LocalProtocolError:
            return b""  # the broker's ids cannot be written back: leave it unacknowledged

    # -- what the client sends -------------------------------------------------------------

    def stale(self, message: Message, command: str) -> str | None:
        """Why `command` (ACK or NACK) of `message` must not be sent (the line to log at
        INFO), or None: a message of an earlier connection was taken back by the broker when
        that connection ended, and is delivered again."""
        if message not in self._earlier:
            return None
        return (
            f"{command} of message {message.message_id} not sent: it came before a reconnect, "
            "and is delivered again"
        )

    def outgoing(self, frame: ClientFrame) -> Outgoing:
        """`frame`, checked against the session and encoded (LocalProtocolError if the session
        forbids it now), with the receipt it asks for."""
        receipt: str | None = getattr(frame, "receipt", None)
        return _new(Outgoing, (self.engine.encode(frame), receipt, frame.command))

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
    ) -> Outgoing:
        """A SEND to write. Without a receipt, the Engine writes its bytes without building the
        frame (the same checks and effects), whatever the log level: one path."""
        engine = self.engine
        if receipt:
            frame = engine.send(
                destination,
                body,
                content_type=content_type,
                headers=headers,
                receipt=True,
                transaction=transaction,
                omit_content_length=omit_content_length,
            )
            return self.outgoing(frame)
        data = engine.encode_send(
            destination,
            body,
            content_type=content_type,
            headers=headers,
            transaction=transaction,
            omit_content_length=omit_content_length,
        )
        return _new(Outgoing, (data, None, "SEND"))

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
    ) -> Outgoing:
        """A SEND of a typed `payload` (see `encode_payload`): JSON, text or bytes."""
        body, kind = encode_payload(payload, content_type)
        if reply_to is not None or correlation_id is not None:
            headers = dict(headers or {})
            if reply_to is not None:
                headers["reply-to"] = reply_to
            if correlation_id is not None:
                headers["correlation-id"] = correlation_id
        return self.send(
            destination,
            body,
            content_type=kind,
            headers=headers,
            receipt=receipt,
            transaction=transaction,
        )

    def acknowledge(
        self,
        message: Message,
        *,
        nack: bool = False,
        transaction: str | None = None,
        receipt: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Outgoing:
        """The ACK (or NACK, with its custom `headers`) of `message` in the negotiated
        version's form (ask `stale` first: a message of an earlier connection must not be
        acknowledged)."""
        engine = self.engine
        if nack:
            frame = engine.nack(message, transaction=transaction, receipt=receipt, headers=headers)
            return self.outgoing(frame)
        if receipt:
            return self.outgoing(engine.ack(message, transaction=transaction, receipt=True))
        data = engine.encode_ack(message, transaction=transaction)
        return _new(Outgoing, (data, None, "ACK"))

    # -- heart-beats -----------------------------------------------------------------------

    @property
    def heartbeat_tick(self) -> float | None:
        """How often (seconds) the driver should call `heartbeat_due` and `overdue`; None when
        neither side heart-beats."""
        intervals = [ms for ms in self.engine.heart_beat if ms]
        if not intervals:
            return None
        return max(min(intervals) / 1000 / 2, _MIN_TICK)

    def heartbeat_due(self, now: float) -> bool:
        """Whether an EOL should go out now (nothing was written for about an interval)."""
        send_ms = self.engine.heart_beat.send_ms
        tick = self.heartbeat_tick
        return bool(send_ms) and tick is not None and now - self.last_sent >= send_ms / 1000 - tick

    def overdue(self, now: float) -> HeartbeatTimeout | None:
        """The timeout to fail the connection with, if the broker has been silent too long.

        Never while reading is paused: a consumer whose queue is full holds the reader back,
        and the broker's heart-beats wait unread in the socket (the one rule for every driver).
        """
        if self._paused:
            return None
        receive_ms = self.engine.heart_beat.receive_ms
        deadline = peer_deadline(self.last_received, receive_ms)
        if deadline is None or now <= deadline:
            return None
        return HeartbeatTimeout(
            f"{self.url} sent nothing for {now - self.last_received:.1f} s "
            f"(a heart-beat every {receive_ms} ms was agreed)"
        )

    def pause_reading(self) -> None:
        """The driver stopped reading (a consumer's queue is full): silence is not judged."""
        self._paused = True

    def resume_reading(self, now: float) -> None:
        """The driver reads again: the silence deadline restarts from `now`."""
        self._paused = False
        self.last_received = now

    @property
    def reading_paused(self) -> bool:
        """Whether the driver said it stopped reading."""
        return self._paused

    def health(
        self,
        now: float,
        *,
        connected: bool,
        reader_running: bool,
        subscribers_running: bool,
        in_flight: int,
    ) -> Health:
        """The client's `Health` at `now`, from what the driver knows of its own parts (is the
        connection open, do its reader and subscribers run, how many handlers are at work)."""
        engine = self.engine
        open_session = connected and engine.state is State.CONNECTED
        problems: list[str] = []
        if not open_session:
            problems.append("not connected")
        if not reader_running:
            problems.append("the reader is not running")
        if not subscribers_running:
            problems.append("a subscriber has stopped")
        overdue = self.overdue(now) if open_session else None
        if overdue is not None:
            problems.append(str(overdue))
        return Health(
            ok=not problems,
            connected=open_session,
            broker=str(self.url),
            server=engine.server if open_session else None,
            version=engine.version if open_session else None,
            since_last_byte=now - self.last_received if self.established else None,
            reader_running=reader_running,
            subscribers_running=subscribers_running,
            in_flight=in_flight,
            problems=tuple(problems),
        )

    def sent(self, data: bytes) -> SentFrame:
        """`data` (a frame the engine encoded) as a log argument: parsed only if logged."""
        return SentFrame(data, self.engine.version or "1.2")
