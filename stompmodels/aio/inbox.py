"""Inbox: the bounded FIFO between the asyncio client's reader and a subscription's consumers."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    """What asyncio.Queue does for one subscription, at a fraction of its cost per item (no
    task accounting, one call to add or take). `size` <= 0 means unbounded."""

    __slots__ = ("_getters", "_putters", "items", "size")

    def __init__(self, size: int) -> None:
        self.items: deque[T] = deque()
        self.size = size
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return len(self.items)

    def full(self) -> bool:
        """Whether `offer` would refuse."""
        return 0 < self.size <= len(self.items)

    def offer(self, item: T) -> bool:
        """Add `item` if there is room; False if the inbox is full."""
        if 0 < self.size <= len(self.items):
            return False
        self.items.append(item)
        if self._getters:
            _wake_one(self._getters)
        return True

    def take(self) -> T:
        """Remove and return the oldest item; the caller checked that there is one."""
        item = self.items.popleft()
        if self._putters:
            _wake_one(self._putters)
        return item

    async def get(self) -> T:
        """The oldest item, waiting for one."""
        while not self.items:
            await _wait(self._getters)
        return self.take()

    async def put(self, item: T) -> None:
        """Add `item`, waiting for room."""
        while self.full():
            await _wait(self._putters)
        self.offer(item)


def _wake_one(waiters: deque[asyncio.Future[None]]) -> None:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


async def _wait(waiters: deque[asyncio.Future[None]]) -> None:
    """Wait to be woken; the caller checks its condition again (a wake-up may be spurious)."""
    waiter = asyncio.get_running_loop().create_future()
    waiters.append(waiter)
    try:
        await waiter
    except BaseException:
        waiter.cancel()
        if waiter in waiters:
            waiters.remove(waiter)
        else:
            _wake_one(waiters)  # woken, then cancelled: the wake-up goes to the next in line
        raise
