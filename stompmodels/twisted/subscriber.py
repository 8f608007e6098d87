"""A typed subscriber of the Twisted client: its waiting messages and its running handlers.

Handlers run on the reactor: an `async def` (run with `Deferred.fromCoroutine`), or a plain
function that returns a value or a Deferred. At most `max_concurrent` of them are under way at
once; the rest of the messages wait here (the broker sends at most `prefetch` ahead). With the
factory's telemetry, each message is handled and settled inside its consumer span.
"""

from __future__ import annotations

import collections
import inspect
import logging
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred

from stompmodels._client.errors import ConnectionLost
from stompmodels._client.payloads import PayloadError
from stompmodels._client.subscribers import (
    Settlement,
    SubscriberSpec,
    settle_failed,
    settle_handled,
    settle_invalid,
)
from stompmodels._frames import Message

if TYPE_CHECKING:
    from .factory import StompClientFactory

logger = logging.getLogger("stompmodels.twisted")


class Subscriber:
    """The MESSAGEs of one `@factory.subscriber`; it outlives reconnects."""

    def __init__(self, factory: StompClientFactory, spec: SubscriberSpec, size: int) -> None:
        self.factory = factory
        self.spec = spec
        self.id = ""
        """The subscription's id (the factory's session assigns it)."""
        self.running = 0
        """Handlers under way now (never more than `spec.max_concurrent`)."""
        self.ended = False
        """Whether the factory ended (closed, or gave up reconnecting) and this subscriber
        dropped its waiting messages; false again once the factory connects again."""
        self._size = size
        self._waiting: collections.deque[Message] = collections.deque()
        self._under_way: set[Deferred[None]] = set()

    def _deliver(self, message: Message) -> None:
        if self.running < self.spec.max_concurrent:
            self._start(message)
            return
        self._waiting.append(message)
        if len(self._waiting) == self._size:
            self.factory._pause_reading(self.id)

    def _end(self, error: ConnectionLost) -> None:
        """No more connections: messages not yet started are dropped (unacknowledged, the
        broker delivers them again); handlers under way finish."""
        self.ended = True
        self._waiting.clear()
        self.factory._resume_reading(self.id)

    def idle(self) -> Deferred[None]:
        """Fires once no handler is under way (at once if none is)."""
        return Deferred.fromCoroutine(self._idle())

    async def _idle(self) -> None:
        while self._under_way:
            await next(iter(self._under_way))

    def _start(self, message: Message) -> None:
        self.running += 1
        done = Deferred.fromCoroutine(self._run(message))
        self._under_way.add(done)
        done.addBoth(self._finished, done)

    def _finished(self, result: object, done: Deferred[None]) -> None:
        self._under_way.discard(done)
        self.running -= 1
        if self._waiting:
            message = self._waiting.popleft()
            if len(self._waiting) == self._size - 1:
                self.factory._resume_reading(self.id)
            self._start(message)

    async def _run(self, message: Message) -> None:
        spec = self.spec
        telemetry = self.factory._telemetry
        try:
            if telemetry is None:
                await self._settle(message, await self._handle(message))
            else:
                # Entered in this coroutine, whose steps all run in one contextvars context
                # (Deferred.fromCoroutine's): the span is current while the handler runs.
                with telemetry.processing(message, spec.name):
                    await self._settle(message, await self._handle(message))
        except (ConnectionLost, TimeoutError, ValueError) as exc:
            logger.warning(
                "subscriber %s: message %s not settled: %s", spec.name, message.message_id, exc
            )
        except Exception:  # a bug: loud, but the subscriber goes on
            logger.exception("subscriber %s: message %s", spec.name, message.message_id)

    async def _settle(self, message: Message, settlement: Settlement) -> None:
        if settlement.note is not None:
            logger.info("subscriber %s: %s", self.spec.name, settlement.note)
        protocol = self.factory._current()
        telemetry = self.factory._telemetry
        for out in settlement.sends:
            if telemetry is not None:
                telemetry.settled(message, out.command, dead_letter=settlement.outcome == "invalid")
            await protocol._transmit(lambda out=out: out)  # type: ignore[misc]

    async def _handle(self, message: Message) -> Settlement:
        spec = self.spec
        session = self.factory.session
        try:
            arguments = spec.arguments(message)
        except PayloadError as exc:
            logger.error("%s", spec.refused(message, exc))
            if self.factory._telemetry is not None:
                self.factory._telemetry.failed(exc)
            return settle_invalid(session, spec, message, exc)
        try:
            result = spec.handler(*arguments)
            if inspect.iscoroutine(result):
                result = await Deferred.fromCoroutine(result)
            elif isinstance(result, Deferred):
                result = await result
            return settle_handled(session, spec, message, result)
        except Exception as exc:
            logger.exception("%s", spec.failed(message))
            if self.factory._telemetry is not None:
                self.factory._telemetry.failed(exc)
            return settle_failed(session, spec, message)
