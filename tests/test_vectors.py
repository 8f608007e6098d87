"""The spec test vectors of tests/vectors.py, run through every decoding and encoding entry point.

Every Valid and Invalid vector is fed to a FrameDecoder three ways (whole, one byte at a time,
and followed by the start of another frame), and is also given to parse_frame and to the
model's from_wire. Encodes vectors (and Valid ones marked roundtrip) check to_wire exactly.
"""

from __future__ import annotations

import re

import pytest
from pydantic import SecretStr, ValidationError

from stompmodels import (
    Abort,
    Ack,
    Begin,
    Commit,
    Connect,
    Connected,
    Disconnect,
    Error,
    Frame,
    FrameDecoder,
    HeartBeat,
    Message,
    Nack,
    ProtocolError,
    Receipt,
    Send,
    Stomp,
    Subscribe,
    Unsubscribe,
    Version,
    parse_frame,
)
from tests.strategies import MODELS as ALL_MODELS
from tests.vectors import (
    ALL,
    ENCODES,
    INVALID,
    UNENCODABLE,
    VALID,
    Encodes,
    Invalid,
    Unencodable,
    Valid,
)

# The test's own list of the 15 models (not the package's registry), keyed by command.
MODELS: dict[str, type[Frame]] = {model.__name__.upper(): model for model in ALL_MODELS}

# The start of another frame: it must neither come out as a frame nor raise.
NEXT = b"SEND\ndestination:/next"
NEXT_END = b"\n\n\x00"
NEXT_FRAME = Send(destination="/next", content_length=None)

# A frame valid in every version, fed before an invalid one in the same feed() call.
BEFORE = b"BEGIN\ntransaction:tx-before\n\n\x00"
BEFORE_FRAME = Begin(transaction="tx-before")

ENCODED: list[Encodes] = [
    *ENCODES,
    *(Encodes(case.name, case.version, case.frame, case.wire) for case in VALID if case.roundtrip),
]


def assert_frames(got: list[Frame], expected: list[Frame]) -> None:
    """Equal frames of the same class, custom headers in the same (wire) order."""
    assert got == expected
    assert [type(frame) for frame in got] == [type(frame) for frame in expected]
    assert [list(frame.headers.items()) for frame in got] == [
        list(frame.headers.items()) for frame in expected
    ]


def assert_message(error: BaseException, pattern: str) -> None:
    assert re.search(pattern, str(error), re.IGNORECASE), f"{pattern!r} not in {str(error)!r}"


def assert_offset(error: ProtocolError, low: int, high: int) -> None:
    """The offset, when known, is an absolute stream position inside the bytes at fault."""
    if error.offset is not None:
        assert low <= error.offset <= high, (error.offset, low, high)


def assert_refuses_more(decoder: FrameDecoder) -> None:
    with pytest.raises(ProtocolError):
        decoder.feed(b"DISCONNECT\n\n\x00")
    with pytest.raises(ProtocolError):
        decoder.feed(b"")


def model_of(wire: bytes) -> type[Frame]:
    """The model named by the wire's command line (SEND when it names none)."""
    command = wire.split(b"\n", 1)[0].strip().decode("utf-8", "replace")
    return MODELS.get(command, Send)


# ---- Valid: decode to exactly the frame, whichever way the bytes arrive.


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.name)
def test_valid_fed_whole(case: Valid) -> None:
    decoder = FrameDecoder(case.version)
    assert_frames(decoder.feed(case.wire), [case.frame])
    assert decoder.bytes_received == len(case.wire)
    assert decoder.feed(b"") == []


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.name)
def test_valid_fed_byte_by_byte(case: Valid) -> None:
    decoder = FrameDecoder(case.version)
    frames: list[Frame] = []
    for index in range(len(case.wire)):
        frames += decoder.feed(case.wire[index : index + 1])
    assert_frames(frames, [case.frame])
    assert decoder.bytes_received == len(case.wire)


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.name)
def test_valid_followed_by_another_frame(case: Valid) -> None:
    decoder = FrameDecoder(case.version)
    assert_frames(decoder.feed(case.wire + NEXT), [case.frame])
    # The decoder stopped exactly at the end of the frame: the next one decodes intact.
    assert_frames(decoder.feed(NEXT_END), [NEXT_FRAME])


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.name)
def test_valid_parse_frame(case: Valid) -> None:
    assert_frames([parse_frame(case.wire, case.version)], [case.frame])


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.name)
def test_valid_from_wire(case: Valid) -> None:
    assert_frames([type(case.frame).from_wire(case.wire, case.version)], [case.frame])


