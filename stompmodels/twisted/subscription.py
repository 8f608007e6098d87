"""A subscription of the Twisted client: a callback, or a bounded queue read with `get()`."""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred, fail, maybeDeferred, succeed
from twisted.python.failure import Failure

from stompmodels._client.errors import ConnectionLost
from stompmodels._frames import Message, Receipt, Subscribe
from stompmodels._headers import AckMode

from .deferreds import bounded

if TYPE_CHECKING:
    from .factory import StompClientFactory

logger = logging.getLogger("stompmodels.twisted")

MessageCallback = Callable[[Message], object]
"""Called with each MESSAGE of a subscription that no `on(...)` handler took."""


class Subscription:
    """One subscription; it outlives reconnects (the factory subscribes again, same id).

    Messages go to `callback` if one was given, else to a queue read with `get()`. While the
    queue is full, the connection stops reading (TCP then pushes back on the broker).
    """

    def __init__(
        self,
        factory: StompClientFactory,
        frame: Subscribe,
        callback: MessageCallback | None,
        size: int,
    ) -> None:
        assert frame.id is not None  # the client's subscriptions always have ids
        self.factory = factory
        self.id = frame.id
        self.destination = frame.destination
        self.ack_mode: AckMode = frame.ack
        self.headers = dict(frame.headers)
        self.callback = callback
        self._size = size
        self._queue: collections.deque[Message] = collections.deque()
        self._getters: collections.deque[Deferred[Message]] = collections.deque()
        self._ended: ConnectionLost | None = None

    def get(self, timeout: float | None = None) -> Deferred[Message]:
        """The next queued message, waiting at most `timeout` s (the factory's if None)."""
        if self._queue:
            message = self._queue.popleft()
            if len(self._queue) == self._size - 1:
                self.factory._resume_reading(self.id)
            return succeed(message)
        if self._ended is not None:
            return fail(self._ended)
        getter: Deferred[Message] = Deferred(self._getters.remove)
        self._getters.append(getter)
        limit = self.factory.timeout if timeout is None else timeout
        waited = bounded(getter, self.factory.reactor, limit, f"no message within {limit:g} s")
        return waited.addErrback(self._forget, getter)

    def ack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> Deferred[Receipt | None]:
        """Acknowledge `message` on the current connection."""
        return maybeDeferred(
            lambda: self.factory._current().ack(message, transaction=transaction, receipt=receipt)
        )

    def nack(
        self, message: Message, *, transaction: str | None = None, receipt: bool = False
    ) -> Deferred[Receipt | None]:
        """Reject `message` (STOMP 1.1+; the broker may redeliver it)."""
        return maybeDeferred(
            lambda: self.factory._current().nack(message, transaction=transaction, receipt=receipt)
        )

    def unsubscribe(self, *, receipt: bool = True) -> Deferred[Receipt | None]:
        """End the subscription; with `receipt`, fire when the broker confirms."""
        return maybeDeferred(lambda: self.factory._current().unsubscribe(self, receipt=receipt))

    def _forget(self, failure: Failure, getter: Deferred[Message]) -> Failure:
        if getter in self._getters:
            self._getters.remove(getter)  # timed out: the next message is not its
        return failure

    def _deliver(self, message: Message) -> None:
        if self.callback is not None:
            try:
                self.callback(message)
            except Exception:
                logger.exception("the callback of subscription %s failed", self.id)
            return
        if self._getters:
            self._getters.popleft().callback(message)
            return
        self._queue.append(message)
        if len(self._queue) == self._size:
            self.factory._pause_reading(self.id)

    def _end(self, error: ConnectionLost) -> None:
        """No more messages: fail waiting `get`s (queued messages can still be read)."""
        if self._ended is None:
            self._ended = error
        while self._getters:
            self._getters.popleft().errback(error)
