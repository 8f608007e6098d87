"""Typed messages (`@client.subscriber`, `publish`, `request`) against RabbitMQ 3.10 and
ActiveMQ 5.17, with the asyncio client, the blocking client and (a round trip) Twisted.

Each test runs on both brokers (the `broker` fixture); where the brokers differ (what a NACK
does) the test asserts each broker's behaviour, and its docstring says which. Each numbered
scenario has an asyncio test and a blocking one (`test_blocking_...`), which share the
scenario's data and checks and differ only in the lines that drive the client under test:
- `Calls` records what handlers were called with, from any thread (`until` for a coroutine,
  `wait` for a thread), and the peak of handlers running at once;
- `logged` collects the records of every `stompmodels` logger, from any thread;
- the observers (`prepare`, `take`, `expect_empty`, `nacked_leftovers`) open an asyncio
  connection of their own straight to the broker and close it before they return, so a
  blocking or Twisted test calls them with `run(...)`;
- the `check_*` functions hold the assertions on what was recorded.

Handlers of the blocking client are plain functions that really occupy one of its threads
(`time.sleep`, a `threading.Event`); the Twisted test runs on a reactor of its own
(`run_twisted`), never on Twisted's global one, which cannot be restarted.

Every destination is new (a uuid in its name). On RabbitMQ every queue is made with
`x-expires`, so it disappears a few minutes after the test; the dead-letter messages that
ActiveMQ moves to its shared `ActiveMQ.DLQ` carry a unique token header and are taken back
with a selector. Every wait is bounded; each asyncio or Twisted scenario runs under a limit.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final, Generic, TypeVar

import pytest
from pydantic import BaseModel, ValidationError
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.selectreactor import SelectReactor
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from stompmodels import Engine, Message, Receipt, blocking
from stompmodels.aio import Backoff, Client, ConnectionEvent
from stompmodels.twisted import StompClientFactory
from tests.faultproxy import FaultProxy

from ._brokers import Broker

T = TypeVar("T")

SCENARIO_LIMIT: Final = 30.0  # seconds for one scenario, whatever happens
CLIENT_TIMEOUT: Final = 5.0  # each client's bound on its own waits
WAIT: Final = 10.0  # bound on waiting for a handler call, a log record, a message
QUIET: Final = 1.0  # how long "nothing arrives" is watched for
SEEN_ONCE_WINDOW: Final = 1.5  # how long a refused message is watched for a second delivery
POLL: Final = 0.01
QUICK: Final = Backoff(initial=0.05, maximum=0.5, attempts=40)
ACTIVEMQ_DLQ: Final = "/queue/ActiveMQ.DLQ"
TOKEN: Final = "stompmodelsToken"  # a header a selector can name (JMS identifiers have no '-')
JSON: Final = "application/json"


class Order(BaseModel):
    id: int
    amount: float


class Price(BaseModel):
    id: int
    value: float


# -- shared by every client's tests -----------------------------------------------------------


def run(scenario: Coroutine[Any, Any, T], limit: float = SCENARIO_LIMIT) -> T:
    """Run `scenario` on a fresh event loop, failing it if it takes longer than `limit`."""

    async def bounded() -> T:
        async with asyncio.timeout(limit):
            return await scenario

    return asyncio.run(bounded())


def queue_name(label: str) -> str:
    return f"/queue/stompmodels-typed-{label}-{uuid.uuid4().hex[:12]}"


def queue_args(broker: Broker) -> dict[str, str]:
    """Headers of every SUBSCRIBE that may make a queue: on RabbitMQ an expiry (5 minutes
    after its last use); ActiveMQ needs none."""
    return {"x-expires": "300000"} if broker.product == "RabbitMQ" else {}


def is_rabbitmq(broker: Broker) -> bool:
    return broker.product == "RabbitMQ"


class Calls(Generic[T]):
    """What handlers were called with, in order, from any thread; and how many ran at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[T] = []
        self._running = 0
        self.peak = 0

    def add(self, item: T) -> None:
        with self._lock:
            self._items.append(item)

    @property
    def items(self) -> list[T]:
        with self._lock:
            return list(self._items)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count a handler as running while the block runs (`peak` keeps the most at once)."""
        with self._lock:
            self._running += 1
            self.peak = max(self.peak, self._running)
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1

    async def until(self, count: int, timeout: float = WAIT) -> list[T]:
        """The calls, once there are at least `count` (AssertionError after `timeout` s)."""
        deadline = time.monotonic() + timeout
        while len(items := self.items) < count:
            assert time.monotonic() < deadline, (
                f"{count} calls expected within {timeout} s: {items}"
            )
            await asyncio.sleep(POLL)
        return items

    def wait(self, count: int, timeout: float = WAIT) -> list[T]:
        """`until` for a thread (the blocking client's tests)."""
        deadline = time.monotonic() + timeout
        while len(items := self.items) < count:
            assert time.monotonic() < deadline, (
                f"{count} calls expected within {timeout} s: {items}"
            )
            time.sleep(POLL)
        return items


class Records(logging.Handler):
    """The records of the `stompmodels` loggers, INFO and above, from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def about(self, text: str, level: int) -> list[logging.LogRecord]:
        """The records at exactly `level` whose message contains `text`."""
        return [r for r in list(self.records) if r.levelno == level and text in r.getMessage()]

    async def until(self, text: str, level: int, timeout: float = WAIT) -> logging.LogRecord:
        """The first record at `level` about `text` (AssertionError after `timeout` s)."""
        deadline = time.monotonic() + timeout
        while not (found := self.about(text, level)):
            assert time.monotonic() < deadline, f"no {logging.getLevelName(level)} on {text}"
            await asyncio.sleep(POLL)
        return found[0]

    def wait(self, text: str, level: int, timeout: float = WAIT) -> logging.LogRecord:
        """`until` for a thread."""
        deadline = time.monotonic() + timeout
        while not (found := self.about(text, level)):
            assert time.monotonic() < deadline, f"no {logging.getLevelName(level)} on {text}"
            time.sleep(POLL)
        return found[0]


@contextmanager
def logged() -> Iterator[Records]:
    """Collect what every stompmodels logger says at INFO and above while the block runs."""
    handler = Records()
    logger = logging.getLogger("stompmodels")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def recorder(events: list[ConnectionEvent]) -> Callable[[ConnectionEvent, object], None]:
    """An `on_state` callback that appends each event to `events`."""
    return lambda event, _: events.append(event)


async def until_event(
    events: list[ConnectionEvent], event: ConnectionEvent, timeout: float = 15.0
) -> None:
    deadline = time.monotonic() + timeout
    while event not in events:
        assert time.monotonic() < deadline, f"no {event!r} within {timeout} s: {events}"
        await asyncio.sleep(POLL)


def wait_event(
    events: list[ConnectionEvent], event: ConnectionEvent, timeout: float = 15.0
) -> None:
    """`until_event` for a thread."""
    deadline = time.monotonic() + timeout
    while event not in events:
        assert time.monotonic() < deadline, f"no {event!r} within {timeout} s: {events}"
        time.sleep(POLL)


@asynccontextmanager
async def observer(broker: Broker) -> AsyncIterator[Client]:
    """A connection of the test's own, straight to the broker."""
    async with Client(broker.url, timeout=CLIENT_TIMEOUT) as client:
        yield client


def dead_letter_route(broker: Broker, queue: str) -> tuple[str, str]:
    """The `dead_letter` destination for `queue`'s subscriber, and the queue to take the dead
    letters from. RabbitMQ refuses a SEND to a `/queue/` made with other arguments (a SEND
    declares the queue again, without `x-expires`), so its dead letters go to the same queue
    by `/amq/queue/`, which only names a queue that exists (`prepare` it first)."""
    dead = f"{queue}.dead"
    if is_rabbitmq(broker):
        return dead.replace("/queue/", "/amq/queue/", 1), dead
    return dead, dead


async def prepare(broker: Broker, *queues: str) -> None:
    """Make `queues` before anything is sent to them: on RabbitMQ with an expiry."""
    if not queue_args(broker):
        return
    async with observer(broker) as client:
        for queue in queues:
            subscription = await client.subscribe(queue, headers=queue_args(broker))
            await subscription.unsubscribe()


async def take(
    broker: Broker, destination: str, count: int, *, selector: str | None = None
) -> list[Message]:
    """The first `count` messages of `destination` (taken: auto ack), each within WAIT s."""
    headers = {"selector": selector} if selector else queue_args(broker)
    async with observer(broker) as client:
        subscription = await client.subscribe(destination, headers=headers)
        return [await subscription.get(WAIT) for _ in range(count)]


async def expect_empty(
    broker: Broker, queue: str, *, quiet: float = QUIET, sentinel: bool = True
) -> None:
    """A new consumer of `queue` gets nothing within `quiet` s; with `sentinel`, a marker sent
    then is the next message (the consumer was listening; nothing was queued before it). No
    sentinel while another consumer could take it."""
    async with observer(broker) as client:
        subscription = await client.subscribe(
            queue, ack="client-individual", headers=queue_args(broker)
        )
        try:
            message = await subscription.get(quiet)
        except TimeoutError:
            pass
        else:
            raise AssertionError(f"{queue} should be empty, it held {message!r}")
        if sentinel:
            marker = f"sentinel-{uuid.uuid4().hex}"
            await client.send(queue, marker, receipt=True)
            message = await subscription.get(WAIT)
            await subscription.ack(message)
            assert message.text == marker, f"expected nothing before the sentinel: {message!r}"


def dlq_selector(token: str) -> str:
    return f"{TOKEN} = '{token}'"


def persistent(token: str) -> dict[str, str]:
    """Headers of a message ActiveMQ dead-letters when NACKed, findable there by `token`."""
    return {"persistent": "true", TOKEN: token}


async def nacked_leftovers(broker: Broker, queue: str, token: str) -> list[Message]:
    """What a NACK of the message tagged `token` left: on RabbitMQ nothing ([]: `queue` is
    empty); on ActiveMQ the message, taken back from ActiveMQ.DLQ."""
    if is_rabbitmq(broker):
        await expect_empty(broker, queue)
        return []
    return await take(broker, ACTIVEMQ_DLQ, 1, selector=dlq_selector(token))


# -- the clients under test -------------------------------------------------------------------


def make_client(broker: Broker, url: str | None = None, **options: Any) -> Client:
    return Client(url or broker.url, timeout=CLIENT_TIMEOUT, **options)


def make_blocking(broker: Broker, url: str | None = None, **options: Any) -> blocking.Client:
    return blocking.Client(url or broker.url, timeout=CLIENT_TIMEOUT, **options)


# 1. round trip ------------------------------------------------------------------------------


ROUND_TRIP: Final = Order(id=7, amount=9.5)


def check_round_trip(calls: list[tuple[Order, Message]], queue: str) -> None:
    """The handler got ROUND_TRIP once, as an Order, with its JSON Message."""
    [(order, message)] = calls
    assert type(order) is Order
    assert order == ROUND_TRIP
    assert message.destination == queue
    assert message.content_type == JSON
    assert Order.model_validate_json(message.body) == ROUND_TRIP


def test_a_published_model_reaches_its_handler_and_is_acked(broker: Broker) -> None:
    """A model published with a receipt comes back equal, with its Message (JSON content-type);
    once the handler returned, the message is ACKed: neither a second consumer nor one that
    comes after the client closed receives it."""
    queue = queue_name("round-trip")
    calls: Calls[tuple[Order, Message]] = Calls()

    async def scenario() -> None:
        client = make_client(broker)

        @client.subscriber(queue, headers=queue_args(broker))
        async def take_order(order: Order, message: Message) -> None:
            calls.add((order, message))

        async with client:
            await client.publish(queue, ROUND_TRIP, receipt=True)
            await calls.until(1)
            await expect_empty(broker, queue, sentinel=False)  # the subscriber would take one
        await expect_empty(broker, queue)

    run(scenario())
    check_round_trip(calls.items, queue)


def test_blocking_a_published_model_reaches_its_handler_and_is_acked(broker: Broker) -> None:
    """The round trip with the blocking client: a plain-function handler on its thread."""
    queue = queue_name("blocking-round-trip")
    calls: Calls[tuple[Order, Message]] = Calls()
    client = make_blocking(broker)

    @client.subscriber(queue, headers=queue_args(broker))
    def take_order(order: Order, message: Message) -> None:
        calls.add((order, message))

    with client:
        client.publish(queue, ROUND_TRIP, receipt=True)
        calls.wait(1)
        run(expect_empty(broker, queue, sentinel=False))  # the subscriber would take one
    run(expect_empty(broker, queue))
    check_round_trip(calls.items, queue)


# 2. dead letters ----------------------------------------------------------------------------


REFUSED: Final = (("bad-json", b"{not json"), ("bad-order", b'{"id": "seven", "amount": 1.5}'))
"""The bodies a subscriber of Orders must refuse, each with the `trace` header it is sent with."""
VALID_AFTER_REFUSED: Final = Order(id=3, amount=1.5)


def refused_headers(trace: str) -> dict[str, str]:
    """A custom header the dead letter keeps, and an absolute `expires` 5 minutes ahead, which
    it must not (ActiveMQ reads it as the message's expiry; a copy would expire with it)."""
    return {"trace": trace, "expires": str(int(time.time() * 1000) + 300_000)}


async def dead_letters_of(broker: Broker, queue: str, dead: str) -> list[Message]:
    """The two dead letters from `dead`; and `queue` is empty (the refused messages were
    ACKed)."""
    dead_letters = await take(broker, dead, 2)
    await expect_empty(broker, queue)
    return dead_letters


def check_dead_letters(
    dead_letters: list[Message], handled: list[Order], records: Records, queue: str
) -> None:
    """Each REFUSED body was dead-lettered, in order, with its trace and why; the handler saw
    only the valid order; each refusal was logged at ERROR."""
    first, second = dead_letters
    assert handled == [VALID_AFTER_REFUSED]
    check_dead_letter(first, queue, REFUSED[0][1], "Invalid JSON")
    check_dead_letter(second, queue, REFUSED[1][1], "id: ", "valid integer")
    assert (first.headers["trace"], second.headers["trace"]) == ("bad-json", "bad-order")
    assert len(records.about(queue, logging.ERROR)) == 2


def check_dead_letter(message: Message, queue: str, body: bytes, *reasons: str) -> None:
    """`message` is the dead-lettered copy of `body` from `queue`, refused for `reasons`."""
    assert message.body == body
    assert message.content_type == JSON
    assert message.headers["x-original-destination"] == queue
    assert message.headers["x-original-message-id"]
    assert message.headers.get("expires", "0") == "0", "the original's expiry was forwarded"
    reason = message.headers["x-dead-letter-reason"]
    assert reason.startswith("not a valid Order: "), reason
    for part in reasons:
        assert part in reason, reason


def test_invalid_payloads_go_to_the_dead_letter_destination(broker: Broker) -> None:
    """Invalid JSON and a body that fails validation are sent to `dead_letter` with why, where
    from, their body and custom headers (not their `expires`), then ACKed; the handler never
    sees them and goes on with the valid message sent after them."""
    queue = queue_name("dead-letter")
    dead_letter, dead = dead_letter_route(broker, queue)
    calls: Calls[Order] = Calls()

    async def scenario() -> list[Message]:
        await prepare(broker, dead)
        client = make_client(broker)

        @client.subscriber(queue, dead_letter=dead_letter, headers=queue_args(broker))
        async def take_order(order: Order) -> None:
            calls.add(order)

        async with client:
            for trace, body in REFUSED:
                await client.send(
                    queue, body, content_type=JSON, headers=refused_headers(trace), receipt=True
                )
            await client.publish(queue, VALID_AFTER_REFUSED, receipt=True)
            await calls.until(1)
        return await dead_letters_of(broker, queue, dead)

    with logged() as records:
        dead_letters = run(scenario())
    check_dead_letters(dead_letters, calls.items, records, queue)


def test_blocking_invalid_payloads_go_to_the_dead_letter_destination(broker: Broker) -> None:
    """Dead letters with the blocking client."""
    queue = queue_name("blocking-dead-letter")
    dead_letter, dead = dead_letter_route(broker, queue)
    calls: Calls[Order] = Calls()
    run(prepare(broker, dead))
    client = make_blocking(broker)

    @client.subscriber(queue, dead_letter=dead_letter, headers=queue_args(broker))
    def take_order(order: Order) -> None:
        calls.add(order)

    with logged() as records:
        with client:
            for trace, body in REFUSED:
                client.send(
                    queue, body, content_type=JSON, headers=refused_headers(trace), receipt=True
                )
            client.publish(queue, VALID_AFTER_REFUSED, receipt=True)
            calls.wait(1)
        dead_letters = run(dead_letters_of(broker, queue, dead))
    check_dead_letters(dead_letters, calls.items, records, queue)


# 3. an invalid payload without a dead-letter destination ------------------------------------


NOT_AN_ORDER: Final = b'{"id": 1}'
VALID_AFTER_NOT_AN_ORDER: Final = Order(id=2, amount=4.0)


def check_refused_once(
    broker: Broker, in_dlq: list[Message], handled: list[Order], records: Records, queue: str
) -> None:
    """NOT_AN_ORDER was refused once (one ERROR), then dropped (RabbitMQ) or moved to the DLQ
    (ActiveMQ); the handler saw only the valid order."""
    assert handled == [VALID_AFTER_NOT_AN_ORDER]
    refused = records.about(queue, logging.ERROR)
    assert len(refused) == 1, [r.getMessage() for r in refused]
    assert "not a valid Order" in refused[0].getMessage()
    if is_rabbitmq(broker):
        assert in_dlq == []
    else:
        [moved] = in_dlq
        assert moved.body == NOT_AN_ORDER
        assert moved.headers["original-destination"] == queue


def test_an_invalid_payload_without_dead_letter_is_not_redelivered(broker: Broker) -> None:
    """Without `dead_letter`, an invalid payload is NACKed with `requeue:false`, and the
    subscriber refuses it exactly once (one ERROR record within SEEN_ONCE_WINDOW s):
    - RabbitMQ drops it (no dead-letter exchange is configured): the queue is empty after;
    - ActiveMQ moves a NACKed persistent message to /queue/ActiveMQ.DLQ (an ACK would not):
      it is there, with its body and `original-destination`.
    Either way the subscriber goes on with the valid message sent after it."""
    queue = queue_name("no-dead-letter")
    token = uuid.uuid4().hex
    calls: Calls[Order] = Calls()

    async def scenario(records: Records) -> list[Message]:
        client = make_client(broker)

        @client.subscriber(queue, headers=queue_args(broker))
        async def take_order(order: Order) -> None:
            calls.add(order)

        async with client:
            await client.send(
                queue, NOT_AN_ORDER, content_type=JSON, headers=persistent(token), receipt=True
            )
            await records.until(queue, logging.ERROR)
            refused_at = time.monotonic()
            await client.publish(queue, VALID_AFTER_NOT_AN_ORDER, receipt=True)
            await calls.until(1)
            await asyncio.sleep(max(0.0, SEEN_ONCE_WINDOW - (time.monotonic() - refused_at)))
        return await nacked_leftovers(broker, queue, token)

    with logged() as records:
        in_dlq = run(scenario(records))
    check_refused_once(broker, in_dlq, calls.items, records, queue)


def test_blocking_an_invalid_payload_without_dead_letter_is_not_redelivered(
    broker: Broker,
) -> None:
    """No endless redelivery without `dead_letter`, with the blocking client."""
    queue = queue_name("blocking-no-dead-letter")
    token = uuid.uuid4().hex
    calls: Calls[Order] = Calls()
    client = make_blocking(broker)

    @client.subscriber(queue, headers=queue_args(broker))
    def take_order(order: Order) -> None:
        calls.add(order)

    with logged() as records:
        with client:
            client.send(
                queue, NOT_AN_ORDER, content_type=JSON, headers=persistent(token), receipt=True
            )
            records.wait(queue, logging.ERROR)
            refused_at = time.monotonic()
            client.publish(queue, VALID_AFTER_NOT_AN_ORDER, receipt=True)
            calls.wait(1)
            time.sleep(max(0.0, SEEN_ONCE_WINDOW - (time.monotonic() - refused_at)))
        in_dlq = run(nacked_leftovers(broker, queue, token))
    check_refused_once(broker, in_dlq, calls.items, records, queue)


# 4. a handler that raises ---------------------------------------------------------------------


FAILING: Final = Order(id=1, amount=1.0)
AFTER_FAILING: Final = Order(id=2, amount=2.0)


def calls_expected_after_a_failure(broker: Broker) -> int:
    """RabbitMQ: the failing call, its redelivery, the next message; ActiveMQ: no redelivery."""
    return 3 if is_rabbitmq(broker) else 2


def check_raising(
    broker: Broker,
    seen: list[tuple[int, str | None]],
    in_dlq: list[Message],
    records: Records,
    queue: str,
) -> None:
    """`seen` (order id, `redelivered` header) of each call: FAILING first; then its
    redelivery (RabbitMQ) or its copy in the DLQ (ActiveMQ), and AFTER_FAILING; one ERROR
    with the handler's exception."""
    rabbitmq = is_rabbitmq(broker)
    assert seen[0] == (1, "false" if rabbitmq else None)
    if rabbitmq:
        assert Counter(seen) == Counter([(1, "false"), (1, "true"), (2, "false")])
        assert in_dlq == []
    else:
        assert seen == [(1, None), (2, None)]
        [moved] = in_dlq
        assert Order.model_validate_json(moved.body) == FAILING
        assert moved.headers["original-destination"] == queue
    failures = records.about(queue, logging.ERROR)
    assert len(failures) == 1, [r.getMessage() for r in failures]
    assert failures[0].exc_info is not None
    assert isinstance(failures[0].exc_info[1], RuntimeError)


def test_a_raising_handler_nacks_and_the_subscriber_goes_on(broker: Broker) -> None:
    """The handler raises on its first call (logged with the traceback) and the message is
    NACKed:
    - RabbitMQ redelivers it: the handler gets it a second time with `redelivered:true`, and
      that call's ACK leaves the queue empty;
    - ActiveMQ does not redeliver a NACKed message: the persistent one goes to ActiveMQ.DLQ,
      and the handler saw it once.
    The next message is handled either way."""
    queue = queue_name("raising")
    token = uuid.uuid4().hex
    calls: Calls[tuple[int, str | None]] = Calls()

    async def scenario() -> list[Message]:
        client = make_client(broker)

        @client.subscriber(queue, headers=queue_args(broker))
        async def take_order(order: Order, message: Message) -> None:
            calls.add((order.id, message.headers.get("redelivered")))
            if len(calls.items) == 1:
                raise RuntimeError("the first call fails")

        async with client:
            await client.publish(queue, FAILING, headers=persistent(token), receipt=True)
            await client.publish(queue, AFTER_FAILING, headers=persistent(token), receipt=True)
            await calls.until(calls_expected_after_a_failure(broker))
        return await nacked_leftovers(broker, queue, token)

    with logged() as records:
        in_dlq = run(scenario())
    check_raising(broker, calls.items, in_dlq, records, queue)


def test_blocking_a_raising_handler_nacks_and_the_subscriber_goes_on(broker: Broker) -> None:
    """A raising handler with the blocking client: NACK, and per broker as above."""
    queue = queue_name("blocking-raising")
    token = uuid.uuid4().hex
    calls: Calls[tuple[int, str | None]] = Calls()
    client = make_blocking(broker)

    @client.subscriber(queue, headers=queue_args(broker))
    def take_order(order: Order, message: Message) -> None:
        calls.add((order.id, message.headers.get("redelivered")))
        if len(calls.items) == 1:
            raise RuntimeError("the first call fails")

    with logged() as records:
        with client:
            client.publish(queue, FAILING, headers=persistent(token), receipt=True)
            client.publish(queue, AFTER_FAILING, headers=persistent(token), receipt=True)
            calls.wait(calls_expected_after_a_failure(broker))
        in_dlq = run(nacked_leftovers(broker, queue, token))
    check_raising(broker, calls.items, in_dlq, records, queue)


# 5. concurrency and heart-beats ---------------------------------------------------------------


CONCURRENT: Final = 4  # max_concurrent
MESSAGES: Final = 12
HANDLER_TIME: Final = 0.3


def check_concurrency(calls: Calls[int]) -> None:
    """Exactly CONCURRENT handlers ran at once at the peak, and each message was handled once."""
    assert calls.peak == CONCURRENT
    assert sorted(calls.items) == list(range(MESSAGES))


@pytest.mark.parametrize("prefetch", [None, MESSAGES])
def test_max_concurrent_bounds_the_handlers_running_at_once(
    broker: Broker, prefetch: int | None
) -> None:
    """12 messages, handlers of 0.3 s, max_concurrent=4: exactly 4 run at once at the peak
    (never more), and every message is handled once. With the default prefetch (4) the broker
    holds the rest back; with prefetch=12 it sends all 12 and the workers alone bound it."""
    queue = queue_name("concurrent")
    calls: Calls[int] = Calls()

    async def scenario() -> None:
        client = make_client(broker)

        @client.subscriber(
            queue, max_concurrent=CONCURRENT, prefetch=prefetch, headers=queue_args(broker)
        )
        async def take_order(order: Order) -> None:
            with calls.running():
                await asyncio.sleep(HANDLER_TIME)
            calls.add(order.id)

        async with client:
            for n in range(MESSAGES):
                await client.publish(queue, Order(id=n, amount=n), receipt=True)
            await calls.until(MESSAGES)

    run(scenario())
    check_concurrency(calls)


@pytest.mark.parametrize("prefetch", [None, MESSAGES])
def test_blocking_max_concurrent_bounds_the_handlers_running_at_once(
    broker: Broker, prefetch: int | None
) -> None:
    """max_concurrent with the blocking client: 4 threads, each busy in `time.sleep`."""
    queue = queue_name("blocking-concurrent")
    calls: Calls[int] = Calls()
    client = make_blocking(broker)

    @client.subscriber(
        queue, max_concurrent=CONCURRENT, prefetch=prefetch, headers=queue_args(broker)
    )
    def take_order(order: Order) -> None:
        with calls.running():
            time.sleep(HANDLER_TIME)
        calls.add(order.id)

    with client:
        for n in range(MESSAGES):
            client.publish(queue, Order(id=n, amount=n), receipt=True)
        calls.wait(MESSAGES)
    check_concurrency(calls)


FAST_BEATS: Final = (200, 200)


def slow_handler_time(broker: Broker) -> float:
    """Longer than the broker waits for a silent client: ActiveMQ (200 ms) gives up after
    about 0.6 s; RabbitMQ (1000 ms) after 2 to 3 s."""
    return 3.5 if is_rabbitmq(broker) else 2.0


def check_beats(engine: Engine) -> None:
    """Heart-beats of at most 1 s each way were negotiated (RabbitMQ rounds 200 ms up to 1 s)."""
    beats = engine.heart_beat
    assert 0 < beats.send_ms <= 1000 and 0 < beats.receive_ms <= 1000, beats


def test_heart_beats_flow_while_a_handler_is_slow(broker: Broker) -> None:
    """Heart-beats of at most 1 s each way (RabbitMQ rounds 200 ms up to 1000 ms) and a handler
    slower than the broker's patience with a silent client (2 s; 3.5 s on RabbitMQ): the
    connection stays up (no failure, no reconnect), and the message is ACKed once the handler
    returned."""
    queue = queue_name("slow-handler")
    nowhere = f"/topic/stompmodels-typed-alive-{uuid.uuid4().hex[:12]}"
    slow = slow_handler_time(broker)
    calls: Calls[str] = Calls()
    events: list[ConnectionEvent] = []

    async def scenario() -> None:
        client = make_client(broker, heart_beat=FAST_BEATS, on_state=recorder(events))

        @client.subscriber(queue, headers=queue_args(broker))
        async def take_order(order: Order) -> None:
            calls.add("started")
            await asyncio.sleep(slow)
            calls.add("returned")

        async with client:
            check_beats(client.engine)
            await client.publish(queue, Order(id=1, amount=1.0), receipt=True)
            await calls.until(2, timeout=WAIT)
            await client.publish(nowhere, "the connection still writes", receipt=True)
            assert client.failure is None
            assert events == ["connected"]
        await expect_empty(broker, queue)

    run(scenario())
    assert calls.items == ["started", "returned"]
    assert events == ["connected", "closed"]


def test_blocking_heart_beats_flow_while_a_handler_is_slow(broker: Broker) -> None:
    """Heart-beats under a slow handler with the blocking client, whose handler really holds
    its thread for the whole 2 s (3.5 s on RabbitMQ): the reader and heart-beat threads keep
    the connection up, and the message is ACKed after."""
    queue = queue_name("blocking-slow-handler")
    nowhere = f"/topic/stompmodels-typed-alive-{uuid.uuid4().hex[:12]}"
    slow = slow_handler_time(broker)
    calls: Calls[str] = Calls()
    events: list[ConnectionEvent] = []
    client = make_blocking(broker, heart_beat=FAST_BEATS, on_state=recorder(events))

    @client.subscriber(queue, headers=queue_args(broker))
    def take_order(order: Order) -> None:
        calls.add("started")
        time.sleep(slow)
        calls.add("returned")

    with client:
        check_beats(client.engine)
        client.publish(queue, Order(id=1, amount=1.0), receipt=True)
        calls.wait(2, timeout=WAIT)
        client.publish(nowhere, "the connection still writes", receipt=True)
        assert client.failure is None
        assert events == ["connected"]
    run(expect_empty(broker, queue))
    assert calls.items == ["started", "returned"]
    assert events == ["connected", "closed"]


# 6. request/reply ----------------------------------------------------------------------------


REQUESTS: Final = 100
ORDERS: Final = [Order(id=n, amount=n + 0.5) for n in range(REQUESTS)]


def price_of(order: Order) -> Price:
    return Price(id=order.id, value=2 * order.amount)


def bad_price_of(order: Order) -> dict[str, object]:
    """A reply that is not a Price: its `value` is no number."""
    return {"id": order.id, "value": "a lot"}


def nobody() -> str:
    return f"/topic/stompmodels-typed-nobody-{uuid.uuid4().hex[:12]}"


def check_invalid_reply(error: ValidationError) -> None:
    assert [detail["loc"] for detail in error.errors()] == [("value",)]


def test_concurrent_requests_each_get_their_own_reply(broker: Broker) -> None:
    """100 concurrent requests from one client to a subscriber on another: every reply is the
    Price of its own Order."""
    queue = queue_name("prices")
    args = queue_args(broker)  # a request's SEND declares the queue again on RabbitMQ

    async def scenario() -> list[Price]:
        server = make_client(broker)

        @server.subscriber(queue, max_concurrent=8, headers=args)
        async def price(order: Order) -> Price:
            return price_of(order)

        async with server, make_client(broker) as client:
            return await asyncio.gather(
                *(
                    client.request(queue, order, response=Price, timeout=10, headers=args)
                    for order in ORDERS
                )
            )

    assert run(scenario()) == [price_of(order) for order in ORDERS]


def test_blocking_concurrent_requests_each_get_their_own_reply(broker: Broker) -> None:
    """100 requests from 100 threads of one blocking client, all under way at once (the
    server answers none until every thread is in its `request`), to a blocking subscriber on
    another: every reply is the Price of its own Order."""
    queue = queue_name("blocking-prices")
    args = queue_args(broker)
    under_way: Calls[None] = Calls()
    all_under_way = threading.Event()
    server = make_blocking(broker)

    @server.subscriber(queue, max_concurrent=8, headers=args)
    def price(order: Order) -> Price:
        assert all_under_way.wait(WAIT)
        return price_of(order)

    def ask(client: blocking.Client, order: Order) -> Price:
        with under_way.running():
            return client.request(queue, order, response=Price, timeout=WAIT, headers=args)

    with server, make_blocking(broker) as client, ThreadPoolExecutor(REQUESTS) as pool:
        asked = [pool.submit(ask, client, order) for order in ORDERS]
        deadline = time.monotonic() + WAIT
        while under_way.peak < REQUESTS and time.monotonic() < deadline:
            time.sleep(POLL)
        all_under_way.set()
        prices = [request.result(WAIT) for request in asked]
    assert under_way.peak == REQUESTS
    assert prices == [price_of(order) for order in ORDERS]


def test_a_request_nobody_answers_times_out(broker: Broker) -> None:
    """A request to a topic nobody listens on raises TimeoutError after its own timeout."""

    async def scenario() -> float:
        async with make_client(broker) as client:
            started = time.monotonic()
            with pytest.raises(TimeoutError, match="no reply from"):
                await client.request(nobody(), ROUND_TRIP, response=Price, timeout=0.5)
            return time.monotonic() - started

    elapsed = run(scenario())
    assert 0.45 <= elapsed < 3.0, elapsed


def test_blocking_a_request_nobody_answers_times_out(broker: Broker) -> None:
    """The blocking client's request times out after its own timeout."""
    with make_blocking(broker) as client:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="no reply from"):
            client.request(nobody(), ROUND_TRIP, response=Price, timeout=0.5)
        elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 3.0, elapsed


