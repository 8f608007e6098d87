"""stompmodels: typed STOMP 1.0/1.1/1.2 frames, a fast incremental decoder, a sans-IO engine."""

from ._decoder import FrameDecoder, parse_frame
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
from ._reader import Limits
from ._spec import VERSIONS, Version

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
    "Error",
    "Frame",
    "FrameDecoder",
    "HeartBeat",
    "Limits",
    "LocalProtocolError",
    "Message",
    "Nack",
    "ProtocolError",
    "Receipt",
    "Send",
    "ServerFrame",
    "Stomp",
    "Subscribe",
    "Unsubscribe",
    "Version",
    "parse_frame",
]
