"""The sans-IO Engine: builders, the encode gate, negotiation, default reactions, receipts,
errors, and whole conversations with an in-memory broker in STOMP 1.0, 1.1 and 1.2."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from stompmodels import (
    VERSIONS,
    Abort,
    Ack,
    AckMode,
    Begin,
    Commit,
    Connect,
    Connected,
    Disconnect,
    Engine,
    Error,
    LocalProtocolError,
    Message,
    Nack,
    ProtocolError,
    Reaction,
    Receipt,
    Send,
    State,
    Stomp,
    Subscribe,
    Unsubscribe,
    Version,
)
from tests.fake_server import FEED_MODES, Conversation, FakeServer, FeedMode, feed

# -- helpers -----------------------------------------------------------------------------------


def connected(version: Version = "1.2", *, session: str | None = "s-1") -> Engine:
    """An engine that sent CONNECT (offering every version) and got CONNECTED in `version`.

    The CONNECTED names its version even for 1.0 (a 1.0 broker may); the absent header has
    tests of its own.
    """
    engine = Engine()
    engine.encode(engine.connect())
    assert engine.react(Connected(version=version, session=session).to_wire(version)) == b""
    assert engine.state is State.CONNECTED
    return engine


def subscribed(version: Version, ack: AckMode, sub_id: str = "sub-a") -> Engine:
    engine = connected(version)
    engine.encode(engine.subscribe("/queue/a", ack=ack, id=sub_id))
    return engine


def message(
    version: Version,
    subscription: str | None = "sub-a",
    *,
    message_id: str = "m-1",
    ack: str | None = "ack-1",
    destination: str = "/queue/a",
) -> bytes:
    """A MESSAGE as a broker of `version` sends it (the ack header exists only in 1.2)."""
    return Message(
        destination=destination,
        message_id=message_id,
        subscription=subscription,
        ack=ack if version == "1.2" else None,
        body=b"hi",
    ).to_wire(version)


def typed_message(version: Version, subscription: str | None = "sub-a", **kw: str) -> Message:
    data = message(version, subscription, **kw)
    return Message.from_wire(data, version)


# The ACK of `message(version)` (message-id m-1, ack id ack-1, subscription sub-a), per version.
ACK_BYTES: dict[Version, bytes] = {
    "1.0": b"ACK\nmessage-id:m-1\n\n\0",
    "1.1": b"ACK\nmessage-id:m-1\nsubscription:sub-a\n\n\0",
    "1.2": b"ACK\nid:ack-1\n\n\0",
}


# -- builders ----------------------------------------------------------------------------------


def test_connect_offers_every_version_with_host_slash() -> None:
    engine = Engine()
    frame = engine.connect()
    assert isinstance(frame, Connect)
    assert engine.encode(frame) == b"CONNECT\naccept-version:1.0,1.1,1.2\nhost:/\n\n\0"
    assert engine.state is State.CONNECTING


def test_connect_carries_host_login_passcode_heart_beat_and_custom_headers() -> None:
    engine = Engine()
    frame = engine.connect(
        login="guest",
        passcode=SecretStr("pw"),
        host="vhost-1",
        versions=("1.1", "1.2"),
        heart_beat=(1000, 2000),
        headers={"client-id": "c1"},
    )
    assert engine.encode(frame) == (
        b"CONNECT\naccept-version:1.1,1.2\nhost:vhost-1\nlogin:guest\npasscode:pw\n"
        b"heart-beat:1000,2000\nclient-id:c1\n\n\0"
    )
    assert "pw" not in repr(frame)


def test_connect_can_send_the_stomp_command() -> None:
    engine = Engine()
    frame = engine.connect(stomp_command=True, host="h")
    assert isinstance(frame, Stomp)
    assert engine.encode(frame) == b"STOMP\naccept-version:1.0,1.1,1.2\nhost:h\n\n\0"
    assert engine.state is State.CONNECTING


def test_stomp_command_offering_only_10_is_refused() -> None:
    # STOMP frames do not exist in 1.0; the engine must not put one on the wire.
    engine = Engine()
    with pytest.raises(LocalProtocolError, match=r"STOMP.*1\.0"):
        engine.encode(engine.connect(stomp_command=True, versions=("1.0",)))
    assert engine.state is State.IDLE


def test_connect_must_offer_a_known_version() -> None:
    # The model refuses such an offer (issue #12); the engine still does for one built unchecked.
    with pytest.raises(ValueError, match="accept-version must offer one of 1.0, 1.1, 1.2"):
        Connect(accept_version=("2.0",), host="/")
    engine = Engine()
    with pytest.raises(LocalProtocolError, match="at least one"):
        engine.encode(Connect.model_construct(accept_version=("2.0",), host="/"))
    assert engine.state is State.IDLE


def test_a_connect_without_accept_version_offers_10_only() -> None:
    engine = Engine()
    assert engine.encode(Connect(accept_version=None, host=None)) == b"CONNECT\n\n\0"
    with pytest.raises(ProtocolError, match=r"1\.2.*not offered"):
        engine.react(Connected(version="1.2").to_wire("1.2"))


def test_subscribe_generates_unique_ids_that_avoid_ids_in_use() -> None:
    engine = connected()
    engine.encode(engine.subscribe("/queue/x", id="sub-1"))
    engine.encode(engine.subscribe("/queue/y", id="sub-2"))
    ids = [str(engine.subscribe("/queue/z").id) for _ in range(50)]
    assert "None" not in ids
    assert len(set(ids)) == 50
    assert not {"sub-1", "sub-2"} & set(ids)
    for sub_id in ids[:5]:  # and they are all accepted by the gate
        engine.encode(engine.subscribe("/queue/z", id=sub_id))
    assert set(engine.subscriptions) == {"sub-1", "sub-2", *ids[:5]}


def test_subscribe_frame_bytes() -> None:
    engine = connected()
    frame = engine.subscribe(
        "/queue/a", ack="client-individual", id="s9", receipt="r-1", headers={"prefetch": "1"}
    )
    assert engine.encode(frame) == (
        b"SUBSCRIBE\ndestination:/queue/a\nid:s9\nack:client-individual\nreceipt:r-1\n"
        b"prefetch:1\n\n\0"
    )
    assert engine.subscriptions["s9"].ack == "client-individual"
    assert engine.subscriptions["s9"].destination == "/queue/a"
    assert engine.pending_receipts == {"r-1": "SUBSCRIBE"}


def test_receipt_true_generates_unique_receipt_ids() -> None:
    engine = connected()
    receipts = [engine.send("/q", receipt=True).receipt for _ in range(20)]
    assert None not in receipts
    assert len(set(receipts)) == 20
    assert engine.send("/q").receipt is None
    assert engine.send("/q", receipt=False).receipt is None
    assert engine.send("/q", receipt="mine").receipt == "mine"


def test_unsubscribe_names_the_subscription() -> None:
    engine = subscribed("1.2", "auto", "s1")
    assert engine.encode(engine.unsubscribe("s1", receipt="r")) == (
        b"UNSUBSCRIBE\nid:s1\nreceipt:r\n\n\0"
    )
    assert "s1" not in engine.subscriptions


def test_unsubscribe_takes_the_subscribe_frame_too() -> None:
    engine = connected()
    sub = engine.subscribe("/queue/a")
    engine.encode(sub)
    assert engine.encode(engine.unsubscribe(sub)) == f"UNSUBSCRIBE\nid:{sub.id}\n\n\0".encode()
    assert dict(engine.subscriptions) == {}


def test_unsubscribe_of_a_10_subscription_without_id_names_its_destination() -> None:
    engine = connected("1.0")
    engine.encode(Subscribe(destination="/queue/old", id=None))
    assert engine.encode(engine.unsubscribe("/queue/old")) == (
        b"UNSUBSCRIBE\ndestination:/queue/old\n\n\0"
    )
    assert dict(engine.subscriptions) == {}


def test_send_builds_text_and_binary_bodies() -> None:
    engine = connected()
    assert engine.encode(engine.send("/q", "héllo")) == (
        b"SEND\ndestination:/q\ncontent-type:text/plain;charset=utf-8\ncontent-length:6\n\n"
        b"h\xc3\xa9llo\0"
    )
    assert engine.encode(engine.send("/q", b"\x01\x02")) == (
        b"SEND\ndestination:/q\ncontent-length:2\n\n\x01\x02\0"
    )
    assert engine.encode(engine.send("/q", "x", content_type="application/json")) == (
        b"SEND\ndestination:/q\ncontent-type:application/json\ncontent-length:1\n\nx\0"
    )
    assert engine.encode(engine.send("/q", b"ab", omit_content_length=True)) == (
        b"SEND\ndestination:/q\n\nab\0"
    )
    assert engine.encode(engine.send("/q", headers={"persistent": "true"})) == (
        b"SEND\ndestination:/q\npersistent:true\n\n\0"
    )


def test_begin_generates_and_returns_unique_transaction_ids() -> None:
    engine = connected()
    begins = [engine.begin() for _ in range(10)]
    names = {frame.transaction for frame in begins}
    assert len(names) == 10
    for frame in begins:
        engine.encode(frame)
    assert engine.transactions == names
    named = engine.begin("tx-mine")
    assert named.transaction == "tx-mine"
    assert engine.encode(named) == b"BEGIN\ntransaction:tx-mine\n\n\0"
    assert engine.begin().transaction not in engine.transactions


def test_frames_inside_a_transaction_carry_it() -> None:
    engine = subscribed("1.2", "client")
    tx = engine.begin()
    engine.encode(tx)
    name = tx.transaction
    assert engine.encode(engine.send("/q", b"x", transaction=name)) == (
        f"SEND\ndestination:/q\ntransaction:{name}\ncontent-length:1\n\nx\0".encode()
    )
    ack = engine.ack(typed_message("1.2"), transaction=name)
    assert engine.encode(ack) == f"ACK\nid:ack-1\ntransaction:{name}\n\n\0".encode()
    nack = engine.nack(typed_message("1.2"), transaction=name)
    assert engine.encode(nack) == f"NACK\nid:ack-1\ntransaction:{name}\n\n\0".encode()
    assert engine.encode(engine.commit(name, receipt="rc")) == (
        f"COMMIT\ntransaction:{name}\nreceipt:rc\n\n\0".encode()
    )
    assert engine.transactions == frozenset()


def test_abort_ends_the_transaction() -> None:
    engine = connected()
    engine.encode(engine.begin("t1"))
    assert engine.encode(engine.abort("t1")) == b"ABORT\ntransaction:t1\n\n\0"
    assert engine.transactions == frozenset()
    with pytest.raises(LocalProtocolError, match="not open"):
        engine.encode(engine.send("/q", transaction="t1"))


def test_disconnect_asks_for_a_receipt_by_default() -> None:
    engine = connected()
    frame = engine.disconnect()
    assert isinstance(frame.receipt, str)
    assert engine.encode(frame) == f"DISCONNECT\nreceipt:{frame.receipt}\n\n\0".encode()
    assert engine.state is State.DISCONNECTING
    assert engine.pending_receipts == {frame.receipt: "DISCONNECT"}
    assert connected().disconnect(receipt=False).to_wire() == b"DISCONNECT\n\n\0"


def test_builders_do_not_change_the_session() -> None:
    engine = subscribed("1.2", "client")
    before = (
        engine.state,
        dict(engine.subscriptions),
        engine.transactions,
        dict(engine.pending_receipts),
    )
    engine.subscribe("/q", receipt=True)
    engine.send("/q", receipt=True)
    engine.begin(receipt=True)
    engine.commit("x")
    engine.abort("x")
    engine.ack(typed_message("1.2"), receipt=True)
    engine.disconnect()
    engine.connect()
    after = (
        engine.state,
        dict(engine.subscriptions),
        engine.transactions,
        dict(engine.pending_receipts),
    )
    assert after == before


@pytest.mark.parametrize("version", VERSIONS)
def test_ack_builder_uses_the_negotiated_form(version: Version) -> None:
    engine = subscribed(version, "client", "sub-a")
    frame = engine.ack(typed_message(version))
    assert engine.encode(frame) == ACK_BYTES[version]


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_nack_builder_uses_the_negotiated_form(version: Version) -> None:
    engine = subscribed(version, "client-individual", "sub-a")
    frame = engine.nack(typed_message(version), receipt="r")
    assert isinstance(frame, Nack)
    expected = ACK_BYTES[version].replace(b"ACK\n", b"NACK\n").replace(b"\n\n", b"\nreceipt:r\n\n")
    assert engine.encode(frame) == expected


def test_nack_in_a_10_session_is_a_local_protocol_error() -> None:
    # NACK does not exist in STOMP 1.0: the engine must say so with its own error type.
    engine = subscribed("1.0", "client", "sub-a")
    with pytest.raises(LocalProtocolError, match=r"NACK.*1\.0"):
        engine.encode(engine.nack(typed_message("1.0")))


def test_ack_of_a_12_message_without_ack_header_is_refused() -> None:
    engine = subscribed("1.2", "client", "sub-a")
    bare = Message.from_wire(message("1.2", ack=None), "1.2")
    with pytest.raises(LocalProtocolError, match="ack header"):
        engine.ack(bare)


@pytest.mark.parametrize("version", VERSIONS)
def test_ack_builder_refuses_a_message_of_an_auto_subscription(version: Version) -> None:
    engine = subscribed(version, "auto", "sub-a")
    with pytest.raises(LocalProtocolError, match="auto"):
        engine.ack(typed_message(version))


# -- the encode gate ---------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [0, 1], ids=["idle", "connecting"])
def test_send_before_connected_is_refused(steps: int) -> None:
    engine = Engine()
    if steps:
        engine.encode(engine.connect())
    with pytest.raises(LocalProtocolError, match=r"SEND.*(CONNECT first|wait for CONNECTED)"):
        engine.encode(engine.send("/q", "x"))


@pytest.mark.parametrize(
    "build",
    [
        lambda e: e.send("/q"),
        lambda e: e.subscribe("/q"),
        lambda e: e.begin(),
        lambda e: e.disconnect(),
        lambda e: e.connect(),
    ],
    ids=["send", "subscribe", "begin", "disconnect", "connect"],
)
def test_anything_after_disconnect_is_refused(build: object) -> None:
    engine = connected()
    engine.encode(engine.disconnect())
    frame = build(engine)  # type: ignore[operator]  # the lambdas above
    with pytest.raises(LocalProtocolError, match="DISCONNECT was sent"):
        engine.encode(frame)
    assert engine.state is State.DISCONNECTING


def test_a_second_connect_is_refused() -> None:
    engine = connected()
    with pytest.raises(LocalProtocolError, match="CONNECT"):
        engine.encode(engine.connect())


def test_ack_on_an_auto_subscription_is_refused_at_the_gate() -> None:
    engine = subscribed("1.1", "auto", "sub-a")
    with pytest.raises(LocalProtocolError, match="auto"):
        engine.encode(Ack(message_id="m-1", subscription="sub-a"))
    with pytest.raises(LocalProtocolError, match="auto"):
        engine.encode(Nack(message_id="m-1", subscription="sub-a"))


@pytest.mark.parametrize("kind", [Commit, Abort])
def test_commit_or_abort_of_an_unknown_transaction_is_refused(kind: type[Commit | Abort]) -> None:
    engine = connected()
    with pytest.raises(LocalProtocolError, match=r"'tx-none'.*not open"):
        engine.encode(kind(transaction="tx-none"))


def test_frames_naming_an_unknown_transaction_are_refused() -> None:
    engine = subscribed("1.2", "client")
    with pytest.raises(LocalProtocolError, match="SEND names transaction 'nope'"):
        engine.encode(engine.send("/q", transaction="nope"))
    with pytest.raises(LocalProtocolError, match="ACK names transaction 'nope'"):
        engine.encode(engine.ack(typed_message("1.2"), transaction="nope"))


def test_begin_of_an_open_transaction_is_refused() -> None:
    engine = connected()
    engine.encode(engine.begin("t"))
    with pytest.raises(LocalProtocolError, match="already open"):
        engine.encode(engine.begin("t"))


def test_a_subscription_id_in_use_is_refused() -> None:
    engine = subscribed("1.2", "auto", "s")
    with pytest.raises(LocalProtocolError, match="already in use"):
        engine.encode(engine.subscribe("/other", id="s"))
    assert engine.subscriptions["s"].destination == "/queue/a"


def test_unsubscribe_of_an_unknown_subscription_is_refused() -> None:
    engine = connected()
    with pytest.raises(LocalProtocolError, match="unknown subscription"):
        engine.encode(Unsubscribe(id="ghost"))


def test_a_receipt_id_still_awaited_is_refused() -> None:
    engine = connected()
    engine.encode(engine.send("/q", receipt="r"))
    with pytest.raises(LocalProtocolError, match="already awaited"):
        engine.encode(engine.begin(receipt="r"))
    assert engine.transactions == frozenset()  # the refused frame changed nothing


def test_frames_are_encoded_in_the_negotiated_version() -> None:
    v10, v11, v12 = connected("1.0"), connected("1.1"), connected("1.2")
    frame = Send(destination="/q", headers={"k": "a:b"})
    assert v10.encode(frame) == b"SEND\ndestination:/q\nk:a:b\n\n\0"
    assert v12.encode(frame) == b"SEND\ndestination:/q\nk:a\\cb\n\n\0"
    with pytest.raises(LocalProtocolError, match="carriage return"):
        v11.encode(Send(destination="/q", headers={"k": "a\rb"}))
    assert v11.state is State.CONNECTED
    with pytest.raises(LocalProtocolError, match="id"):
        v12.encode(Subscribe(destination="/q", id=None))  # a 1.0 form in a 1.2 session


# -- negotiation -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_connected_stores_version_session_and_server(version: Version) -> None:
    engine = Engine()
    engine.encode(engine.connect())
    assert (engine.version, engine.session, engine.server) == (None, None, None)
    reply = engine.react(
        Connected(version=version, session="abc", server="Broker/2").to_wire(version)
    )
    assert reply == b""
    assert (engine.version, engine.session, engine.server) == (version, "abc", "Broker/2")
    assert engine.decoder.version == version
    assert engine.state is State.CONNECTED


def test_connected_without_version_means_10() -> None:
    engine = Engine()
    engine.encode(engine.connect())
    engine.react(b"CONNECTED\nsession:x\n\n\0")
    assert engine.version == "1.0"
    assert engine.decoder.version == "1.0"


def test_connected_without_version_when_10_was_not_offered_is_a_protocol_error() -> None:
    engine = Engine()
    engine.encode(engine.connect(versions=("1.1", "1.2")))
    with pytest.raises(ProtocolError):
        engine.react(b"CONNECTED\n\n\0")
    assert engine.state is State.CLOSED
    assert engine.version is None


def test_connected_with_a_version_not_offered_is_a_protocol_error() -> None:
    engine = Engine()
    engine.encode(engine.connect(versions=("1.0", "1.1")))
    with pytest.raises(ProtocolError, match="not offered"):
        engine.react(b"CONNECTED\nversion:1.2\n\n\0")
    with pytest.raises(ProtocolError, match="unusable"):
        engine.react(b"CONNECTED\nversion:1.1\n\n\0")


def test_decoding_switches_to_the_negotiated_version() -> None:
    # In 1.0 a backslash in a header is plain text; in 1.2 "\t" would be a fatal escape.
    engine = subscribed("1.0", "auto", "sub-a")
    got = engine.receive(
        b"MESSAGE\ndestination:/queue/a\nmessage-id:a\\tb\nsubscription:sub-a\n\n\0"
    )
    assert isinstance(got[0].frame, Message)
    assert got[0].frame.message_id == "a\\tb"


def test_frames_after_connected_in_the_same_bytes_use_the_negotiated_version() -> None:
    engine = Engine()
    engine.encode(engine.connect())
    data = (
        b"CONNECTED\nversion:1.0\n\n\0"
        b"MESSAGE\ndestination:/queue/a\nmessage-id:a\\tb\nsubscription:s\n\n\0"
    )
    [first, second] = engine.receive(data)
    assert isinstance(first.frame, Connected)
    assert engine.version == "1.0"
    assert isinstance(second.frame, Message)
    assert second.frame.message_id == "a\\tb"
    assert second.reply == b"ACK\nmessage-id:a\\tb\n\n\0"


def test_react_refuses_text() -> None:
    engine = Engine()
    engine.encode(engine.connect())
    with pytest.raises(TypeError, match="bytes"):
        engine.react("CONNECTED\nversion:1.2\n\n\0")  # type: ignore[arg-type]


# -- default reactions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "ack"),
    [
        (version, ack)
        for version in VERSIONS
        for ack in ("client", "client-individual")
        if not (version == "1.0" and ack == "client-individual")  # 1.0 has no such mode
    ],
)
def test_a_message_on_an_explicit_ack_subscription_is_acked(version: Version, ack: AckMode) -> None:
    engine = subscribed(version, ack, "sub-a")
    assert engine.react(message(version)) == ACK_BYTES[version]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_message_on_an_auto_subscription_is_not_acked(version: Version) -> None:
    engine = subscribed(version, "auto", "sub-a")
    assert engine.react(message(version)) == b""


@pytest.mark.parametrize("version", VERSIONS)
def test_a_message_on_an_unknown_subscription_is_acked(version: Version) -> None:
    engine = subscribed(version, "auto", "other")
    assert engine.react(message(version, "sub-a")) == ACK_BYTES[version]


def test_a_10_message_without_subscription_header_is_acked() -> None:
    engine = connected("1.0")
    assert engine.react(message("1.0", None)) == b"ACK\nmessage-id:m-1\n\n\0"


def test_a_10_message_of_an_auto_subscription_without_id_is_not_acked() -> None:
    # A 1.0 SUBSCRIBE without id gets MESSAGEs without a subscription header; the engine knows
    # that destination's subscription is auto, so there is nothing to acknowledge.
    engine = connected("1.0")
    engine.encode(Subscribe(destination="/queue/a", id=None, ack="auto"))
    assert engine.react(message("1.0", None)) == b""


def test_a_12_message_without_ack_header_gets_no_ack() -> None:
    engine = subscribed("1.2", "client", "sub-a")
    assert engine.react(message("1.2", ack=None)) == b""


def test_receipt_error_and_connected_need_no_response() -> None:
    engine = Engine()
    engine.encode(engine.connect())
    assert engine.react(b"CONNECTED\nversion:1.2\n\n\0") == b""
    engine.encode(engine.send("/q", receipt="r1"))
    assert engine.react(b"RECEIPT\nreceipt-id:r1\n\n\0") == b""
    assert engine.react(b"ERROR\nmessage:bye\n\n\0") == b""
    assert engine.state is State.CLOSED


def test_several_frames_in_one_call_get_their_replies_in_order() -> None:
    engine = subscribed("1.2", "client-individual", "sub-a")
    engine.encode(engine.send("/q", receipt="r1"))
    data = (
        message("1.2", message_id="m-1", ack="a1")
        + b"\n"
        + Receipt(receipt_id="r1").to_wire()
        + message("1.2", message_id="m-2", ack="a2")
    )
    assert engine.react(data) == b"ACK\nid:a1\n\n\0ACK\nid:a2\n\n\0"


def test_partial_frames_are_kept_until_complete() -> None:
    engine = subscribed("1.1", "client", "sub-a")
    data = message("1.1")
    assert engine.react(data[:10]) == b""
    assert engine.react(data[10:-1]) == b""
    assert engine.react(data[-1:] + b"\n") == ACK_BYTES["1.1"]
    assert engine.decoder.heartbeats_received == 1


def test_react_takes_typed_frames_too() -> None:
    engine = subscribed("1.2", "client", "sub-a")
    assert engine.react(typed_message("1.2")) == ACK_BYTES["1.2"]
    engine.encode(engine.send("/q", receipt="r"))
    [reaction] = engine.receive(Receipt(receipt_id="r"))
    assert reaction.receipts == ("r",)


def test_a_message_after_disconnect_is_not_acked() -> None:
    # STOMP 1.2: messages may still arrive after DISCONNECT, but the client sends nothing more.
    engine = subscribed("1.2", "client", "sub-a")
    engine.encode(engine.disconnect())
    assert engine.react(message("1.2")) == b""
    assert engine.state is State.DISCONNECTING


def test_the_default_ack_carries_no_transaction_or_receipt() -> None:
    engine = subscribed("1.2", "client", "sub-a")
    engine.encode(engine.begin("t"))
    assert engine.react(message("1.2")) == ACK_BYTES["1.2"]
    assert engine.pending_receipts == {}


# -- receipts ----------------------------------------------------------------------------------


def test_a_receipt_settles_what_asked_for_it() -> None:
    engine = connected()
    engine.encode(engine.subscribe("/q", receipt="r-sub"))
    engine.encode(engine.send("/q", receipt="r-send"))
    assert engine.pending_receipts == {"r-sub": "SUBSCRIBE", "r-send": "SEND"}
    reactions = engine.receive(b"RECEIPT\nreceipt-id:r-send\n\n\0")
    assert reactions == [Reaction(Receipt(receipt_id="r-send"), b"", ("r-send",))]
    assert engine.pending_receipts == {"r-sub": "SUBSCRIBE"}


def test_an_error_reports_the_receipt_it_failed() -> None:
    engine = connected()
    engine.encode(engine.send("/q", receipt="r1"))
    engine.encode(engine.send("/q", receipt="r2"))
    [reaction] = engine.receive(b"ERROR\nmessage:no\nreceipt-id:r2\n\n\0")
    assert isinstance(reaction.frame, Error)
    assert reaction.receipts == ("r2",)
    assert reaction.reply == b""
    assert engine.pending_receipts == {"r1": "SEND"}
    assert engine.error == reaction.frame
    assert engine.state is State.CLOSED


def test_an_error_without_receipt_id_settles_nothing() -> None:
    engine = connected()
    engine.encode(engine.send("/q", receipt="r1"))
    [reaction] = engine.receive(b"ERROR\nmessage:no\n\n\0")
    assert reaction.receipts == ()
    assert engine.pending_receipts == {"r1": "SEND"}


def test_a_receipt_never_asked_for_is_a_protocol_error() -> None:
    engine = connected()
    with pytest.raises(ProtocolError, match="never asked for"):
        engine.react(b"RECEIPT\nreceipt-id:ghost\n\n\0")
    assert engine.state is State.CLOSED


def test_the_disconnect_receipt_closes_the_session() -> None:
    engine = connected()
    engine.encode(engine.send("/q", receipt="r-send"))
    disconnect = engine.disconnect(receipt="bye")
    engine.encode(disconnect)
    [first] = engine.receive(b"RECEIPT\nreceipt-id:r-send\n\n\0")
    assert first.receipts == ("r-send",)
    assert engine.pending_receipts == {"bye": "DISCONNECT"}
    assert engine.state is State.DISCONNECTING
    [last] = engine.receive(b"RECEIPT\nreceipt-id:bye\n\n\0")
    assert last.receipts == ("bye",)
    assert engine.pending_receipts == {}
    assert engine.state is State.CLOSED  # type: ignore[comparison-overlap]  # mypy narrowed it


# -- errors ------------------------------------------------------------------------------------


def test_the_servers_error_closes_the_session() -> None:
    engine = subscribed("1.2", "client", "sub-a")
    engine.react(b"ERROR\nmessage:kaput\ncontent-type:text/plain\n\nbroken\0")
    assert engine.state is State.CLOSED
    assert engine.error is not None
    assert engine.error.message == "kaput"
    assert engine.error.text == "broken"
    with pytest.raises(LocalProtocolError, match="closed"):
        engine.encode(engine.send("/q"))
    # Brokers go on sending for a while after an ERROR: ignored, never acknowledged.
    assert engine.react(message("1.2")) == b""
    assert engine.state is State.CLOSED
    with pytest.raises(ProtocolError, match="CONNECTED while the session is closed"):
        engine.react(b"CONNECTED\nversion:1.2\n\n\0")


def test_an_error_while_connecting_closes_the_session() -> None:
    engine = Engine()
    engine.encode(engine.connect())
    assert engine.react(b"ERROR\nmessage:bad login\n\n\0") == b""
    assert engine.state is State.CLOSED
    assert engine.version is None
    assert engine.error is not None


def test_a_protocol_error_poisons_the_engine_and_keeps_the_frames_before_it() -> None:
    engine = subscribed("1.2", "auto", "sub-a")
    with pytest.raises(ProtocolError) as caught:
        engine.react(message("1.2") + b"BOGUS\n\n\0")
    assert [frame.command for frame in caught.value.frames] == ["MESSAGE"]
    assert engine.state is State.CLOSED
    with pytest.raises(ProtocolError, match="unusable"):
        engine.react(message("1.2"))


@pytest.mark.parametrize("as_bytes", [True, False], ids=["bytes", "frame"])
def test_a_client_frame_from_the_server_is_a_protocol_error(as_bytes: bool) -> None:
    engine = connected()
    frame = Send(destination="/q")
    with pytest.raises(ProtocolError, match="client frame, SEND"):
        engine.react(frame.to_wire() if as_bytes else frame)
    assert engine.state is State.CLOSED


def test_a_second_connected_is_a_protocol_error() -> None:
    engine = connected()
    with pytest.raises(ProtocolError, match="CONNECTED while the session is connected"):
        engine.react(b"CONNECTED\nversion:1.2\n\n\0")


def test_connection_lost_closes_the_session() -> None:
    engine = subscribed("1.2", "client", "sub-a")
    engine.connection_lost()
    assert engine.state is State.CLOSED
    with pytest.raises(LocalProtocolError, match="closed"):
        engine.encode(engine.send("/q"))


# -- conversations with the fake broker --------------------------------------------------------

SERVER_VERSIONS: dict[Version, tuple[Version, ...]] = {
    "1.0": ("1.0",),
    "1.1": ("1.0", "1.1"),
    "1.2": VERSIONS,
}


def talk(version: Version, mode: FeedMode, **server: object) -> Conversation:
    """A connected conversation in `version`."""
    engine = Engine()
    fake = FakeServer(supports=SERVER_VERSIONS[version], **server)  # type: ignore[arg-type]
    chat = Conversation(engine, fake, mode)
    chat.send(engine.connect(host="broker"))
    assert engine.state is State.CONNECTED
    assert engine.version == version == fake.version
    assert engine.session == "session-7"
    assert engine.server == "FakeMQ/1.0"
    return chat


def expected_ack(version: Version, number: int, sub: str, tx: str | None = None) -> bytes:
    """The ACK the fake broker's `number`-th MESSAGE needs in `version`."""
    extra = "" if tx is None else f"transaction:{tx}\n"
    if version == "1.2":
        return f"ACK\nid:ack-{number}\n{extra}\n\0".encode()
    subscription = f"subscription:{sub}\n" if version == "1.1" else ""
    return f"ACK\nmessage-id:m-{number}\n{subscription}{extra}\n\0".encode()


