"""Inbox: the asyncio client's bounded FIFO between its reader and a subscription's consumers."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine

import pytest

from stompmodels.aio.inbox import Inbox

WAIT = 2.0  # seconds any step here may take at most


def run(coroutine: Coroutine[object, object, None]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(WAIT * 5):
            await coroutine

    asyncio.run(bounded())


def test_items_come_out_in_order_and_a_full_inbox_refuses() -> None:
    inbox: Inbox[int] = Inbox(2)
    assert inbox.offer(1) and inbox.offer(2)
    assert inbox.full() and not inbox.offer(3)
    assert len(inbox) == 2
    assert [inbox.take(), inbox.take()] == [1, 2]
    assert not inbox.full() and len(inbox) == 0


def test_a_size_of_zero_is_unbounded() -> None:
    inbox: Inbox[int] = Inbox(0)
    assert all(inbox.offer(n) for n in range(10_000))
    assert not inbox.full()


def test_a_waiting_getter_is_woken_by_an_offer() -> None:
    async def scenario() -> None:
        inbox: Inbox[str] = Inbox(1)
        getter = asyncio.create_task(inbox.get())
        await asyncio.sleep(0)
        assert not getter.done()
        assert inbox.offer("x")
        assert await asyncio.wait_for(getter, WAIT) == "x"

    run(scenario())


def test_a_waiting_putter_gets_room_when_an_item_is_taken() -> None:
    async def scenario() -> None:
        inbox: Inbox[int] = Inbox(1)
        inbox.offer(1)
        putter = asyncio.create_task(inbox.put(2))
        await asyncio.sleep(0)
        assert not putter.done()
        assert inbox.take() == 1
        await asyncio.wait_for(putter, WAIT)
        assert inbox.take() == 2

    run(scenario())


def test_each_of_several_getters_gets_one_item() -> None:
    async def scenario() -> None:
        inbox: Inbox[int] = Inbox(0)
        getters = [asyncio.create_task(inbox.get()) for _ in range(3)]
        await asyncio.sleep(0)
        for number in range(3):
            inbox.offer(number)
        assert sorted(await asyncio.wait_for(asyncio.gather(*getters), WAIT)) == [0, 1, 2]

    run(scenario())


def test_a_getter_cancelled_after_its_wake_up_passes_it_on() -> None:
    async def scenario() -> None:
        inbox: Inbox[int] = Inbox(0)
        first = asyncio.create_task(inbox.get())
        second = asyncio.create_task(inbox.get())
        await asyncio.sleep(0)
        inbox.offer(7)  # wakes `first`...
        first.cancel()  # ...which is cancelled before it runs
        assert await asyncio.wait_for(second, WAIT) == 7
        with pytest.raises(asyncio.CancelledError):
            await first

    run(scenario())


def test_a_cancelled_getter_leaves_no_waiter_behind() -> None:
    async def scenario() -> None:
        inbox: Inbox[int] = Inbox(0)
        getter = asyncio.create_task(inbox.get())
        await asyncio.sleep(0)
        getter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await getter
        assert not inbox._getters

    run(scenario())
