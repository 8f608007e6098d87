"""The client session as a table: (state, input) -> next state. Missing cells are illegal."""

from __future__ import annotations

from enum import Enum
from typing import Final

from ._frames import (
    Abort,
    Ack,
    Begin,
    Commit,
    Connect,
    Connected,
    Disconnect,
    Error,
    Message,
    Nack,
    Receipt,
    Send,
    Stomp,
    Subscribe,
    Unsubscribe,
)
from ._model import FrameModel


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
