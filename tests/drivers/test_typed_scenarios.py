"""Typed-message scenarios, each written once and run against every driver (the `driver` fixture).

The typed layer (`subscriber`, `publish`, `request`) through the adapters of
`tests.drivers.harness`: a scenario's handler is a plain ``(payload, message)`` function that
each adapter wraps in its driver's kind of handler (an `async def` for asyncio, a plain function
for blocking, a plain function, an `async def` or a function returning a Deferred for Twisted).
The fake broker keeps every frame the client sent, parsed (`Broker.frames`), and the scenarios
assert those frames exactly: the outcome policy (ACK, reply, dead letter, NACK), the
subscriber's SUBSCRIBE and its renewal, the request's reply route per broker, and the order of
the last ACK and DISCONNECT on close. The asyncio-only details of the same layer are in
`tests/test_aio_typed.py`.
"""

from __future__ import annotations

import logging
import re
from typing import Final
from uuid import uuid4

import pytest
from pydantic import BaseModel

from stompmodels import Ack, Connect, Disconnect, Frame, Message, Nack, Send, Stomp, Subscribe
from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import ConnectionLost

from .harness import WAIT, Broker, Driver

JSON: Final = "application/json"
RABBITMQ: Final = "RabbitMQ/3.10.8"
ACTIVEMQ: Final = "ActiveMQ/5.17.2"
TEMP_QUEUE: Final = re.compile(r"/temp-queue/stompmodels-replies-[0-9a-f]+")
SETTLE: Final = 0.05
"""How long a scenario lets the client run on, to show that it sends nothing more."""
HOLD: Final = 0.2
"""How long a scenario holds handlers at a gate, to show what the client does meanwhile."""
RETRY: Final = Backoff(initial=0.01, maximum=0.05, jitter=0.0, attempts=3)
DEAD_LETTER_REASON: Final = "x-dead-letter-reason"


class Order(BaseModel):
    id: int
    amount: float


class Quote(BaseModel):
    order: int
    total: float


class Price(BaseModel):
    n: int


def order(number: int) -> bytes:
    """The JSON body of an Order."""
    return b'{"id": %d, "amount": 9.5}' % number


ORDER: Final = order(1)
NOT_AN_ORDER: Final = b'{"id": "one", "amount": 9.5}'


def fresh(name: str) -> str:
    """A destination of this scenario's own."""
    return f"/queue/{name}-{uuid4().hex[:12]}"


def settled(driver: Driver, broker: Broker, start: int, count: int) -> list[Frame]:
    """The frames the client sent since `start`, once there are `count` of them, and after a
    moment more (so that one sent too many is seen)."""
    driver.until(lambda: len(broker.frames()) - start >= count, f"{count} frames from the client")
    driver.wait(SETTLE)
    return broker.frames()[start:]


def sends_since(broker: Broker, start: int) -> list[Send]:
    return [frame for frame in broker.frames()[start:] if isinstance(frame, Send)]


def logged(
    caplog: pytest.LogCaptureFixture, driver: Driver, level: int, text: str
) -> list[logging.LogRecord]:
    """The records of the driver's logger at `level` whose message holds `text`."""
    return [
        record
        for record in caplog.records
        if record.name == driver.logger and record.levelno == level and text in record.getMessage()
    ]


# -- the outcome policy ---------------------------------------------------------------------


def test_a_valid_json_payload_reaches_the_handler_as_the_model_then_is_acked(
    driver: Driver,
) -> None:
    broker = driver.broker()
    client = driver.client(broker.url)
    destination = fresh("orders")
    seen: list[tuple[object, Message]] = []

    def take(order: Order, message: Message) -> None:
        seen.append((order, message))

    client.subscriber(destination, Order, take)
    client.connect()
    start = len(broker.frames())
    [delivered] = broker.deliver_messages(destination, ORDER, content_type=JSON)
    assert delivered.ack is not None  # a 1.2 ack id (client-individual)

    assert settled(driver, broker, start, 1) == [Ack(id=delivered.ack)]
    [(payload, message)] = seen
    assert type(payload) is Order and payload == Order(id=1, amount=9.5)
    assert isinstance(message, Message)
    assert (message.message_id, message.destination, message.body) == (
        delivered.message_id,
        destination,
        ORDER,
    )
    assert client.failure is None