@pytest.mark.parametrize("mode", FEED_MODES)
@pytest.mark.parametrize("version", VERSIONS)
def test_full_conversation(version: Version, mode: FeedMode) -> None:
    chat = talk(version, mode)
    engine, server = chat.engine, chat.server
    assert chat.sent[0] == b"CONNECT\naccept-version:1.0,1.1,1.2\nhost:broker\n\n\0"

    # Subscribe in client mode, with a receipt; the broker confirms it. (STOMP 1.0 has no
    # client-individual mode: issue #12.)
    ack: AckMode = "client" if version == "1.0" else "client-individual"
    sub = engine.subscribe("/queue/work", ack=ack, receipt=True)
    assert sub.id is not None
    chat.send(sub)
    assert engine.pending_receipts == {}
    assert server.subscriptions[sub.id].ack == ack

    # Two messages: the broker delivers them, the engine ACKs each, byte for byte.
    chat.send(engine.send("/queue/work", "one"))
    chat.send(engine.send("/queue/work", "two"))
    assert chat.replies == [expected_ack(version, 1, sub.id), expected_ack(version, 2, sub.id)]
    assert [d.message_id for d in server.acked] == ["m-1", "m-2"]
    assert server.unacked == []

    # A transaction: its SEND is held by the broker until COMMIT, then delivered and acked.
    begin = engine.begin(receipt=True)
    chat.send(begin)
    chat.send(engine.send("/queue/work", "three", transaction=begin.transaction))
    assert len(server.published) == 2
    assert len(chat.replies) == 2
    chat.send(engine.commit(begin.transaction))
    assert server.committed == [begin.transaction]
    assert engine.transactions == frozenset()
    assert chat.replies[2] == expected_ack(version, 3, sub.id)
    assert [s.body for s in server.published] == [b"one", b"two", b"three"]

    # An aborted transaction publishes nothing.
    other = engine.begin()
    chat.send(other)
    chat.send(engine.send("/queue/work", "never", transaction=other.transaction))
    chat.send(engine.abort(other.transaction))
    assert server.aborted == [other.transaction]
    assert len(server.published) == 3

    # Graceful close: DISCONNECT with a receipt, the RECEIPT closes the session.
    chat.send(engine.unsubscribe(sub.id))
    chat.send(engine.disconnect())
    assert engine.state is State.CLOSED
    assert engine.pending_receipts == {}
    assert server.closed
    assert server.errors == []
    assert server.decoder.heartbeats_received == 0  # the engine's replies are clean frames
    if mode == "heartbeats":
        assert engine.decoder.heartbeats_received > 0


