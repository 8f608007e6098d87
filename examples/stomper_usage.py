"""stomper's usage example, step by step, with stompmodels.

stomper's ``examples/stomper_usage.py`` walks through one session: CONNECT as bob, react to the
server's CONNECTED, SUBSCRIBE with client acknowledgement, react to a MESSAGE (the engine answers
with an ACK), override the reaction with a ``Pong`` subclass, and SEND with and without custom
headers. This script does the same with typed frames and an `Engine`, and prints every frame as a
model and as the bytes that go on the wire.

The server's side is canned bytes (the frames of stomper's example), so it runs without a
network and prints the same thing every time. It checks its key facts and fails loudly if the
library changes under it::

    .venv/bin/python examples/stomper_usage.py
"""

from __future__ import annotations

from stompmodels import (
    ClientFrame,
    Connected,
    Engine,
    Frame,
    Message,
    Receipt,
    Router,
    Send,
    State,
)

SESSION = "ID:snorky.local-49191-1185461799654-3:18"

# The server's frames of stomper's example, as a STOMP 1.0 broker puts them on the wire. There is
# no `version` header in CONNECTED, so the server speaks 1.0; a 1.0 reader strips the spaces after
# the colons in the MESSAGE (1.1 and 1.2 would keep them as part of the values). stomper's text had
# "hello queue a\n\n" before the NUL; stompmodels would keep those newlines as body bytes (stomper's
# unpack_frame deleted them), so the body here is just the message.
CONNECTED = b"CONNECTED\nsession:" + SESSION.encode() + b"\n\n\x00\n"
MESSAGE = b"MESSAGE\ndestination: /queue/a\nmessage-id: some-message-id\n\nhello queue a\x00\n"

# What stomper's example printed for the ACK was 'ACK\nmessage-id: some-message-id\n\n\x00\n'.
# stompmodels writes no space after the colon and no newline after the NUL.
ACK = b"ACK\nmessage-id:some-message-id\n\n\x00"


def check(what: str, actual: object, expected: object) -> None:
    """Stop with a clear message if the library no longer does what this example shows."""
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def show(arrow: str, frame: Frame, data: bytes) -> None:
    """Print a frame as its typed model and as its wire bytes."""
    print(f"  {arrow} {frame!r}")
    print(f"     {data!r}")


def open_session(engine: Engine) -> None:
    """Steps 1 to 3 without the printing: CONNECT, CONNECTED, SUBSCRIBE with ack=client."""
    engine.encode(engine.connect(login="bob", passcode="1234", versions=("1.0",)))
    engine.react(CONNECTED)
    engine.encode(engine.subscribe("/queue/a", ack="client"))


