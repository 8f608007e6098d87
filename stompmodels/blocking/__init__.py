"""The blocking STOMP client (`Client`) for threads and plain sockets."""

from __future__ import annotations

from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import (
    BrokerError,
    ConnectionEvent,
    ConnectionLost,
    HeartbeatTimeout,
)
from stompmodels._client.health import Health
from stompmodels._client.url import BrokerURL
from stompmodels.blocking.client import Client
from stompmodels.blocking.subscription import Subscription

__all__ = [
    "Backoff",
    "BrokerError",
    "BrokerURL",
    "Client",
    "ConnectionEvent",
    "ConnectionLost",
    "Health",
    "HeartbeatTimeout",
    "Subscription",
]