@pytest.mark.parametrize("mode", FEED_MODES)
@pytest.mark.parametrize("version", VERSIONS)
def test_manual_acks_inside_a_transaction(version: Version, mode: FeedMode) -> None:
    chat = talk(version, mode)
    engine, server = chat.engine, chat.server
    held: list[Message] = []

    @engine.on(Message, destination="/queue/manual")
    def keep(message: Message) -> None:
        held.append(message)

    sub = engine.subscribe("/queue/manual", ack="client")
    assert sub.id is not None
    chat.send(sub)
    for body in ("a", "b", "c"):
        chat.send(engine.send("/queue/manual", body))
    assert [m.text for m in held] == ["a", "b", "c"]
    assert chat.replies == []  # the handler replaced the default ACK
    tx = engine.begin()
    chat.send(tx)
    ack = chat.send(engine.ack(held[1], transaction=tx.transaction))
    assert ack == expected_ack(version, 2, sub.id, tx.transaction)
    assert server.acked == []  # held in the transaction
    chat.send(engine.commit(tx.transaction))
    # Cumulative client mode: acking "b" settles "a" too.
    assert [d.body for d in server.acked] == [b"a", b"b"]
    if version != "1.0":
        chat.send(engine.nack(held[2]))
        assert [d.body for d in server.nacked] == [b"c"]
    chat.send(engine.disconnect())
    assert engine.state is State.CLOSED
    assert server.errors == []