def test_a_published_model_reaches_a_subscriber_as_json(driver: Driver) -> None:
    """`publish` writes a model as JSON (content-type application/json), text as UTF-8 and
    bytes as they are; the fake broker delivers the SEND to the subscriber (without a
    content-type, which a subscriber reads as JSON)."""
    broker = driver.broker()
    client = driver.client(broker.url)
    destination = fresh("orders")
    taken: list[Order] = []

    def take(order: Order, message: Message) -> None:
        taken.append(order)

    client.subscriber(destination, Order, take)
    client.connect()
    start = len(broker.frames())
    client.publish(destination, Order(id=3, amount=1.25), receipt=True)
    send = broker.frames()[start]  # confirmed: the broker has it
    assert isinstance(send, Send) and send.receipt is not None
    assert send == Send(
        destination=destination,
        content_type=JSON,
        receipt=send.receipt,
        body=b'{"id":3,"amount":1.25}',
    )
    driver.until(lambda: taken, "the subscriber took the published order")
    assert taken == [Order(id=3, amount=1.25)]

    other = fresh("notes")
    client.publish(other, "héllo", headers={"trace": "t-1"}, reply_to="/queue/r", receipt=True)
    client.publish(other, b"\x00raw", correlation_id="c-9", receipt=True)
    text, raw = sends_since(broker, start)[1:]
    assert text == Send(
        destination=other,
        content_type="text/plain;charset=utf-8",
        headers={"trace": "t-1", "reply-to": "/queue/r"},
        receipt=text.receipt,
        body="héllo".encode(),
    )
    assert raw == Send(
        destination=other, headers={"correlation-id": "c-9"}, receipt=raw.receipt, body=b"\x00raw"
    )
    assert client.failure is None


def test_a_returned_value_goes_to_reply_to_with_the_correlation_id_before_the_ack(
    driver: Driver,
) -> None:
    """Every kind of handler the driver takes (Twisted: a plain function, an `async def`, a
    function returning a Deferred that fires later) replies with what it returns."""
    broker = driver.broker()
    client = driver.client(broker.url)
    destinations = {style: fresh(f"quotes-{style}") for style in client.styles}

    def quote(order: Order, message: Message) -> Quote:
        return Quote(order=order.id, total=order.amount * 2)

    for style, destination in destinations.items():
        client.subscriber(destination, Order, quote, style=style)
    client.connect()

    for style, destination in destinations.items():
        reply_to = fresh(f"replies-{style}")
        start = len(broker.frames())
        [delivered] = broker.deliver_messages(
            destination,
            order(4),
            content_type=JSON,
            headers={"reply-to": reply_to, "correlation-id": f"corr-{style}"},
        )
        assert settled(driver, broker, start, 2) == [
            Send(
                destination=reply_to,
                content_type=JSON,
                headers={"correlation-id": f"corr-{style}"},
                body=b'{"order":4,"total":19.0}',
            ),
            Ack(id=delivered.ack),
        ], style

    # Without reply-to, what the handler returns goes nowhere: only the ACK.
    destination = destinations[client.styles[0]]
    start = len(broker.frames())
    [delivered] = broker.deliver_messages(destination, order(5), content_type=JSON)
    assert settled(driver, broker, start, 1) == [Ack(id=delivered.ack)]
    assert client.failure is None


def test_an_invalid_payload_is_dead_lettered_and_acked_only_after_the_receipt(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="stompmodels")
    broker = driver.broker()
    client = driver.client(broker.url)
    destination, dead = fresh("orders"), fresh("orders.dead")
    called: list[Order] = []

    def take(order: Order, message: Message) -> None:
        called.append(order)

    client.subscriber(destination, Order, take, dead_letter=dead)
    client.connect()
    start = len(broker.frames())
    broker.hold_receipts()
    [delivered] = broker.deliver_messages(
        destination, NOT_AN_ORDER, content_type=JSON, headers={"trace": "t-7"}
    )

    [copy] = settled(driver, broker, start, 1)  # no ACK while the copy is not confirmed
    assert isinstance(copy, Send) and copy.receipt is not None
    reason = copy.headers.get(DEAD_LETTER_REASON, "")
    assert "id: Input should be a valid integer" in reason, reason
    assert copy == Send(
        destination=dead,
        content_type=JSON,
        receipt=copy.receipt,
        headers={
            "trace": "t-7",
            DEAD_LETTER_REASON: reason,
            "x-original-destination": destination,
            "x-original-message-id": delivered.message_id,
        },
        body=NOT_AN_ORDER,
    )

    broker.release_receipts()
    assert settled(driver, broker, start, 2) == [copy, Ack(id=delivered.ack)]
    assert called == []
    assert logged(caplog, driver, logging.ERROR, f"refused message {delivered.message_id}")
    assert client.failure is None


