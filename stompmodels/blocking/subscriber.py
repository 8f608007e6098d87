"""A typed subscriber of the blocking client: its channel and the threads that run its handler."""

from __future__ import annotations

import threading

from stompmodels._client.subscribers import SubscriberSpec
from stompmodels._frames import Message

from .sync import Channel


class Subscriber:
    """The MESSAGEs of one `@client.subscriber`, each taken by one of its `max_concurrent`
    threads. The channel holds what the broker sent ahead (`prefetch`); it outlives reconnects."""

    def __init__(self, spec: SubscriberSpec, size: int) -> None:
        self.spec = spec
        self.id = ""
        """The subscription's id (the client's session assigns it)."""
        self.channel: Channel[Message] = Channel(size)
        self.threads: list[threading.Thread] = []
        self.running = 0
        """Handlers running now (never more than `spec.max_concurrent`)."""
        self.lock = threading.Lock()

    def stop(self) -> None:
        """No more messages: every thread ends once its handler is done. Messages not yet
        handled are dropped; unacknowledged, the broker delivers them again."""
        self.channel.clear()
        self.channel.close()