@pytest.mark.parametrize("mode", FEED_MODES)
def test_conversation_with_a_10_server_that_names_no_version(mode: FeedMode) -> None:
    chat = talk("1.0", mode, announce_version=False)
    engine = chat.engine
    sub = engine.subscribe("/queue/old", ack="client")
    chat.send(sub)
    chat.send(engine.send("/queue/old", b"x"))
    assert chat.replies == [b"ACK\nmessage-id:m-1\n\n\0"]
    chat.send(engine.disconnect())
    assert engine.state is State.CLOSED


@pytest.mark.parametrize("mode", FEED_MODES)
def test_conversation_with_an_auto_subscription_sends_no_ack(mode: FeedMode) -> None:
    chat = talk("1.2", mode, ack_header_on_auto=True)
    engine = chat.engine
    chat.send(engine.subscribe("/queue/auto"))
    chat.send(engine.send("/queue/auto", "x"))
    chat.send(engine.send("/queue/auto", "y"))
    assert chat.replies == []
    assert chat.server.errors == []


def test_the_brokers_error_ends_the_conversation() -> None:
    chat = talk("1.2", "whole")
    engine, server = chat.engine, chat.server
    # The broker refuses an ACK of a message it never sent; the engine cannot know that.
    chat.send(Ack(id="ack-404", receipt="r-ack"))
    assert server.closed
    assert engine.state is State.CLOSED
    assert engine.error is not None
    assert engine.error.receipt_id == "r-ack"
    assert engine.pending_receipts == {}
    with pytest.raises(LocalProtocolError, match="closed"):
        engine.encode(engine.disconnect())


