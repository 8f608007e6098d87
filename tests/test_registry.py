"""Handlers: registration by decorator, narrowing, routers included into engines, first match
wins, and a handler's return value as the engine's reply."""

from __future__ import annotations

import pytest

from stompmodels import (
    ClientFrame,
    Connected,
    Engine,
    Error,
    LocalProtocolError,
    Message,
    Receipt,
    Router,
    Send,
    State,
    Version,
)


def connected(version: Version = "1.2") -> Engine:
    engine = Engine()
    engine.encode(engine.connect())
    engine.react(Connected(version=version).to_wire(version))
    return engine


def message(
    destination: str = "/queue/a",
    subscription: str = "sub-a",
    *,
    number: int = 1,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    return Message(
        destination=destination,
        message_id=f"m-{number}",
        subscription=subscription,
        ack=f"ack-{number}",
        headers=headers or {},
        body=body,
    ).to_wire()


def client_subscription(engine: Engine, destination: str, sub_id: str) -> None:
    engine.encode(engine.subscribe(destination, ack="client", id=sub_id))


def test_a_handler_gets_the_typed_frame_and_its_return_is_the_reply() -> None:
    engine = connected()
    client_subscription(engine, "/queue/a", "sub-a")
    seen: list[Message] = []

    @engine.on(Message)
    def reject(frame: Message) -> ClientFrame | None:
        seen.append(frame)
        return engine.nack(frame)

    assert engine.react(message(body=b"payload")) == b"NACK\nid:ack-1\n\n\0"
    [frame] = seen
    assert isinstance(frame, Message)
    assert frame.body == b"payload"
    assert frame.subscription == "sub-a"


def test_a_handler_returning_none_replaces_the_default_ack() -> None:
    engine = connected()
    client_subscription(engine, "/queue/a", "sub-a")
    calls: list[str] = []

    @engine.on(Message)
    def later(frame: Message) -> None:
        calls.append(frame.message_id)

    assert engine.react(message()) == b""
    assert calls == ["m-1"]


def test_the_decorator_returns_the_function_itself() -> None:
    router = Router()

    def handler(frame: Message) -> None:
        return None

    assert router.on(Message)(handler) is handler


def test_destination_narrows_and_others_get_the_default_reaction() -> None:
    engine = connected()
    for name in ("a", "b", "c"):
        client_subscription(engine, f"/queue/{name}", f"sub-{name}")
    calls: list[str] = []

    @engine.on(Message, destination="/queue/a")
    def on_a(frame: Message) -> None:
        calls.append("a:" + frame.message_id)

    @engine.on(Message, destination="/queue/b")
    def on_b(frame: Message) -> None:
        calls.append("b:" + frame.message_id)

    assert engine.react(message("/queue/b", "sub-b", number=1)) == b""
    assert engine.react(message("/queue/a", "sub-a", number=2)) == b""
    assert engine.react(message("/queue/c", "sub-c", number=3)) == b"ACK\nid:ack-3\n\n\0"
    assert calls == ["b:m-1", "a:m-2"]


def test_subscription_narrows() -> None:
    engine = connected()
    client_subscription(engine, "/topic/t", "s1")
    client_subscription(engine, "/topic/t", "s2")
    calls: list[str | None] = []

    @engine.on(Message, subscription="s2")
    def only_s2(frame: Message) -> None:
        calls.append(frame.subscription)

    assert engine.react(message("/topic/t", "s1")) == b"ACK\nid:ack-1\n\n\0"
    assert engine.react(message("/topic/t", "s2", number=2)) == b""
    assert calls == ["s2"]


def test_where_narrows_with_a_typed_predicate() -> None:
    engine = connected()
    client_subscription(engine, "/queue/a", "sub-a")

    @engine.on(Message, where=lambda frame: frame.headers.get("priority") == "9")
    def urgent(frame: Message) -> ClientFrame:
        return engine.send("/queue/escalate", frame.body)

    reply = engine.react(message(headers={"priority": "9"}, body=b"!"))
    assert reply == b"SEND\ndestination:/queue/escalate\ncontent-length:1\n\n!\0"
    assert engine.react(message(headers={"priority": "1"}, number=2)) == b"ACK\nid:ack-2\n\n\0"


def test_every_narrowing_must_match() -> None:
    engine = connected()
    client_subscription(engine, "/queue/a", "sub-a")
    client_subscription(engine, "/queue/b", "sub-b")
    calls: list[str] = []

    @engine.on(
        Message, destination="/queue/a", subscription="sub-a", where=lambda m: m.body == b"y"
    )
    def narrow(frame: Message) -> None:
        calls.append(frame.message_id)

    engine.react(message("/queue/a", "sub-a", number=1, body=b"n"))
    engine.react(message("/queue/b", "sub-b", number=2, body=b"y"))
    engine.react(message("/queue/a", "sub-b", number=3, body=b"y"))
    engine.react(message("/queue/a", "sub-a", number=4, body=b"y"))
    assert calls == ["m-4"]


def test_the_first_matching_handler_wins() -> None:
    engine = connected()
    client_subscription(engine, "/queue/a", "sub-a")
    calls: list[str] = []

    @engine.on(Message, where=lambda m: m.body == b"never")
    def skipped(frame: Message) -> None:
        calls.append("skipped")

    @engine.on(Message, destination="/queue/a")
    def first(frame: Message) -> None:
        calls.append("first")

    @engine.on(Message)
    def second(frame: Message) -> ClientFrame:
        calls.append("second")
        return engine.ack(frame)

    assert engine.react(message()) == b""
    assert calls == ["first"]
    assert engine.react(message("/queue/other", "sub-x", number=2)) == b"ACK\nid:ack-2\n\n\0"
    assert calls == ["first", "second"]


def test_handlers_match_the_exact_kind_only() -> None:
    engine = connected()
    engine.encode(engine.send("/q", receipt="r-1"))
    calls: list[str] = []

    @engine.on(Receipt)
    def on_receipt(frame: Receipt) -> None:
        calls.append("receipt:" + frame.receipt_id)

    @engine.on(Error)
    def on_error(frame: Error) -> None:
        calls.append(f"error:{frame.message}")

    assert engine.react(message()) == b"ACK\nid:ack-1\n\n\0"  # no Message handler: default
    assert engine.react(b"RECEIPT\nreceipt-id:r-1\n\n\0") == b""
    assert engine.react(b"ERROR\nmessage:gone\n\n\0") == b""
    assert calls == ["receipt:r-1", "error:gone"]


def test_a_connected_handler_can_subscribe_at_once() -> None:
    engine = Engine()

    @engine.on(Connected)
    def subscribe_on_connect(frame: Connected) -> ClientFrame:
        return engine.subscribe("/queue/" + (frame.session or "x"), id="first")

    engine.encode(engine.connect())
    reply = engine.react(b"CONNECTED\nversion:1.1\nsession:jobs\n\n\0")
    assert reply == b"SUBSCRIBE\ndestination:/queue/jobs\nid:first\nack:auto\n\n\0"
    assert engine.state is State.CONNECTED
    assert engine.version == "1.1"
    assert "first" in engine.subscriptions


def test_a_receipt_handler_reply_goes_through_the_gate() -> None:
    engine = connected()
    engine.encode(engine.send("/q", receipt="r-1"))

    @engine.on(Receipt)
    def commit_unknown(frame: Receipt) -> ClientFrame:
        return engine.commit("tx-unknown")

    with pytest.raises(LocalProtocolError, match="not open"):
        engine.react(b"RECEIPT\nreceipt-id:r-1\n\n\0")


def test_a_router_made_apart_is_included_into_the_engine() -> None:
    router = Router()
    calls: list[str] = []

    @router.on(Message, destination="/queue/a")
    def on_a(frame: Message) -> ClientFrame:
        calls.append("router")
        return Send(destination="/queue/audit", body=frame.body)

    engine = connected()
    engine.include(router)
    reply = engine.react(message(body=b"z"))
    assert reply == b"SEND\ndestination:/queue/audit\ncontent-length:1\n\nz\0"
    assert calls == ["router"]


def test_included_routers_are_consulted_in_registration_order() -> None:
    engine = connected()
    calls: list[str] = []
    router = Router()

    @engine.on(Message, where=lambda m: m.body == b"1")
    def engine_before(frame: Message) -> None:
        calls.append("engine-before")

    @router.on(Message, where=lambda m: m.body in (b"1", b"2"))
    def in_router(frame: Message) -> None:
        calls.append("router")

    engine.include(router)

    @engine.on(Message)
    def engine_after(frame: Message) -> None:
        calls.append("engine-after")

    for number, body in enumerate((b"1", b"2", b"3")):
        engine.react(message(number=number, body=body))
    assert calls == ["engine-before", "router", "engine-after"]


def test_handlers_added_to_a_router_after_inclusion_are_seen() -> None:
    engine = connected()
    router = Router()
    engine.include(router)
    calls: list[str] = []

    @router.on(Message)
    def late(frame: Message) -> None:
        calls.append(frame.message_id)

    assert engine.react(message()) == b""
    assert calls == ["m-1"]


def test_nested_routers_are_searched_depth_first() -> None:
    outer, inner, last = Router(), Router(), Router()
    calls: list[str] = []

    @inner.on(Message, where=lambda m: m.body == b"x")
    def deep(frame: Message) -> None:
        calls.append("inner")

    @outer.on(Message, where=lambda m: m.body == b"y")
    def shallow(frame: Message) -> None:
        calls.append("outer")

    @last.on(Message)
    def fallback(frame: Message) -> None:
        calls.append("last")

    outer.include(inner)
    outer.include(last)
    frames = [
        Message.from_wire(message(number=n, body=b)) for n, b in enumerate((b"x", b"y", b"z"))
    ]
    for frame in frames:
        handler = outer.handler_for(frame)
        assert handler is not None
        handler(frame)
    assert calls == ["inner", "outer", "last"]
    assert Router().handler_for(frames[0]) is None


def test_one_router_can_serve_two_engines() -> None:
    router = Router()

    @router.on(Message)
    def keep(frame: Message) -> None:
        return None

    first, second = connected("1.1"), connected("1.2")
    first.include(router)
    second.include(router)
    assert (
        first.react(Message(destination="/q", message_id="1", subscription="s").to_wire("1.1"))
        == b""
    )
    assert second.react(message()) == b""


def test_including_a_router_into_itself_is_refused() -> None:
    a, b, c = Router(), Router(), Router()
    with pytest.raises(ValueError, match="cycle"):
        a.include(a)
    a.include(b)
    b.include(c)
    with pytest.raises(ValueError, match="cycle"):
        c.include(a)
    with pytest.raises(ValueError, match="cycle"):
        b.include(a)
    a.include(c)  # the same router twice is no cycle


def test_destination_and_subscription_narrow_messages_only() -> None:
    router = Router()
    with pytest.raises(TypeError, match="Message"):
        router.on(Receipt, destination="/q")
    with pytest.raises(TypeError, match="Message"):
        router.on(Error, subscription="s")
    router.on(Error, where=lambda e: e.message == "x")  # where= narrows any kind


def test_has_handlers_says_whether_anything_was_registered_or_included() -> None:
    empty, including, registering = Router(), Router(), Router()
    including.include(Router())  # an included router may gain handlers later

    @registering.on(Receipt)
    def noted(receipt: Receipt) -> None:
        return None

    assert [r.has_handlers for r in (empty, including, registering)] == [False, True, True]
