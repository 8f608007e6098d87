"""The client session: a table of (state, input) -> next state (missing cells are illegal),
and what each frame does to the session beyond the table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, cast

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
    Message,
    Nack,
    Receipt,
    Send,
    ServerFrame,
    Stomp,
    Subscribe,
    Unsubscribe,
)
from ._headers import AckMode, HeartBeat
from ._heartbeat import negotiate_heart_beat
from ._model import FrameModel
from ._spec import VERSIONS, Version

if TYPE_CHECKING:
    from ._decoder import FrameDecoder


class State(Enum):
    """Where a client session stands."""

    IDLE = "idle"  # nothing sent yet
    CONNECTING = "connecting"  # CONNECT or STOMP sent, waiting for CONNECTED
    CONNECTED = "connected"
    DISCONNECTING = "disconnecting"  # DISCONNECT sent, waiting for its receipt
    CLOSED = "closed"  # the session is over: receipt of DISCONNECT, ERROR, or connection lost


class Event(Enum):
    """Inputs that are not a frame type."""

    DISCONNECT_RECEIPT = "the RECEIPT of our DISCONNECT"
    CONNECTION_LOST = "the connection closed"


Input = type[FrameModel] | Event

_WORK: Final = (Send, Subscribe, Unsubscribe, Ack, Nack, Begin, Commit, Abort)

TRANSITIONS: Final[dict[tuple[State, Input], State]] = {
    # Frames we send.
    (State.IDLE, Connect): State.CONNECTING,
    (State.IDLE, Stomp): State.CONNECTING,
    **{(State.CONNECTED, kind): State.CONNECTED for kind in _WORK},
    (State.CONNECTED, Disconnect): State.DISCONNECTING,
    # Frames the server sends.
    (State.CONNECTING, Connected): State.CONNECTED,
    (State.CONNECTING, Error): State.CLOSED,
    (State.CONNECTED, Message): State.CONNECTED,
    (State.CONNECTED, Receipt): State.CONNECTED,
    (State.CONNECTED, Error): State.CLOSED,
    # STOMP 1.2 "DISCONNECT": messages and receipts may still arrive until the disconnect receipt.
    (State.DISCONNECTING, Message): State.DISCONNECTING,
    (State.DISCONNECTING, Receipt): State.DISCONNECTING,
    (State.DISCONNECTING, Event.DISCONNECT_RECEIPT): State.CLOSED,
    (State.DISCONNECTING, Error): State.CLOSED,
    # After the session ended, a server's stragglers are ignored: RabbitMQ sends an ERROR per
    # pipelined bad frame, and both brokers go on sending MESSAGEs and RECEIPTs for a while
    # after an ERROR, although STOMP 1.2 "ERROR" says the server MUST close.
    **{(State.CLOSED, kind): State.CLOSED for kind in (Error, Message, Receipt)},
    (State.CLOSED, Event.DISCONNECT_RECEIPT): State.CLOSED,
    # The transport reports a closed connection.
    **{(state, Event.CONNECTION_LOST): State.CLOSED for state in State},
}
"""Every legal step of a client session; any (state, input) not listed is a protocol error."""

ROWS: Final[dict[State, dict[Input, State]]] = {
    state: {step: after for (before, step), after in TRANSITIONS.items() if before is state}
    for state in State
}
"""TRANSITIONS by state, so that a step is looked up by its type alone (an enum member's hash
runs Python code; a class's does not)."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription the engine sent: its id (None for a 1.0 SUBSCRIBE without one)."""

    id: str | None
    destination: str
    ack: AckMode


class SessionRules:
    """The Engine's record of its session: what the frames it sends must respect and change
    (one `_check_*` and `_apply_*` per frame type, see GATES), and what the server's do."""

    _state: State
    _row: dict[Input, State]
    _decoder: FrameDecoder
    _offered: tuple[Version, ...]
    _wire_version: Version
    _version: Version | None
    _client_heart_beat: HeartBeat
    _heart_beat: HeartBeat
    _subscriptions: dict[str, Subscription]
    _transactions: set[str]
    _receipts: dict[str, str]
    _disconnect_receipt: str | None
    session: str | None
    server: str | None
    error: Error | None

    def _enter(self, state: State) -> None:
        self._state = state
        self._row = ROWS[state]

    # `_check_*` raises LocalProtocolError or returns the version to encode in; `_apply_*`
    # records what the frame did to the session.

    def _check_receipt(self, receipt: str | None) -> None:
        if receipt is not None and receipt in self._receipts:
            raise LocalProtocolError(f"receipt {receipt!r} is already awaited; ids must be unique")

    def _check_open(self, command: str, transaction: str) -> None:
        if transaction not in self._transactions:
            raise LocalProtocolError(
                f"{command} names transaction {transaction!r}, which is not open (BEGIN it first)"
            )

    def _check_connect(self, frame: Connect | Stomp) -> Version:
        offered = _offered_versions(frame)
        if not offered:
            raise LocalProtocolError("CONNECT must offer at least one of 1.0, 1.1, 1.2")
        return max(offered)

    def _check_send(self, frame: Send) -> Version:
        self._check_receipt(frame.receipt)
        if frame.transaction is not None:
            self._check_open(frame.command, frame.transaction)
        return self._wire_version

    def _check_subscribe(self, frame: Subscribe) -> Version:
        self._check_receipt(frame.receipt)
        if (frame.id or frame.destination) in self._subscriptions:
            raise LocalProtocolError(f"subscription id {frame.id!r} is already in use")
        return self._wire_version

    def _check_unsubscribe(self, frame: Unsubscribe) -> Version:
        self._check_receipt(frame.receipt)
        if (frame.id or frame.destination) not in self._subscriptions:
            raise LocalProtocolError(f"UNSUBSCRIBE of unknown subscription {frame.id!r}")
        return self._wire_version

    def _check_acknowledgement(self, frame: Ack | Nack) -> Version:
        values = frame.__dict__
        self._check_receipt(values["receipt"])
        subscription = values["subscription"]
        if subscription is not None:
            known = self._subscriptions.get(subscription)
            if known is not None and known.ack == "auto":
                raise LocalProtocolError(
                    f"{frame.command} on subscription {subscription!r}, whose ack mode is auto"
                )
        if values["transaction"] is not None:
            self._check_open(frame.command, values["transaction"])
        return self._wire_version

    def _check_begin(self, frame: Begin) -> Version:
        self._check_receipt(frame.receipt)
        if frame.transaction in self._transactions:
            raise LocalProtocolError(f"transaction {frame.transaction!r} is already open")
        return self._wire_version

    def _check_end(self, frame: Commit | Abort) -> Version:
        self._check_receipt(frame.receipt)
        self._check_open(frame.command, frame.transaction)
        return self._wire_version

    def _check_disconnect(self, frame: Disconnect) -> Version:
        self._check_receipt(frame.receipt)
        return self._wire_version

    def _apply_receipt(self, frame: ClientFrame) -> None:
        receipt = frame.__dict__.get("receipt")
        if receipt is not None:
            self._receipts[receipt] = frame.command

    def _apply_connect(self, frame: Connect | Stomp) -> None:
        self._offered = _offered_versions(frame)
        self._wire_version = max(self._offered)
        # Until CONNECTED names the version, read as the oldest offered: CONNECTED is never
        # escaped, and an ERROR from a 1.0 server may hold raw backslashes.
        self._decoder.version = min(self._offered)
        self._client_heart_beat = frame.heart_beat

    def _apply_subscribe(self, frame: Subscribe) -> None:
        self._apply_receipt(frame)
        key = frame.id or frame.destination
        self._subscriptions[key] = Subscription(frame.id, frame.destination, frame.ack)

    def _apply_unsubscribe(self, frame: Unsubscribe) -> None:
        self._apply_receipt(frame)
        del self._subscriptions[frame.id or cast(str, frame.destination)]

    def _apply_begin(self, frame: Begin) -> None:
        self._apply_receipt(frame)
        self._transactions.add(frame.transaction)

    def _apply_end(self, frame: Commit | Abort) -> None:
        self._apply_receipt(frame)
        self._transactions.discard(frame.transaction)

    def _apply_disconnect(self, frame: Disconnect) -> None:
        self._apply_receipt(frame)
        self._disconnect_receipt = frame.receipt

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


def _offered_versions(frame: Connect | Stomp) -> tuple[Version, ...]:
    # STOMP 1.2 "Protocol Negotiation": a CONNECT without accept-version speaks 1.0.
    offered = frame.accept_version or ("1.0",)
    return tuple(version for version in VERSIONS if version in offered)


Gate = tuple[Callable[[SessionRules, Any], Version], Callable[[SessionRules, Any], None]]
GATES: Final[dict[type[ClientFrame], Gate]] = {
    Connect: (SessionRules._check_connect, SessionRules._apply_connect),
    Stomp: (SessionRules._check_connect, SessionRules._apply_connect),
    Send: (SessionRules._check_send, SessionRules._apply_receipt),
    Subscribe: (SessionRules._check_subscribe, SessionRules._apply_subscribe),
    Unsubscribe: (SessionRules._check_unsubscribe, SessionRules._apply_unsubscribe),
    Ack: (SessionRules._check_acknowledgement, SessionRules._apply_receipt),
    Nack: (SessionRules._check_acknowledgement, SessionRules._apply_receipt),
    Begin: (SessionRules._check_begin, SessionRules._apply_begin),
    Commit: (SessionRules._check_end, SessionRules._apply_end),
    Abort: (SessionRules._check_end, SessionRules._apply_end),
    Disconnect: (SessionRules._check_disconnect, SessionRules._apply_disconnect),
}
"""What `encode` checks and records, by the type of the client frame (dispatch on classes)."""
