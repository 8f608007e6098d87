"""Typed messages (`@client.subscriber`, `publish`, `request`) against RabbitMQ 3.10 and
ActiveMQ 5.17, with the asyncio client.

Each test runs on both brokers (the `broker` fixture); where the brokers differ (what a NACK
does) the test asserts each broker's behaviour, and its docstring says which.

The tests are split so that the blocking client's variants can reuse everything but the few
lines that drive the client under test:
- `Calls` records what handlers were called with, from any thread (`until` for a coroutine,
  `wait` for a thread), and the peak of handlers running at once;
- `logged` collects the records of every `stompmodels` logger;
- the observers (`prepare`, `take`, `expect_empty`) open a connection of their own straight to
  the broker and close it before they return, so a blocking test calls them with `run(...)`;
- the `check_*` functions hold the assertions on what was recorded.

Every destination is new (a uuid in its name). On RabbitMQ every queue is made with
`x-expires`, so it disappears a few minutes after the test; the dead-letter messages that
ActiveMQ moves to its shared `ActiveMQ.DLQ` carry a unique token header and are taken back
with a selector. Every wait is bounded, and each scenario runs under `asyncio.timeout`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Final, Generic, TypeVar

import pytest
from pydantic import BaseModel, ValidationError

from stompmodels import Message
from stompmodels.aio import Backoff, Client, ConnectionEvent
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


# -- shared by the asyncio tests and the blocking variants ----------------------------------


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


def check_dead_letter(message: Message, queue: str, body: bytes, *reasons: str) -> None:
    """`message` is the dead-lettered copy of `body` from `queue`, refused for `reasons`."""
    assert message.body == body
    assert message.content_type == JSON
    assert message.headers["x-original-destination"] == queue
    assert message.headers["x-original-message-id"]
    reason = message.headers["x-dead-letter-reason"]
    assert reason.startswith("not a valid Order: "), reason
    for part in reasons:
        assert part in reason, reason


def check_seen_once(records: Records, queue: str) -> None:
    """One ERROR about a refused message of `queue` (the client under test watched for more
    for SEEN_ONCE_WINDOW s before it closed)."""
    refused = records.about(queue, logging.ERROR)
    assert len(refused) == 1, [r.getMessage() for r in refused]
    assert "not a valid Order" in refused[0].getMessage()


# -- the client under test -------------------------------------------------------------------


def make_client(broker: Broker, url: str | None = None, **options: Any) -> Client:
    return Client(url or broker.url, timeout=CLIENT_TIMEOUT, **options)


# 1. round trip ------------------------------------------------------------------------------


def test_a_published_model_reaches_its_handler_and_is_acked(broker: Broker) -> None:
    """A model published with a receipt comes back equal, with its Message (JSON content-type);
    once the handler returned, the message is ACKed: neither a second consumer nor one that
    comes after the client closed receives it."""
    queue = queue_name("round-trip")
    sent = Order(id=7, amount=9.5)
    calls: Calls[tuple[Order, Message]] = Calls()

    async def scenario() -> None:
        client = make_client(broker)

        @client.subscriber(queue, headers=queue_args(broker))
        async def take_order(order: Order, message: Message) -> None:
            calls.add((order, message))

        async with client:
            await client.publish(queue, sent, receipt=True)
            await calls.until(1)
            await expect_empty(broker, queue, sentinel=False)  # the subscriber would take one
        await expect_empty(broker, queue)

    run(scenario())
    [(order, message)] = calls.items
    assert type(order) is Order
    assert order == sent
    assert message.destination == queue
    assert message.content_type == JSON
    assert Order.model_validate_json(message.body) == sent


# 2. dead letters ----------------------------------------------------------------------------


def test_invalid_payloads_go_to_the_dead_letter_destination(broker: Broker) -> None:
    """Invalid JSON and a body that fails validation are sent to `dead_letter` with why, where
    from, their body and custom headers, then ACKed; the handler never sees them and goes on
    with the valid message sent after them."""
    queue = queue_name("dead-letter")
    dead_letter, dead = dead_letter_route(broker, queue)
    bad_json = b"{not json"
    bad_order = b'{"id": "seven", "amount": 1.5}'
    valid = Order(id=3, amount=1.5)
    calls: Calls[Order] = Calls()

    async def scenario() -> list[Message]:
        await prepare(broker, dead)
        client = make_client(broker)

        @client.subscriber(queue, dead_letter=dead_letter, headers=queue_args(broker))
        async def take_order(order: Order) -> None:
            calls.add(order)

        async with client:
            for trace, body in (("bad-json", bad_json), ("bad-order", bad_order)):
                await client.send(
                    queue, body, content_type=JSON, headers={"trace": trace}, receipt=True
                )
            await client.publish(queue, valid, receipt=True)
            await calls.until(1)
        dead_letters = await take(broker, dead, 2)
        await expect_empty(broker, queue)  # the refused messages were ACKed
        return dead_letters

    with logged() as records:
        first, second = run(scenario())
    assert calls.items == [valid]
    check_dead_letter(first, queue, bad_json, "Invalid JSON")
    check_dead_letter(second, queue, bad_order, "id: ", "valid integer")
    assert (first.headers["trace"], second.headers["trace"]) == ("bad-json", "bad-order")
    assert len(records.about(queue, logging.ERROR)) == 2


# 3. an invalid payload without a dead-letter destination ------------------------------------


def test_an_invalid_payload_without_dead_letter_is_not_redelivered(broker: Broker) -> None:
    """Without `dead_letter`, an invalid payload is NACKed with `requeue:false`, and the
    subscriber refuses it exactly once (one ERROR record within SEEN_ONCE_WINDOW s):
    - RabbitMQ drops it (no dead-letter exchange is configured): the queue is empty after;
    - ActiveMQ moves a NACKed persistent message to /queue/ActiveMQ.DLQ (an ACK would not):
      it is there, with its body and `original-destination`.
    Either way the subscriber goes on with the valid message sent after it."""
    queue = queue_name("no-dead-letter")
    token = uuid.uuid4().hex
    bad = b'{"id": 1}'
    valid = Order(id=2, amount=4.0)
    calls: Calls[Order] = Calls()

    async def scenario(records: Records) -> list[Message]:
        client = make_client(broker)

        @client.subscriber(queue, headers=queue_args(broker))
        async def take_order(order: Order) -> None:
            calls.add(order)

        async with client:
            headers = {"persistent": "true", TOKEN: token}
            await client.send(queue, bad, content_type=JSON, headers=headers, receipt=True)
            await records.until(queue, logging.ERROR)
            refused_at = time.monotonic()
            await client.publish(queue, valid, receipt=True)
            await calls.until(1)
            await asyncio.sleep(max(0.0, SEEN_ONCE_WINDOW - (time.monotonic() - refused_at)))
        if is_rabbitmq(broker):
            await expect_empty(broker, queue)
            return []
        return await take(broker, ACTIVEMQ_DLQ, 1, selector=dlq_selector(token))

    with logged() as records:
        in_dlq = run(scenario(records))
    assert calls.items == [valid]
    check_seen_once(records, queue)
    if is_rabbitmq(broker):
        assert in_dlq == []
    else:
        [moved] = in_dlq
        assert moved.body == bad
        assert moved.headers["original-destination"] == queue


# 4. a handler that raises ---------------------------------------------------------------------


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
    failing, next_one = Order(id=1, amount=1.0), Order(id=2, amount=2.0)
    calls: Calls[tuple[int, str | None]] = Calls()
    rabbitmq = is_rabbitmq(broker)

    async def scenario() -> list[Message]:
        client = make_client(broker)

        @client.subscriber(queue, headers=queue_args(broker))
        async def take_order(order: Order, message: Message) -> None:
            calls.add((order.id, message.headers.get("redelivered")))
            if len(calls.items) == 1:
                raise RuntimeError("the first call fails")

        async with client:
            headers = {"persistent": "true", TOKEN: token}
            await client.publish(queue, failing, headers=headers, receipt=True)
            await client.publish(queue, next_one, headers=headers, receipt=True)
            await calls.until(3 if rabbitmq else 2)
        if rabbitmq:
            await expect_empty(broker, queue)
            return []
        return await take(broker, ACTIVEMQ_DLQ, 1, selector=dlq_selector(token))

    with logged() as records:
        in_dlq = run(scenario())
    seen = calls.items
    assert seen[0] == (1, "false" if rabbitmq else None)
    if rabbitmq:
        assert Counter(seen) == Counter([(1, "false"), (1, "true"), (2, "false")])
        assert in_dlq == []
    else:
        assert seen == [(1, None), (2, None)]
        [moved] = in_dlq
        assert Order.model_validate_json(moved.body) == failing
        assert moved.headers["original-destination"] == queue
    failures = records.about(queue, logging.ERROR)
    assert len(failures) == 1, [r.getMessage() for r in failures]
    assert failures[0].exc_info is not None
    assert isinstance(failures[0].exc_info[1], RuntimeError)


# 5. concurrency and heart-beats ---------------------------------------------------------------


@pytest.mark.parametrize("prefetch", [None, 12])
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

        @client.subscriber(queue, max_concurrent=4, prefetch=prefetch, headers=queue_args(broker))
        async def take_order(order: Order) -> None:
            with calls.running():
                await asyncio.sleep(0.3)
            calls.add(order.id)

        async with client:
            for n in range(12):
                await client.publish(queue, Order(id=n, amount=n), receipt=True)
            await calls.until(12)

    run(scenario())
    assert calls.peak == 4
    assert sorted(calls.items) == list(range(12))


def test_heart_beats_flow_while_a_handler_is_slow(broker: Broker) -> None:
    """Heart-beats of at most 1 s each way (RabbitMQ rounds 200 ms up to 1000 ms) and a handler
    slower than the broker's patience with a silent client (2 s; 3.5 s on RabbitMQ): the
    connection stays up (no failure, no reconnect), and the message is ACKed once the handler
    returned."""
    queue = queue_name("slow-handler")
    nowhere = f"/topic/stompmodels-typed-alive-{uuid.uuid4().hex[:12]}"
    # Longer than the broker waits for a silent client: ActiveMQ (200 ms) gives up after about
    # 0.6 s; RabbitMQ (1000 ms) after 2 to 3 s.
    slow = 3.5 if is_rabbitmq(broker) else 2.0
    calls: Calls[str] = Calls()
    events: list[ConnectionEvent] = []

    async def scenario() -> None:
        client = make_client(
            broker, heart_beat=(200, 200), on_state=lambda event, _: events.append(event)
        )

        @client.subscriber(queue, headers=queue_args(broker))
        async def take_order(order: Order) -> None:
            calls.add("started")
            await asyncio.sleep(slow)
            calls.add("returned")

        async with client:
            beats = client.engine.heart_beat
            assert 0 < beats.send_ms <= 1000 and 0 < beats.receive_ms <= 1000, beats
            await client.publish(queue, Order(id=1, amount=1.0), receipt=True)
            await calls.until(2, timeout=WAIT)
            await client.publish(nowhere, "the connection still writes", receipt=True)
            assert client.failure is None
            assert events == ["connected"]
        await expect_empty(broker, queue)

    run(scenario())
    assert calls.items == ["started", "returned"]
    assert events == ["connected", "closed"]


# 6. request/reply ----------------------------------------------------------------------------


def test_concurrent_requests_each_get_their_own_reply(broker: Broker) -> None:
    """100 concurrent requests from one client to a subscriber on another: every reply is the
    Price of its own Order."""
    queue = queue_name("prices")
    orders = [Order(id=n, amount=n + 0.5) for n in range(100)]
    args = queue_args(broker)  # a request's SEND declares the queue again on RabbitMQ

    async def scenario() -> list[Price]:
        server = make_client(broker)

        @server.subscriber(queue, max_concurrent=8, headers=queue_args(broker))
        async def price(order: Order) -> Price:
            return Price(id=order.id, value=2 * order.amount)

        async with server, make_client(broker) as client:
            return await asyncio.gather(
                *(
                    client.request(queue, order, response=Price, timeout=10, headers=args)
                    for order in orders
                )
            )

    prices = run(scenario())
    assert prices == [Price(id=order.id, value=2 * order.amount) for order in orders]


def test_a_request_nobody_answers_times_out(broker: Broker) -> None:
    """A request to a topic nobody listens on raises TimeoutError after its own timeout."""
    nowhere = f"/topic/stompmodels-typed-nobody-{uuid.uuid4().hex[:12]}"

    async def scenario() -> float:
        async with make_client(broker) as client:
            started = time.monotonic()
            with pytest.raises(TimeoutError, match="no reply from"):
                await client.request(nowhere, Order(id=1, amount=1.0), response=Price, timeout=0.5)
            return time.monotonic() - started

    elapsed = run(scenario())
    assert 0.45 <= elapsed < 3.0, elapsed


def test_an_invalid_reply_raises_a_validation_error(broker: Broker) -> None:
    """A reply that is not a valid `response` raises pydantic's ValidationError, naming the
    field."""
    queue = queue_name("bad-prices")

    async def scenario() -> None:
        server = make_client(broker)

        @server.subscriber(queue, headers=queue_args(broker))
        async def price(order: Order) -> dict[str, object]:
            return {"id": order.id, "value": "a lot"}

        async with server, make_client(broker) as client:
            with pytest.raises(ValidationError) as raised:
                await client.request(
                    queue, Order(id=1, amount=1.0), response=Price, headers=queue_args(broker)
                )
        assert [error["loc"] for error in raised.value.errors()] == [("value",)]

    run(scenario())


# 7. reconnect with a handler in flight ----------------------------------------------------------


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
            broker,
            proxy.url(broker.url),
            reconnect=QUICK,
            on_state=lambda event, _: events.append(event),
        )

        @client.subscriber(queue, headers=queue_args(broker))
        async def take_order(order: Order, message: Message) -> None:
            calls.add((order.id, message.headers.get("redelivered")))
            if order.id == 1:
                await release.wait()  # only the first delivery waits: it is set after that

        async with client:
            await client.publish(queue, Order(id=1, amount=1.0), receipt=True)
            await calls.until(1)
            await asyncio.to_thread(proxy.cut)
            await wait_for_event(events, "reconnected")
            release.set()
            await calls.until(2)
            await client.publish(queue, Order(id=2, amount=2.0), receipt=True)
            await calls.until(3)
            assert client.failure is None
        await expect_empty(broker, queue)

    with logged() as records, FaultProxy(broker.port) as proxy:
        run(scenario(proxy))
    first = "false" if is_rabbitmq(broker) else None  # ActiveMQ: no header on a first delivery
    assert calls.items == [(1, first), (1, "true"), (2, first)]
    assert events == ["connected", "lost", "reconnected", "closed"]
    stale = records.about("came before a reconnect", logging.INFO)
    assert len(stale) == 1, [r.getMessage() for r in stale]
    assert stale[0].getMessage().startswith("subscriber ")
    assert "ACK of message" in stale[0].getMessage()


async def wait_for_event(
    events: list[ConnectionEvent], event: ConnectionEvent, timeout: float = 15.0
) -> None:
    deadline = time.monotonic() + timeout
    while event not in events:
        assert time.monotonic() < deadline, f"no {event!r} within {timeout} s: {events}"
        await asyncio.sleep(POLL)
