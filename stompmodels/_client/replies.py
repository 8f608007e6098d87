"""Request/reply: requests waiting for their replies, matched by `correlation-id`.

Every request of a client names the same `/temp-queue/` destination in its `reply-to`, which
RabbitMQ and ActiveMQ both offer, private to the connection. They differ in how replies come
back: RabbitMQ subscribes the connection itself when a SEND names the temp queue (a SUBSCRIBE
to it is an ERROR), and its MESSAGEs name the destination as their `subscription`; ActiveMQ
(and other brokers) deliver only to a SUBSCRIBE.
"""

from __future__ import annotations

import itertools
import secrets
from typing import Generic, TypeVar

from stompmodels._client.session import ClientSession
from stompmodels._frames import Message, Subscribe
from stompmodels._state import State

W = TypeVar("W")
R = TypeVar("R")
S = TypeVar("S")


def subscribes_itself(server: str | None) -> bool:
    """Whether the broker (by CONNECTED's `server`) subscribes a connection to a temp queue
    named in its `reply-to` without a SUBSCRIBE (RabbitMQ)."""
    return (server or "").startswith("RabbitMQ/")


class Replies(Generic[W]):
    """The requests of one client waiting for replies, each by its `correlation-id`."""

    def __init__(self) -> None:
        token = secrets.token_hex(6)
        self.destination = f"/temp-queue/stompmodels-replies-{token}"
        """The `reply-to` of every request of this client."""
        self._prefix = token
        self._counter = itertools.count(1)
        self._waiting: dict[str, W] = {}
        self._route_of: object = None  # the Engine the reply route was set up on

    def __len__(self) -> int:
        return len(self._waiting)

    def expect(self, waiter: W) -> str:
        """Park `waiter` for a reply; the fresh `correlation-id` to send with the request."""
        correlation = f"{self._prefix}-{next(self._counter)}"
        self._waiting[correlation] = waiter
        return correlation

    def forget(self, correlation: str) -> None:
        """Stop waiting for the reply to `correlation` (timed out): a late reply is dropped."""
        self._waiting.pop(correlation, None)

    def take(self, message: Message) -> W | None:
        """The waiter `message` replies to, no longer waiting; None for a reply nobody awaits."""
        return self._waiting.pop(message.headers.get("correlation-id", ""), None)

    def abandon(self) -> list[W]:
        """The connection is lost: its temp queue with it, so no reply can come. The waiters to
        fail."""
        waiters = list(self._waiting.values())
        self._waiting.clear()
        return waiters

    def route(self, session: ClientSession[R, S], sink: S) -> Subscribe | None:
        """Make replies on the current connection reach `sink`; the SUBSCRIBE to write first,
        if the broker needs one (once per connection), else None."""
        engine = session.engine
        if self._route_of is engine or engine.state is not State.CONNECTED:
            return None
        self._route_of = engine
        if subscribes_itself(engine.server):
            session.attach(self.destination, sink)
            return None
        held = [
            s for s in session.subscriptions.values() if s.frame.destination == self.destination
        ]
        if held:
            return None  # renewed with the others on this connection
        frame = engine.subscribe(self.destination, ack="auto", receipt=True)
        session.add(frame, sink)
        return frame
