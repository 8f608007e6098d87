"""A slow consumer: the client's memory stays bounded however much waits (tests and benchmark).

`fill` queues many messages; `take_slowly` subscribes with a small `queue_size`, takes a few
hundred of them slowly, acknowledging each (unless `ack` is auto), while tracemalloc records
the peak of what Python allocates, then closes the client and notes how long that took and
what it logged. With an ack mode that acknowledges, the client asks the broker for a prefetch
(by default as many as its queue holds), so the broker holds back. With auto ack there is none:
RabbitMQ sends all it can, and only the client bounds its memory (its queue is full, its reader
waits, TCP pushes back on the broker). `drain` empties the queue at the end.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
import uuid
from dataclasses import dataclass
from typing import Final

from stompmodels import AckMode
from stompmodels.aio import Client as AioClient
from stompmodels.blocking import Client as BlockingClient

from ._fault_stream import ClientKind, queue_args
from ._warnings_log import warnings_logged

TIMEOUT: Final = 3.0  # the client's waits, closing included
PAUSE: Final = 0.002  # seconds the slow consumer spends on each message
QUIET: Final = 1.0  # the drain ends after this many seconds without a message


@dataclass(frozen=True, slots=True)
class SlowConsumer:
    """What a slow consumer cost."""

    client: ClientKind
    ack: AckMode
    queued: int  # messages waiting at the broker when the consumer subscribed
    size: int  # bytes in each body
    queue_size: int  # the client's bound on messages held for the consumer
    prefetch: int | None  # the prefetch asked of the broker (None: the client's default)
    taken: int  # messages the consumer took slowly
    peak: int  # bytes: tracemalloc's peak while it did
    close_time: float  # seconds `close` took afterwards
    close_warnings: tuple[str, ...]  # what the client logged at WARNING while closing


def new_destination() -> str:
    return f"/queue/stompmodels-faults-slow-{uuid.uuid4().hex[:12]}"


def fill(broker_url: str, product: str, destination: str, count: int, size: int) -> None:
    """Queue `count` messages of `size` bytes (receipt on the last: all are queued then)."""
    body = b"x" * size
    with BlockingClient(broker_url, timeout=30.0) as client:
        # RabbitMQ makes the queue on first use: with its arguments, before the first SEND.
        client.subscribe(destination, headers=queue_args(product)).unsubscribe()
        for number in range(count):
            last = number == count - 1
            client.send(destination, body, headers=queue_args(product), receipt=last)


def drain(broker_url: str, product: str, destination: str) -> int:
    """Take everything left in `destination` (auto ack); how many there were."""
    drained = 0
    with BlockingClient(broker_url, timeout=TIMEOUT, queue_size=5000) as client:
        subscription = client.subscribe(
            destination, headers={**queue_args(product), "activemq.prefetchSize": "5000"}
        )
        while True:
            try:
                subscription.get(QUIET)
            except TimeoutError:
                return drained
            drained += 1


def take_slowly(
    broker_url: str,
    product: str,
    destination: str,
    queued: int,
    *,
    client: ClientKind = "aio",
    ack: AckMode = "client-individual",
    prefetch: int | None = None,
    taken: int = 300,
    queue_size: int = 100,
    size: int = 1024,
) -> SlowConsumer:
    """Take `taken` messages slowly from `destination`; measure memory, then the close."""
    run = _take_slowly_aio if client == "aio" else _take_slowly_blocking
    with warnings_logged() as warnings:
        peak, close_time = run(
            broker_url,
            destination,
            headers=queue_args(product),
            ack=ack,
            prefetch=prefetch,
            taken=taken,
            queue_size=queue_size,
        )
    return SlowConsumer(
        client,
        ack,
        queued,
        size,
        queue_size,
        prefetch,
        taken,
        peak,
        close_time,
        tuple(warnings.messages),
    )


def _take_slowly_aio(
    broker_url: str,
    destination: str,
    *,
    headers: dict[str, str],
    ack: AckMode,
    prefetch: int | None,
    taken: int,
    queue_size: int,
) -> tuple[int, float]:
    async def scenario() -> tuple[int, float]:
        tracemalloc.start()
        client = AioClient(broker_url, timeout=TIMEOUT, queue_size=queue_size)
        await client.connect()
        try:
            subscription = await client.subscribe(
                destination, ack=ack, headers=headers, prefetch=prefetch
            )
            for _ in range(taken):
                message = await subscription.get()
                await asyncio.sleep(PAUSE)
                if ack != "auto":
                    await subscription.ack(message)
        finally:
            peak = _stop_tracing()
            started = time.monotonic()
            await client.close()
        return peak, time.monotonic() - started

    return asyncio.run(asyncio.wait_for(scenario(), 60))


def _take_slowly_blocking(
    broker_url: str,
    destination: str,
    *,
    headers: dict[str, str],
    ack: AckMode,
    prefetch: int | None,
    taken: int,
    queue_size: int,
) -> tuple[int, float]:
    tracemalloc.start()
    client = BlockingClient(broker_url, timeout=TIMEOUT, queue_size=queue_size)
    client.connect()
    try:
        subscription = client.subscribe(destination, ack=ack, headers=headers, prefetch=prefetch)
        for _ in range(taken):
            message = subscription.get()
            time.sleep(PAUSE)
            if ack != "auto":
                subscription.ack(message)
    finally:
        peak = _stop_tracing()
        started = time.monotonic()
        client.close()
    return peak, time.monotonic() - started


def _stop_tracing() -> int:
    """Stop tracemalloc; the peak of traced memory since it started, in bytes."""
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def iterate_after_close(
    broker_url: str, product: str, destination: str, *, queue_size: int = 50
) -> tuple[int, bool]:
    """A consumer task that iterates a subscription whose queue filled up while the client
    closed: how many messages it got, and whether its `async for` ended (within 5 s)."""

    async def scenario() -> tuple[int, bool]:
        client = AioClient(broker_url, timeout=TIMEOUT, queue_size=queue_size)
        await client.connect()
        subscription = await client.subscribe(destination, headers=queue_args(product))
        start = asyncio.Event()
        got = 0

        async def consume() -> None:
            nonlocal got
            await start.wait()
            async for _ in subscription:
                got += 1

        consumer = asyncio.create_task(consume())
        while len(subscription._queue) < queue_size:  # full: the reader waits for room
            await asyncio.sleep(0.05)
        await client.close()
        start.set()
        done, _ = await asyncio.wait([consumer], timeout=5.0)
        consumer.cancel()
        return got, bool(done)

    return asyncio.run(asyncio.wait_for(scenario(), 60))
