"""Read-only snapshots of what the embedded broker holds, for tests and tools."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from stompmodels._headers import AckMode
from stompmodels._spec import Version


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    """One subscription of a connection."""

    id: str
    destination: str
    ack: AckMode
    unacked: int
    """Deliveries not yet acknowledged or refused."""


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """One client connection: who it is and what it subscribes to."""

    id: int
    peer: str
    connected: bool
    """Whether CONNECTED was sent (False while the broker waits for CONNECT)."""
    login: str | None
    version: Version | None
    session: str | None
    subscriptions: tuple[SubscriptionInfo, ...]
    transactions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HeldMessage:
    """A message waiting in a queue for a consumer."""

    destination: str
    message_id: str
    headers: Mapping[str, str]
    """The SEND's content-type and custom headers."""
    body: bytes
    redelivered: bool
