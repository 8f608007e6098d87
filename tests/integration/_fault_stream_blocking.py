"""The stream scenario with `stompmodels.blocking` clients (see `_fault_stream`).

The publisher is `WINDOW` threads sharing one client, each sending one message at a time and
waiting for its receipt; the consumer is the calling thread.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Final

from stompmodels import LocalProtocolError
from stompmodels.blocking import Client, ConnectionLost, Subscription

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
THREADS: Final = min(WINDOW, 16)  # publishing threads


class _Side:
    """One client of the stream and whether its connection is up now."""

    def __init__(self, url: str, role: Role, plan: StreamPlan, progress: StreamProgress) -> None:
        self.up = threading.Event()
        self.client = Client(url, **client_options(plan, progress, role, self.up))


def stream_blocking(
    plan: StreamPlan, progress: StreamProgress, disrupt: Callable[[StreamProgress], None]
) -> str | None:
    """Run the stream with blocking clients; why it failed, or None."""
    consumer = _Side(plan.consumer_url, "consumer", plan, progress)
    publisher = _Side(plan.publisher_url, "publisher", plan, progress)
    try:
        consumer.client.connect()
        subscription = consumer.client.subscribe(
            plan.destination,
            ack="client-individual",
            headers=plan.subscribe_headers,
            prefetch=plan.prefetch,
        )
        publisher.client.connect()
    except (ConnectionLost, TimeoutError) as exc:
        _close(consumer, publisher)
        return f"the stream could not start: {exc!r}"
    disruptor = Disruptor(disrupt, progress)
    disruptor.start()
    failures: list[str] = []
    numbers = _Numbers(progress.count)
    threads = [
        threading.Thread(
            target=_publish,
            args=(plan, progress, publisher, numbers, failures),
            name=f"fault-publisher-{n}",
            daemon=True,
        )
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    watcher = threading.Thread(target=_finish_when_done, args=(threads, plan, progress))
    watcher.start()
    consumed = _consume(plan, progress, subscription, consumer)
    watcher.join(plan.remaining() + 1.0)
    if any(thread.is_alive() for thread in threads):
        failures.append(f"deadline: {progress.confirmed} of {progress.count} confirmed")
    failure = failures[0] if failures else disruptor.outcome(plan.remaining())
    _close(consumer, publisher)
    return consumed or failure


class _Numbers:
    """The numbers to publish, handed out once each to whichever thread asks."""

    def __init__(self, count: int) -> None:
        self._numbers: Iterator[int] = iter(range(count))
        self._lock = threading.Lock()
        self.stopped = False

    def next(self) -> int | None:
        with self._lock:
            return None if self.stopped else next(self._numbers, None)


def _finish_when_done(
    threads: list[threading.Thread], plan: StreamPlan, progress: StreamProgress
) -> None:
    for thread in threads:
        thread.join(plan.remaining())
    progress.finished.set()


def _close(*sides: _Side) -> None:
    for side in sides:
        with contextlib.suppress(ConnectionLost, TimeoutError):
            side.client.close(timeout=2.0)


def _publish(
    plan: StreamPlan,
    progress: StreamProgress,
    side: _Side,
    numbers: _Numbers,
    failures: list[str],
) -> None:
    while (number := numbers.next()) is not None and plan.remaining() > 0:
        failure = _send_until_confirmed(plan, progress, side, number)
        if failure is not None:
            numbers.stopped = True
            failures.append(failure)
            return


def _send_until_confirmed(
    plan: StreamPlan, progress: StreamProgress, side: _Side, number: int
) -> str | None:
    """Send message `number` until its RECEIPT comes; why that failed, or None."""
    if not progress.wait_may_send(number, plan.remaining()):
        return f"deadline: message {number} was held"
    last: BaseException | None = None
    for _ in itertools.repeat(None, ATTEMPTS):
        if not side.up.wait(plan.remaining()):
            return f"deadline: message {number} waits for a connection"
        progress.note_sent()
        try:
            side.client.send(
                plan.destination, plan.body(number), headers=plan.headers, receipt=True
            )
        except (ConnectionLost, TimeoutError, LocalProtocolError) as exc:
            last = exc
            time.sleep(0.01)  # let the "lost" event, on the reconnect thread, clear `up`
            continue
        progress.note_confirmed(number)
        return None
    return f"message {number} was not confirmed in {ATTEMPTS} sends: {last!r}"


def _consume(
    plan: StreamPlan, progress: StreamProgress, subscription: Subscription, side: _Side
) -> str | None:
    """Take and ACK messages until all confirmed ones came and the queue went quiet."""
    last = time.monotonic()
    while plan.remaining() > 0:
        try:
            message = subscription.get(timeout=POLL)
        except TimeoutError:
            if not side.up.is_set():
                last = time.monotonic()  # silence while reconnecting says nothing
            quiet = time.monotonic() - last
            if progress.finished.is_set() and (
                (quiet >= plan.quiet and progress.all_delivered()) or quiet >= MISSING_AFTER
            ):
                return None
            continue
        except (ConnectionLost, LocalProtocolError) as exc:
            return f"the consumer stopped: {exc!r}"
        last = time.monotonic()
        number = plan.number(message.body)
        if number is not None:
            progress.note_delivered(number)
        with contextlib.suppress(ConnectionLost, LocalProtocolError):
            subscription.ack(message)  # if it is lost, the broker delivers it again
    return f"deadline: {progress.delivered} delivered, of {progress.confirmed} confirmed"
