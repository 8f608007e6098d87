"""Head shapes: a stream that repeats the shape of its heads decodes as each frame alone does.

The reader learns the shape of a head (command and header names, in order) from its second
sighting and then reads heads of that shape with one regex match; the decoder types them by a
layout kept per shape. A decoder that sees one frame never takes those paths, so each frame of
a long stream must decode exactly as it decodes alone: the same frame (values, type, fields
set) or the same error.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stompmodels import Frame, FrameDecoder, Limits, Message, ProtocolError, Version, _reader
from stompmodels._codec import parse_head

NAMES = ("destination", "message-id", "subscription", "x-custom", "ack")
# Heads whose values take the shape path (no backslash, no CR), and heads with what else
# matters to a head: backslashes (escapes, valid or not) and CR.
PLAIN = st.text(alphabet=st.sampled_from("ab: \u00e9"), max_size=8)
ANY = st.text(alphabet=st.sampled_from("ab:\\cnrt \r\u00e9"), max_size=8)
HEAD_VALUES = st.one_of(st.tuples(*[PLAIN] * len(NAMES)), st.tuples(*[ANY] * len(NAMES)))


def frame_bytes(values: tuple[str, ...], body: bytes, with_length: bool) -> bytes:
    lines = [f"{name}:{value}" for name, value in zip(NAMES, values, strict=True)]
    if with_length:
        lines.append(f"content-length:{len(body)}")
    return ("MESSAGE\n" + "\n".join(lines) + "\n\n").encode() + body + b"\0\n"


def alone(data: bytes, version: Version) -> Frame | str:
    """The frame `data` decodes to by itself, or its error's message."""
    try:
        frames = FrameDecoder(version).feed(data)
    except ProtocolError as exc:
        return exc.reason
    assert len(frames) == 1
    return frames[0]


def same(a: Frame | str, b: Frame | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return type(a) is type(b) and a == b and a.model_fields_set == b.model_fields_set


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    version=st.sampled_from(["1.1", "1.2"]),
    frames=st.lists(
        st.tuples(HEAD_VALUES, st.binary(max_size=20), st.booleans()),
        min_size=2,
        max_size=12,
    ),
)
def test_a_stream_of_one_shape_decodes_as_each_frame_alone(
    version: Version, frames: list[tuple[tuple[str, ...], bytes, bool]]
) -> None:
    wires = [frame_bytes(values, body.replace(b"\0", b""), flag) for values, body, flag in frames]
    expected = [alone(wire, version) for wire in wires]
    decoder = FrameDecoder(version)
    for wire, wanted in zip(wires, expected, strict=True):
        try:
            got: list[Frame | str] = list(decoder.feed(wire))
        except ProtocolError as exc:
            got = [*exc.frames, exc.reason]
        assert len(got) == 1 and same(got[0], wanted), (wire, got, wanted)
        if isinstance(wanted, str):
            return  # the stream is unusable after an error


def test_shapes_are_used_and_a_different_head_still_decodes() -> None:
    wire = frame_bytes(("/queue/a", "m-1", "s", "x", "a-1"), b"body", True)
    odd = b"MESSAGE\ndestination:/queue/a\nmessage-id:m-2\nsubscription:s\n\nodd\0"
    decoder = FrameDecoder("1.2")
    frames = decoder.feed(wire * 3 + odd + wire)
    assert all(isinstance(frame, Message) for frame in frames)
    assert [frame.body for frame in frames if isinstance(frame, Message)] == [b"body"] * 3 + [
        b"odd",
        b"body",
    ]
    assert all(same(frame, alone(wire, "1.2")) for frame in frames[:3] + frames[4:])
    assert same(frames[3], alone(odd, "1.2"))


def test_activemq_ids_take_the_shape_path_and_other_escapes_do_not_go_astray() -> None:
    """Every escape is unescaped on the shape path as the general parser does it, an escaped
    backslash before a `c` included; an undefined escape goes to the general parser, which
    names it."""
    ids = ("ID\\cvm-1\\c7", "a\\\\cb", "a\\nb", "a\\\\b", "a\\xb")
    for trap in ids:
        wire = frame_bytes(("/queue/a", trap, "s", "x", "ID\\cvm\\c1"), b"", True)
        decoder = FrameDecoder("1.2")
        expected = alone(wire, "1.2")
        for _ in range(3):  # the third frame is read by the shape
            try:
                got: Frame | str = decoder.feed(wire)[0]
            except ProtocolError as exc:
                got = exc.reason
            assert same(got, expected), (trap, got, expected)
            if isinstance(expected, str):
                break
    first = alone(frame_bytes(("/q", "ID\\cvm-1\\c7", "s", "x", "a"), b"", True), "1.2")
    assert isinstance(first, Message) and first.message_id == "ID:vm-1:7"