class Pong:
    """stomper's ``Pong(stomper.Engine)``, which overrode ``ack()``: do something, then ACK.

    With stompmodels nothing is subclassed: the handler is registered on a `Router`, and the
    router is included into any engine. Whatever the handler returns is sent back; it builds
    the ACK with `engine.ack`, which picks the headers of the negotiated version.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[str] = []
        self.router = Router()
        self.router.on(Message, destination="/queue/a")(self.on_message)

    def on_message(self, message: Message) -> ClientFrame | None:
        print(f"  Pong got a message: {message.text!r}")
        self.seen.append(message.text)
        return self.engine.ack(message)


def connect_and_subscribe(engine: Engine) -> None:
    """Steps 1 to 3: CONNECT, react to CONNECTED, SUBSCRIBE with ack='client'."""
    print("1. CONNECT as bob/1234 (stomper.connect('bob', '1234'))")
    # The seed's server speaks STOMP 1.0, so offer 1.0 only; Engine.connect() offers
    # 1.0, 1.1 and 1.2 by default, for today's brokers.
    connect = engine.connect(login="bob", passcode="1234", versions=("1.0",))
    data = engine.encode(connect)
    show("->", connect, data)
    check("CONNECT", data, b"CONNECT\naccept-version:1.0\nhost:/\nlogin:bob\npasscode:1234\n\n\x00")
    check("passcode hidden in repr", "1234" in repr(connect), False)

    print("\n2. react to CONNECTED (responder.react(server_response))")
    [reaction] = engine.receive(CONNECTED)
    show("<-", reaction.frame, CONNECTED)
    print(f"  reply: {reaction.reply!r} (stomper: NO_RESPONSE_NEEDED)")
    print(f"  engine.session = {engine.session!r} (stomper: engine.sessionId)")
    print(f"  engine.version = {engine.version!r}, engine.state = {engine.state.name}")
    check("reply to CONNECTED", reaction.reply, b"")
    check("session", engine.session, SESSION)
    check("version", engine.version, "1.0")
    check("state", engine.state, State.CONNECTED)

    print("\n3. SUBSCRIBE with ack='client' (stomper.subscribe(DESTINATION, ack='client'))")
    subscribe = engine.subscribe("/queue/a", ack="client")
    data = engine.encode(subscribe)
    show("->", subscribe, data)
    check("SUBSCRIBE", data, b"SUBSCRIBE\ndestination:/queue/a\nid:sub-1\nack:client\n\n\x00")


def react_to_message(engine: Engine) -> None:
    """Step 4: the MESSAGE comes in, the ACK goes out (stomper's default reaction)."""
    print("\n4. react to the MESSAGE: the engine answers with the ACK")
    [reaction] = engine.receive(MESSAGE)
    show("<-", reaction.frame, MESSAGE)
    print(f"  reply: {reaction.reply!r}")
    message = reaction.frame
    if not isinstance(message, Message):
        raise AssertionError(f"expected a Message, got {message!r}")
    check("MESSAGE destination", message.destination, "/queue/a")
    check("MESSAGE message-id", message.message_id, "some-message-id")
    check("MESSAGE body", message.body, b"hello queue a")
    check("ACK", reaction.reply, ACK)
    # The same ACK, built by hand (to ACK later, or inside a transaction):
    check("engine.ack()", engine.ack(message).to_wire("1.0"), ACK)


def pong() -> None:
    """Step 5: stomper's Pong subclass becomes a handler on a Router."""
    print("\n5. a custom handler: stomper's Pong, as a Router included into an engine")
    engine = Engine()
    handler = Pong(engine)
    engine.include(handler.router)
    open_session(engine)
    reply = engine.react(MESSAGE)
    print(f"  reply: {reply!r}")
    check("Pong's reply", reply, ACK)
    check("Pong saw", handler.seen, ["hello queue a"])


def receiver() -> None:
    """Step 6: stomper's receiver.py overrode connected() and ack(); here two decorators."""
    print("\n6. handlers by decorator: stomper's receiver.py (subscribe on CONNECTED, no ACK)")
    engine = Engine()

    @engine.on(Connected)
    def subscribe_when_connected(frame: Connected) -> ClientFrame | None:
        return engine.subscribe("/topic/inbox")  # ack='auto': the server wants no ACK

    @engine.on(Message)
    def log_message(message: Message) -> ClientFrame | None:
        print(f"  received on {message.destination}: {message.text!r}")
        return None  # stomper: return NO_RESPONSE_NEEDED

    engine.encode(engine.connect(login="bob", passcode="1234", versions=("1.0",)))
    reply = engine.react(CONNECTED)
    print(f"  reply to CONNECTED: {reply!r}")
    check(
        "SUBSCRIBE sent on CONNECTED",
        reply,
        b"SUBSCRIBE\ndestination:/topic/inbox\nid:sub-1\nack:auto\n\n\x00",
    )
    reply = engine.react(MESSAGE.replace(b"/queue/a", b"/topic/inbox"))
    print(f"  reply to MESSAGE: {reply!r}")
    check("reply to MESSAGE", reply, b"")


def send(engine: Engine) -> None:
    """Steps 7 and 8: SEND without and with custom headers."""
    print("\n7. SEND (stomper.send(DESTINATION, 'hello there'))")
    frame = engine.send("/queue/inbox", "hello there")
    data = engine.encode(frame)
    show("->", frame, data)
    check(
        "SEND",
        data,
        b"SEND\ndestination:/queue/inbox\ncontent-type:text/plain;charset=utf-8\n"
        b"content-length:11\n\nhello there\x00",
    )

    print("\n8. SEND with custom headers (stomper.Frame() with headers, then pack())")
    frame = engine.send("/queue/a", "hello queue a", headers={"custom-header": "1234"})
    data = engine.encode(frame)
    show("->", frame, data)
    check("custom header kept apart", frame.headers, {"custom-header": "1234"})
    check("custom header on the wire", b"\ncustom-header:1234\n" in data, True)
    # Or build the model directly, as stomper's Frame was built, and let the engine encode it:
    frame = Send(destination="/queue/a", body=b"hello queue a", headers={"custom-header": "1234"})
    data = engine.encode(frame)
    show("->", frame, data)
    check(
        "Send model",
        data,
        b"SEND\ndestination:/queue/a\ncontent-length:13\ncustom-header:1234\n\nhello queue a\x00",
    )


def disconnect(engine: Engine) -> None:
    """Step 9 (not in stomper's example): a graceful close, settled by its RECEIPT."""
    print("\n9. DISCONNECT with a receipt; the RECEIPT closes the session")
    frame = engine.disconnect()
    data = engine.encode(frame)
    show("->", frame, data)
    check("DISCONNECT", data, b"DISCONNECT\nreceipt:receipt-2\n\n\x00")
    receipt = b"RECEIPT\nreceipt-id:receipt-2\n\n\x00\n"
    [reaction] = engine.receive(receipt)
    show("<-", reaction.frame, receipt)
    print(f"  engine.state = {engine.state.name}")
    check("RECEIPT", reaction.frame, Receipt(receipt_id="receipt-2"))
    check("settled receipts", reaction.receipts, ("receipt-2",))
    check("state", engine.state, State.CLOSED)


def main() -> None:
    """Run stomper's example session against canned server bytes."""
    engine = Engine()
    connect_and_subscribe(engine)
    react_to_message(engine)
    pong()
    receiver()
    send(engine)
    disconnect(engine)
    print("\nall checks passed")


if __name__ == "__main__":
    main()