def test_bad_credentials_get_an_error_while_connecting() -> None:
    engine = Engine()
    server = FakeServer(credentials=("guest", "guest"))
    chat = Conversation(engine, server)
    chat.send(engine.connect(login="guest", passcode="wrong"))
    assert engine.state is State.CLOSED
    assert engine.error is not None
    assert engine.error.message == "bad credentials"


def test_a_server_that_shares_no_version_sends_an_error() -> None:
    engine = Engine()
    server = FakeServer(supports=("1.2",))
    chat = Conversation(engine, server)
    chat.send(engine.connect(versions=("1.0", "1.1")))
    assert engine.state is State.CLOSED
    assert engine.error is not None
    assert engine.error.headers == {"version": "1.2"}


def test_receipts_held_by_the_broker_stay_pending_until_they_come() -> None:
    chat = talk("1.2", "bytewise", hold_receipts=True)
    engine, server = chat.engine, chat.server
    first = engine.send("/q", "1", receipt=True)
    second = engine.subscribe("/q", receipt=True)
    chat.send(first)
    chat.send(second)
    assert set(engine.pending_receipts) == {first.receipt, second.receipt}
    reactions = [r for frame in server.release_receipts() for r in engine.receive(frame)]
    assert [r.receipts for r in reactions] == [(first.receipt,), (second.receipt,)]
    assert engine.pending_receipts == {}


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_12_server_heart_beats_between_frames_are_skipped(eol: bytes) -> None:
    engine = subscribed("1.2", "client", "sub-a")
    frames = [message("1.2", message_id=f"m-{n}", ack=f"a{n}") for n in range(3)]
    reply = feed(engine, frames, "heartbeats", eol=eol)
    assert reply == b"ACK\nid:a0\n\n\0ACK\nid:a1\n\n\0ACK\nid:a2\n\n\0"
    assert engine.decoder.heartbeats_received == 5


