"""Edge cases of issue #12: truncated input, STOMP 1.0 bodies on any frame, and text bodies in
the charset their content-type declares.

As in tests/test_vectors.py, what a decoder meets is fed whole, one byte at a time and followed
by the start of another frame.
"""

from __future__ import annotations

import pytest

from stompmodels import (
    Begin,
    Connect,
    Connected,
    Disconnect,
    Engine,
    Frame,
    FrameDecoder,
    Limits,
    ProtocolError,
    Receipt,
    Send,
    State,
    Subscribe,
    Version,
    parse_frame,
)
from tests.test_vectors import NEXT, NEXT_END, NEXT_FRAME, assert_frames

VERSIONS: tuple[Version, ...] = ("1.0", "1.1", "1.2")


def fed_whole(wire: bytes, version: Version) -> list[Frame]:
    return FrameDecoder(version).feed(wire)


def fed_byte_by_byte(wire: bytes, version: Version) -> list[Frame]:
    decoder = FrameDecoder(version)
    frames: list[Frame] = []
    for index in range(len(wire)):
        frames += decoder.feed(wire[index : index + 1])
    return frames


def fed_with_next(wire: bytes, version: Version) -> list[Frame]:
    decoder = FrameDecoder(version)
    frames = decoder.feed(wire + NEXT)
    assert_frames(decoder.feed(NEXT_END), [NEXT_FRAME])  # stopped exactly at the frame's end
    return frames


FEEDS = [fed_whole, fed_byte_by_byte, fed_with_next]


# ---- 10. A truncated frame is reported as truncated, not as over max_frame_size.

# (input ending inside a frame, what the error says, the frame once its end comes)
TRUNCATED = [
    (
        b"RECEIPT\nreceipt-id:1\n\n",
        r"ends inside a RECEIPT frame \(no NUL after the body\)",
        b"\x00",
    ),
    (
        b"SEND\ndestination:/q\n\nhello",
        r"ends inside a SEND frame \(no NUL after the body\)",
        b"\x00",
    ),
    (
        b"SEND\ndestination:/q\ncontent-length:10\n\nhello",
        r"ends inside a SEND frame \(its body has 5 of the 10 bytes its content-length",
        b"world\x00",
    ),
    (
        b"SEND\ndestination:/q\ncontent-length:5\n\nhello",
        r"ends inside a SEND frame \(no NUL after the body\)",
        b"\x00",
    ),
    (
        b"RECEIPT\nreceipt-id:1\n",
        r"ends inside a RECEIPT frame head \(no blank line after it\)",
        b"\n\x00",
    ),
    (b"RECEI", r"ends inside a frame head \(no blank line after it\)", b"PT\nreceipt-id:1\n\n\x00"),
    (
        b"\n\nRECEIPT\nreceipt-id:1\n\n",
        r"ends inside a RECEIPT frame \(no NUL after the body\)",
        b"\x00",
    ),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("wire", "match", "rest"), TRUNCATED)
def test_parse_frame_reports_a_truncated_frame_as_truncated(
    wire: bytes, match: str, rest: bytes, version: Version
) -> None:
    with pytest.raises(ProtocolError, match=match) as caught:
        parse_frame(wire, version)
    assert "max_frame_size" not in str(caught.value)
    assert caught.value.offset == len(wire) - len(wire.lstrip(b"\n"))  # where the frame starts
    model = type(parse_frame(wire + rest, version))
    with pytest.raises(ProtocolError, match=match):
        model.from_wire(wire, version)


@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("wire", "match", "rest"), TRUNCATED)
def test_a_stream_decoder_waits_for_the_rest_of_a_frame(
    wire: bytes, match: str, rest: bytes, version: Version, feed: object
) -> None:
    """A stream may go on: the same bytes are no error for FrameDecoder.feed, and the frame
    comes out whole once its end arrives."""
    assert fed_whole(wire, version) == []
    assert fed_byte_by_byte(wire, version) == []
    complete = parse_frame(wire + rest, version)
    assert callable(feed)
    assert_frames(feed(wire + rest, version), [complete])


def test_a_frame_really_over_max_frame_size_still_says_so() -> None:
    wire = b"SEND\ndestination:/q\n\n" + b"x" * 10  # a body with no NUL yet
    for chunk in (len(wire), 1):
        decoder = FrameDecoder("1.2", max_frame_size=24)
        with pytest.raises(ProtocolError, match="SEND frame over max_frame_size 24"):
            for index in range(0, len(wire), chunk):
                decoder.feed(wire[index : index + chunk])
    # parse_frame: a declared content-length over the default limit is over it, not truncated.
    huge = Limits().max_frame_size
    with pytest.raises(ProtocolError, match="content-length over max_frame_size"):
        parse_frame(f"SEND\ndestination:/q\ncontent-length:{huge}\n\nabc".encode())


def test_parse_frame_of_no_frame_and_of_trailing_bytes() -> None:
    for data in (b"", b"\n\r\n"):
        with pytest.raises(ProtocolError, match="no frame in the input"):
            parse_frame(data)
    with pytest.raises(ProtocolError, match="bytes after the frame"):
        parse_frame(b"RECEIPT\nreceipt-id:1\n\n\x00" + NEXT)


@pytest.mark.slow  # 100 MiB
def test_parse_frame_still_takes_a_frame_bigger_than_the_default_limit() -> None:
    """parse_frame bounds nothing the input does not hold (it did not before either)."""
    body = b"x" * (Limits().max_frame_size + 1)
    wire = b"SEND\ndestination:/q\n\n" + body + b"\x00"
    assert parse_frame(wire).body == body  # type: ignore[union-attr]  # a Send, checked here


# ---- 19. STOMP 1.0 allows a body on any frame; 1.1 and 1.2 on SEND, MESSAGE and ERROR only.

