"""One client connection as the embedded broker sees it: its decoder, its session and what it
has been given."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from stompmodels._decoder import FrameDecoder
from stompmodels._frames import Ack, Nack, Send
from stompmodels._headers import NO_HEART_BEAT, HeartBeat
from stompmodels._limits import Limits
from stompmodels._spec import Version
from stompmodels.broker.destinations import Delivery, Subscription

Transacted = Send | Ack | Nack
"""The frames a transaction holds until COMMIT."""


class Phase(Enum):
    """Where a connection is in its life."""

    HANDSHAKE = "handshake"
    """Waiting for CONNECT (or STOMP)."""
    OPEN = "open"
    """CONNECTED was sent."""
    CLOSING = "closing"
    """An ERROR or the RECEIPT of DISCONNECT was the last thing written: the transport closes."""


@dataclass(slots=True, eq=False)
class Connection:
    """The broker's state for one transport connection."""

    id: int
    peer: str
    opened_at: float
    limits: Limits
    decoder: FrameDecoder = field(init=False)
    phase: Phase = Phase.HANDSHAKE
    version: Version = "1.0"
    session: str = ""
    login: str | None = None
    heart_beat: HeartBeat = NO_HEART_BEAT
    """The intervals in force from the broker's side: (broker sends every, expects every) ms."""
    first_line: bytes | None = b""
    """What has come before the end of the first command line (not yet decoded); None once
    it has ended."""
    last_read: float = 0.0
    last_write: float = 0.0
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    """By subscription id (STOMP 1.0 without ids: by destination)."""
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    """Every unsettled delivery on the connection, by ack tag."""
    tag_of: dict[tuple[str, str], str] = field(default_factory=dict)
    """The ack tag of each unsettled delivery by (subscription id, message-id): STOMP 1.0 and
    1.1 name a message by its id."""
    held_back: bool = False
    """The transport asked for no more writes for now (`Broker.hold_back`)."""
    transactions: dict[str, list[Transacted]] = field(default_factory=dict)
    tags: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.decoder = FrameDecoder("1.0", limits=self.limits)
        self.last_read = self.last_write = self.opened_at

    def accepts_frames(self) -> bool:
        """Whether frames from the client are still acted on (not after ERROR or DISCONNECT)."""
        return self.phase is not Phase.CLOSING

    def find_delivery(self, frame: Ack | Nack) -> Delivery | None:
        """The delivery an ACK or NACK names, in the form of the session's version."""
        if self.version == "1.2":
            return self.deliveries.get(frame.id or "")
        message_id = frame.message_id or ""
        if self.version == "1.1" and frame.subscription is not None:
            names = [frame.subscription]
        else:  # STOMP 1.0: the message id alone, in any subscription
            names = list(self.subscriptions)
        for name in names:
            tag = self.tag_of.get((name, message_id))
            if tag is not None:
                return self.deliveries.get(tag)
        return None

    def add(self, delivery: Delivery) -> None:
        """Remember an unsettled delivery."""
        subscription = delivery.subscription
        subscription.unacked[delivery.tag] = delivery
        self.deliveries[delivery.tag] = delivery
        self.tag_of[subscription.id, delivery.stored.message_id] = delivery.tag

    def settle(self, delivery: Delivery) -> None:
        """Forget a delivery that was acknowledged, refused or taken back."""
        subscription = delivery.subscription
        del subscription.unacked[delivery.tag]
        del self.deliveries[delivery.tag]
        self.tag_of.pop((subscription.id, delivery.stored.message_id), None)