@pytest.mark.parametrize("kind", [Begin, Disconnect])
def test_fake_server_refuses_clients_that_go_on_after_disconnect(kind: type[object]) -> None:
    # The fake broker itself must catch a misbehaving client, or the conversations prove little.
    server = FakeServer()
    server.receive(Connect(accept_version=("1.2",), host="/").to_wire())
    server.receive(Disconnect(receipt="r").to_wire())
    frame = Begin(transaction="t") if kind is Begin else Disconnect()
    with pytest.raises(AssertionError, match="after the session ended"):
        server.receive(frame.to_wire())


@pytest.mark.parametrize("mode", FEED_MODES)
@pytest.mark.parametrize("version", VERSIONS)
def test_an_error_on_demand_closes_the_session(version: Version, mode: FeedMode) -> None:
    chat = talk(version, mode)
    engine, server = chat.engine, chat.server
    chat.send(engine.subscribe("/queue/a", ack="client"))
    pending = engine.send("/queue/b", "x", receipt="r-last")
    server.hold_receipts = True
    chat.send(pending)
    chat.pump([server.error("shutting down", receipt_id="r-last")])
    assert engine.state is State.CLOSED
    assert engine.error is not None
    assert (engine.error.message, engine.error.text) == ("shutting down", "shutting down")
    assert engine.pending_receipts == {}
    assert chat.replies == []


