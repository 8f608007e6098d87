"""Thread primitives of the blocking client: a one-shot result and a bounded, closable channel.

Every wait here has a deadline, or wakes at least every `SLICE` seconds to look again, so no
thread can sleep through the end of the connection.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Final, Generic, TypeVar, cast

from stompmodels._client.errors import BrokerError, ConnectionLost

T = TypeVar("T")

SLICE: Final = 0.25
"""The longest a wait without a deadline sleeps before it looks at its condition again."""


def fresh(error: ConnectionLost) -> ConnectionLost:
    """A new exception like `error`, so that each thread raises its own (with its own traceback)."""
    copy = BrokerError(error.frame) if isinstance(error, BrokerError) else type(error)(*error.args)
    copy.__cause__ = error.__cause__
    return copy


class Waiter(Generic[T]):
    """A result that another thread settles once: a value, or the error that ended the wait."""

    def __init__(self, what: str, key: str = "") -> None:
        self.what = what
        self.key = key
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._value: T | None = None
        self._error: ConnectionLost | None = None

    def set(self, value: T) -> None:
        with self._lock:
            if not self._event.is_set():
                self._value = value
                self._event.set()

    def fail(self, error: ConnectionLost) -> None:
        with self._lock:
            if not self._event.is_set():
                self._error = error
                self._event.set()

    @property
    def done(self) -> bool:
        """Whether the result (or the error) has come."""
        return self._event.is_set()

    def wait(self, timeout: float) -> T:
        """The value; TimeoutError after `timeout` seconds; the error if the wait failed."""
        if not self._event.wait(max(timeout, 0.0)):
            raise TimeoutError(f"no {self.what} within {timeout:g} s")
        if self._error is not None:
            raise fresh(self._error)
        return cast(T, self._value)


class Channel(Generic[T]):
    """A bounded FIFO from the reader thread to one consumer; closing ends it for both sides.

    Items put before `close` can still be taken; after them, `get` returns None. `error` says
    why the channel closed (None: unsubscribed).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a queue size must be at least 1")
        self._items: deque[T] = deque()
        self._size = size
        self._cond = threading.Condition()
        self._unfinished = 0
        self.closed = False
        self.error: ConnectionLost | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: T, timeout: float) -> bool:
        """Append `item`, waiting up to `timeout` s for room; False if the channel stayed full.

        A closed channel drops the item (and returns True: there is nothing to wait for).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._items) >= self._size and not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, SLICE))
            if not self.closed:
                self._items.append(item)
                self._unfinished += 1
                self._cond.notify_all()
            return True

    def get(self, timeout: float | None) -> T | None:
        """The next item; None once the channel is closed and empty.

        Waits at most `timeout` seconds (then TimeoutError); None waits until an item comes or
        the channel closes.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                if self.closed:
                    return None
                remaining = SLICE if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no message within {timeout:g} s")
                self._cond.wait(min(remaining, SLICE))
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def task_done(self) -> None:
        """Say that an item taken with `get` has been dealt with (see `join`)."""
        with self._cond:
            self._unfinished = max(self._unfinished - 1, 0)
            self._cond.notify_all()

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` s until every item put has been taken and marked done."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._unfinished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, SLICE))
            return True

    def clear(self) -> None:
        """Drop the items not yet taken (they count as done)."""
        with self._cond:
            self._unfinished = max(self._unfinished - len(self._items), 0)
            self._items.clear()
            self._cond.notify_all()

    def close(self, error: ConnectionLost | None = None) -> None:
        """End the channel (items already in it stay there to be taken); keep the first error."""
        with self._cond:
            if not self.closed:
                self.closed = True
                self.error = error
            self._cond.notify_all()