def test_backslashes_in_connected_are_not_escapes_on_the_shape_path() -> None:
    wire = b"CONNECTED\nversion:1.2\nserver:a\\cb\n\n\0"
    decoder = FrameDecoder("1.2")
    frames = [frame for _ in range(3) for frame in decoder.feed(wire)]
    assert all(same(frame, alone(wire, "1.2")) for frame in frames)
    assert all(getattr(frame, "server", None) == "a\\cb" for frame in frames)


# A stream of one shape, where any frame may break a rule that the general path checks: the
# shape path must take the routine frames and leave each odd one to the general path.
LIMITS = Limits(max_frame_size=400, max_header_line=150)  # longer than a routine head
ODD_KINDS = (
    "routine",
    "eols before",  # heart-beats between frames
    "length short of the body",  # no NUL where content-length says
    "long header line",  # over max_header_line
    "frame over max_frame_size",
    "non-ASCII digits in content-length",  # str.isdigit() takes them, STOMP does not
    "CR in a value",  # an EOL in 1.2, a bad octet in 1.1
)


def odd_frame(kind: str, values: tuple[str, ...], body: bytes) -> bytes:
    length = str(len(body))
    if kind == "length short of the body":
        body, length = body + b"x", str(len(body))
    elif kind == "long header line":
        values = (values[0] + "v" * 160, *values[1:])
    elif kind == "frame over max_frame_size":
        body, length = body + b"b" * 400, str(len(body) + 400)
    elif kind == "non-ASCII digits in content-length":
        body, length = b"b", "\u0661"  # ARABIC-INDIC DIGIT ONE
    elif kind == "CR in a value":
        values = (values[0] + "\r", *values[1:])
    lines = [f"{name}:{value}" for name, value in zip(NAMES, values, strict=True)]
    head = "MESSAGE\n" + "\n".join([*lines, f"content-length:{length}"]) + "\n\n"
    eols = b"\n\n" if kind == "eols before" else b""
    return eols + head.encode() + body + b"\0\n"


def outcome(wires: list[bytes], version: Version, cuts: list[int]) -> tuple[list[Frame], str, int]:
    """Frames, error reason ("" for none) and heart-beats of `wires` fed as one stream cut at
    `cuts`."""
    stream = b"".join(wires)
    decoder = FrameDecoder(version, limits=LIMITS)
    frames: list[Frame] = []
    bounds = [0, *sorted({cut % (len(stream) + 1) for cut in cuts}), len(stream)]
    for low, high in itertools.pairwise(bounds):
        try:
            frames += decoder.feed(stream[low:high])
        except ProtocolError as exc:
            return frames + exc.frames, exc.reason, decoder.heartbeats_received
    return frames, "", decoder.heartbeats_received


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    version=st.sampled_from(["1.1", "1.2"]),
    frames=st.lists(
        st.tuples(st.sampled_from(ODD_KINDS), st.tuples(*[PLAIN] * len(NAMES)), st.binary()),
        min_size=3,
        max_size=10,
    ),
    cuts=st.lists(st.integers(min_value=0), max_size=6),
)
def test_odd_frames_in_a_stream_of_one_shape_decode_as_alone(
    version: Version, frames: list[tuple[str, tuple[str, ...], bytes]], cuts: list[int]
) -> None:
    # The first two are routine, so that the shape is known when an odd one comes.
    wires = [
        odd_frame("routine" if index < 2 else kind, values, body.replace(b"\0", b"")[:40])
        for index, (kind, values, body) in enumerate(frames)
    ]
    got_frames, got_error, got_beats = outcome(wires, version, cuts)
    # Each frame alone, by a decoder that never learns a shape (one frame each).
    expected: list[Frame] = []
    error, beats = "", 0
    for wire in wires:
        decoder = FrameDecoder(version, limits=LIMITS)
        try:
            expected += decoder.feed(wire)
        except ProtocolError as exc:
            error = exc.reason
            break
        beats += decoder.heartbeats_received
    assert got_error == error
    assert len(got_frames) == len(expected)
    assert all(same(a, b) for a, b in zip(got_frames, expected, strict=True))
    if not error:
        assert got_beats == beats


