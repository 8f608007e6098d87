"""The asyncio client's typed layer (`subscriber`, `publish`, `request`, `serve`) without a broker.

A real `stompmodels.aio.Client` talks to the driver suite's in-memory broker: a `MockStream`
per connection (injected with `inject_streams`) whose writes go to a `RecordingServer`, the
sans-IO fake broker, which answers CONNECT, SUBSCRIBE, receipts and keeps every frame the
client wrote (`server.received`, in order). The tests push MESSAGEs themselves and assert what
the client writes back: the ACK, NACK, reply and dead-letter SEND of every outcome, the
SUBSCRIBE of a subscriber, the reply route of `request`. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import json
import logging
import re
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Final, Literal, TypeVar

import pytest
from pydantic import BaseModel, ValidationError

from stompmodels import Ack, Disconnect, FrameDecoder, Message, Nack, Send, Subscribe
from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import ConnectionLost
from stompmodels._client.url import BrokerURL
from stompmodels.aio import Client
from stompmodels.aio.stream import Stream
from tests.drivers.aio_adapter import HOST, AioBroker, inject_streams
from tests.drivers.harness import RecordingServer
from tests.fake_server import NO_HEART_BEAT

T = TypeVar("T")

WAIT: Final = 2.0
"""The longest any single wait of a test lasts (seconds); also the client's timeout."""
HARD_LIMIT: Final = 10.0
"""The longest a whole scenario may take (a hung scenario fails)."""
SETTLE: Final = 0.05
"""How long a test lets the client run to show that it does NOT write something."""
JSON: Final = "application/json"
RABBITMQ: Final = "RabbitMQ/3.10.8"
ACTIVEMQ: Final = "ActiveMQ/5.17.2"
TEMP_QUEUE: Final = re.compile(r"/temp-queue/stompmodels-replies-[0-9a-f]+")
LOGGER: Final = "stompmodels.aio"
_ports = itertools.count(63101)


class Order(BaseModel):
    id: int
    amount: float


class Price(BaseModel):
    n: int


ORDER: Final = b'{"id": 1, "amount": 9.5}'
INVALID: Final = {
    "invalid-json": (b'{"id": 1, "amount": ', "Invalid JSON"),
    "validation-error": (b'{"id": "one", "amount": 9.5}', "id: Input should be a valid integer"),
}
"""Bodies that cannot be an Order, and a part of the reason the client gives."""


class NamedBroker(AioBroker):
    """The in-memory broker, whose CONNECTED names `server_name` in its `server` header (the
    harness's brokers all say FakeMQ/1.0, and the reply route depends on it)."""

    def __init__(self, port: int, server_name: str = "FakeMQ/1.0") -> None:
        super().__init__(port, NO_HEART_BEAT)
        self.server_name = server_name

    def new_server(self) -> RecordingServer:
        server = super().new_server()
        server.server_name = self.server_name
        return server

    def deliver(
        self,
        destination: str,
        body: bytes,
        *,
        content_type: str | None = JSON,
        headers: dict[str, str] | None = None,
    ) -> str:
        """Push one MESSAGE to the (only) subscription on `destination`; its `ack` id."""
        server = self.server
        [key] = [k for k, sub in server.subscriptions.items() if sub.destination == destination]
        data = server.message(key, body, content_type=content_type, headers=headers)
        self.push(data)
        return _decode_one(data).ack or ""


