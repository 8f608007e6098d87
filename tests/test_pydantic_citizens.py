"""Frames behave as frozen pydantic models should (issue #12, items 2, 3, 4, 5, 14 and 18):
copies are validated, custom headers are read-only, frames hash, nonsense is refused."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Mapping

import pytest
from pydantic import SecretStr, ValidationError

from stompmodels import (
    Abort,
    Begin,
    Commit,
    Connect,
    Engine,
    FrameDecoder,
    HeartBeat,
    LocalProtocolError,
    Message,
    ProtocolError,
    Receipt,
    Send,
    Subscribe,
    Version,
    parse_frame,
)

SECRET = "NEWSECRET"


def connected(version: Version) -> Engine:
    engine = Engine()
    engine.encode(engine.connect(versions=(version,)))
    head = b"CONNECTED\n" if version == "1.0" else f"CONNECTED\nversion:{version}\n".encode()
    engine.react(head + b"\n\0")
    return engine


# -- item 2: a copy keeps the passcode secret ------------------------------------------------


def test_copying_a_passcode_in_keeps_it_secret() -> None:
    frame = Connect(accept_version="1.2", host="/", passcode="old")
    copied = frame.model_copy(update={"passcode": SECRET})
    assert isinstance(copied.passcode, SecretStr)
    assert copied.passcode.get_secret_value() == SECRET
    for shown in (repr(copied), str(copied), repr(copied.model_dump())):
        assert SECRET not in shown
    assert b"passcode:" + SECRET.encode() in Engine().encode(copied)


def test_a_refused_copy_does_not_echo_the_passcode() -> None:
    frame = Connect(accept_version="1.2", host="/", passcode=SECRET)
    with pytest.raises(ValidationError, match="heart_beat") as caught:
        frame.model_copy(update={"heart_beat": "x,y"})
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value.errors())


# -- item 3: a copy with an update is validated ----------------------------------------------


def test_a_copy_with_a_new_body_gets_its_length() -> None:
    frame = Send(destination="/queue/a", body=b"hello")
    copied = frame.model_copy(update={"body": b"hello world"})
    assert copied.content_length == 11
    wire = copied.to_wire("1.2")
    assert b"content-length:11\n" in wire
    assert parse_frame(wire, "1.2") == copied
    assert copied == Send(destination="/queue/a", body=b"hello world")


def test_a_copy_of_a_decoded_message_with_a_new_body_gets_its_length() -> None:
    message = Message.from_wire(
        b"MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\ncontent-length:2\n\nhi\0"
    )
    copied = message.model_copy(update={"body": b"longer"})
    assert copied.content_length == 6
    assert parse_frame(copied.to_wire("1.2"), "1.2") == copied


def test_a_copy_keeps_a_content_length_left_out_or_refuses_a_wrong_one() -> None:
    frame = Send(destination="/q", body=b"a", content_length=None)
    assert frame.model_copy(update={"body": b"bb"}).content_length is None
    with pytest.raises(ValidationError, match="content-length does not match"):
        frame.model_copy(update={"body": b"bb", "content_length": 5})
    # Given by wire name, as the constructor takes it, too.
    assert frame.model_copy(update={"body": b"bb", "content-length": 2}).content_length == 2


def test_a_copy_with_a_bad_update_is_refused() -> None:
    frame = Send(destination="/q")
    with pytest.raises(ValidationError, match="destination"):
        frame.model_copy(update={"destination": ""})
    with pytest.raises(ValidationError, match="destination"):
        frame.model_copy(update={"destination": 5})
    with pytest.raises(ValidationError, match="nonsense"):
        frame.model_copy(update={"nonsense": "x"})
    with pytest.raises(ValidationError, match="content-length"):
        Receipt(receipt_id="r").model_copy(update={"headers": {"content-length": "3"}})


def test_a_copy_without_update_is_an_equal_frame() -> None:
    frame = Send(destination="/q", body=b"x", headers={"a": "1"})
    for copied in (frame.model_copy(), frame.model_copy(deep=True), copy.deepcopy(frame)):
        assert copied == frame
        assert copied.to_wire("1.2") == frame.to_wire("1.2")


# -- item 4: custom headers are read-only ----------------------------------------------------


def test_custom_headers_cannot_be_changed() -> None:
    given = {"x-a": "1", "x-b": "2"}
    frame = Send(destination="/q", headers=given)
    with pytest.raises(TypeError):
        frame.headers["content-length"] = "0"  # type: ignore[index]  # read-only, the point
    given["x-a"] = "changed"  # the caller's dict is not the frame's
    assert frame.headers == {"x-a": "1", "x-b": "2"}
    assert frame.to_wire("1.2") == b"SEND\ndestination:/q\nx-a:1\nx-b:2\n\n\0"


def test_custom_headers_keep_order_and_compare_as_a_dict() -> None:
    frame = Send(destination="/q", headers={"z": "1", "a": "2"})
    assert isinstance(frame.headers, Mapping)
    assert list(frame.headers) == ["z", "a"]
    assert frame.headers == {"a": "2", "z": "1"}
    assert frame.model_dump()["headers"] == {"z": "1", "a": "2"}
    assert type(frame.model_dump()["headers"]) is dict
    assert '"headers":{"z":"1","a":"2"}' in frame.model_dump_json()
    assert Send.model_validate_json(frame.model_dump_json()) == frame
    assert repr(frame).count("headers={'z': '1', 'a': '2'}") == 1


def test_decoded_custom_headers_are_read_only_and_in_wire_order() -> None:
    wire = b"MESSAGE\ndestination:/q\nmessage-id:1\nsubscription:0\nx-z:1\nx-a:2\n\n\0"
    for version in ("1.0", "1.1", "1.2"):
        (frame,) = FrameDecoder(version).feed(wire)
        assert list(frame.headers.items()) == [("x-z", "1"), ("x-a", "2")]
        with pytest.raises(TypeError):
            frame.headers["x-z"] = "0"  # type: ignore[index]  # read-only, the point
        assert frame.to_wire(version) == wire
    # The validated path (a missing content-length check aside) gives read-only headers too.
    (frame,) = FrameDecoder("1.2").feed(b"CONNECTED\nversion:1.2\nx:1\n\n\0")
    with pytest.raises(TypeError):
        frame.headers["x"] = "0"  # type: ignore[index]  # read-only, the point


def test_built_frames_have_read_only_headers() -> None:
    engine = connected("1.2")
    for frame in (
        engine.send("/q", b"x", headers={"x": "1"}),
        engine.subscribe("/q", headers={"x": "1"}),
    ):
        with pytest.raises(TypeError):
            frame.headers["x"] = "0"  # type: ignore[index]  # read-only, the point


def test_frames_with_headers_pickle() -> None:
    frame = Send(destination="/q", body=b"x", headers={"x": "1"})
    again: Send = pickle.loads(pickle.dumps(frame))
    assert again == frame
    with pytest.raises(TypeError):
        again.headers["x"] = "0"  # type: ignore[index]  # read-only, the point


# -- item 5: frames hash ---------------------------------------------------------------------


def test_frames_hash_consistently_with_equality() -> None:
    assert hash(Receipt(receipt_id="r")) == hash(Receipt(receipt_id="r"))
    assert len({Receipt(receipt_id="r"), Receipt(receipt_id="r"), Receipt(receipt_id="s")}) == 2
    one = Send(destination="/q", body=b"x", headers={"a": "1", "b": "2"})
    same = Send(destination="/q", body=b"x", headers={"b": "2", "a": "1"})
    assert one == same
    assert hash(one) == hash(same)
    assert {one: "v"}[same] == "v"
    assert one != Send(destination="/q", body=b"x", headers={"a": "1"})
    decoded = parse_frame(one.to_wire("1.2"), "1.2")
    assert decoded == one
    assert hash(decoded) == hash(one)
    connect = Connect(accept_version="1.2", host="/", passcode="pw", heart_beat=(1, 2))
    assert hash(connect) == hash(Connect(accept_version=("1.2",), host="/", passcode="pw",
                                         heart_beat="1,2"))  # fmt: skip


# -- item 14: nonsense is refused, naming the field ------------------------------------------


def test_nonsense_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="destination"):
        Send(destination="")
    with pytest.raises(ValidationError, match="destination"):
        Subscribe(destination="", id="0")
    with pytest.raises(ValidationError, match="accept_version"):
        Connect(accept_version="2.0", host="/")
    for cls in (Begin, Commit, Abort):
        with pytest.raises(ValidationError, match="transaction"):
            cls(transaction="")
    with pytest.raises(ValueError, match="send_ms"):
        HeartBeat(-1, 0)
    with pytest.raises(ValueError, match="receive_ms"):
        HeartBeat(0, -1)
    with pytest.raises(ValueError, match="send_ms"):
        HeartBeat("1", 0)  # type: ignore[arg-type]  # the point
    with pytest.raises(ValidationError, match="heart_beat"):
        Connect(accept_version="1.2", host="/", heart_beat=(-1, 0))
    # A later version may be offered next to one of ours.
    assert Connect(accept_version="1.2,2.0", host="/").accept_version == ("1.2", "2.0")
    assert HeartBeat(0, 5) == (0, 5)


def test_refusals_never_echo_a_passcode() -> None:
    with pytest.raises(ValidationError) as caught:
        Connect(accept_version="2.0", host="/", passcode=SECRET)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value.errors())


@pytest.mark.parametrize(
    "wire",
    [
        b"SEND\ndestination:\n\n\0",
        b"SEND\ndestination:\ncontent-length:1\n\nx\0",
        b"BEGIN\ntransaction:\n\n\0",
        b"COMMIT\ntransaction:\nx:1\n\n\0",
        b"SUBSCRIBE\ndestination:\nid:0\n\n\0",
    ],
)
@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_decoding_refuses_what_building_refuses(wire: bytes, version: Version) -> None:
    # Whether the frame is built validated or not, an empty name is the peer's fault.
    with pytest.raises(ProtocolError, match="must not be empty|at least 1 character"):
        FrameDecoder(version).feed(wire)


def test_the_send_builders_refuse_an_empty_destination() -> None:
    engine = connected("1.2")
    with pytest.raises(ValidationError, match="destination"):
        engine.send("", b"x")
    with pytest.raises(ValidationError, match="destination"):
        engine.encode_send("", b"x")


# -- item 18: STOMP 1.0 has no client-individual ack mode ------------------------------------


def test_client_individual_is_refused_in_10() -> None:
    frame = Subscribe(destination="/q", id="0", ack="client-individual")
    with pytest.raises(ValueError, match="1.0 knows only ack modes auto and client"):
        frame.to_wire("1.0")
    assert frame.version_problem("1.0") is not None
    assert b"ack:client-individual" in frame.to_wire("1.1")
    assert b"ack:client\n" in frame.model_copy(update={"ack": "client"}).to_wire("1.0")


def test_the_engine_refuses_client_individual_in_a_10_session() -> None:
    engine = connected("1.0")
    with pytest.raises(LocalProtocolError, match="1.0 knows only ack modes auto and client"):
        engine.encode(engine.subscribe("/q", ack="client-individual"))
    assert engine.subscriptions == {}
    assert engine.encode(engine.subscribe("/q", ack="client")).startswith(b"SUBSCRIBE\n")
    later = connected("1.1")
    assert b"ack:client-individual" in later.encode(later.subscribe("/q", ack="client-individual"))