def test_an_invalid_payload_without_dead_letter_is_nacked_without_requeue(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="stompmodels")
    broker = driver.broker()
    client = driver.client(broker.url)
    destination = fresh("orders")
    called: list[Order] = []

    def take(order: Order, message: Message) -> None:
        called.append(order)

    client.subscriber(destination, Order, take)
    client.connect()
    start = len(broker.frames())
    [delivered] = broker.deliver_messages(destination, b'{"id": 1, "amount": ', content_type=JSON)

    assert settled(driver, broker, start, 1) == [
        Nack(id=delivered.ack, headers={"requeue": "false"})
    ]
    assert called == []
    assert logged(caplog, driver, logging.ERROR, f"refused message {delivered.message_id}")
    assert client.failure is None


def test_a_handler_that_raises_gets_its_message_nacked_and_the_next_one_is_handled(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="stompmodels")
    broker = driver.broker()
    client = driver.client(broker.url)
    destination = fresh("orders")
    handled: list[int] = []

    def take(order: Order, message: Message) -> None:
        handled.append(order.id)
        if order.id == 1:
            raise ValueError("a bug in the handler")

    client.subscriber(destination, Order, take)
    client.connect()
    start = len(broker.frames())
    first, second = broker.deliver_messages(destination, order(1), order(2), content_type=JSON)

    # The NACK names the message only: no requeue header (the broker may deliver it again).
    assert settled(driver, broker, start, 2) == [Nack(id=first.ack), Ack(id=second.ack)]
    assert handled == [1, 2]
    failures = [
        record
        for record in logged(caplog, driver, logging.ERROR, first.message_id)
        if record.exc_info is not None and record.exc_info[0] is ValueError
    ]
    assert failures, f"no ERROR with the ValueError's traceback on {driver.logger}"
    assert client.failure is None


# -- concurrency, subscribing, closing ------------------------------------------------------


def test_max_concurrent_bounds_the_handlers_running_at_once(driver: Driver) -> None:
    broker = driver.broker()
    client = driver.client(broker.url)
    gate = driver.gate()
    destination = fresh("work")
    done: list[int] = []

    def work(order: Order, message: Message) -> None:
        done.append(order.id)

    client.subscriber(destination, Order, work, max_concurrent=2, gate=gate, style="async")
    client.connect()
    start = len(broker.frames())
    delivered = broker.deliver_messages(
        destination, *(order(n) for n in range(1, 6)), content_type=JSON
    )

    driver.until(lambda: gate.entered == 2, "two handlers started")
    driver.wait(HOLD)  # time enough for a third to start, were it let
    assert (gate.entered, gate.running, gate.peak) == (2, 2, 2)
    assert broker.frames()[start:] == []  # nothing is settled while they wait

    gate.open()
    frames = settled(driver, broker, start, 5)
    assert all(isinstance(frame, Ack) for frame in frames), frames
    acked = sorted(frame.id or "" for frame in frames if isinstance(frame, Ack))
    assert acked == sorted(message.ack or "" for message in delivered)
    assert (gate.peak, gate.finished) == (2, 5)
    assert sorted(done) == [1, 2, 3, 4, 5]
    assert client.failure is None


