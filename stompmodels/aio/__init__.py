"""The asyncio STOMP client (`Client`) and what its users handle."""

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
from stompmodels.aio.client import Client
from stompmodels.aio.subscription import Subscription

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