# ---- Encodes (and roundtrip Valid): exact bytes.


@pytest.mark.parametrize("case", ENCODED, ids=lambda case: case.name)
def test_encodes(case: Encodes) -> None:
    assert case.frame.to_wire(case.version) == case.wire


@pytest.mark.parametrize("case", UNENCODABLE, ids=lambda case: case.name)
def test_unencodable(case: Unencodable) -> None:
    with pytest.raises(ValueError) as info:
        case.frame.to_wire(case.version)
    assert_message(info.value, case.match)
    assert not isinstance(info.value, ProtocolError)  # our fault, not the peer's


# ---- Invalid: a ProtocolError naming the problem, whichever way the bytes arrive.


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.name)
def test_invalid_fed_whole(case: Invalid) -> None:
    decoder = FrameDecoder(case.version)
    with pytest.raises(ProtocolError) as info:
        decoder.feed(case.wire)
    assert_message(info.value, case.match)
    assert info.value.frames == []
    assert_offset(info.value, 0, len(case.wire))
    assert_refuses_more(decoder)


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.name)
def test_invalid_fed_byte_by_byte(case: Invalid) -> None:
    decoder = FrameDecoder(case.version)
    with pytest.raises(ProtocolError) as info:
        for index in range(len(case.wire)):
            assert decoder.feed(case.wire[index : index + 1]) == []
    assert_message(info.value, case.match)
    assert_offset(info.value, 0, len(case.wire))
    assert_refuses_more(decoder)


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.name)
def test_invalid_followed_by_another_frame(case: Invalid) -> None:
    decoder = FrameDecoder(case.version)
    with pytest.raises(ProtocolError) as info:
        decoder.feed(case.wire + NEXT)
    assert_message(info.value, case.match)
    assert_refuses_more(decoder)


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.name)
def test_invalid_keeps_the_frames_before_it(case: Invalid) -> None:
    decoder = FrameDecoder(case.version)
    with pytest.raises(ProtocolError) as info:
        decoder.feed(BEFORE + case.wire)
    assert_message(info.value, case.match)
    assert_frames(info.value.frames, [BEFORE_FRAME])
    assert_offset(info.value, len(BEFORE), len(BEFORE) + len(case.wire))
    assert_refuses_more(decoder)


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.name)
def test_invalid_parse_frame(case: Invalid) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_frame(case.wire, case.version)
    assert_message(info.value, case.match)


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.name)
def test_invalid_from_wire(case: Invalid) -> None:
    with pytest.raises(ProtocolError) as info:
        model_of(case.wire).from_wire(case.wire, case.version)
    assert_message(info.value, case.match)


# ---- The table itself.


def test_names_are_unique() -> None:
    cases: list[Valid | Encodes | Invalid | Unencodable] = [
        *VALID,
        *ENCODES,
        *INVALID,
        *UNENCODABLE,
    ]
    names = [case.name for case in cases]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("version", ALL)
def test_every_command_of_every_version_is_covered(version: Version) -> None:
    """Each of the 15 commands that exists in a version is decoded and encoded at least once."""
    exists = set(MODELS) - ({"STOMP", "NACK"} if version == "1.0" else set())
    decoded = {case.frame.command for case in VALID if case.version == version}
    encoded = {case.frame.command for case in ENCODED if case.version == version}
    assert decoded == exists
    assert encoded == exists


# ---- Errors and entry points.


def test_protocol_error_is_a_value_error() -> None:
    assert issubclass(ProtocolError, ValueError)
    with pytest.raises(ValueError, match="unknown"):
        parse_frame(b"FOO\n\n\x00")