def test_a_subscriber_registered_before_connect_is_subscribed_on_connect_and_on_reconnect(
    driver: Driver,
) -> None:
    broker = driver.broker()
    client = driver.client(broker.url, reconnect=RETRY)
    destination = fresh("orders")
    taken: list[int] = []

    def take(order: Order, message: Message) -> None:
        taken.append(order.id)

    client.subscriber(destination, Order, take, max_concurrent=3)
    client.connect()
    connect, subscribe = broker.frames()  # subscribed as the session opened
    assert isinstance(connect, Connect | Stomp)
    assert isinstance(subscribe, Subscribe) and subscribe.id and subscribe.receipt
    prefetch = {"prefetch-count": "3", "activemq.prefetchSize": "3"}  # = max_concurrent
    assert subscribe == Subscribe(
        destination=destination,
        id=subscribe.id,
        ack="client-individual",
        receipt=subscribe.receipt,
        headers=prefetch,
    )

    broker.hang_up()
    driver.until(lambda: "reconnected" in client.events, "the client reconnected")
    assert len(broker.servers) == 2
    connect, renewed = broker.frames()
    assert isinstance(connect, Connect | Stomp)
    assert isinstance(renewed, Subscribe) and renewed.receipt
    assert renewed == Subscribe(
        destination=destination,
        id=subscribe.id,  # the same id
        ack="client-individual",
        receipt=renewed.receipt,
        headers=prefetch,
    )

    [delivered] = broker.deliver_messages(destination, order(6), content_type=JSON)
    assert settled(driver, broker, 2, 1) == [Ack(id=delivered.ack)]
    assert taken == [6]
    assert client.failure is None


def test_close_lets_a_running_handler_finish_and_its_ack_precedes_disconnect(
    driver: Driver,
) -> None:
    broker = driver.broker()
    client = driver.client(broker.url)
    gate = driver.gate()
    destination = fresh("orders")
    taken: list[int] = []

    def take(order: Order, message: Message) -> None:
        taken.append(order.id)

    client.subscriber(destination, Order, take, gate=gate, style="deferred")
    client.connect()
    start = len(broker.frames())
    [delivered] = broker.deliver_messages(destination, ORDER, content_type=JSON)
    driver.until(lambda: gate.entered == 1, "the handler started")

    closing = client.start_close()
    driver.wait(HOLD)
    assert not closing.done(), "close did not wait for the running handler"
    assert broker.frames()[start:] == []  # no DISCONNECT under the handler's feet

    gate.open()
    driver.until(closing.done, "the client closed")
    closing.result()
    frames = broker.frames()[start:]
    disconnect = frames[-1]
    assert isinstance(disconnect, Disconnect) and disconnect.receipt is not None
    assert frames == [Ack(id=delivered.ack), Disconnect(receipt=disconnect.receipt)]
    assert (taken, gate.finished) == ([1], 1)
    assert client.events == ["connected", "closed"]


# -- request / reply ------------------------------------------------------------------------


def reply(broker: Broker, server: str, reply_to: str, correlation: str, body: bytes) -> Message:
    """The reply to a request, as each broker delivers it: RabbitMQ names the temp queue as
    the subscription (the client never subscribed), ActiveMQ the client's SUBSCRIBE."""
    headers = {"correlation-id": correlation}
    if server == RABBITMQ:
        return broker.push_message(
            reply_to, body, subscription=reply_to, content_type=JSON, headers=headers
        )
    [message] = broker.deliver_messages(reply_to, body, content_type=JSON, headers=headers)
    return message


def requested(driver: Driver, broker: Broker, start: int) -> Send:
    """The request's SEND (the one SEND since `start`)."""
    driver.until(lambda: sends_since(broker, start), "the request's SEND")
    [send] = sends_since(broker, start)
    return send