def test_an_invalid_reply_raises_a_validation_error(broker: Broker) -> None:
    """A reply that is not a valid `response` raises pydantic's ValidationError, naming the
    field."""
    queue = queue_name("bad-prices")

    async def scenario() -> ValidationError:
        server = make_client(broker)

        @server.subscriber(queue, headers=queue_args(broker))
        async def price(order: Order) -> dict[str, object]:
            return bad_price_of(order)

        async with server, make_client(broker) as client:
            with pytest.raises(ValidationError) as raised:
                await client.request(queue, ROUND_TRIP, response=Price, headers=queue_args(broker))
        return raised.value

    check_invalid_reply(run(scenario()))


def test_blocking_an_invalid_reply_raises_a_validation_error(broker: Broker) -> None:
    """An invalid reply to the blocking client's request raises ValidationError."""
    queue = queue_name("blocking-bad-prices")
    server = make_blocking(broker)

    @server.subscriber(queue, headers=queue_args(broker))
    def price(order: Order) -> dict[str, object]:
        return bad_price_of(order)

    with server, make_blocking(broker) as client, pytest.raises(ValidationError) as raised:
        client.request(queue, ROUND_TRIP, response=Price, headers=queue_args(broker))
    check_invalid_reply(raised.value)


# 7. reconnect with a handler in flight ----------------------------------------------------------


