"""Deferred helpers of the Twisted transport: a result many can wait for, and bounded waits."""

from __future__ import annotations

from typing import Generic, TypeVar

from twisted.internet.defer import Deferred, fail, succeed
from twisted.python.failure import Failure

from .interfaces import Clock

T = TypeVar("T")


class OneShot(Generic[T]):
    """A result that comes once: each `wait()` gets a Deferred of its own (chaining callbacks
    on one cannot change what the others see), fired at once when the result is known."""

    def __init__(self) -> None:
        self._waiters: list[Deferred[T]] = []
        self._value: tuple[T] | None = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        """Whether the result (or an error) is known."""
        return self._value is not None or self._error is not None

    def wait(self) -> Deferred[T]:
        """A Deferred of the result."""
        if self._value is not None:
            return succeed(self._value[0])
        if self._error is not None:
            return fail(self._error)
        waiter: Deferred[T] = Deferred()
        self._waiters.append(waiter)
        return waiter

    def fire(self, value: T) -> None:
        """Give every waiter `value` (ignored when the result is already known)."""
        if not self.done:
            self._value = (value,)
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter.callback(value)

    def fail(self, error: BaseException) -> None:
        """Fail every waiter with `error` (ignored when the result is already known)."""
        if not self.done:
            self._error = error
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter.errback(error)


def bounded(waiter: Deferred[T], clock: Clock, timeout: float, message: str) -> Deferred[T]:
    """`waiter`, failed with ``TimeoutError(message)`` unless it fires within `timeout` s."""

    def expire() -> None:
        if not waiter.called:
            waiter.errback(TimeoutError(message))

    timer = clock.callLater(timeout, expire)

    def stop(result: T | Failure) -> T | Failure:
        if timer.active():
            timer.cancel()
        return result

    return waiter.addBoth(stop)