@pytest.mark.parametrize(
    ("model", "wire"),
    [
        (Send, b"BEGIN\ntransaction:t\n\n\x00"),
        (Connect, b"STOMP\naccept-version:1.2\nhost:h\n\n\x00"),
        (Stomp, b"CONNECT\naccept-version:1.2\nhost:h\n\n\x00"),
        (Ack, b"NACK\nid:1\n\n\x00"),
        (Nack, b"ACK\nid:1\n\n\x00"),
        (Message, b"SEND\ndestination:/q\n\n\x00"),
        (Connected, b"CONNECT\naccept-version:1.2\nhost:h\n\n\x00"),
        (Receipt, b"ERROR\nreceipt-id:1\n\n\x00"),
        (Error, b"RECEIPT\nreceipt-id:1\n\n\x00"),
        (Begin, b"COMMIT\ntransaction:t\n\n\x00"),
        (Commit, b"ABORT\ntransaction:t\n\n\x00"),
        (Abort, b"BEGIN\ntransaction:t\n\n\x00"),
        (Subscribe, b"UNSUBSCRIBE\nid:0\n\n\x00"),
        (Unsubscribe, b"SUBSCRIBE\ndestination:/q\nid:0\n\n\x00"),
        (Disconnect, b"RECEIPT\nreceipt-id:1\n\n\x00"),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_from_wire_of_another_command(model: type[Frame], wire: bytes) -> None:
    parse_frame(wire)  # the bytes are a good frame...
    with pytest.raises(ProtocolError):  # ...of another command
        model.from_wire(wire)


GOOD = b"RECEIPT\nreceipt-id:1\n\n\x00"


@pytest.mark.parametrize(
    "data",
    [
        GOOD + b"x",
        GOOD + b"\n\nx",
        GOOD + b" ",
        GOOD + b"\x00",
        GOOD + GOOD,
        GOOD + b"\n" + GOOD,
        GOOD[:-1],
        GOOD + b"\r",
        b"",
        b"\n\n",
    ],
    ids=repr,
)
def test_parse_frame_wants_exactly_one_frame(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_frame(data, "1.2")


@pytest.mark.parametrize("version", ALL)
def test_parse_frame_allows_eols_after_the_frame(version: Version) -> None:
    assert parse_frame(GOOD + b"\n\n", version) == Receipt(receipt_id="1")


def test_parse_frame_allows_crlf_after_the_frame_in_12() -> None:
    assert parse_frame(GOOD + b"\r\n\n\r\n", "1.2") == Receipt(receipt_id="1")


@pytest.mark.parametrize(("version", "eols", "count"), [("1.0", b"\n\n", 2), ("1.2", b"\r\n\n", 2)])
def test_heart_beats_between_frames(version: Version, eols: bytes, count: int) -> None:
    decoder = FrameDecoder(version)
    assert decoder.feed(eols) == []
    assert decoder.heartbeats_received == count
    assert decoder.feed(GOOD + eols + GOOD) == [Receipt(receipt_id="1")] * 2
    assert decoder.heartbeats_received == 2 * count


# ---- The passcode never shows.

SECRET = "hunter2-s3cret"


def test_passcode_hidden_in_repr_and_str() -> None:
    frames: list[Connect | Stomp] = [
        Connect(accept_version=("1.2",), host="h", login="bob", passcode=SECRET),
        Stomp(accept_version=("1.2",), host="h", passcode=SecretStr(SECRET)),
    ]
    for frame in frames:
        assert SECRET not in repr(frame)
        assert SECRET not in str(frame)
        assert frame.passcode is not None
        assert frame.passcode.get_secret_value() == SECRET  # ...but it is there.
        assert SECRET.encode() in frame.to_wire()


@pytest.mark.parametrize(
    "bad",
    [
        {"host": "h"},  # accept-version missing
        {"accept_version": ("1.2",)},  # host missing
        {"accept_version": ("1.2",), "host": "h", "heart_beat": "often"},
        {"accept_version": ("1.2",), "host": "h", "login": 7},
        {"accept_version": ("1.2",), "host": "h", "no_such_field": SECRET},
        {"accept_version": ("1.2",), "host": "h", "headers": {"": SECRET}},
        {"accept_version": "not a version", "host": "h"},
    ],
    ids=["no-accept-version", "no-host", "bad-heart-beat", "bad-login", "extra", "bad-custom",
         "bad-accept-version"],
)  # fmt: skip
def test_passcode_hidden_in_validation_errors(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        Connect(passcode=SECRET, **bad)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value)


def test_bad_passcode_value_hidden_in_validation_error() -> None:
    secret_number = 918273645546372819
    with pytest.raises(ValidationError) as info:
        Connect(accept_version=("1.2",), host="h", passcode=secret_number)
    assert str(secret_number) not in str(info.value)


@pytest.mark.parametrize(
    "head",
    [
        b"CONNECT\naccept-version:1.2\nhost:h\npasscode:" + SECRET.encode() + b"\nheart-beat:x\n",
        b"CONNECT\naccept-version:1.2\npasscode:" + SECRET.encode() + b"\n",  # no host
        b"CONNECT\nhost:h\npasscode:" + SECRET.encode() + b"\n",  # no accept-version
        b"CONNECT\naccept-version:1.2\nhost:h\npasscode:" + SECRET.encode() + b"\nlogin\n",
        b"CONNECT\naccept-version:1.2\nhost:h\npasscode:" + SECRET.encode() + b"\xff\n",
        b"CONNECT\naccept-version:x y\nhost:h\npasscode:" + SECRET.encode() + b"\n",
        b"STOMP\naccept-version:1.2\nhost:h\npasscode:" + SECRET.encode() + b"\\t\n",
        b"STOMP\naccept-version:1.2\npasscode:" + SECRET.encode() + b"\n",
    ],
    ids=["bad-heart-beat", "no-host", "no-accept-version", "no-colon", "bad-utf8",
         "bad-accept-version", "bad-escape", "stomp-no-host"],
)  # fmt: skip
def test_passcode_hidden_in_protocol_errors(head: bytes) -> None:
    wire = head + b"\nbody?\x00"  # a body too, so any later check would fail as well
    for data in (head + b"\n\x00", wire):
        with pytest.raises(ProtocolError) as info:
            FrameDecoder("1.2").feed(data)
        assert SECRET not in str(info.value)
        assert SECRET not in repr(info.value)
        with pytest.raises(ProtocolError) as info:
            parse_frame(data, "1.2")
        assert SECRET not in str(info.value)


# ---- Building: the brief's build-time rules that the vectors rely on.


@pytest.mark.parametrize(
    "build",
    [
        lambda: Ack.model_validate({}),
        lambda: Ack(subscription="s"),
        lambda: Nack(message_id="m"),  # the 1.0 form, and NACK does not exist in 1.0
        lambda: Send(destination="/q", body=b"hi", content_length=5),
        lambda: Send(destination="/q", headers={"destination": "/other"}),
        lambda: Send(destination="/q", headers={"": "v"}),
        lambda: Subscribe(destination="/q", id="0", ack="sometimes"),
        lambda: Send.model_validate({}),
        lambda: Receipt.model_validate({}),
    ],
    ids=["ack-no-form", "ack-subscription-only", "nack-1.0-form", "content-length-mismatch",
         "custom-duplicates-typed", "custom-empty-name", "bad-ack", "send-no-destination",
         "receipt-no-id"],
)  # fmt: skip
def test_build_errors(build: object) -> None:
    assert callable(build)
    with pytest.raises(ValidationError):
        build()


def test_build_defaults() -> None:
    assert Connect(accept_version="1.1,1.2", host="h").accept_version == ("1.1", "1.2")
    assert Connect(accept_version=None, host=None).heart_beat == HeartBeat(0, 0)
    assert Send(destination="/q", body=b"abc").content_length == 3
    assert Send(destination="/q").content_length is None
    assert Send(destination="/q", body=b"a\x00", content_length=None).content_length == 2
    assert Subscribe(destination="/q", id="0").ack == "auto"