HELD: Final = Order(id=1, amount=1.0)  # its first delivery's handler is in flight at the cut
AFTER_RECONNECT: Final = Order(id=2, amount=2.0)


def check_reconnect(
    broker: Broker,
    seen: list[tuple[int, str | None]],
    events: list[ConnectionEvent],
    records: Records,
) -> None:
    """HELD was handled twice (the second time redelivered), then AFTER_RECONNECT; one
    reconnect; one INFO saying the first call's ACK was not sent."""
    first = "false" if is_rabbitmq(broker) else None  # ActiveMQ: no header on a first delivery
    assert seen == [(1, first), (1, "true"), (2, first)]
    assert events == ["connected", "lost", "reconnected", "closed"]
    stale = records.about("came before a reconnect", logging.INFO)
    assert len(stale) == 1, [r.getMessage() for r in stale]
    assert stale[0].getMessage().startswith("subscriber ")
    assert "ACK of message" in stale[0].getMessage()


def test_a_handler_in_flight_across_a_reconnect_is_not_acked(broker: Broker) -> None:
    """The connection is cut while a handler runs; the client reconnects. When the handler then
    returns, its message is not ACKed on the new connection (INFO: "came before a reconnect"):
    the broker delivers it again and the handler sees it a second time, with `redelivered:true`
    on both brokers (ActiveMQ sends the header only on a redelivery). New messages are handled
    on the new connection, and at the end the queue is empty."""
    queue = queue_name("reconnect")
    calls: Calls[tuple[int, str | None]] = Calls()
    events: list[ConnectionEvent] = []

    async def scenario(proxy: FaultProxy) -> None:
        release = asyncio.Event()
        client = make_client(
            broker, proxy.url(broker.url), reconnect=QUICK, on_state=recorder(events)
        )

        @client.subscriber(queue, headers=queue_args(broker))
        async def take_order(order: Order, message: Message) -> None:
            calls.add((order.id, message.headers.get("redelivered")))
            if order.id == HELD.id:
                await release.wait()  # only the first delivery waits: it is set after that

        async with client:
            await client.publish(queue, HELD, receipt=True)
            await calls.until(1)
            await asyncio.to_thread(proxy.cut)
            await until_event(events, "reconnected")
            release.set()
            await calls.until(2)
            await client.publish(queue, AFTER_RECONNECT, receipt=True)
            await calls.until(3)
            assert client.failure is None
        await expect_empty(broker, queue)

    with logged() as records, FaultProxy(broker.port) as proxy:
        run(scenario(proxy))
    check_reconnect(broker, calls.items, events, records)


