"""Building models in user code: required headers, typed values, secrets, content-length."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from stompmodels import (
    Ack,
    ClientFrame,
    Connect,
    Connected,
    Error,
    Frame,
    HeartBeat,
    Message,
    Nack,
    Send,
    ServerFrame,
    Stomp,
    Subscribe,
    Unsubscribe,
)

SECRET = "s3cr3t-passcode"


def test_headers_the_12_spec_requires_are_required() -> None:
    with pytest.raises(ValidationError, match="destination"):
        Send()  # type: ignore[call-arg]  # the point of the test
    with pytest.raises(ValidationError, match="id"):
        Subscribe(destination="/queue/a")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="version"):
        Connected()  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="subscription"):
        Message(destination="/queue/a", message_id="1")  # type: ignore[call-arg]


def test_an_explicit_none_builds_a_10_frame_that_later_versions_refuse() -> None:
    subscribe = Subscribe(destination="/queue/a", id=None)
    assert subscribe.to_wire("1.0") == b"SUBSCRIBE\ndestination:/queue/a\nack:auto\n\n\x00"
    with pytest.raises(ValueError, match="SUBSCRIBE needs header id in STOMP 1.2"):
        subscribe.to_wire("1.2")
    unsubscribe = Unsubscribe(id=None, destination="/queue/a")
    assert unsubscribe.to_wire("1.0") == b"UNSUBSCRIBE\ndestination:/queue/a\n\n\x00"
    with pytest.raises(ValueError, match="UNSUBSCRIBE needs header id in STOMP 1.1"):
        unsubscribe.to_wire("1.1")


def test_ack_needs_one_form_and_encodes_only_in_its_version() -> None:
    with pytest.raises(ValidationError, match="ACK needs header id or"):
        Ack()
    assert Ack(id="a-1").to_wire("1.2") == b"ACK\nid:a-1\n\n\x00"
    with pytest.raises(ValueError, match="message-id\\+subscription in STOMP 1.1"):
        Ack(id="a-1").to_wire("1.1")
    eleven = Ack(message_id="m-1", subscription="s-1")
    assert eleven.to_wire("1.1") == b"ACK\nmessage-id:m-1\nsubscription:s-1\n\n\x00"
    assert eleven.to_wire("1.0") == b"ACK\nmessage-id:m-1\nsubscription:s-1\n\n\x00"
    with pytest.raises(ValueError, match="NACK frames do not exist in STOMP 1.0"):
        Nack(message_id="m-1", subscription="s-1").to_wire("1.0")
    with pytest.raises(ValueError, match="STOMP frames do not exist in STOMP 1.0"):
        Stomp(accept_version="1.1", host="/").to_wire("1.0")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("10000,5000", HeartBeat(10000, 5000)), ((1, 2), HeartBeat(1, 2)), ([0, 0], HeartBeat(0, 0))],
)
def test_heart_beat_accepts_wire_text_and_pairs(given: object, expected: HeartBeat) -> None:
    assert Connected(version="1.2", heart_beat=given).heart_beat == expected


@pytest.mark.parametrize("given", ["1,2,3", "-1,0", "a,b", "1", (1,), (1, -2), (True, 0), 5])
def test_heart_beat_rejects_malformed_values(given: object) -> None:
    with pytest.raises(ValidationError, match="heart-beat"):
        Connected(version="1.2", heart_beat=given)


def test_missing_heart_beat_means_none_and_is_not_written() -> None:
    frame = Connected(version="1.2")
    assert frame.heart_beat == (0, 0)
    assert b"heart-beat" not in frame.to_wire()


def test_accept_version_accepts_wire_text() -> None:
    frame = Connect(accept_version="1.1,1.2", host="/")
    assert frame.accept_version == ("1.1", "1.2")
    assert b"accept-version:1.1,1.2\n" in frame.to_wire()
    for bad in ("", "1.1,,1.2", "one", ["1.2", 3]):
        with pytest.raises(ValidationError, match="accept-version"):
            Connect(accept_version=bad, host="/")


def test_subscribe_ack_is_one_of_three_modes() -> None:
    for mode in ("auto", "client", "client-individual"):
        assert Subscribe(destination="/q", id="1", ack=mode).ack == mode
    with pytest.raises(ValidationError, match="ack"):
        Subscribe(destination="/q", id="1", ack="manual")


def test_passcode_never_shows() -> None:
    frame = Connect(accept_version="1.2", host="/", login="bob", passcode=SECRET)
    assert SECRET not in repr(frame)
    assert SECRET not in str(frame)
    assert f"passcode:{SECRET}\n".encode() in frame.to_wire()
    with pytest.raises(ValidationError) as caught:
        Connect(accept_version="1.2", host="/", passcode=SECRET, heart_beat="x")
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value.errors())


def test_custom_headers_cannot_shadow_typed_headers() -> None:
    with pytest.raises(ValidationError, match="duplicates the typed field"):
        Send(destination="/q", headers={"destination": "/other"})
    with pytest.raises(ValidationError, match="cannot be empty"):
        Send(destination="/q", headers={"": "x"})
    kept = Send(destination="/q", headers={"body": "b", "content_length": "9", "command": "c"})
    assert kept.headers == {"body": "b", "content_length": "9", "command": "c"}


def test_content_length_follows_the_body_unless_opted_out() -> None:
    assert Send(destination="/q", body=b"abc").content_length == 3
    assert Send(destination="/q").content_length is None
    quiet = Send(destination="/q", body=b"abc", content_length=None)
    assert quiet.to_wire() == b"SEND\ndestination:/q\n\nabc\x00"
    with_nul = Send(destination="/q", body=b"a\x00c", content_length=None)
    assert with_nul.content_length == 3
    assert b"content-length:3\n" in with_nul.to_wire()
    with pytest.raises(ValidationError, match="does not match"):
        Send(destination="/q", body=b"abc", content_length=4)


def test_text_bodies_are_a_convenience_both_ways() -> None:
    frame = Send(destination="/q", body="héllo")
    assert frame.body == "héllo".encode()
    latin = Message(
        destination="/q",
        message_id="1",
        subscription="0",
        content_type="text/plain; charset=latin-1",
        body="é".encode("latin-1"),
    )
    assert latin.text == "é"
    assert Error(body=b"boom").text == "boom"


def test_frames_are_frozen_values() -> None:
    frame = Send(destination="/q")
    with pytest.raises(ValidationError):
        frame.destination = "/other"  # type: ignore[misc]  # the point of the test
    assert frame == Send(destination="/q")


def test_unions_discriminate_by_command() -> None:
    any_frame = TypeAdapter(Frame).validate_python({"command": "SEND", "destination": "/a"})
    assert any_frame == Send(destination="/a")
    client = TypeAdapter(ClientFrame).validate_python({"command": "ACK", "id": "1"})
    assert isinstance(client, Ack)
    with pytest.raises(ValidationError):
        TypeAdapter(ServerFrame).validate_python({"command": "SEND", "destination": "/a"})