@pytest.mark.parametrize("version", VERSIONS)
def test_the_fake_server_writes_messages_as_its_version_wants(version: Version) -> None:
    # The fake broker is a test instrument: pin what it sends.
    server = FakeServer(supports=(version,))
    [connected_bytes] = server.receive(Connect(accept_version=VERSIONS, host="/").to_wire("1.0"))
    assert connected_bytes == (
        f"CONNECTED\nversion:{version}\nsession:session-7\nserver:FakeMQ/1.0\n\n\0".encode()
    )
    server.receive(Subscribe(destination="/q", id="s", ack="client").to_wire(version))
    server.receive(Subscribe(destination="/q", id="t").to_wire(version))
    [to_s, to_t] = server.publish("/q", b"hi")
    ack = "ack:ack-1\n" if version == "1.2" else ""
    assert (
        to_s
        == (
            f"MESSAGE\ndestination:/q\nmessage-id:m-1\nsubscription:s\n{ack}content-length:2\n\nhi\0"
        ).encode()
    )
    assert b"ack:" not in to_t  # auto subscription
    # An ACK of a message it never sent is an ERROR, as a broker would answer.
    unknown = {"1.0": {"message_id": "m-404"}, "1.1": {"message_id": "m-1", "subscription": "t"}}
    wrong = Ack(**unknown.get(version, {"id": "m-1"}))  # 1.2 names the ack header, not this
    [error] = server.receive(wrong.to_wire(version))
    assert error.startswith(b"ERROR\n")
    assert server.closed


def test_before_connected_the_engine_reads_as_the_oldest_version_offered() -> None:
    # A 1.0 broker's ERROR may carry a raw backslash, which 1.1/1.2 would call an undefined
    # escape; CONNECTED is never escaped, so reading it as 1.0 loses nothing.
    engine = Engine()
    engine.encode(engine.connect(login="joe", passcode="x"))
    (reaction,) = engine.receive(b"ERROR\nmessage:bad user DOMAIN\\joe\n\nno\x00")
    assert isinstance(reaction.frame, Error)
    assert reaction.frame.message == "bad user DOMAIN\\joe"
    assert engine.state is State.CLOSED


def test_a_crlf_connected_from_a_12_server_is_read_before_negotiation() -> None:
    engine = Engine()
    engine.encode(engine.connect())
    engine.react(b"CONNECTED\r\nversion:1.2\r\nsession:s-1\r\n\r\n\x00")
    assert (engine.version, engine.session) == ("1.2", "s-1")
