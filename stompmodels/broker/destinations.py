"""What the embedded broker holds: messages, the queues they wait in, and the subscriptions and
deliveries that take them out."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from typing import Final, Literal

from stompmodels._headers import AckMode

Kind = Literal["queue", "topic", "temp-queue"]

PREFIXES: Final[dict[str, Kind]] = {
    "/queue/": "queue",
    "/topic/": "topic",
    "/temp-queue/": "temp-queue",
}


def kind_of(destination: str) -> Kind | None:
    """The kind of destination `destination` names, or None for a prefix the broker lacks."""
    for prefix, kind in PREFIXES.items():
        if destination.startswith(prefix) and len(destination) > len(prefix):
            return kind
    return None


@dataclass(slots=True, eq=False)
class Stored:
    """One published message: what every delivery of it carries."""

    destination: str
    message_id: str
    headers: tuple[tuple[str, str], ...]
    """The SEND's content-type and custom headers, in the order it gave them."""
    body: bytes
    redelivered: bool = False


@dataclass(slots=True, eq=False)
class Subscription:
    """A SUBSCRIBE of one connection, with the messages it has been given and not settled."""

    connection: int
    id: str
    """The SUBSCRIBE's `id`; in STOMP 1.0, without one, its destination."""
    destination: str
    ack: AckMode
    prefetch: int | None
    """The most unsettled deliveries at once; None: no bound."""
    has_id: bool
    queue: Queue
    unacked: dict[str, Delivery] = field(default_factory=dict)
    """Deliveries waiting for ACK or NACK, by their ack tag, oldest first."""
    held_back: bool = False
    """The connection's transport is full (its client reads too slowly): deliver nothing."""

    def has_room(self) -> bool:
        """Whether one more delivery may be outstanding on this subscription."""
        if self.held_back:
            return False
        return self.prefetch is None or len(self.unacked) < self.prefetch


@dataclass(slots=True, eq=False)
class Delivery:
    """A message given to a subscription, until it is settled."""

    stored: Stored
    subscription: Subscription
    tag: str
    """The MESSAGE's `ack` header (STOMP 1.2), unique on its connection."""


class Queue:
    """Messages waiting in order, and the subscriptions that compete for them (round robin).

    A `/queue/` is shared; each `/topic/` subscription gets a queue of its own, so a slow
    subscriber of a topic holds back only itself; a `/temp-queue/` is owned by the connection
    that first subscribed to it and goes away with it.
    """

    __slots__ = ("_turn", "kind", "messages", "name", "owner", "subscribers")

    def __init__(self, name: str, kind: Kind, owner: int | None = None) -> None:
        self.name = name
        self.kind: Kind = kind
        self.owner = owner
        self.messages: deque[Stored] = deque()
        self.subscribers: list[Subscription] = []
        self._turn = 0

    def __repr__(self) -> str:
        return f"Queue({self.name!r}, {len(self.messages)} held, {len(self.subscribers)} subs)"

    def next_taker(self) -> Subscription | None:
        """The subscriber whose turn it is among those with room, or None."""
        subscribers = self.subscribers
        count = len(subscribers)
        for step in range(count):
            index = (self._turn + step) % count
            subscription = subscribers[index]
            if subscription.has_room():
                self._turn = index + 1
                return subscription
        return None

    def requeue(self, stored: list[Stored]) -> None:
        """Put messages taken back at the head, in their order, marked redelivered."""
        for message in reversed(stored):
            message.redelivered = True
            self.messages.appendleft(message)


message_ids: Final = itertools.count(1)
"""The numbers of message ids, unique in the process."""
