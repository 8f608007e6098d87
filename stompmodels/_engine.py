"""Engine: the client side of a STOMP session, without I/O. Bytes in, bytes out."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

from ._builders import FrameBuilders, Subscription, plain_send, send_body
from ._codec import encode_id_frame, encode_plain
from ._decoder import FrameDecoder
from ._errors import LocalProtocolError, ProtocolError
from ._frames import (
    ClientFrame,
    Connected,
    Error,
    Frame,
    Message,
    Receipt,
    ServerFrame,
)
from ._headers import NO_HEART_BEAT, HeartBeat
from ._limits import Limits
from ._registry import F, Handler, Router
from ._spec import VERSIONS, Version
from ._state import GATES, ROWS, Event, Input, SessionRules, State

_SERVER_FRAMES: Final = (Connected, Message, Receipt, Error)
_CLOSED: Final = State.CLOSED
# The states in which a MESSAGE leaves the session as it is (a tuple: an enum member's hash
# runs Python code, its identity does not).
_MESSAGE_KEEPS: Final = tuple(
    state for state, row in ROWS.items() if row.get(Message) is state and state is not _CLOSED
)
_BYTES: Final = (bytes, bytearray, memoryview)
_SEND_HEADS: Final = 64  # destinations whose SEND head encode_send keeps
_reaction: Final = tuple.__new__  # a NamedTuple's own __new__ is a Python function
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


class Engine(FrameBuilders, SessionRules):
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
        self._row = ROWS[State.IDLE]
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
        self._send_heads: dict[str, bytes] = {}  # see encode_send
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
        kind = type(frame)
        next_state = self._row.get(kind)
        gate = GATES.get(kind)
        if next_state is None or gate is None:
            raise LocalProtocolError(
                f"cannot send {frame.command} while the session is {self._state.value} "
                f"({_HINTS[self._state]})"
            )
        check, apply = gate
        version = check(self, frame)
        try:
            data = frame.to_wire(version)
        except ValueError as exc:
            raise LocalProtocolError(str(exc)) from None
        apply(self, frame)
        if next_state is not self._state:
            self._enter(next_state)
        return data

    def encode_send(
        self,
        destination: str,
        body: bytes | str = b"",
        *,
        content_type: str | None = None,
        transaction: str | None = None,
        receipt: str | bool = False,
        headers: Mapping[str, str] | None = None,
        omit_content_length: bool = False,
    ) -> bytes:
        """`encode(send(...))` with the same arguments, checks and effects, without building
        the frame: for transports that do not log what they send."""
        if receipt is False and transaction is None and not omit_content_length:
            if (
                type(body) is bytes
                and body
                and content_type is None
                and not headers
                and self._state is State.CONNECTED
            ):
                head = self._send_heads.get(destination)
                if head is not None:
                    return b"".join((head, str(len(body)).encode(), b"\n\n", body, b"\0"))
            data, data_type = send_body(body, content_type)
            custom = headers or {}
            if self._state is State.CONNECTED and plain_send(
                destination, data, (data_type,), custom
            ):
                # Send.to_wire's lines: destination, content-type, content-length, custom ones.
                lines = [f"destination:{destination}"]
                if data_type is not None:
                    lines.append(f"content-type:{data_type}")
                if data:
                    lines.append(f"content-length:{len(data)}")
                if custom:
                    lines.extend(map(":".join, custom.items()))
                wire = encode_plain("SEND", lines, data, self._wire_version)
                if wire is not None:
                    if len(self._send_heads) < _SEND_HEADS:
                        # encode_plain took the destination as it is: the head of a SEND of
                        # bytes alone, up to the length, for the next one (the version is set).
                        known = f"SEND\n{lines[0]}\ncontent-length:"
                        self._send_heads[destination] = known.encode()
                    return wire
        frame = self.send(
            destination,
            body,
            content_type=content_type,
            transaction=transaction,
            receipt=receipt,
            headers=headers,
            omit_content_length=omit_content_length,
        )
        return self.encode(frame)

    def encode_ack(self, message: Message, *, transaction: str | None = None) -> bytes:
        """`encode(ack(message, transaction=transaction))`, with the same checks and effects,
        without building the frame: for transports that do not log what they send."""
        if transaction is None and self._state is State.CONNECTED:
            ident = self._ack_id(message)
            if ident is not None:
                data = encode_id_frame("ACK", ident)
                if data is not None:
                    return data
        return self.encode(self.ack(message, transaction=transaction))

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
        if isinstance(data, str):
            raise TypeError("react() takes the bytes the server sent (or a frame), not str")
        reactions: list[Reaction] = []
        try:
            if isinstance(data, _BYTES):
                self._decoder.receive(bytes(data))
                next_frame = self._decoder.next_frame
                while (frame := next_frame()) is not None:
                    reactions.append(self._react_to(frame))
            else:
                reactions.append(self._react_to(data))
        except ProtocolError as exc:
            self._remote_error = exc
            self._enter(State.CLOSED)
            exc.frames = [reaction.frame for reaction in reactions]
            raise
        return reactions

    def connection_lost(self) -> None:
        """Tell the engine that the transport's connection closed."""
        self._enter(ROWS[self._state][Event.CONNECTION_LOST])

    def _react_to(self, frame: Frame) -> Reaction:
        if type(frame) is Message and self._state in _MESSAGE_KEEPS:
            return self._answer(frame, ())  # the common case: nothing changes, nothing settles
        return self._react_to_any(frame)

    def _react_to_any(self, frame: Frame) -> Reaction:
        if not isinstance(frame, _SERVER_FRAMES):
            raise ProtocolError(f"the server sent a client frame, {frame.command}")
        kind = type(frame)
        step: Input = kind
        if kind is Receipt and frame.__dict__["receipt_id"] == self._disconnect_receipt:
            step = Event.DISCONNECT_RECEIPT
        next_state = self._row.get(step)
        if next_state is None:
            raise ProtocolError(
                f"the server sent {frame.command} while the session is {self._state.value}"
            )
        if self._state is _CLOSED:
            return _reaction(Reaction, (frame, b"", (), False))  # a straggler: no session left
        receipts = () if kind is Message else self._settle(frame)
        if next_state is not self._state:
            self._enter(next_state)
        return self._answer(frame, receipts)

    def _answer(self, frame: ServerFrame, receipts: tuple[str, ...]) -> Reaction:
        """The reply of a registered handler, or else the default reaction."""
        handler = self._router.handler_for(frame)
        if handler is not None:
            reply = handler(frame)
            data = b"" if reply is None else self.encode(reply)
            return _reaction(Reaction, (frame, data, receipts, True))
        if self._auto_ack and type(frame) is Message:
            reply = self._default_reaction(frame)
            if reply is not None:
                try:
                    data = self.encode(reply)
                except LocalProtocolError as exc:
                    # The server's own ids cannot be written back in this version (a raw CR in
                    # a 1.0 or 1.1 message-id): the peer broke the session, not our caller.
                    raise ProtocolError(
                        f"cannot acknowledge the server's {frame.command}: {exc}"
                    ) from None
                return _reaction(Reaction, (frame, data, receipts, False))
        return _reaction(Reaction, (frame, b"", receipts, False))

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