@pytest.mark.parametrize("server", [RABBITMQ, ACTIVEMQ])
def test_a_request_names_its_reply_route_and_gets_its_reply(driver: Driver, server: str) -> None:
    broker = driver.broker(server_name=server)
    client = driver.client(broker.url)
    client.connect()
    destination = fresh("prices")
    start = len(broker.frames())

    asking = client.start_request(destination, Order(id=1, amount=9.5), response=Price)
    send = requested(driver, broker, start)
    reply_to = send.headers.get("reply-to", "")
    correlation = send.headers.get("correlation-id", "")
    assert TEMP_QUEUE.fullmatch(reply_to), reply_to
    assert correlation
    assert send == Send(
        destination=destination,
        content_type=JSON,
        headers={"reply-to": reply_to, "correlation-id": correlation},
        body=b'{"id":1,"amount":9.5}',
    )
    frames = broker.frames()[start:]
    if server == RABBITMQ:
        assert frames == [send]  # RabbitMQ subscribes the connection itself: no SUBSCRIBE
    else:
        route = frames[0]
        assert isinstance(route, Subscribe) and route.id and route.receipt
        assert frames == [
            Subscribe(destination=reply_to, id=route.id, ack="auto", receipt=route.receipt),
            send,
        ]
    assert not asking.done()
    reply(broker, server, reply_to, correlation, b'{"n": 7}')
    driver.until(asking.done, "the request got its reply")
    assert asking.result() == Price(n=7)

    # A second request: the same reply route (no second SUBSCRIBE), a fresh correlation-id.
    start = len(broker.frames())
    asking = client.start_request(destination, Order(id=2, amount=1.0), response=Price)
    again = requested(driver, broker, start)
    assert broker.frames()[start:] == [again]
    assert again.headers.get("reply-to") == reply_to
    second = again.headers.get("correlation-id", "")
    assert second and second != correlation
    reply(broker, server, reply_to, second, b'{"n": 8}')
    driver.until(asking.done, "the second request got its reply")
    assert asking.result() == Price(n=8)
    routes = [f for f in broker.frames() if isinstance(f, Subscribe) and f.destination == reply_to]
    assert len(routes) == (0 if server == RABBITMQ else 1)
    assert client.failure is None


@pytest.mark.parametrize("server", [RABBITMQ, ACTIVEMQ])
def test_a_reply_nobody_waits_for_is_dropped(
    driver: Driver, server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=driver.logger)
    broker = driver.broker(server_name=server)
    client = driver.client(broker.url)
    client.connect()
    destination = fresh("prices")
    start = len(broker.frames())

    asking = client.start_request(destination, Order(id=1, amount=9.5), response=Price)
    send = requested(driver, broker, start)
    reply_to = send.headers.get("reply-to", "")
    correlation = send.headers.get("correlation-id", "")
    stray = reply(broker, server, reply_to, "nobody-asked", b'{"n": 1}')
    driver.wait(SETTLE)
    assert not asking.done(), "a reply to another correlation-id resolved the request"
    assert logged(caplog, driver, logging.DEBUG, f"reply {stray.message_id} dropped")

    reply(broker, server, reply_to, correlation, b'{"n": 2}')
    driver.until(asking.done, "the request got its reply")
    assert asking.result() == Price(n=2)
    assert client.failure is None


def test_a_request_without_a_reply_times_out_and_a_late_reply_is_dropped(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=driver.logger)
    broker = driver.broker(server_name=RABBITMQ)
    client = driver.client(broker.url)
    client.connect()
    destination = fresh("prices")
    start = len(broker.frames())

    with pytest.raises(TimeoutError, match=f"no reply from {destination}"):
        client.request(destination, Order(id=1, amount=9.5), response=Price, timeout=HOLD)
    [send] = sends_since(broker, start)
    late = reply(
        broker, RABBITMQ, send.headers["reply-to"], send.headers["correlation-id"], b'{"n": 3}'
    )
    client.publish(fresh("sync"), "sync", receipt=True)  # the late reply was read by now
    assert logged(caplog, driver, logging.DEBUG, f"reply {late.message_id} dropped")
    assert client.failure is None


@pytest.mark.parametrize("server", [RABBITMQ, ACTIVEMQ])
def test_a_request_fails_with_connection_lost_when_the_connection_ends(
    driver: Driver, server: str
) -> None:
    broker = driver.broker(server_name=server)
    client = driver.client(broker.url)
    client.connect()
    start = len(broker.frames())
    # Its own timeout is far off: only the lost connection can end it within `WAIT`.
    asking = client.start_request(
        fresh("prices"), Order(id=1, amount=9.5), response=Price, timeout=10 * WAIT
    )
    requested(driver, broker, start)
    broker.hang_up()
    driver.until(asking.done, "the request ended with the connection")
    with pytest.raises(ConnectionLost):
        asking.result()