def test_blocking_a_handler_in_flight_across_a_reconnect_is_not_acked(broker: Broker) -> None:
    """The reconnect with the blocking client: the handler thread is held on an Event across
    the cut and the reconnect; its message is not ACKed on the new connection, comes again,
    and the subscriber's thread goes on with it and the next message."""
    queue = queue_name("blocking-reconnect")
    calls: Calls[tuple[int, str | None]] = Calls()
    events: list[ConnectionEvent] = []
    release = threading.Event()

    with logged() as records, FaultProxy(broker.port) as proxy:
        client = make_blocking(
            broker, proxy.url(broker.url), reconnect=QUICK, on_state=recorder(events)
        )

        @client.subscriber(queue, headers=queue_args(broker))
        def take_order(order: Order, message: Message) -> None:
            calls.add((order.id, message.headers.get("redelivered")))
            if order.id == HELD.id:
                release.wait(WAIT)  # only the first delivery waits: it is set after that

        with client:
            client.publish(queue, HELD, receipt=True)
            calls.wait(1)
            proxy.cut()
            wait_event(events, "reconnected")
            release.set()
            calls.wait(2)
            client.publish(queue, AFTER_RECONNECT, receipt=True)
            calls.wait(3)
            assert client.failure is None
        run(expect_empty(broker, queue))
    check_reconnect(broker, calls.items, events, records)


