"""Engine: the client side of a STOMP session, without I/O. Bytes in, bytes out."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

from pydantic import SecretStr

from ._codec import encode_id_frame, encode_plain, encode_text
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
from ._headers import NO_HEART_BEAT, AckMode, HeartBeat
from ._heartbeat import EOL
from ._limits import Limits
from ._plan import Plan
from ._registry import F, Handler, Router
from ._spec import VERSIONS, Version
from ._state import GATES, ROWS, Event, Input, SessionRules, State, Subscription

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
# What the builders build frames valid by construction with (see `Plan.valid`).
_SEND: Final[Plan[Send]] = Send.plan
_ACK: Final[Plan[Ack]] = Ack.plan
_NACK: Final[Plan[Nack]] = Nack.plan
_MESSAGE_IDS: Final = frozenset({"id", "message_id", "subscription"})
_SEND_WIRE_NAMES: Final = Send.wire_fields


def _valid_as_is(fields: dict[str, str | None]) -> bool:
    """Whether validating these ACK/NACK fields would change nothing, so the frame can be
    built without it: the ids taken from the (validated) MESSAGE are all set, and transaction
    and receipt are str or None. Each version's set of ids is a build form of ACK and NACK."""
    for name, value in fields.items():
        if type(value) is not str and (value is not None or name in _MESSAGE_IDS):
            return False
    return True


def send_body(body: bytes | str, content_type: str | None) -> tuple[bytes, str | None]:
    """The bytes of a SEND body and its content type: a str goes as UTF-8 text, or in the
    charset `content_type` declares (ValueError naming it if it cannot)."""
    if isinstance(body, str):
        if content_type is None:
            return body.encode(), "text/plain;charset=utf-8"
        return encode_text(body, content_type), content_type
    return body, content_type


def plain_send(
    destination: str, data: bytes, optional: tuple[str | None, ...], custom: Mapping[str, str]
) -> bool:
    """Whether validating these SEND fields would change nothing and refuse nothing: exact str
    and bytes types (`optional`: content type, transaction, receipt), and custom headers
    that BodyFrame's rules accept."""
    if type(destination) is not str or not destination or type(data) is not bytes:
        return False  # an empty destination is refused by validation (Send.destination)
    for value in optional:
        if value is not None and type(value) is not str:
            return False
    if custom:
        for name, value in custom.items():
            if type(name) is not str or type(value) is not str:
                return False
        if "" in custom or not _SEND_WIRE_NAMES.isdisjoint(custom):
            return False
    return True


class Reaction(NamedTuple):
    """What one server frame did: the frame, the bytes to send back, the receipts it settled.

    `receipts` are confirmed when `frame` is a Receipt, and failed when it is an Error.
    """

    frame: ServerFrame
    reply: bytes
    receipts: tuple[str, ...]
    handled: bool = False
    """Whether a registered handler took the frame (rather than the default reaction)."""


