"""The stream scenario with `stompmodels.aio` clients (see `_fault_stream`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Final

from stompmodels import LocalProtocolError
from stompmodels.aio import Client, ConnectionLost, Subscription

from ._fault_stream import (
    ATTEMPTS,
    MISSING_AFTER,
    WINDOW,
    Disruptor,
    Role,
    StreamPlan,
    StreamProgress,
    client_options,
)

POLL: Final = 0.2  # how often the consumer looks at the clock while no message comes


class GaveUp(Exception):
    """The publisher cannot go on (its client gave up, or one message never got through)."""


def stream_aio(
    plan: StreamPlan, progress: StreamProgress, disrupt: Callable[[StreamProgress], None]
) -> str | None:
    """Run the stream on a new event loop; why it failed, or None."""
    return asyncio.run(_stream(plan, progress, disrupt))


class _Side:
    """One client of the stream and whether its connection is up now."""

    def __init__(self, url: str, role: Role, plan: StreamPlan, progress: StreamProgress) -> None:
        self.up = asyncio.Event()
        self.client = Client(url, **client_options(plan, progress, role, self.up))


async def _stream(
    plan: StreamPlan, progress: StreamProgress, disrupt: Callable[[StreamProgress], None]
) -> str | None:
    consumer = _Side(plan.consumer_url, "consumer", plan, progress)
    publisher = _Side(plan.publisher_url, "publisher", plan, progress)
    try:
        async with asyncio.timeout(plan.remaining()):
            await consumer.client.connect()
            subscription = await consumer.client.subscribe(
                plan.destination,
                ack="client-individual",
                headers=plan.subscribe_headers,
                prefetch=plan.prefetch,
            )
            await publisher.client.connect()
    except (ConnectionLost, TimeoutError) as exc:
        await _close(consumer, publisher)
        return f"the stream could not start: {exc!r}"
    disruptor = Disruptor(disrupt, progress)
    disruptor.start()
    consuming = asyncio.create_task(_consume(plan, progress, subscription, consumer))
    try:
        failure = await _publish(plan, progress, publisher)
    finally:
        progress.finished.set()
    failure = failure or await asyncio.to_thread(disruptor.outcome, plan.remaining())
    failure = (await consuming) or failure
    await _close(consumer, publisher)
    return failure


async def _close(*sides: _Side) -> None:
    for side in sides:
        with contextlib.suppress(ConnectionLost, TimeoutError):
            await side.client.close(timeout=2.0)


async def _publish(plan: StreamPlan, progress: StreamProgress, side: _Side) -> str | None:
    numbers = iter(range(progress.count))  # shared by the workers: each number is taken once

    async def worker() -> None:
        for number in numbers:
            while not progress.may_send(number):  # held for a disruption; the deadline bounds it
                await asyncio.sleep(0.01)
            await _send_until_confirmed(plan, progress, side, number)

    async def workers() -> str | None:
        failure: str | None = None
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(WINDOW):
                    group.create_task(worker())
        except* GaveUp as failures:
            failure = str(failures.exceptions[0])
        return failure

    try:
        async with asyncio.timeout(plan.remaining()):
            return await workers()
    except TimeoutError:
        return f"deadline: {progress.confirmed} of {progress.count} confirmed"


async def _send_until_confirmed(
    plan: StreamPlan, progress: StreamProgress, side: _Side, number: int
) -> None:
    """Send message `number` until its RECEIPT comes: after a loss, on the new connection."""
    last: BaseException | None = None
    for _ in range(ATTEMPTS):
        await side.up.wait()
        progress.note_sent()
        try:
            await side.client.send(
                plan.destination, plan.body(number), headers=plan.headers, receipt=True
            )
        except (ConnectionLost, TimeoutError, LocalProtocolError) as exc:
            if side.client.failure is not None:
                raise GaveUp(f"the publisher gave up: {side.client.failure}") from None
            last = exc
            await asyncio.sleep(0.01)  # the "lost" event clears `up` before we get here
            continue
        progress.note_confirmed(number)
        return
    raise GaveUp(f"message {number} was not confirmed in {ATTEMPTS} sends: {last!r}")


async def _consume(
    plan: StreamPlan, progress: StreamProgress, subscription: Subscription, side: _Side
) -> str | None:
    """Take and ACK messages until all confirmed ones came and the queue went quiet."""
    loop = asyncio.get_running_loop()
    last = loop.time()
    while plan.remaining() > 0:
        try:
            message = await subscription.get(timeout=POLL)
        except TimeoutError:
            if not side.up.is_set():
                last = loop.time()  # silence while reconnecting says nothing
            quiet = loop.time() - last
            if progress.finished.is_set() and (
                (quiet >= plan.quiet and progress.all_delivered()) or quiet >= MISSING_AFTER
            ):
                return None
            continue
        except (ConnectionLost, StopAsyncIteration) as exc:
            return f"the consumer stopped: {side.client.failure or exc!r}"
        last = loop.time()
        number = plan.number(message.body)
        if number is not None:
            progress.note_delivered(number)
        with contextlib.suppress(ConnectionLost, LocalProtocolError):
            await subscription.ack(message)  # if it is lost, the broker delivers it again
    return f"deadline: {progress.delivered} delivered, of {progress.confirmed} confirmed"
