"""The MESSAGEs a connection delivered, so that none of them is acknowledged on a later one.

After a reconnect, the broker delivers again what the ended session left unacknowledged, and
an ack id of that session names a delivery of it: RabbitMQ would settle the delivery of the new
session that has the same number (another message), ActiveMQ sends an ERROR. `ClientSession`
keeps the messages of each connection here and refuses to ACK or NACK one that came before the
current connection.
"""

from __future__ import annotations

import weakref
from typing import Final

from stompmodels._frames import Message

_FIRST_SWEEP: Final = 1024  # entries before the first sweep of dead references


class Deliveries:
    """Messages by identity, held weakly (a message nobody holds cannot be acknowledged).

    Plain weak references in a dict cost less per message than a WeakValueDictionary's
    callbacks; dead entries are swept whenever the dict has doubled since the last sweep.
    """

    __slots__ = ("_refs", "_sweep_at")

    def __init__(self) -> None:
        self._refs: dict[int, weakref.ref[Message]] = {}
        self._sweep_at = _FIRST_SWEEP

    def add(self, message: Message) -> None:
        """Remember `message`."""
        refs = self._refs
        refs[id(message)] = weakref.ref(message)
        if len(refs) >= self._sweep_at:
            self._sweep()

    def __contains__(self, message: object) -> bool:
        ref = self._refs.get(id(message))
        return ref is not None and ref() is message

    def __len__(self) -> int:
        """Entries held, dead ones not yet swept included."""
        return len(self._refs)

    def absorb(self, other: Deliveries) -> None:
        """Take in the messages of `other` (a connection that ended)."""
        self._refs.update(other._refs)
        self._sweep()

    def _sweep(self) -> None:
        self._refs = {key: ref for key, ref in self._refs.items() if ref() is not None}
        self._sweep_at = max(_FIRST_SWEEP, 2 * len(self._refs))
