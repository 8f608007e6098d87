"""Engine: the client side of a STOMP session, without I/O. Bytes in, bytes out."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Final, NamedTuple, cast

from ._builders import FrameBuilders, Subscription
from ._decoder import FrameDecoder
from ._errors import LocalProtocolError, ProtocolError
from ._frames import (
    Abort,
    Ack,
    Begin,
    ClientFrame,
    Commit,
    Connect,
    Connected,
    Disconnect,
    Error,
    Frame,
    Message,
    Nack,
    Receipt,
    Send,
    ServerFrame,
    Stomp,
    Subscribe,
    Unsubscribe,
)
from ._headers import NO_HEART_BEAT, HeartBeat
from ._heartbeat import negotiate_heart_beat
from ._reader import Limits
from ._registry import F, Handler, Router
from ._spec import VERSIONS, Version
from ._state import TRANSITIONS, Event, Input, State

_SERVER_FRAMES: Final = (Connected, Message, Receipt, Error)
_CLIENT_FRAMES: Final[frozenset[Input]] = frozenset(
    {Connect, Stomp, Send, Subscribe, Unsubscribe, Ack, Nack, Begin, Commit, Abort, Disconnect}
)
_HINTS: Final = {
    State.IDLE: "send CONNECT first",
    State.CONNECTING: "wait for CONNECTED",
    State.CONNECTED: "the session is open",
    State.DISCONNECTING: "DISCONNECT was sent",
    State.CLOSED: "the session is closed",
}


class Reaction(NamedTuple):
    """What one server frame did: the frame, the bytes to send back, the receipts it settled.

    `receipts` are confirmed when `frame` is a Receipt, and failed when it is an Error.
    """

    frame: ServerFrame
    reply: bytes
    receipts: tuple[str, ...]
    handled: bool = False
    """Whether a registered handler took the frame (rather than the default reaction)."""


class Engine(FrameBuilders):
    """The client side of one STOMP session: state, negotiation, default reactions, handlers.

    Build frames with the builder methods (`connect`, `subscribe`, `send`, `ack`, ...), turn
    them into bytes with `encode` (which checks them against the session's state), and feed
    what the server sends to `react`, which returns the bytes to send back.
    """

    def __init__(self, *, limits: Limits | None = None, auto_ack: bool = True) -> None:
        """`auto_ack=False` turns off the default ACK of MESSAGEs (clients that ACK after
        processing use it); handlers still reply."""
        self._decoder = FrameDecoder("1.2", limits=limits)
        self._auto_ack = auto_ack
        self._router = Router()
        self._state = State.IDLE
        self._offered: tuple[Version, ...] = VERSIONS
        self._wire_version: Version = "1.2"
        self._version: Version | None = None
        self._client_heart_beat = NO_HEART_BEAT
        self._heart_beat = NO_HEART_BEAT
        self._subscriptions: dict[str, Subscription] = {}
        self._transactions: set[str] = set()
        self._receipts: dict[str, str] = {}
        self._disconnect_receipt: str | None = None
        self._remote_error: ProtocolError | None = None
        self._ids = itertools.count(1)
        self.session: str | None = None
        """The session id the server gave in CONNECTED."""
        self.server: str | None = None
        """The server's self-description from CONNECTED, e.g. ``RabbitMQ/3.10.8``."""
        self.error: Error | None = None
        """The ERROR frame that closed the session, if one did."""

    # -- what the session knows ------------------------------------------------------------

    @property
    def state(self) -> State:
        """Where the session stands."""
        return self._state

    @property
    def version(self) -> Version | None:
        """The negotiated STOMP version; None until CONNECTED."""
        return self._version

    @property
    def heart_beat(self) -> HeartBeat:
        """Negotiated intervals in ms: (we send every, we expect the server every); 0 = none."""
        return self._heart_beat

    @property
    def subscriptions(self) -> Mapping[str, Subscription]:
        """Active subscriptions by id (by destination for a 1.0 SUBSCRIBE without id)."""
        return MappingProxyType(self._subscriptions)

    @property
    def transactions(self) -> frozenset[str]:
        """Transactions begun and not yet committed or aborted."""
        return frozenset(self._transactions)

    @property
    def pending_receipts(self) -> Mapping[str, str]:
        """Receipts asked for and not yet settled: receipt id -> command of the frame."""
        return MappingProxyType(self._receipts)

    @property
    def decoder(self) -> FrameDecoder:
        """The decoder of the server's bytes (its counters show that the peer is alive)."""
        return self._decoder

    # -- handlers --------------------------------------------------------------------------

    def on(
        self,
        kind: type[F],
        *,
        where: Callable[[F], bool] | None = None,
        destination: str | None = None,
        subscription: str | None = None,
    ) -> Callable[[Handler[F]], Handler[F]]:
        """Register a handler for server frames of `kind`; see `Router.on`."""
        return self._router.on(
            kind, where=where, destination=destination, subscription=subscription
        )

    def include(self, router: Router) -> None:
        """Consult `router`'s handlers after the ones registered so far."""
        self._router.include(router)

    # -- the gate for what we send ---------------------------------------------------------

    def encode(self, frame: ClientFrame) -> bytes:
        """Check `frame` against the session, update the session, and return its wire bytes.

        Raises LocalProtocolError, naming the rule, if the session forbids the frame now.
        """
        kind = cast(Input, type(frame))
        next_state = TRANSITIONS.get((self._state, kind))
        if next_state is None or kind not in _CLIENT_FRAMES:
            raise LocalProtocolError(
                f"cannot send {frame.command} while the session is {self._state.value} "
                f"({_HINTS[self._state]})"
            )
        version = self._check(frame)
        try:
            data = frame.to_wire(version)
        except ValueError as exc:
            raise LocalProtocolError(str(exc)) from None
        self._apply(frame)
        self._state = next_state
        return data

    def _check(self, frame: ClientFrame) -> Version:
        """Enforce the rules beyond the table; return the version to encode in."""
        if isinstance(frame, Connect | Stomp):
            offered = _offered_versions(frame)
            if not offered:
                raise LocalProtocolError("CONNECT must offer at least one of 1.0, 1.1, 1.2")
            return max(offered)
        receipt = getattr(frame, "receipt", None)
        if receipt is not None and receipt in self._receipts:
            raise LocalProtocolError(f"receipt {receipt!r} is already awaited; ids must be unique")
        match frame:
            case Subscribe(id=id, destination=destination):
                if (id or destination) in self._subscriptions:
                    raise LocalProtocolError(f"subscription id {id!r} is already in use")
            case Unsubscribe(id=id, destination=destination):
                if (id or destination) not in self._subscriptions:
                    raise LocalProtocolError(f"UNSUBSCRIBE of unknown subscription {id!r}")
            case Ack(subscription=subscription) | Nack(subscription=subscription):
                known = self._subscriptions.get(subscription or "")
                if known is not None and known.ack == "auto":
                    raise LocalProtocolError(
                        f"{frame.command} on subscription {subscription!r}, whose ack mode is auto"
                    )
            case Begin(transaction=transaction):
                if transaction in self._transactions:
                    raise LocalProtocolError(f"transaction {transaction!r} is already open")
            case Commit(transaction=transaction) | Abort(transaction=transaction):
                self._check_open(frame.command, transaction)
        if isinstance(frame, Send | Ack | Nack) and frame.transaction is not None:
            self._check_open(frame.command, frame.transaction)
        return self._wire_version

    def _check_open(self, command: str, transaction: str) -> None:
        if transaction not in self._transactions:
            raise LocalProtocolError(
                f"{command} names transaction {transaction!r}, which is not open (BEGIN it first)"
            )

    def _apply(self, frame: ClientFrame) -> None:
        receipt = getattr(frame, "receipt", None)
        if receipt is not None:
            self._receipts[receipt] = frame.command
        match frame:
            case Connect() | Stomp():
                self._offered = _offered_versions(frame)
                self._wire_version = max(self._offered)
                # Until CONNECTED names the version, read as the oldest offered: CONNECTED is
                # never escaped, and an ERROR from a 1.0 server may hold raw backslashes.
                self._decoder.version = min(self._offered)
                self._client_heart_beat = frame.heart_beat
            case Subscribe(id=id, destination=destination, ack=ack):
                self._subscriptions[id or destination] = Subscription(id, destination, ack)
            case Unsubscribe(id=id, destination=destination):
                del self._subscriptions[id or cast(str, destination)]
            case Begin(transaction=transaction):
                self._transactions.add(transaction)
            case Commit(transaction=transaction) | Abort(transaction=transaction):
                self._transactions.discard(transaction)
            case Disconnect(receipt=receipt):
                self._disconnect_receipt = receipt

    # -- what the server sends -------------------------------------------------------------

    def react(self, data: bytes | Frame) -> bytes:
        """Take what the server sent (bytes, split anyhow, or a frame); return the reply bytes."""
        return b"".join(reaction.reply for reaction in self.receive(data))

    def receive(self, data: bytes | Frame) -> list[Reaction]:
        """Like `react`, but say for each frame what it did (replies and settled receipts)."""
        if self._remote_error is not None:
            raise ProtocolError(
                f"the session is unusable after an earlier error: {self._remote_error}"
            )
        reactions: list[Reaction] = []
        try:
            for frame in self._frames(data):
                reactions.append(self._react_to(frame))
        except ProtocolError as exc:
            self._remote_error = exc
            self._state = State.CLOSED
            exc.frames = [reaction.frame for reaction in reactions]
            raise
        return reactions

    def connection_lost(self) -> None:
        """Tell the engine that the transport's connection closed."""
        self._state = TRANSITIONS[(self._state, Event.CONNECTION_LOST)]

    def _frames(self, data: bytes | Frame) -> Iterator[Frame]:
        if isinstance(data, str):
            raise TypeError("react() takes the bytes the server sent (or a frame), not str")
        if not isinstance(data, bytes | bytearray | memoryview):
            yield data
            return
        self._decoder.receive(bytes(data))
        while (frame := self._decoder.next_frame()) is not None:
            yield frame

    def _react_to(self, frame: Frame) -> Reaction:
        if not isinstance(frame, _SERVER_FRAMES):
            raise ProtocolError(f"the server sent a client frame, {frame.command}")
        step: Input = type(frame)
        if isinstance(frame, Receipt) and frame.receipt_id == self._disconnect_receipt:
            step = Event.DISCONNECT_RECEIPT
        next_state = TRANSITIONS.get((self._state, step))
        if next_state is None:
            raise ProtocolError(
                f"the server sent {frame.command} while the session is {self._state.value}"
            )
        if self._state is State.CLOSED:
            return Reaction(frame, b"", ())  # a straggler: no session left to act on it
        receipts = self._settle(frame)
        self._state = next_state
        handler = self._router.handler_for(frame)
        if handler is not None:
            reply = handler(frame)
            data = b"" if reply is None else self.encode(reply)
            return Reaction(frame, data, receipts, handled=True)
        reply = self._default_reaction(frame)
        try:
            data = b"" if reply is None else self.encode(reply)
        except LocalProtocolError as exc:
            # The server's own ids cannot be written back in this version (a raw CR in a 1.0 or
            # 1.1 message-id): the peer broke the session, not our caller.
            raise ProtocolError(f"cannot acknowledge the server's {frame.command}: {exc}") from None
        return Reaction(frame, data, receipts)

    def _settle(self, frame: ServerFrame) -> tuple[str, ...]:
        """Update the session from a server frame; return the receipts it settled."""
        match frame:
            case Connected():
                self._negotiate(frame)
            case Receipt(receipt_id=receipt_id):
                if self._receipts.pop(receipt_id, None) is None:
                    raise ProtocolError(f"RECEIPT for {receipt_id!r}, which was never asked for")
                return (receipt_id,)
            case Error(receipt_id=receipt_id):
                self.error = frame
                if receipt_id is not None and self._receipts.pop(receipt_id, None) is not None:
                    return (receipt_id,)
        return ()

    def _negotiate(self, frame: Connected) -> None:
        # STOMP 1.2 "Protocol Negotiation": no version header means the server speaks 1.0.
        version = frame.version or "1.0"
        if version not in self._offered:
            raise ProtocolError(f"the server chose STOMP {version!r}, which was not offered")
        self._version = self._wire_version = self._decoder.version = version
        self.session = frame.session
        self.server = frame.server
        self._heart_beat = negotiate_heart_beat(self._client_heart_beat, frame.heart_beat)

    def _default_reaction(self, frame: ServerFrame) -> ClientFrame | None:
        """stomper's reactions, corrected: ACK only what needs it; nothing for the rest."""
        if (
            not (self._auto_ack and isinstance(frame, Message))
            or self._state is not State.CONNECTED
        ):
            return None
        if self._ack_mode(frame) == "auto":
            return None
        if self._version == "1.2" and frame.ack is None:
            return None  # nothing to acknowledge it with: the server did not ask
        return self.ack(frame)


def _offered_versions(frame: Connect | Stomp) -> tuple[Version, ...]:
    # STOMP 1.2 "Protocol Negotiation": a CONNECT without accept-version speaks 1.0.
    offered = frame.accept_version or ("1.0",)
    return tuple(version for version in VERSIONS if version in offered)
