"""The asyncio STOMP client (`Client`) and what its users handle."""

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
