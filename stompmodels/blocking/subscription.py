"""The blocking client's subscription: the messages of one SUBSCRIBE, to iterate or `get`."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Self

from stompmodels._client.errors import Closed
from stompmodels._errors import LocalProtocolError
from stompmodels._frames import Message
from stompmodels._headers import AckMode
from stompmodels._state import State

from .sync import Channel, fresh

if TYPE_CHECKING:
    from .client import Client


class Subscription:
    """The messages of one subscription: iterate it, or `get` them one by one.

    Iteration ends when the subscription is unsubscribed or the client closes, and raises the
    error (ConnectionLost, BrokerError, HeartbeatTimeout) if the connection fails. Messages
    already received are given out first in both cases.
    """

    def __init__(
        self, client: Client, id: str, destination: str, ack: AckMode, channel: Channel[Message]
    ) -> None:
        self.client = client
        self.id = id
        self.destination = destination
        self.ack_mode: AckMode = ack
        self._channel = channel

    def __repr__(self) -> str:
        return (
            f"Subscription(id={self.id!r}, destination={self.destination!r}, ack={self.ack_mode!r})"
        )

    def __iter__(self) -> Iterator[Message]:
        return self

    def __next__(self) -> Message:
        message = self._channel.get(None)
        if message is None:
            error = self._channel.error
            if error is not None and not isinstance(error, Closed):
                raise fresh(error)
            raise StopIteration
        return message

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.active and self.client.engine.state is State.CONNECTED:
            self.unsubscribe()

    @property
    def active(self) -> bool:
        """Whether messages may still come (not unsubscribed, connection not closed)."""
        return not self._channel.closed

    @property
    def pending(self) -> int:
        """How many messages have arrived and wait to be taken."""
        return len(self._channel)

    def get(self, timeout: float | None = None) -> Message:
        """The next message, waiting at most `timeout` seconds (the client's default if None).

        Raises TimeoutError when none comes in time, the connection's error once it has failed
        or closed, and LocalProtocolError after `unsubscribe` (once the queue is empty).
        """
        message = self._channel.get(self.client.timeout if timeout is None else timeout)
        if message is None:
            error = self._channel.error
            if error is not None:
                raise fresh(error)
            raise LocalProtocolError(f"subscription {self.id!r} has ended (unsubscribed)")
        return message

    def ack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> None:
        """Acknowledge `message`; with `receipt`, wait until the broker confirms."""
        self.client.ack(message, transaction=transaction, receipt=receipt)

    def nack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> None:
        """Reject `message` (the broker may redeliver it)."""
        self.client.nack(message, transaction=transaction, receipt=receipt)

    def unsubscribe(self, *, receipt: bool = True) -> None:
        """End the subscription; with `receipt`, wait until the broker confirms."""
        self.client._unsubscribe(self, receipt=receipt)