# Twisted: a round trip ------------------------------------------------------------------------


def run_twisted(
    scenario: Callable[[SelectReactor], Coroutine[Deferred[Any], Any, T]],
    limit: float = SCENARIO_LIMIT,
) -> T:
    """Run `scenario` on a reactor of its own, on this thread, cancelling it after `limit` s.
    A new SelectReactor each time: Twisted's global reactor cannot run twice in a process,
    and is left alone (the factory is given this one). So the scenario must not use helpers
    that reach for the global one (`deferToThread`, say: it would never fire)."""
    reactor = SelectReactor()
    outcome: list[T | Failure] = []

    def start() -> None:
        running = Deferred.fromCoroutine(scenario(reactor))
        timer = reactor.callLater(limit, running.cancel)

        def done(result: T | Failure) -> None:
            if timer.active():
                timer.cancel()
            outcome.append(result)
            reactor.stop()

        running.addBoth(done)

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    [result] = outcome
    if isinstance(result, Failure):
        if isinstance(result.value, CancelledError):
            raise AssertionError(f"the Twisted scenario did not finish within {limit} s")
        result.raiseException()
    return result


def test_twisted_typed_subscribers_publish_and_request(broker: Broker) -> None:
    """On Twisted, a factory subscriber written as `async def` (it awaits the reactor before it
    returns) gets the Order sent with `protocol.publish` (which fires with the RECEIPT), and
    one that returns a Deferred (fired later by the reactor) answers `protocol.request` with
    the Price of its Order. Both messages are ACKed once their handlers are done: the queues
    are empty after the factory closed."""
    orders_queue = queue_name("twisted-orders")
    prices_queue = queue_name("twisted-prices")
    args = queue_args(broker)
    taken: Calls[tuple[Order, Message]] = Calls()
    priced: Calls[Order] = Calls()

    async def scenario(reactor: SelectReactor) -> tuple[Receipt | None, Price]:
        factory = StompClientFactory(broker.url, reactor=reactor, timeout=CLIENT_TIMEOUT)

        @factory.subscriber(orders_queue, headers=args)
        async def take_order(order: Order, message: Message) -> None:
            await deferLater(reactor, 0.05)
            taken.add((order, message))

        @factory.subscriber(prices_queue, headers=args)
        def price(order: Order) -> Deferred[Price]:
            priced.add(order)
            return deferLater(reactor, 0.05, price_of, order)

        try:
            stomp = await factory.connect()
            receipt = await stomp.publish(orders_queue, ROUND_TRIP, receipt=True)
            reply = await stomp.request(
                prices_queue, ORDERS[1], response=Price, timeout=WAIT, headers=args
            )
            deadline = reactor.seconds() + WAIT
            while not taken.items and reactor.seconds() < deadline:
                await deferLater(reactor, POLL)
        finally:
            await factory.close()
        return receipt, reply

    receipt, reply = run_twisted(scenario)
    assert isinstance(receipt, Receipt)
    assert reply == price_of(ORDERS[1])
    assert priced.items == [ORDERS[1]]
    check_round_trip(taken.items, orders_queue)
    run(expect_empty(broker, orders_queue))
    run(expect_empty(broker, prices_queue))