def test_a_body_on_a_frame_that_cannot_have_one_is_refused_on_the_shape_path() -> None:
    """STOMP 1.2 "Body": only SEND, MESSAGE and ERROR frames MAY have a body, whatever
    content-length a RECEIPT of a known shape declares."""
    routine = b"RECEIPT\nreceipt-id:r\ncontent-length:0\n\n\0"
    odd = b"RECEIPT\nreceipt-id:r\ncontent-length:3\n\nabc\0"
    decoder = FrameDecoder("1.2")
    assert len(decoder.feed(routine * 3)) == 3
    with pytest.raises(ProtocolError, match="RECEIPT frames cannot have a body") as caught:
        decoder.feed(odd)
    assert caught.value.offset == 3 * len(routine)


def test_many_shapes_of_one_command_are_each_read_by_their_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broker's heads differ in which optional headers they carry, and in their order: every
    such shape is learnt (not one per first byte), so after two sightings of each, no head is
    parsed again, escaped values included."""
    parsed: list[bytes] = []
    real = parse_head

    def counting(head: bytes | bytearray, version: Version, most: int) -> object:
        parsed.append(bytes(head))
        return real(head, version, most)

    monkeypatch.setattr(_reader, "parse_head", counting)
    extras = [("redelivered", "true"), ("x-a", "a\\nb"), ("x-b", "c\\cd"), ("x-c", "e\\\\f")]
    shapes = [list(order) for size in (0, 1, 2) for order in itertools.permutations(extras, size)]
    wires = []
    for number, extra in enumerate(shapes * 4):
        lines = [f"destination:/queue/a\nmessage-id:m-{number}\nsubscription:s"]
        lines += [f"{name}:{value}" for name, value in extra]
        wires.append(("MESSAGE\n" + "\n".join([*lines, "content-length:2"]) + "\n\n").encode())
    stream = b"".join(wire + b"hi\0" for wire in wires)
    frames = FrameDecoder("1.2").feed(stream)
    assert len(parsed) == 2 * len(shapes)
    assert len(frames) == len(wires)
    assert all(same(f, alone(w + b"hi\0", "1.2")) for f, w in zip(frames, wires, strict=True))


def test_a_stream_of_ever_new_heads_stops_looking_their_shapes_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When few heads have a known shape, the reader stops computing their keys for a while
    (a key costs about a fifth of a parse), then looks again."""
    keyed: list[int] = []
    real = _reader._NAMES_OF

    def counting(blank: bytes, head: bytes | bytearray) -> bytes:
        keyed.append(1)
        return real(blank, head)

    monkeypatch.setattr(_reader, "_NAMES_OF", counting)
    count = _reader._WINDOW_HEADS + _reader._PAUSE + 100
    stream = b"".join(
        f"MESSAGE\ndestination:/q\nmessage-id:{n}\nsubscription:s\nx-{n}:v\n\n\0".encode()
        for n in range(count)
    )
    frames = FrameDecoder("1.2").feed(stream)
    assert len(frames) == count
    assert len(keyed) == _reader._WINDOW_HEADS + 100


def test_a_run_of_one_shape_is_read_without_keys_until_another_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A subscription's messages repeat one shape: after a few in a row, heads are tried with
    it first and no key is computed; a head of another shape in between still decodes as it
    does alone, and so does the run after it."""
    keyed: list[int] = []
    real = _reader._NAMES_OF

    def counting(blank: bytes, head: bytes | bytearray) -> bytes:
        keyed.append(1)
        return real(blank, head)

    monkeypatch.setattr(_reader, "_NAMES_OF", counting)
    wire = frame_bytes(("/queue/a", "m-1", "s", "x\\\\cy", "a-1"), b"body", True)
    odd = (
        b"MESSAGE\ndestination:/queue/a\nmessage-id:m-2\nsubscription:s\ncontent-length:3\n\nodd\0"
    )
    decoder = FrameDecoder("1.2")
    frames = decoder.feed(wire * 100)
    assert len(keyed) <= _reader._RUN + 2  # learning, then the run
    frames += decoder.feed(odd + wire * 3)
    assert len(frames) == 104
    assert same(frames[100], alone(odd, "1.2"))
    assert all(same(frame, alone(wire, "1.2")) for frame in frames[:100] + frames[101:])
