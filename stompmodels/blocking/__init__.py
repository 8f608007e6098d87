"""The blocking STOMP client (`Client`) for threads and plain sockets."""

from __future__ import annotations

from .client import (
    Backoff,
    BrokerError,
    BrokerURL,
    Client,
    ConnectionEvent,
    ConnectionLost,
    HeartbeatTimeout,
    Subscription,
)

__all__ = [
    "Backoff",
    "BrokerError",
    "BrokerURL",
    "Client",
    "ConnectionEvent",
    "ConnectionLost",
    "HeartbeatTimeout",
    "Subscription",
]
