"""stompmodels: typed STOMP 1.0/1.1/1.2 frames, a fast incremental decoder, a sans-IO engine."""

from ._decoder import FrameDecoder, parse_frame
from ._engine import Engine, Reaction
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
from ._headers import AckMode, HeartBeat
from ._heartbeat import negotiate_heart_beat, next_heart_beat_at, peer_deadline, peer_overdue
from ._limits import Limits
from ._registry import Handler, Router
from ._spec import VERSIONS, Version
from ._state import State, Subscription

__all__ = [
    "VERSIONS",
    "Abort",
    "Ack",
    "AckMode",
    "Begin",
    "ClientFrame",
    "Commit",
    "Connect",
    "Connected",
    "Disconnect",
    "Engine",
    "Error",
    "Frame",
    "FrameDecoder",
    "Handler",
    "HeartBeat",
    "Limits",
    "LocalProtocolError",
    "Message",
    "Nack",
    "ProtocolError",
    "Reaction",
    "Receipt",
    "Router",
    "Send",
    "ServerFrame",
    "State",
    "Stomp",
    "Subscribe",
    "Subscription",
    "Unsubscribe",
    "Version",
    "negotiate_heart_beat",
    "next_heart_beat_at",
    "parse_frame",
    "peer_deadline",
    "peer_overdue",
]