# (1.0 wire of a frame whose model has no body field, the frame: the body is ignored)
BODIES_10 = [
    (b"DISCONNECT\n\nouch!\x00", Disconnect()),
    (b"DISCONNECT\nreceipt:r\ncontent-length:5\n\nouch!\x00", Disconnect(receipt="r")),
    (b"DISCONNECT\ncontent-length:1\n\n\x00\x00", Disconnect()),  # a NUL, by content-length
    (b"BEGIN\ntransaction:tx1\n\nhello\x00", Begin(transaction="tx1")),
    (
        b"SUBSCRIBE\ndestination:/q\nid:0\n\nselector\x00",
        Subscribe(destination="/q", id="0"),
    ),
    (b"CONNECT\nlogin:me\n\nhello\x00", Connect(accept_version=None, host=None, login="me")),
    # Server frames: the other direction.
    (b"RECEIPT\nreceipt-id:1\n\n\n\x00", Receipt(receipt_id="1")),
    (b"CONNECTED\nsession:s-1\n\nwelcome\x00", Connected(version=None, session="s-1")),
]


@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize(("wire", "frame"), BODIES_10)
def test_a_10_body_on_any_frame_is_accepted_and_ignored(
    wire: bytes, frame: Frame, feed: object
) -> None:
    assert callable(feed)
    assert_frames(feed(wire, "1.0"), [frame])
    assert_frames([parse_frame(wire, "1.0")], [frame])
    assert_frames([type(frame).from_wire(wire, "1.0")], [frame])


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize(("wire", "frame"), BODIES_10)
def test_later_versions_still_refuse_a_body_on_those_frames(
    wire: bytes, frame: Frame, version: Version
) -> None:
    for feed in FEEDS:
        with pytest.raises(ProtocolError, match="frames cannot have a body"):
            feed(wire, version)
    with pytest.raises(ProtocolError, match="frames cannot have a body"):
        parse_frame(wire, version)


def test_a_10_stream_of_frames_with_bodies_keeps_decoding() -> None:
    """Repeated heads (what a 1.1/1.2 reader learns the shape of) with bodies, in 1.0."""
    wire = b"RECEIPT\nreceipt-id:1\n\nok\x00\n"
    assert FrameDecoder("1.0").feed(wire * 5) == [Receipt(receipt_id="1")] * 5


def test_a_10_session_takes_a_connected_with_a_body() -> None:
    engine = Engine()
    engine.encode(engine.connect(versions=("1.0",)))
    assert engine.react(b"CONNECTED\nsession:s-1\n\nwelcome\x00") == b""
    assert engine.state is State.CONNECTED
    assert engine.version == "1.0"
    receipt = engine.disconnect()
    engine.encode(receipt)
    assert receipt.receipt is not None
    reaction = engine.receive(f"RECEIPT\nreceipt-id:{receipt.receipt}\n\nbye\x00".encode())
    assert reaction[0].receipts == (receipt.receipt,)


# ---- 15. A str body goes in the charset its content-type declares.

LATIN = "text/plain;charset=latin-1"


def connected(version: Version = "1.2") -> Engine:
    engine = Engine()
    engine.encode(engine.connect())
    engine.react(Connected(version=version, session="s").to_wire(version))
    return engine


@pytest.mark.parametrize(
    ("content_type", "encoded"),
    [
        (LATIN, b"h\xe9llo"),
        ('text/plain; Charset="ISO-8859-1"', b"h\xe9llo"),
        ("text/plain;charset=utf-16-le", "héllo".encode("utf-16-le")),
        ("text/plain;charset=utf-8", b"h\xc3\xa9llo"),
        ("text/plain", b"h\xc3\xa9llo"),  # no charset named: UTF-8
        (None, b"h\xc3\xa9llo"),
    ],
)
def test_a_text_body_is_encoded_in_its_declared_charset(
    content_type: str | None, encoded: bytes
) -> None:
    frame = Send(destination="/q", body="héllo", content_type=content_type)
    assert frame.body == encoded
    assert frame.content_length == len(encoded)
    assert frame.text == "héllo"
    by_alias = Send.model_validate(
        {"destination": "/q", "body": "héllo", "content-type": content_type}
    )
    assert by_alias.body == encoded
    engine = connected()
    sent = engine.send("/q", "héllo", content_type=content_type)
    assert sent.body == encoded
    wire = engine.encode_send("/q", "héllo", content_type=content_type)
    assert wire == engine.encode(sent)
    assert wire.endswith(b"\n\n" + encoded + b"\x00")
    assert parse_frame(wire).text == "héllo"  # type: ignore[union-attr]  # a Send


@pytest.mark.parametrize(
    ("content_type", "match"),
    [
        ("text/plain;charset=no-such-charset", "unknown charset 'no-such-charset'"),
        ("text/plain;charset=base64", "unknown charset 'base64'"),  # not a text encoding
        ("text/plain;charset=us-ascii", "cannot be encoded in charset 'us-ascii'"),
    ],
)
def test_a_text_body_its_charset_cannot_carry_is_a_value_error(
    content_type: str, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        Send(destination="/q", body="héllo", content_type=content_type)
    engine = connected()
    with pytest.raises(ValueError, match=match):
        engine.send("/q", "héllo", content_type=content_type)
    with pytest.raises(ValueError, match=match):
        engine.encode_send("/q", "héllo", content_type=content_type)


def test_a_bytes_body_is_sent_as_it_is_whatever_the_charset() -> None:
    assert Send(destination="/q", body=b"h\xc3\xa9", content_type=LATIN).body == b"h\xc3\xa9"
    engine = connected()
    assert engine.send("/q", b"\xff", content_type="text/plain;charset=nope").body == b"\xff"
