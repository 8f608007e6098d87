"""STOMP over WebSocket: the asyncio client over a WebSocket instead of a TCP socket.

``Client("ws://guest:guest@127.0.0.1:15674/ws")`` is `stompmodels.aio.Client`, with the same
API; a ``ws://`` or ``wss://`` URL makes it open a WebSocket (the `websockets` package, installed
by ``pip install 'stompmodels[ws]'``; without it, importing this module raises a
ModuleNotFoundError that says so). The STOMP subprotocols ``v12.stomp``, ``v11.stomp`` and
``v10.stomp`` are offered for the versions the client accepts; each frame travels as one
WebSocket message: a text message when the frame is valid UTF-8, else a binary message.
"""

from __future__ import annotations

from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import (
    BrokerError,
    ConnectionEvent,
    ConnectionLost,
    HeartbeatTimeout,
    MissingExtra,
)
from stompmodels._client.url import BrokerURL
from stompmodels.aio import Client, Subscription

try:
    from stompmodels.aio.websocket import (
        SUBPROTOCOLS,
        WebSocketStream,
        is_text,
        open_websocket,
        subprotocols_for,
    )
except ModuleNotFoundError as exc:
    if not MissingExtra.is_missing(exc, "websockets"):
        raise
    raise MissingExtra("stompmodels.ws needs", "websockets", "ws") from exc

__all__ = [
    "SUBPROTOCOLS",
    "Backoff",
    "BrokerError",
    "BrokerURL",
    "Client",
    "ConnectionEvent",
    "ConnectionLost",
    "HeartbeatTimeout",
    "Subscription",
    "WebSocketStream",
    "is_text",
    "open_websocket",
    "subprotocols_for",
]