def _decode_one(data: bytes) -> Message:
    """The one MESSAGE in `data`."""
    [frame] = FrameDecoder("1.2").feed(data)
    assert isinstance(frame, Message)
    return frame


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[NamedBroker]:
    """One in-memory broker the asyncio client reaches (every other address is refused)."""
    port = next(_ports)
    made = NamedBroker(port)

    async def opener(url: BrokerURL, *args: object, **kwargs: object) -> Stream:
        if (url.host, url.port) != (HOST, port):
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        return made.accept()

    inject_streams(monkeypatch, opener)
    yield made
    assert not made.failures, made.failures


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `scenario` on a fresh loop, bounded by HARD_LIMIT."""

    async def bounded() -> None:
        async with asyncio.timeout(HARD_LIMIT):
            await scenario()

    asyncio.run(bounded())


async def until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Let the client run until `condition()` holds; AssertionError naming `what` if not
    within `timeout` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.002)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {timeout:g} s") from None


def client_of(broker: NamedBroker, *, reconnect: Backoff | bool = False) -> Client:
    return Client(broker.url, heart_beat=(0, 0), timeout=WAIT, reconnect=reconnect)


def written(broker: NamedBroker, kind: type[T]) -> list[T]:
    """The frames of type `kind` the client wrote on the latest connection, in order."""
    return [frame for frame in broker.server.received if isinstance(frame, kind)]


def position(broker: NamedBroker, frame: object) -> int:
    """Where `frame` is among everything the client wrote on the latest connection."""
    return next(i for i, seen in enumerate(broker.server.received) if seen is frame)


def settled(broker: NamedBroker) -> list[Ack | Nack]:
    return [frame for frame in broker.server.received if isinstance(frame, Ack | Nack)]


def errors_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR]


def unique(name: str) -> str:
    return f"/queue/{name}-{next(_ports)}"


# -- a handler that returns -----------------------------------------------------------------


def test_a_handler_that_returns_is_acked_with_the_messages_ack_header(
    broker: NamedBroker,
) -> None:
    destination = unique("orders")
    got: list[tuple[Order, str]] = []

    async def scenario() -> None:
        client = client_of(broker)

        @client.subscriber(destination)
        async def take(order: Order, message: Message) -> None:
            got.append((order, message.message_id))

        async with client:
            ack_id = broker.deliver(destination, ORDER)
            await until(lambda: settled(broker), "the ACK")
            assert got == [(Order(id=1, amount=9.5), "m-1")]
            [ack] = settled(broker)
            assert isinstance(ack, Ack)
            assert ack_id and ack.id == ack_id  # STOMP 1.2: the MESSAGE's ack header
            assert broker.server.acked and not broker.server.unacked
            assert written(broker, Send) == []  # nothing to reply to, nothing returned

    run(scenario)


def test_a_returned_value_replies_to_reply_to_with_the_correlation_id_before_the_ack(
    broker: NamedBroker,
) -> None:
    destination, reply_to = unique("orders"), unique("answers")

    async def scenario() -> None:
        client = client_of(broker)

        @client.subscriber(destination)
        async def price(order: Order) -> Price:
            return Price(n=order.id * 10)

        async with client:
            ack_id = broker.deliver(
                destination, ORDER, headers={"reply-to": reply_to, "correlation-id": "c-42"}
            )
            await until(lambda: settled(broker), "the ACK")
            [reply] = written(broker, Send)
            [ack] = settled(broker)
            assert isinstance(ack, Ack) and ack.id == ack_id
            assert reply.destination == reply_to
            assert reply.headers.get("correlation-id") == "c-42"
            assert reply.content_type == JSON
            assert json.loads(reply.body) == {"n": 10}
            assert position(broker, reply) < position(broker, ack)

    run(scenario)


def test_a_handler_returning_none_sends_no_reply(broker: NamedBroker) -> None:
    destination, reply_to = unique("orders"), unique("answers")

    async def scenario() -> None:
        client = client_of(broker)

        @client.subscriber(destination)
        async def take(order: Order) -> None:
            return None

        async with client:
            broker.deliver(
                destination, ORDER, headers={"reply-to": reply_to, "correlation-id": "c-1"}
            )
            await until(lambda: settled(broker), "the ACK")
            assert [type(frame) for frame in settled(broker)] == [Ack]
            assert written(broker, Send) == []

    run(scenario)


# -- a body that is not a valid payload -----------------------------------------------------


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_payload_is_dead_lettered_and_acked_only_after_the_receipt(
    broker: NamedBroker, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    body, reason = INVALID[case]
    destination, dead = unique("orders"), unique("orders.dead")
    called: list[Order] = []
    caplog.set_level(logging.INFO, logger=LOGGER)

    async def scenario() -> None:
        client = client_of(broker)

        @client.subscriber(destination, dead_letter=dead)
        async def take(order: Order) -> None:
            called.append(order)

        async with client:
            broker.hold_receipts()
            ack_id = broker.deliver(
                destination, body, headers={"x-custom": "kept", "priority": "4"}
            )
            await until(lambda: written(broker, Send), "the dead-letter SEND")
            [copy] = written(broker, Send)
            assert copy.destination == dead
            assert copy.body == body
            assert copy.content_type == JSON
            assert copy.receipt is not None  # the original is ACKed once the copy is safe
            assert copy.headers["x-custom"] == "kept" and copy.headers["priority"] == "4"
            assert reason in copy.headers["x-dead-letter-reason"]
            assert copy.headers["x-original-destination"] == destination
            assert copy.headers["x-original-message-id"] == "m-1"
            await asyncio.sleep(SETTLE)
            assert settled(broker) == [], "ACKed before the dead-letter copy was confirmed"
            broker.release_receipts()
            await until(lambda: settled(broker), "the ACK after the RECEIPT")
            [ack] = settled(broker)
            assert isinstance(ack, Ack) and ack.id == ack_id
            assert position(broker, copy) < position(broker, ack)
        assert called == []
        [record] = errors_of(caplog)
        assert take.__qualname__ in record.getMessage()
        assert reason in record.getMessage()

    run(scenario)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_an_invalid_payload_without_dead_letter_is_nacked_without_requeue(
    broker: NamedBroker, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    body, reason = INVALID[case]
    destination = unique("orders")
    called: list[Order] = []
    caplog.set_level(logging.INFO, logger=LOGGER)

    async def scenario() -> None:
        client = client_of(broker)

        @client.subscriber(destination)
        async def take(order: Order) -> None:
            called.append(order)

        async with client:
            ack_id = broker.deliver(destination, body)
            await until(lambda: settled(broker), "the NACK")
            [nack] = settled(broker)
            assert isinstance(nack, Nack)
            assert nack.id == ack_id
            assert nack.headers.get("requeue") == "false"
            assert written(broker, Send) == []
        assert called == []
        [record] = errors_of(caplog)
        assert take.__qualname__ in record.getMessage()
        assert reason in record.getMessage()
        assert "m-1" in record.getMessage()

    run(scenario)


# -- a handler that raises ------------------------------------------------------------------


def test_a_handler_that_raises_is_logged_nacked_and_the_subscriber_goes_on(
    broker: NamedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    destination = unique("orders")
    seen: list[int] = []
    caplog.set_level(logging.INFO, logger=LOGGER)

    async def scenario() -> None:
        client = client_of(broker)

        @client.subscriber(destination)
        async def take(order: Order) -> None:
            seen.append(order.id)
            if order.id == 1:
                raise RuntimeError("boom in the handler")

        async with client:
            first = broker.deliver(destination, ORDER)
            await until(lambda: settled(broker), "the NACK")
            [nack] = settled(broker)
            assert isinstance(nack, Nack) and nack.id == first
            assert "requeue" not in nack.headers  # the broker may redeliver it
            second = broker.deliver(destination, b'{"id": 2, "amount": 1}')
            await until(lambda: len(settled(broker)) == 2, "the second message's ACK")
            ack = settled(broker)[1]
            assert isinstance(ack, Ack) and ack.id == second
            assert seen == [1, 2]
            # the connection is still up: a SEND with a receipt is confirmed
            await client.publish(unique("other"), {"still": "up"}, receipt=True)
            assert client.failure is None and not broker.server.closed
        [record] = errors_of(caplog)
        assert take.__qualname__ in record.getMessage()
        assert record.exc_info is not None and record.exc_info[0] is RuntimeError
        assert "boom in the handler" in str(record.exc_info[1])

    run(scenario)


def test_a_value_that_is_not_json_able_is_a_failure(
    broker: NamedBroker, caplog: pytest.LogCaptureFixture
) -> None:
    destination, reply_to = unique("orders"), unique("answers")
    caplog.set_level(logging.INFO, logger=LOGGER)

    async def scenario() -> None:
        client = client_of(broker)

        @client.subscriber(destination)
        async def take(order: Order) -> object:
            return object()

        async with client:
            ack_id = broker.deliver(
                destination, ORDER, headers={"reply-to": reply_to, "correlation-id": "c-9"}
            )
            await until(lambda: settled(broker), "the NACK")
            [nack] = settled(broker)
            assert isinstance(nack, Nack) and nack.id == ack_id
            assert written(broker, Send) == []
        [record] = errors_of(caplog)
        assert take.__qualname__ in record.getMessage()
        assert record.exc_info is not None and record.exc_info[0] is TypeError

    run(scenario)


# -- concurrency ----------------------------------------------------------------------------


def test_max_concurrent_handlers_run_at_once_and_never_more(broker: NamedBroker) -> None:
    destination = unique("orders")
    release = asyncio.Event()
    running = 0
    peak = 0

    async def scenario() -> None:
        nonlocal running, peak
        client = client_of(broker)

        @client.subscriber(destination, max_concurrent=3)
        async def take(order: Order) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            try:
                await release.wait()
            finally:
                running -= 1

        async with client:
            for n in range(10):
                broker.deliver(destination, f'{{"id": {n}, "amount": 1}}'.encode())
            await until(lambda: running == 3, "3 handlers running")
            await asyncio.sleep(SETTLE)
            assert (running, peak) == (3, 3)
            assert settled(broker) == []
            release.set()
            await until(lambda: len(settled(broker)) == 10, "10 ACKs")
            assert all(isinstance(frame, Ack) for frame in settled(broker))
            assert len({frame.id for frame in settled(broker)}) == 10
            assert peak == 3

    run(scenario)


def test_a_slow_handler_does_not_hold_up_another_subscriber(broker: NamedBroker) -> None:
    slow_destination, fast_destination = unique("slow"), unique("fast")
    release = asyncio.Event()
    started = asyncio.Event()

    async def scenario() -> None:
        client = client_of(broker)

        @client.subscriber(slow_destination)
        async def slow(order: Order) -> None:
            started.set()
            await release.wait()

        @client.subscriber(fast_destination)
        async def fast(order: Order) -> None:
            return None

        async with client:
            slow_ack = broker.deliver(slow_destination, ORDER)
            async with asyncio.timeout(WAIT):
                await started.wait()
            fast_ack = broker.deliver(fast_destination, ORDER)
            await until(lambda: settled(broker), "the fast subscriber's ACK")
            assert [frame.id for frame in settled(broker)] == [fast_ack]
            release.set()
            await until(lambda: len(settled(broker)) == 2, "the slow subscriber's ACK")
            assert settled(broker)[1].id == slow_ack

    run(scenario)


# -- the SUBSCRIBE ---------------------------------------------------------------------------


def test_a_subscriber_registered_before_connect_subscribes_with_its_settings(
    broker: NamedBroker,
) -> None:
    first, second = unique("orders"), unique("prices")

    async def scenario() -> None:
        client = client_of(broker)

        @client.subscriber(first, max_concurrent=3, headers={"x-priority": "5"})
        async def take(order: Order) -> None:
            return None

        @client.subscriber(second, prefetch=7)
        async def price(order: Order) -> None:
            return None

        async with client:
            subscribes = {frame.destination: frame for frame in written(broker, Subscribe)}
            assert set(subscribes) == {first, second}
            one, two = subscribes[first], subscribes[second]
            assert one.ack == two.ack == "client-individual"
            assert one.headers["prefetch-count"] == "3"
            assert one.headers["activemq.prefetchSize"] == "3"
            assert one.headers["x-priority"] == "5"
            assert two.headers["prefetch-count"] == "7"
            assert two.headers["activemq.prefetchSize"] == "7"

    run(scenario)


def test_a_subscriber_registered_while_connected_is_subscribed_at_once(
    broker: NamedBroker,
) -> None:
    destination = unique("late")
    got: list[Order] = []

    async def scenario() -> None:
        async with client_of(broker) as client:
            assert written(broker, Subscribe) == []

            @client.subscriber(destination, max_concurrent=2)
            async def take(order: Order) -> None:
                got.append(order)

            await until(lambda: written(broker, Subscribe), "the SUBSCRIBE")
            [subscribe] = written(broker, Subscribe)
            assert subscribe.destination == destination
            assert subscribe.ack == "client-individual"
            assert subscribe.headers["prefetch-count"] == "2"
            broker.deliver(destination, ORDER)
            await until(lambda: settled(broker), "the ACK")
            assert got == [Order(id=1, amount=9.5)]

    run(scenario)


# -- close ----------------------------------------------------------------------------------


def test_close_lets_a_running_handler_finish_and_acks_before_disconnect(
    broker: NamedBroker,
) -> None:
    destination = unique("orders")
    release = asyncio.Event()
    started = asyncio.Event()
    finished: list[int] = []

    async def scenario() -> None:
        client = client_of(broker)

        @client.subscriber(destination)
        async def take(order: Order) -> None:
            started.set()
            await release.wait()
            finished.append(order.id)

        await client.connect()
        ack_id = broker.deliver(destination, ORDER)
        async with asyncio.timeout(WAIT):
            await started.wait()
        closing = asyncio.create_task(client.close())
        await asyncio.sleep(SETTLE)
        assert not closing.done(), "close did not wait for the running handler"
        assert written(broker, Disconnect) == []
        release.set()
        async with asyncio.timeout(WAIT):
            await closing
        assert finished == [1]
        [ack] = settled(broker)
        [disconnect] = written(broker, Disconnect)
        assert isinstance(ack, Ack) and ack.id == ack_id
        assert position(broker, ack) < position(broker, disconnect)
        assert client.failure is None

    run(scenario)


# -- request ----------------------------------------------------------------------------------


def reply_frame(reply_to: str, correlation: str, body: bytes, number: int = 1) -> bytes:
    """A RabbitMQ-style reply: its `subscription` is the temp-queue destination itself."""
    return Message(
        destination=reply_to,
        message_id=f"reply-{number}",
        subscription=reply_to,
        content_type=JSON,
        body=body,
        headers={"correlation-id": correlation},
    ).to_wire("1.2")


def sends_to(broker: NamedBroker, destination: str) -> list[Send]:
    return [frame for frame in written(broker, Send) if frame.destination == destination]


async def requests_sent(broker: NamedBroker, destination: str, count: int) -> list[Send]:
    """The SENDs to `destination`, once there are `count` of them."""
    await until(lambda: len(sends_to(broker, destination)) == count, f"{count} SENDs")
    return sends_to(broker, destination)


def test_a_request_to_rabbitmq_is_answered_on_its_temp_queue(broker: NamedBroker) -> None:
    broker.server_name = RABBITMQ
    destination = unique("prices")

    async def scenario() -> None:
        async with client_of(broker) as client:
            asking = asyncio.create_task(
                client.request(destination, Order(id=3, amount=1.0), response=Price)
            )
            await until(lambda: sends_to(broker, destination), "the request's SEND")
            [send] = sends_to(broker, destination)
            reply_to = send.headers["reply-to"]
            correlation = send.headers["correlation-id"]
            assert TEMP_QUEUE.fullmatch(reply_to), reply_to
            assert correlation
            assert json.loads(send.body) == {"id": 3, "amount": 1.0}
            assert written(broker, Subscribe) == []  # RabbitMQ subscribes the connection itself
            broker.push(reply_frame(reply_to, correlation, b'{"n": 30}'))
            async with asyncio.timeout(WAIT):
                assert await asyncio.shield(asking) == Price(n=30)

    run(scenario)


def test_a_request_to_activemq_subscribes_to_the_temp_queue_once(broker: NamedBroker) -> None:
    broker.server_name = ACTIVEMQ
    destination = unique("prices")

    async def scenario() -> None:
        async with client_of(broker) as client:
            for n in (1, 2):
                asking = asyncio.create_task(
                    client.request(destination, Order(id=n, amount=1.0), response=Price)
                )
                send = (await requests_sent(broker, destination, n))[-1]
                reply_to = send.headers["reply-to"]
                assert TEMP_QUEUE.fullmatch(reply_to), reply_to
                [subscribe] = written(broker, Subscribe)  # once, for both requests
                assert subscribe.destination == reply_to
                assert subscribe.ack == "auto"
                assert position(broker, subscribe) < position(broker, send)
                data = broker.server.message(
                    subscribe.id or "",
                    f'{{"n": {n * 100}}}'.encode(),
                    content_type=JSON,
                    headers={"correlation-id": send.headers["correlation-id"]},
                )
                assert _decode_one(data).subscription == subscribe.id
                broker.push(data)
                async with asyncio.timeout(WAIT):
                    assert await asyncio.shield(asking) == Price(n=n * 100)

    run(scenario)


def test_concurrent_requests_answered_out_of_order_each_get_their_reply(
    broker: NamedBroker,
) -> None:
    broker.server_name = RABBITMQ
    destination = unique("prices")
    count = 20

    async def scenario() -> None:
        async with client_of(broker) as client:
            asking = [
                asyncio.create_task(
                    client.request(destination, Order(id=n, amount=0.5), response=Price)
                )
                for n in range(count)
            ]
            await until(lambda: len(sends_to(broker, destination)) == count, "20 requests")
            sends = sends_to(broker, destination)
            assert len({send.headers["correlation-id"] for send in sends}) == count
            replies = [
                reply_frame(
                    send.headers["reply-to"],
                    send.headers["correlation-id"],
                    json.dumps({"n": json.loads(send.body)["id"] * 7}).encode(),
                    number,
                )
                for number, send in enumerate(sends)
            ]
            order = list(range(count))
            order = order[1::2][::-1] + order[::2]  # odd ones backwards, then the even ones
            for index in order[:10]:
                broker.push(replies[index])
            await asyncio.sleep(0)
            broker.push(b"".join(replies[index] for index in order[10:]))  # several in one read
            async with asyncio.timeout(WAIT):
                answers = await asyncio.gather(*asking)
            assert answers == [Price(n=n * 7) for n in range(count)]

    run(scenario)


def test_a_request_without_reply_times_out_naming_the_destination(broker: NamedBroker) -> None:
    broker.server_name = RABBITMQ
    destination = unique("silent")

    async def scenario() -> None:
        async with client_of(broker) as client:
            with pytest.raises(TimeoutError, match=re.escape(destination)):
                await client.request(
                    destination, Order(id=1, amount=1), response=Price, timeout=0.1
                )
            [send] = sends_to(broker, destination)
            # a late reply is dropped, not given to the next request
            broker.push(
                reply_frame(send.headers["reply-to"], send.headers["correlation-id"], b'{"n": 1}')
            )
            asking = asyncio.create_task(
                client.request(destination, Order(id=2, amount=1), response=Price)
            )
            await until(lambda: len(sends_to(broker, destination)) == 2, "the second request")
            second = sends_to(broker, destination)[1]
            assert second.headers["correlation-id"] != send.headers["correlation-id"]
            broker.push(
                reply_frame(
                    second.headers["reply-to"], second.headers["correlation-id"], b'{"n": 2}', 2
                )
            )
            async with asyncio.timeout(WAIT):
                assert await asyncio.shield(asking) == Price(n=2)

    run(scenario)


def test_an_invalid_reply_raises_a_validation_error(broker: NamedBroker) -> None:
    broker.server_name = RABBITMQ
    destination = unique("prices")

    async def scenario() -> None:
        async with client_of(broker) as client:
            asking = asyncio.create_task(
                client.request(destination, Order(id=1, amount=1), response=Price)
            )
            await until(lambda: sends_to(broker, destination), "the request's SEND")
            [send] = sends_to(broker, destination)
            broker.push(
                reply_frame(send.headers["reply-to"], send.headers["correlation-id"], b'{"n": "x"}')
            )
            with pytest.raises(ValidationError, match="n"):
                async with asyncio.timeout(WAIT):
                    await asyncio.shield(asking)

    run(scenario)


def test_a_request_waiting_when_the_connection_is_lost_raises_connection_lost(
    broker: NamedBroker,
) -> None:
    broker.server_name = RABBITMQ
    destination = unique("prices")

    async def scenario() -> None:
        client = client_of(broker)
        await client.connect()
        try:
            asking = asyncio.create_task(
                client.request(destination, Order(id=1, amount=1), response=Price)
            )
            await until(lambda: sends_to(broker, destination), "the request's SEND")
            broker.hang_up()
            with pytest.raises(ConnectionLost):
                async with asyncio.timeout(WAIT):
                    await asyncio.shield(asking)
        finally:
            await client.close(timeout=0.5)

    run(scenario)


# -- serve -----------------------------------------------------------------------------------


def test_serve_returns_once_another_task_closes_the_client(broker: NamedBroker) -> None:
    async def scenario() -> None:
        client = client_of(broker)
        await client.connect()
        serving = asyncio.create_task(client.serve())
        await asyncio.sleep(SETTLE)
        assert not serving.done(), "serve returned while the client runs"
        closing = asyncio.create_task(client.close())
        async with asyncio.timeout(WAIT):
            await closing
            await serving  # returns, does not raise
        assert serving.done() and serving.exception() is None
        assert written(broker, Disconnect) != []

    run(scenario)


def test_serve_raises_when_the_client_gives_up(broker: NamedBroker) -> None:
    retry = Backoff(initial=0.01, maximum=0.02, jitter=0.0, attempts=2)

    async def scenario() -> None:
        client = client_of(broker, reconnect=retry)
        await client.connect()
        try:
            serving = asyncio.create_task(client.serve())
            await asyncio.sleep(0)
            broker.refuse()
            broker.hang_up()
            with pytest.raises(ConnectionLost, match="gave up reconnecting"):
                async with asyncio.timeout(WAIT):
                    await serving
            assert client.failure is not None
            assert broker.dials == 3  # the first connection and both attempts
        finally:
            await client.close(timeout=0.5)

    run(scenario)


# -- ack="auto" ------------------------------------------------------------------------------

Outcome = Literal["returns", "replies", "raises", "invalid", "dead-letter"]


@pytest.mark.parametrize("outcome", ["returns", "replies", "raises", "invalid", "dead-letter"])
def test_with_ack_auto_nothing_is_acked_or_nacked(
    broker: NamedBroker, caplog: pytest.LogCaptureFixture, outcome: Outcome
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    destination, dead, reply_to = unique("auto"), unique("auto.dead"), unique("answers")
    flush = unique("flush")
    handled: list[int] = []

    async def scenario() -> None:
        client = client_of(broker)

        @client.subscriber(
            destination, ack="auto", dead_letter=dead if outcome == "dead-letter" else None
        )
        async def take(order: Order) -> Price | None:
            handled.append(order.id)
            if outcome == "raises" and order.id == 1:
                raise RuntimeError("boom")
            return Price(n=order.id) if outcome == "replies" else None

        async with client:
            # RabbitMQ puts an ack header on every 1.2 MESSAGE: an ACK would be writable
            broker.server.ack_header_on_auto = True
            first = ORDER if outcome in ("returns", "replies", "raises") else b"{broken"
            headers = {"reply-to": reply_to, "correlation-id": "c-1"}
            assert broker.deliver(destination, first, headers=headers)
            # one worker: once the next message is handled, the first one's outcome is done
            broker.deliver(destination, b'{"id": 2, "amount": 1}', headers=headers)
            await until(lambda: 2 in handled, "the second message")
            await client.publish(flush, b"", receipt=True)  # all writes are in
            assert settled(broker) == []
            sends = written(broker, Send)
            if outcome == "dead-letter":
                assert [send.destination for send in sends] == [dead, flush]
            if outcome == "replies":
                assert [json.loads(s.body) for s in sends if s.destination == reply_to] == [
                    {"n": 1},
                    {"n": 2},
                ]
        # the failure of the first message only (the second one's outcome is not an error)
        failed = 0 if outcome in ("returns", "replies") else 1
        assert len(errors_of(caplog)) == failed, [r.getMessage() for r in errors_of(caplog)]

    run(scenario)


def test_a_subscriber_the_version_cannot_have_fails_the_connect_and_shuts_it(
    broker: NamedBroker,
) -> None:
    """STOMP 1.0 has no client-individual (a subscriber's default): the connect fails with a
    ConnectionLost naming it, and the connection is shut, not left open with its reader."""
    client = Client(broker.url, heart_beat=(0, 0), timeout=WAIT, versions=("1.0",))

    @client.subscriber("/queue/orders")
    async def take(order: Order) -> None:
        raise AssertionError("never delivered")

    async def scenario() -> None:
        with pytest.raises(ConnectionLost, match="client-individual"):
            await client.connect()
        assert broker.stream is not None and broker.stream.closed
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert tasks == []

    run(scenario)