class Engine(SessionRules):
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
        self._offered = VERSIONS
        self._wire_version = "1.2"
        self._version = None
        self._client_heart_beat = NO_HEART_BEAT
        self._heart_beat = NO_HEART_BEAT
        self._subscriptions = {}
        self._transactions = set()
        self._receipts = {}
        self._disconnect_receipt = None
        self._remote_error: ProtocolError | None = None
        self._ids = itertools.count(1)
        self._send_heads: dict[str, bytes] = {}  # see encode_send
        self.session = None
        """The session id the server gave in CONNECTED."""
        self.server = None
        """The server's self-description from CONNECTED, e.g. ``RabbitMQ/3.10.8``."""
        self.error = None
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

    # -- frames to build: pure, they only read the session (`encode` changes it) -----------

    def connect(
        self,
        *,
        login: str | None = None,
        passcode: str | SecretStr | None = None,
        host: str = "/",
        versions: tuple[Version, ...] = VERSIONS,
        heart_beat: HeartBeat | tuple[int, int] = NO_HEART_BEAT,
        stomp_command: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Connect | Stomp:
        """A CONNECT (or, with `stomp_command`, a STOMP frame) offering `versions`.

        `host` is the virtual host: RabbitMQ maps it to a vhost, so the default is ``/``.
        """
        kind = Stomp if stomp_command else Connect
        return kind(
            accept_version=versions,
            host=host,
            login=login,
            passcode=passcode,
            heart_beat=heart_beat,
            headers=dict(headers or {}),
        )

    def subscribe(
        self,
        destination: str,
        *,
        ack: AckMode = "auto",
        id: str | None = None,
        receipt: str | bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Subscribe:
        """A SUBSCRIBE with a fresh unique id unless one is given."""
        return Subscribe(
            destination=destination,
            id=id if id is not None else self._fresh("sub", self._subscriptions),
            ack=ack,
            receipt=self._receipt(receipt),
            headers=dict(headers or {}),
        )

    def unsubscribe(self, id: str | Subscribe, *, receipt: str | bool = False) -> Unsubscribe:
        """An UNSUBSCRIBE of a subscription, given by id or by the SUBSCRIBE frame that made it.

        A 1.0 subscription made without an id is ended by its destination.
        """
        if isinstance(id, Subscribe):
            id = id.id or id.destination
        known = self._subscriptions.get(id)
        if known is not None and known.id is None:
            return Unsubscribe(
                id=None, destination=known.destination, receipt=self._receipt(receipt)
            )
        return Unsubscribe(id=id, receipt=self._receipt(receipt))

    def send(
        self,
        destination: str,
        body: bytes | str = b"",
        *,
        content_type: str | None = None,
        transaction: str | None = None,
        receipt: str | bool = False,
        headers: Mapping[str, str] | None = None,
        omit_content_length: bool = False,
    ) -> Send:
        """A SEND; a str body is encoded in its content_type's charset (UTF-8 by default).
        `omit_content_length` lets ActiveMQ see text."""
        data, content_type = send_body(body, content_type)
        receipt_id = self._receipt(receipt)
        custom = dict(headers or {})
        if not omit_content_length and plain_send(
            destination, data, (content_type, transaction, receipt_id), custom
        ):
            fields = {
                "destination": destination,
                "body": data,
                "content_type": content_type,
                "transaction": transaction,
                "receipt": receipt_id,
                "headers": custom,
            }
            # BodyFrame's validator: content-length follows the body unless given.
            return _SEND.valid(fields, content_length=len(data) if data else None)
        return Send(
            destination=destination,
            body=data,
            content_type=content_type,
            transaction=transaction,
            receipt=receipt_id,
            headers=custom,
            **({"content_length": None} if omit_content_length else {}),
        )

    def ack(
        self, message: Message, *, transaction: str | None = None, receipt: str | bool = False
    ) -> Ack:
        """The ACK of `message`, with the headers the negotiated version wants."""
        if transaction is None and receipt is False:
            ident = self._ack_id(message)
            if ident is not None:
                return _ACK.valid({"transaction": None, "receipt": None, "id": ident})
        fields = self._ack_fields(message, "ACK", transaction, receipt)
        return _ACK.valid(fields) if _valid_as_is(fields) else Ack(**fields)

    def nack(
        self,
        message: Message,
        *,
        transaction: str | None = None,
        receipt: str | bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Nack:
        """The NACK of `message` (STOMP 1.1 and later); `headers` are custom headers, such as
        RabbitMQ's ``requeue:false``."""
        if (self._version or self._wire_version) == "1.0":
            raise LocalProtocolError("NACK does not exist in STOMP 1.0")
        fields = self._ack_fields(message, "NACK", transaction, receipt)
        if headers:
            return Nack(**fields, headers=headers)
        return _NACK.valid(fields) if _valid_as_is(fields) else Nack(**fields)

    def begin(self, transaction: str | None = None, *, receipt: str | bool = False) -> Begin:
        """A BEGIN of a new transaction; its generated id is `frame.transaction`."""
        name = transaction if transaction is not None else self._fresh("tx", self._transactions)
        return Begin(transaction=name, receipt=self._receipt(receipt))

    def commit(self, transaction: str, *, receipt: str | bool = False) -> Commit:
        """A COMMIT of `transaction`."""
        return Commit(transaction=transaction, receipt=self._receipt(receipt))

    def abort(self, transaction: str, *, receipt: str | bool = False) -> Abort:
        """An ABORT of `transaction`."""
        return Abort(transaction=transaction, receipt=self._receipt(receipt))

    def disconnect(self, *, receipt: str | bool = True) -> Disconnect:
        """A DISCONNECT, with a receipt by default so the close is graceful."""
        return Disconnect(receipt=self._receipt(receipt))

    def heartbeat(self) -> bytes:
        """The bytes of one heart-beat (an EOL)."""
        return EOL

    def _ack_fields(
        self, message: Message, command: str, transaction: str | None, receipt: str | bool
    ) -> dict[str, str | None]:
        if self._ack_mode(message) == "auto":
            raise LocalProtocolError(
                f"{command} of a message from subscription {message.subscription!r}, whose ack "
                "mode is auto"
            )
        fields: dict[str, str | None] = {
            "transaction": transaction,
            "receipt": self._receipt(receipt),
        }
        version = self._version or self._wire_version
        if version == "1.2":
            if message.ack is None:
                raise LocalProtocolError(
                    f"{command} needs the MESSAGE's ack header, which is absent"
                )
            fields["id"] = message.ack
        else:
            fields["message_id"] = message.message_id
            if version == "1.1":
                fields["subscription"] = message.subscription
        return fields

    def _ack_id(self, message: Message) -> str | None:
        """The `id` of the ACK of `message` when that is all it takes (STOMP 1.2, an `ack`
        header, a subscription not known as auto); None leaves it to `_ack_fields`."""
        values = message.__dict__
        ident = values["ack"]
        subscription = values["subscription"]
        if ident is None or subscription is None or (self._version or self._wire_version) != "1.2":
            return None
        known = self._subscriptions.get(subscription)
        return None if known is not None and known.ack == "auto" else ident

    def _ack_mode(self, message: Message) -> AckMode | None:
        """The ack mode of the subscription `message` came from; None if unknown."""
        if message.subscription is not None:
            known = self._subscriptions.get(message.subscription)
            return None if known is None else known.ack
        # A 1.0 MESSAGE may name no subscription: go by destination when that is unambiguous.
        modes = {
            s.ack for s in self._subscriptions.values() if s.destination == message.destination
        }
        return modes.pop() if len(modes) == 1 else None

    def _receipt(self, receipt: str | bool) -> str | None:
        if receipt is True:
            return self._fresh("receipt", self._receipts)
        return receipt or None

    def _fresh(self, prefix: str, taken: Mapping[str, object] | set[str]) -> str:
        while (candidate := f"{prefix}-{next(self._ids)}") in taken:
            pass
        return candidate

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
        the frame (what `ClientSession.send` writes for a SEND without a receipt)."""
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
        without building the frame (what `ClientSession.acknowledge` writes for a plain ACK)."""
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
