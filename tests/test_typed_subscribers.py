"""Typed subscribers, the pure layer: what a handler's signature may be (`SubscriberSpec.of`),
and what each outcome sends (`settle_*`, `dead_letter`) on a real ClientSession talking to the
in-memory FakeServer; `ClientSession.declare` / `attach`, and request/reply routing (`Replies`).

Every frame a settlement sends is decoded back with `parse_frame` and compared whole, then
handed to the FakeServer, which refuses what a broker would (an ACK of an unknown message...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pytest
from pydantic import BaseModel

from stompmodels import Ack, AckMode, Frame, Message, Nack, Send, Subscribe, Version, parse_frame
from stompmodels._client.errors import ConnectionLost
from stompmodels._client.options import PREFETCH_HEADERS, ClientOptions
from stompmodels._client.payloads import PayloadError
from stompmodels._client.replies import Replies, subscribes_itself
from stompmodels._client.session import ClientSession, Deliver, Dropped, Opened, Outgoing
from stompmodels._client.subscribers import (
    DEAD_LETTER_REASON,
    ORIGINAL_DESTINATION,
    ORIGINAL_MESSAGE_ID,
    Settlement,
    SubscriberSpec,
    dead_letter,
    settle_failed,
    settle_handled,
    settle_invalid,
)
from stompmodels._client.url import parse_url

from .fake_server import FakeServer

Session = ClientSession[str, str]  # waiters and sinks are plain names here
QUEUE: Final = "/queue/orders"
DEAD: Final = "/queue/orders.dead"
SINK: Final = "orders-sink"


class Order(BaseModel):
    id: int
    amount: float


class Price(BaseModel):
    value: float


class Opaque:
    """A plain class: pydantic cannot build a schema for it."""

    def __init__(self, anything: object) -> None:
        self.anything = anything


async def take_order(order: Order) -> None:
    """The plainest handler: the payload only."""


async def take_order_and_frame(order: Order, message: Message) -> Price:
    return Price(value=order.amount)


def spec_of(
    handler: Callable[..., object] = take_order,
    *,
    ack: AckMode = "client-individual",
    max_concurrent: int = 1,
    dead_letter: str | None = None,
    prefetch: int | None = None,
    asynchronous: bool = True,
    destination: str = QUEUE,
) -> SubscriberSpec:
    return SubscriberSpec.of(
        handler,
        destination,
        ack=ack,
        max_concurrent=max_concurrent,
        dead_letter=dead_letter,
        prefetch=prefetch,
        headers={"x-selector": "all"},
        asynchronous=asynchronous,
    )


# -- SubscriberSpec.of: the signature rules -------------------------------------------------


def test_a_payload_only_handler() -> None:
    spec = spec_of(take_order, ack="client", prefetch=None)
    assert spec.decoder.kind is Order
    assert spec.wants_message is False
    assert spec.name == "take_order"
    assert (spec.destination, spec.ack, spec.dead_letter) == (QUEUE, "client", None)
    assert dict(spec.headers) == {"x-selector": "all"}
    frame = Message(
        destination=QUEUE, message_id="m", subscription="s", body=b'{"id":1,"amount":2}'
    )
    assert spec.arguments(frame) == (Order(id=1, amount=2.0),)


def test_a_handler_that_takes_the_message_too() -> None:
    spec = spec_of(take_order_and_frame)
    assert spec.decoder.kind is Order
    assert spec.wants_message is True
    frame = Message(
        destination=QUEUE, message_id="m", subscription="s", body=b'{"id":1,"amount":2}'
    )
    payload, given = spec.arguments(frame)
    assert payload == Order(id=1, amount=2.0)
    assert given is frame
    bad = frame.model_copy(update={"body": b'{"id":"x"}'})
    with pytest.raises(PayloadError, match="not a valid Order"):
        spec.arguments(bad)


def test_a_second_parameter_with_a_default_is_not_the_message() -> None:
    async def handler(text: str, retries: int = 3) -> None: ...

    spec = spec_of(handler)
    assert spec.decoder.kind is str
    assert spec.wants_message is False


def test_a_payload_without_annotation_is_refused_naming_the_parameter() -> None:
    async def handler(order, message: Message) -> None: ...  # type: ignore[no-untyped-def]

    with pytest.raises(TypeError, match=r"annotate the first parameter of subscriber .*'order'"):
        spec_of(handler)


@pytest.mark.parametrize("annotation", [str, None], ids=["str", "missing"])
def test_a_second_parameter_must_be_annotated_message(annotation: type | None) -> None:
    async def handler(order: Order, frame) -> None: ...  # type: ignore[no-untyped-def]

    if annotation is not None:
        handler.__annotations__["frame"] = annotation
    with pytest.raises(TypeError, match=r"\('frame'\) gets the frame: annotate it as stompmodels"):
        spec_of(handler)


def test_zero_parameters_are_refused() -> None:
    async def handler() -> None: ...

    with pytest.raises(TypeError, match=r"must take the payload.*; it takes \(\) -> "):
        spec_of(handler)


def test_three_required_parameters_are_refused() -> None:
    async def handler(order: Order, message: Message, extra: int) -> None: ...

    with pytest.raises(TypeError, match="first two positional parameters"):
        spec_of(handler)


def test_a_required_keyword_only_parameter_is_refused() -> None:
    async def handler(order: Order, *, extra: int) -> None: ...

    with pytest.raises(TypeError, match="first two positional parameters"):
        spec_of(handler)


def test_a_plain_function_is_refused_by_the_asyncio_client() -> None:
    def handler(order: Order) -> None: ...

    with pytest.raises(TypeError, match=r"must be an async function \(async def\)"):
        spec_of(handler, asynchronous=True)
    assert spec_of(handler, asynchronous=False).decoder.kind is Order


def test_an_async_function_is_refused_by_the_blocking_client() -> None:
    with pytest.raises(TypeError, match="must be a plain function here; the asyncio client"):
        spec_of(take_order, asynchronous=False)


def test_client_acks_cannot_run_concurrently() -> None:
    with pytest.raises(ValueError, match="ack='client' acknowledges every earlier message"):
        spec_of(ack="client", max_concurrent=2)
    assert spec_of(ack="client-individual", max_concurrent=2).max_concurrent == 2
    assert spec_of(ack="auto", max_concurrent=2).max_concurrent == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_concurrent": 0}, "max_concurrent must be at least 1"),
        ({"prefetch": 0}, "prefetch must be at least 1"),
        ({"destination": ""}, "needs a destination"),
    ],
)
def test_settings_that_cannot_work_are_refused(changes: dict[str, int | str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec_of(**changes)  # type: ignore[arg-type]  # each value has its keyword's type


def test_prefetch_defaults_to_max_concurrent() -> None:
    assert spec_of(max_concurrent=5).prefetch == 5
    assert spec_of(max_concurrent=5, prefetch=20).prefetch == 20
    assert spec_of().prefetch == 1


def test_an_annotation_the_handler_s_module_cannot_see_is_a_type_error() -> None:
    class Local(BaseModel):  # `from __future__ import annotations`: the name is looked up later
        id: int

    async def handler(item: Local) -> None: ...

    with pytest.raises(TypeError, match=r"cannot resolve the annotations of subscriber .*Local"):
        spec_of(handler)


def test_a_payload_type_pydantic_cannot_validate_is_a_type_error() -> None:
    async def handler(item: Opaque) -> None: ...

    with pytest.raises(TypeError, match="pydantic cannot validate Opaque"):
        spec_of(handler)


# -- a session on the FakeServer --------------------------------------------------------------


def new_session() -> Session:
    url = parse_url("stomp://guest:guest@127.0.0.1:61613/")
    return ClientSession(ClientOptions(urls=(url,), queue_size=10))


def connect(session: Session, server: FakeServer, now: float = 0.0) -> None:
    """Open a connection of `session` to `server` and renew what it holds, as a driver does."""
    answer = server.receive(session.begin(session.next_url, now=now))
    actions = session.receive(b"".join(answer), now=now)
    assert [type(a) for a in actions] == [Opened]
    for frame in session.renewals():
        session.receive(b"".join(server.receive(session.outgoing(frame).data)), now=now)


def opened(version: Version = "1.2", server_name: str = "FakeMQ/1.0") -> tuple[Session, FakeServer]:
    server = FakeServer(supports=(version,), server_name=server_name)
    session = new_session()
    connect(session, server)
    return session, server


def declared(session: Session, server: FakeServer, spec: SubscriberSpec) -> str:
    """Subscribe `spec` on the open session; its subscription id."""
    ident, frame = session.declare(
        spec.destination, ack=spec.ack, headers=spec.headers, prefetch=spec.prefetch, sink=SINK
    )
    assert frame is not None
    answer = server.receive(session.outgoing(frame).data)
    session.receive(b"".join(answer), now=0.0)  # its RECEIPT
    return ident


def delivered(
    session: Session,
    server: FakeServer,
    ident: str,
    body: bytes,
    *,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
) -> Message:
    """A MESSAGE the server sends to subscription `ident`, as the session delivers it."""
    actions = session.receive(
        server.message(ident, body, content_type=content_type, headers=headers), now=1.0
    )
    assert len(actions) == 1
    action = actions[0]
    assert isinstance(action, Deliver)
    assert action.sink == SINK
    return action.message


def frames_of(session: Session, settlement: Settlement) -> list[Frame]:
    """The frames `settlement` sends, decoded from their bytes."""
    version = session.engine.version or "1.2"
    return [parse_frame(out.data, version) for out in settlement.sends]


def write(server: FakeServer, settlement: Settlement) -> None:
    """Give the sends to the server; it accepts them (no ERROR)."""
    for out in settlement.sends:
        server.receive(out.data)
    assert server.errors == []


GOOD: Final = b'{"id":1,"amount":2.5}'
BAD: Final = b'{"id":"one"}'
BAD_ERROR: Final = PayloadError("not a valid Order: id: Input should be a valid integer")


# -- settle_handled ---------------------------------------------------------------------------


def test_a_handled_message_is_acked_by_its_ack_id_in_12() -> None:
    session, server = opened("1.2")
    spec = spec_of()
    message = delivered(session, server, declared(session, server, spec), GOOD)
    settlement = settle_handled(session, spec, message, None)
    assert settlement.note is None
    assert frames_of(session, settlement) == [Ack(id=message.ack)]
    assert message.ack is not None
    assert [out.command for out in settlement.sends] == ["ACK"]
    write(server, settlement)
    assert [d.message_id for d in server.acked] == [message.message_id]


def test_a_handled_message_is_acked_by_message_id_and_subscription_in_11() -> None:
    session, server = opened("1.1")
    spec = spec_of()
    ident = declared(session, server, spec)
    message = delivered(session, server, ident, GOOD)
    settlement = settle_handled(session, spec, message, None)
    assert frames_of(session, settlement) == [
        Ack(message_id=message.message_id, subscription=ident)
    ]
    write(server, settlement)
    assert len(server.acked) == 1


def test_a_returned_value_replies_to_reply_to_before_the_ack() -> None:
    session, server = opened()
    spec = spec_of(take_order_and_frame)
    ident = declared(session, server, spec)
    asks = {"reply-to": "/temp-queue/replies-1", "correlation-id": "corr-7", "x-trace": "t"}
    message = delivered(session, server, ident, GOOD, headers=asks)
    settlement = settle_handled(session, spec, message, Price(value=2.5))
    assert settlement.note is None
    reply, ack = frames_of(session, settlement)
    assert reply == Send(
        destination="/temp-queue/replies-1",
        content_type="application/json",
        content_length=len(b'{"value":2.5}'),
        body=b'{"value":2.5}',
        headers={"correlation-id": "corr-7"},
    )
    assert ack == Ack(id=message.ack)
    assert settlement.sends[0].receipt is None  # the reply asks for no receipt
    write(server, settlement)
    assert [p.destination for p in server.published] == ["/temp-queue/replies-1"]


@pytest.mark.parametrize(
    ("result", "headers"),
    [
        (None, {"reply-to": "/queue/r", "correlation-id": "c"}),  # nothing to reply
        (Price(value=1.0), {}),  # nowhere to reply
        (Price(value=1.0), {"reply-to": ""}),  # an empty reply-to is nowhere too
    ],
    ids=["none-returned", "no-reply-to", "empty-reply-to"],
)
def test_no_reply_without_a_value_or_a_reply_to(
    result: Price | None, headers: dict[str, str]
) -> None:
    session, server = opened()
    spec = spec_of()
    message = delivered(session, server, declared(session, server, spec), GOOD, headers=headers)
    settlement = settle_handled(session, spec, message, result)
    assert [type(f) for f in frames_of(session, settlement)] == [Ack]


def test_a_reply_without_correlation_id_goes_without_one() -> None:
    session, server = opened()
    spec = spec_of()
    ident = declared(session, server, spec)
    message = delivered(session, server, ident, GOOD, headers={"reply-to": "/queue/r"})
    reply, _ack = frames_of(session, settle_handled(session, spec, message, "done"))
    assert isinstance(reply, Send)
    assert (reply.body, reply.content_type) == (b"done", "text/plain;charset=utf-8")
    assert dict(reply.headers) == {}


def test_auto_ack_sends_no_ack_but_still_replies() -> None:
    session, server = opened()
    spec = spec_of(ack="auto")
    ident = declared(session, server, spec)
    message = delivered(session, server, ident, GOOD, headers={"reply-to": "/queue/r"})
    assert settle_handled(session, spec, message, None) == Settlement((), None, "handled")
    settlement = settle_handled(session, spec, message, Price(value=3.0))
    assert [type(f) for f in frames_of(session, settlement)] == [Send]
    assert settle_failed(session, spec, message) == Settlement((), None, "failed")


# -- settle_invalid and dead_letter -----------------------------------------------------------


def test_an_invalid_payload_is_nacked_without_requeue() -> None:
    session, server = opened("1.2")
    spec = spec_of()
    message = delivered(session, server, declared(session, server, spec), BAD)
    settlement = settle_invalid(session, spec, message, BAD_ERROR)
    assert settlement.note is None
    assert frames_of(session, settlement) == [Nack(id=message.ack, headers={"requeue": "false"})]
    write(server, settlement)
    assert [d.message_id for d in server.nacked] == [message.message_id]
    assert server.acked == []


def test_an_invalid_payload_in_11_is_nacked_by_message_id_without_requeue() -> None:
    session, server = opened("1.1")
    spec = spec_of()
    ident = declared(session, server, spec)
    message = delivered(session, server, ident, BAD)
    settlement = settle_invalid(session, spec, message, BAD_ERROR)
    assert frames_of(session, settlement) == [
        Nack(message_id=message.message_id, subscription=ident, headers={"requeue": "false"})
    ]
    write(server, settlement)
    assert len(server.nacked) == 1


def test_an_invalid_payload_in_10_is_acked_for_10_has_no_nack() -> None:
    session, server = opened("1.0")
    spec = spec_of(ack="client")  # 1.0 has no client-individual
    message = delivered(session, server, declared(session, server, spec), BAD)
    settlement = settle_invalid(session, spec, message, BAD_ERROR)
    assert settlement.note is None
    assert frames_of(session, settlement) == [Ack(message_id=message.message_id)]
    write(server, settlement)
    assert len(server.acked) == 1


def test_an_invalid_payload_is_dead_lettered_whole_then_acked() -> None:
    session, server = opened()
    spec = spec_of(dead_letter=DEAD)
    ident = declared(session, server, spec)
    custom = {
        "x-trace": "t-1",
        "persistent": "true",
        "reply-to": "/queue/r",
        "correlation-id": "c-1",
        # Headers a SEND types (RabbitMQ copies a SEND's receipt into its MESSAGEs): forwarded,
        # they would ask a receipt of their own, or name a transaction.
        "receipt": "r-from-the-producer",
        "transaction": "tx-of-the-producer",
        # What the broker said of this delivery: ActiveMQ's absolute `expires` would make the
        # copy expire from the dead letters.
        "expires": "1796599999999",
        "redelivered": "true",
    }
    message = delivered(
        session, server, ident, BAD, content_type="application/vnd.orders+json", headers=custom
    )
    settlement = settle_invalid(session, spec, message, BAD_ERROR)
    assert settlement.note is None
    forward, ack = frames_of(session, settlement)
    assert isinstance(forward, Send)
    assert forward.destination == DEAD
    assert forward.body == BAD
    assert forward.content_type == "application/vnd.orders+json"
    assert forward.transaction is None
    assert forward.receipt is not None
    assert forward.receipt != "r-from-the-producer"
    assert settlement.sends[0].receipt == forward.receipt  # the driver waits for it
    assert dict(forward.headers) == {
        "x-trace": "t-1",
        "persistent": "true",
        "reply-to": "/queue/r",
        "correlation-id": "c-1",
        DEAD_LETTER_REASON: "not a valid Order: id: Input should be a valid integer",
        ORIGINAL_DESTINATION: QUEUE,
        ORIGINAL_MESSAGE_ID: message.message_id,
    }
    assert ack == Ack(id=message.ack)
    assert [out.command for out in settlement.sends] == ["SEND", "ACK"]
    write(server, settlement)
    assert [p.destination for p in server.published] == [DEAD]
    assert len(server.acked) == 1
    assert server.nacked == []


def test_dead_lettering_in_10_acks_too_and_auto_sends_only_the_copy() -> None:
    session, server = opened("1.0")
    spec = spec_of(dead_letter=DEAD, ack="client")
    message = delivered(session, server, declared(session, server, spec), BAD)
    settlement = settle_invalid(session, spec, message, BAD_ERROR)
    assert [f.command for f in frames_of(session, settlement)] == ["SEND", "ACK"]
    session, server = opened()
    auto = spec_of(dead_letter=DEAD, ack="auto")
    message = delivered(session, server, declared(session, server, auto), BAD)
    settlement = settle_invalid(session, auto, message, BAD_ERROR)
    assert [f.command for f in frames_of(session, settlement)] == ["SEND"]
    assert settle_invalid(session, spec_of(ack="auto"), message, BAD_ERROR) == Settlement(
        (), None, "invalid"
    )


def test_a_dead_letter_reason_is_one_bounded_line() -> None:
    session, server = opened()
    spec = spec_of()
    message = delivered(session, server, declared(session, server, spec), BAD, content_type=None)
    out = dead_letter(session, DEAD, message, "first line\nsecond\tline " + "x" * 1000)
    forward = parse_frame(out.data, "1.2")
    assert isinstance(forward, Send)
    reason = forward.headers[DEAD_LETTER_REASON]
    assert reason.startswith("first line second line xxx")
    assert reason.endswith("...")
    assert len(reason) == 500
    assert forward.content_type is None  # none given, none invented
    assert out.command == "SEND"


# -- settle_failed ----------------------------------------------------------------------------


@pytest.mark.parametrize("ack", ["client-individual", "client"])
def test_a_handler_that_raised_is_nacked_for_redelivery(ack: AckMode) -> None:
    session, server = opened()
    spec = spec_of(ack=ack)
    message = delivered(session, server, declared(session, server, spec), GOOD)
    settlement = settle_failed(session, spec, message)
    assert settlement.note is None
    assert frames_of(session, settlement) == [Nack(id=message.ack)]  # no requeue:false here
    assert [out.command for out in settlement.sends] == ["NACK"]
    write(server, settlement)
    assert len(server.nacked) == 1


def test_a_handler_that_raised_in_10_leaves_the_message_unacknowledged() -> None:
    session, server = opened("1.0")
    spec = spec_of(ack="client")
    message = delivered(session, server, declared(session, server, spec), GOOD)
    settlement = settle_failed(session, spec, message)
    assert settlement.sends == ()
    assert settlement.note == f"message {message.message_id} left unacknowledged (no NACK here)"


# -- messages the connection cannot settle ----------------------------------------------------


def test_a_message_from_before_a_reconnect_is_never_settled() -> None:
    session, server = opened()
    spec = spec_of(take_order_and_frame, dead_letter=DEAD)
    ident = declared(session, server, spec)
    old = delivered(session, server, ident, GOOD, headers={"reply-to": "/queue/r"})
    session.connection_lost(ConnectionLost("reset"))
    connect(session, FakeServer(supports=("1.2",)), now=2.0)  # renews the subscription
    assert session.subscriptions[ident].frame.destination == QUEUE

    expected = (
        f"{{}} of message {old.message_id} not sent: it came before a reconnect, "
        "and is delivered again"
    )
    handled = settle_handled(session, spec, old, None)
    assert handled == Settlement((), expected.format("ACK"), "handled")
    invalid = settle_invalid(session, spec, old, BAD_ERROR)
    assert invalid == Settlement(
        (), expected.format("ACK"), "invalid"
    )  # no dead-letter copy either
    nodl = settle_invalid(session, spec_of(), old, BAD_ERROR)
    assert nodl == Settlement((), expected.format("NACK"), "invalid")
    assert settle_failed(session, spec, old) == Settlement((), expected.format("NACK"), "failed")
    # The handler's reply still goes (it ran; its requester may be waiting): only the ACK
    # is withheld.
    replied = settle_handled(session, spec, old, Price(value=1.0))
    assert [f.command for f in frames_of(session, replied)] == ["SEND"]
    assert replied.note == expected.format("ACK")


def test_nothing_is_settled_while_the_connection_is_lost() -> None:
    session, server = opened()
    spec = spec_of(dead_letter=DEAD)
    ident = declared(session, server, spec)
    message = delivered(session, server, ident, GOOD, headers={"reply-to": "/queue/r"})
    session.connection_lost(ConnectionLost("reset"))
    lost = "{} of message " + message.message_id + " not sent: the connection is lost"
    handled = settle_handled(session, spec, message, Price(value=1.0))  # no reply either
    assert handled.sends == ()
    assert handled.note is not None
    assert handled.note.startswith(lost.format("ACK"))
    invalid = settle_invalid(session, spec, message, BAD_ERROR)
    assert invalid.sends == ()
    assert invalid.note is not None
    assert invalid.note.startswith(lost.format("ACK"))
    failed = settle_failed(session, spec, message)
    assert failed.sends == ()
    assert failed.note is not None
    assert failed.note.startswith(lost.format("NACK"))


# -- declare and attach -----------------------------------------------------------------------


def test_a_subscriber_declared_before_connecting_is_subscribed_on_connect() -> None:
    session = new_session()
    spec = spec_of(max_concurrent=4, ack="client-individual")
    ident, frame = session.declare(
        QUEUE, ack=spec.ack, headers=spec.headers, prefetch=spec.prefetch, sink=SINK
    )
    assert (ident, frame) == ("subscriber-1", None)
    assert session.subscriptions[ident].sink == SINK
    server = FakeServer(supports=("1.2",))
    answer = server.receive(session.begin(session.next_url, now=0.0))
    assert [type(a) for a in session.receive(b"".join(answer), now=0.0)] == [Opened]
    (renewal,) = session.renewals()
    assert (renewal.id, renewal.destination, renewal.ack) == (ident, QUEUE, "client-individual")
    assert renewal.receipt is not None
    assert dict(renewal.headers) == {"x-selector": "all", **dict.fromkeys(PREFETCH_HEADERS, "4")}
    assert PREFETCH_HEADERS == ("prefetch-count", "activemq.prefetchSize")
    server.receive(session.outgoing(renewal).data)
    assert ident in server.subscriptions
    message = delivered(session, server, ident, GOOD)
    assert message.subscription == ident


def test_a_subscriber_declared_while_connected_gets_its_subscribe_at_once() -> None:
    session, _server = opened()
    first, _ = session.declare(QUEUE, ack="auto", headers=None, prefetch=2, sink="a")
    second, frame = session.declare("/queue/b", ack="client", headers=None, prefetch=None, sink="b")
    assert (first, second) == ("subscriber-1", "subscriber-2")
    assert isinstance(frame, Subscribe)
    assert (frame.id, frame.destination, frame.ack) == (second, "/queue/b", "client")
    assert frame.receipt is not None
    # prefetch None on an acknowledging subscription: the client's queue size
    assert dict(frame.headers) == dict.fromkeys(PREFETCH_HEADERS, "10")
    assert parse_frame(session.outgoing(frame).data, "1.2") == frame


def test_messages_of_an_attached_id_go_to_its_sink() -> None:
    session, _server = opened()
    reply = Message(
        destination="/temp-queue/r-1", message_id="m-9", subscription="/temp-queue/r-1"
    ).to_wire("1.2")
    (dropped,) = session.receive(reply, now=1.0)
    assert isinstance(dropped, Dropped)  # nobody attached yet
    session.attach("/temp-queue/r-1", "reply-sink")
    (action,) = session.receive(reply, now=1.0)
    assert isinstance(action, Deliver)
    assert action.sink == "reply-sink"
    assert action.message.message_id == "m-9"
    assert session.renewals() == []  # attached ids are never renewed


# -- Replies ----------------------------------------------------------------------------------


def test_replies_wait_by_correlation_id() -> None:
    replies: Replies[str] = Replies()
    assert replies.destination.startswith("/temp-queue/stompmodels-replies-")
    assert Replies[str]().destination != replies.destination
    first, second, third = (replies.expect(w) for w in ("w1", "w2", "w3"))
    assert len({first, second, third}) == 3
    assert len(replies) == 3

    def reply(correlation: str) -> Message:
        return Message(
            destination=replies.destination,
            message_id="m",
            subscription="s",
            headers={"correlation-id": correlation},
        )

    assert replies.take(reply(second)) == "w2"
    assert replies.take(reply(second)) is None  # taken once
    assert replies.take(reply("someone-else")) is None
    assert replies.take(Message(destination="/q", message_id="m", subscription="s")) is None
    replies.forget(first)
    replies.forget(first)  # forgetting twice is harmless
    assert replies.take(reply(first)) is None  # late: dropped
    assert len(replies) == 1
    assert replies.abandon() == ["w3"]
    assert len(replies) == 0
    assert replies.abandon() == []


def test_rabbitmq_replies_are_attached_without_a_subscribe() -> None:
    assert subscribes_itself("RabbitMQ/3.13.7")
    assert not subscribes_itself("ActiveMQ/5.17.6")
    assert not subscribes_itself(None)
    session, server = opened(server_name="RabbitMQ/3.13.7")
    replies: Replies[str] = Replies()
    assert replies.route(session, "reply-sink") is None
    assert replies.route(session, "reply-sink") is None
    assert session.subscriptions == {}  # nothing to renew: RabbitMQ subscribes by itself
    reply = Message(
        destination=replies.destination,
        message_id="m-1",
        subscription=replies.destination,  # what RabbitMQ names
        headers={"correlation-id": "c"},
    )
    (action,) = session.receive(reply.to_wire("1.2"), now=1.0)
    assert isinstance(action, Deliver)
    assert action.sink == "reply-sink"
    assert [f.command for f in server.received] == ["CONNECT"]  # no SUBSCRIBE was written


def test_other_brokers_get_one_subscribe_to_the_reply_queue_per_connection() -> None:
    session, server = opened(server_name="ActiveMQ/5.17.6")
    replies: Replies[str] = Replies()
    frame = replies.route(session, "reply-sink")
    assert isinstance(frame, Subscribe)
    assert (frame.destination, frame.ack) == (replies.destination, "auto")
    assert frame.receipt is not None
    assert frame.id is not None
    assert session.subscriptions[frame.id].sink == "reply-sink"
    assert replies.route(session, "reply-sink") is None  # once per connection
    server.receive(session.engine.encode(frame))
    reply = server.message(frame.id, b'{"value":1}', headers={"correlation-id": "c"})
    (action,) = session.receive(reply, now=1.0)
    assert isinstance(action, Deliver)
    assert action.sink == "reply-sink"
    # A new connection renews the held subscription; route adds no second one.
    session.connection_lost(ConnectionLost("reset"))
    again = FakeServer(supports=("1.2",), server_name="ActiveMQ/5.17.6")
    connect(session, again, now=2.0)
    assert replies.route(session, "reply-sink") is None
    assert [s.destination for s in again.subscriptions.values()] == [replies.destination]


def test_no_route_is_set_up_before_the_connection_is_open() -> None:
    session = new_session()
    replies: Replies[str] = Replies()
    assert replies.route(session, "reply-sink") is None
    server = FakeServer(supports=("1.2",), server_name="ActiveMQ/5.17.6")
    connect(session, server)
    assert isinstance(replies.route(session, "reply-sink"), Subscribe)  # not marked as done


def test_outgoing_is_what_the_settlements_carry() -> None:
    # The settlement's sends are Outgoing tuples (bytes, receipt, command), as drivers write.
    session, server = opened()
    spec = spec_of()
    message = delivered(session, server, declared(session, server, spec), GOOD)
    (out,) = settle_handled(session, spec, message, None).sends
    assert isinstance(out, Outgoing)
    assert out.data.startswith(b"ACK\n")


def test_a_reply_that_cannot_be_json_raises_before_anything_is_sent() -> None:
    # settle_handled raises (the asyncio client then treats it as the handler failing: NACK).
    session, server = opened()
    spec = spec_of()
    ident = declared(session, server, spec)
    message = delivered(session, server, ident, GOOD, headers={"reply-to": "/queue/r"})
    with pytest.raises(TypeError, match="cannot send a Opaque as JSON"):
        settle_handled(session, spec, message, Opaque(1))
    assert server.published == []
    assert [f.command for f in frames_of(session, settle_failed(session, spec, message))] == [
        "NACK"
    ]
