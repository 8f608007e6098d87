"""Fuzzing the decoder: hostile bytes in any chunking give frames or ProtocolError, never more.

Every input is fed in chunks to FrameDecoder; the properties checked each time (`_run`):

- nothing but ProtocolError is raised, and everything returned (or on `.frames`) is a frame;
- a ProtocolError's offset is None or inside the bytes fed so far;
- after a ProtocolError every further feed raises ProtocolError;
- the frames and the failure do not depend on how the input is chunked;
- every decoded frame can be written back in that version (or to_wire raises ValueError).

Bounds are checked through public behaviour only: feed chunks, and see it raise in time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stompmodels import (
    Begin,
    Frame,
    FrameDecoder,
    Limits,
    ProtocolError,
    Send,
    Version,
    parse_frame,
)
from tests.strategies import MODELS, VERSIONS, frames

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEFAULT = Limits()


@dataclass
class Outcome:
    frames: list[Frame]
    error: ProtocolError | None
    fed: int  # bytes fed up to and including the call that raised


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces: list[bytes] = []
    last = 0
    for p in [*points, len(data)]:
        pieces.append(data[last:p])
        last = p
    return pieces


def _assert_frames(items: list[Frame]) -> None:
    for item in items:
        assert isinstance(item, MODELS), type(item)


def _feed(decoder: FrameDecoder, pieces: list[bytes]) -> Outcome:
    got: list[Frame] = []
    fed = 0
    for piece in pieces:
        fed += len(piece)
        try:
            out = decoder.feed(piece)
        except ProtocolError as exc:
            _assert_frames(exc.frames)
            got.extend(exc.frames)
            assert exc.offset is None or 0 <= exc.offset <= fed, (exc.offset, fed)
            return Outcome(got, exc, fed)
        _assert_frames(out)
        got.extend(out)
    return Outcome(got, None, fed)


def _assert_broken(decoder: FrameDecoder, version: Version) -> None:
    """After a ProtocolError every feed raises ProtocolError, even of valid bytes or nothing."""
    valid = Send(destination="/q", body=b"x").to_wire(version)
    for more in (b"", b"\n", valid, b"\x00"):
        with pytest.raises(ProtocolError):
            decoder.feed(more)


def _run(version: Version, data: bytes, cuts: list[int], limits: Limits | None = None) -> Outcome:
    """Feed `data` split at `cuts` and check every property in the module docstring."""
    decoder = FrameDecoder(version, limits=limits)
    outcome = _feed(decoder, _chunks(data, cuts))
    if outcome.error is not None:
        _assert_broken(decoder, version)
    # Chunking does not change what is decoded, nor whether the stream breaks.
    whole = _feed(FrameDecoder(version, limits=limits), [data])
    assert whole.frames == outcome.frames
    assert (whole.error is None) == (outcome.error is None)
    # Whatever the decoder accepted, the encoder writes (or refuses with ValueError).
    for frame in outcome.frames:
        try:
            wire = frame.to_wire(version)
        except ValueError:
            continue
        assert parse_frame(wire, version) == frame
    return outcome


# --- inputs -----------------------------------------------------------------------------------

_TOKENS = [
    b"SEND", b"MESSAGE", b"CONNECT", b"CONNECTED", b"ERROR", b"ACK", b"NACK", b"STOMP",
    b"RECEIPT", b"SUBSCRIBE", b"UNSUBSCRIBE", b"BEGIN", b"DISCONNECT", b"send",
    b"\n", b"\n", b"\r\n", b"\r", b":", b"\x00", b"\\", b"\\c", b"\\n", b"\\r", b"\\t", b"\\\\",
    b"content-length:", b"destination:", b"id:", b"message-id:", b"subscription:",
    b"receipt-id:", b"version:", b"accept-version:", b"host:", b"heart-beat:", b"transaction:",
    b"0", b"1", b"5", b"-1", b"1,2", b"1.2", b" ", b"\t", b"\xff", b"\xc3", b"\xc3\xa9", b"x",
    b"\n\n", b"\xef\xbb\xbf", b"\xe2\x80\xa8",
]  # fmt: skip

token_soup = st.lists(st.sampled_from(_TOKENS), max_size=40).map(b"".join)
_bits = st.lists(st.sampled_from(_TOKENS), max_size=4).map(b"".join)
_names = st.sampled_from(
    [b"destination", b"id", b"message-id", b"subscription", b"receipt-id", b"receipt",
     b"version", b"accept-version", b"host", b"heart-beat", b"content-length", b"ack",
     b"transaction", b"passcode", b"x"]
) | _bits  # fmt: skip
_values = st.sampled_from([b"", b"/q", b"1", b"1.2", b"1.0,1.1", b"0,0", b"5", b"auto"]) | _bits
_header_lines = st.lists(
    st.tuples(_names, st.sampled_from([b":", b":", b"", b"::"]), _values), max_size=5
)


@st.composite
def frame_like(draw: st.DrawFn) -> bytes:
    """Streams shaped like frames (command, header lines, blank line, body, NUL), each part
    made of tokens, so the fuzzing gets past the command and into headers and bodies."""
    out = b""
    for _ in range(draw(st.integers(1, 3))):
        out += draw(st.sampled_from(_TOKENS[:13]) | _bits)
        out += draw(st.sampled_from([b"\n", b"\r\n"]))
        for name, colon, value in draw(_header_lines):
            out += name + colon + value + b"\n"
        out += b"\n" + draw(_bits) + draw(st.sampled_from([b"\x00", b"\x00\n", b""]))
    return out


cuts = st.lists(st.integers(0, 10**6), max_size=10)


@st.composite
def valid_stream(draw: st.DrawFn, version: Version) -> bytes:
    items = draw(st.lists(frames(version), min_size=1, max_size=3))
    eols = [b"\n", b"\r\n"] if version == "1.2" else [b"\n"]
    out = b"".join(draw(st.lists(st.sampled_from(eols), max_size=2)))
    for item in items:
        out += item.to_wire(version) + b"".join(draw(st.lists(st.sampled_from(eols), max_size=2)))
    return out


@st.composite
def mutated(draw: st.DrawFn, version: Version) -> bytes:
    """A valid stream after bit flips, insertions, deletions, truncations and splices."""
    data = bytearray(draw(valid_stream(version)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice", "repeat"]))
        pos = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            pos = min(pos, len(data) - 1)
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from(_TOKENS) | st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[pos:]
        elif op == "splice":
            other = draw(valid_stream(version))
            data[pos:] = other[draw(st.integers(0, len(other))) :]
        elif op == "repeat":
            end = draw(st.integers(pos, len(data)))
            data[pos:pos] = data[pos:end]
    return bytes(data)


# --- hypothesis fuzzing -------------------------------------------------------------------------


@pytest.mark.slow
@FUZZ
@given(
    version=st.sampled_from(VERSIONS),
    data=st.binary(max_size=200) | token_soup | frame_like(),
    cuts=cuts,
)
@example(version="1.2", data=b"SEND\ndestination:\xff\n\n\x00", cuts=[3])
@example(version="1.1", data=b"SEND\ndestination:a\\tb\n\n\x00", cuts=[])
@example(version="1.2", data=b"SEND\ncontent-length:5\n\nabc\x00\x00\x00", cuts=[20])
@example(version="1.0", data=b"\r\nSEND\n\n\x00", cuts=[1])
def test_random_bytes(version: Version, data: bytes, cuts: list[int]) -> None:
    _run(version, data, cuts)


@pytest.mark.slow
@FUZZ
@given(data=st.data(), version=st.sampled_from(VERSIONS), cuts=cuts)
def test_mutated_valid_frames(data: st.DataObject, version: Version, cuts: list[int]) -> None:
    _run(version, data.draw(mutated(version)), cuts)


@pytest.mark.slow
@FUZZ
@given(data=st.data(), version=st.sampled_from(VERSIONS), cuts=cuts)
def test_mutated_frames_in_another_version(
    data: st.DataObject, version: Version, cuts: list[int]
) -> None:
    """Frames of one version (mutated or not) fed to a decoder of another."""
    other: Version = data.draw(st.sampled_from(VERSIONS))
    stream = data.draw(valid_stream(other) | mutated(other))
    _run(version, stream, cuts)


# --- hand-picked seeds, with the outcome the brief requires --------------------------------------

_ALL: tuple[Version, ...] = VERSIONS
_11_12: tuple[Version, ...] = ("1.1", "1.2")
_CL = b"SEND\ndestination:/q\ncontent-length:"
_HB = b"CONNECTED\nversion:1.2\nheart-beat:"

# (id, bytes, versions in which they must raise ProtocolError)
SEEDS: list[tuple[str, bytes, tuple[Version, ...]]] = [
    ("invalid-utf8-value", b"SEND\ndestination:\xff\xfe\n\n\x00", _ALL),
    ("invalid-utf8-name", b"SEND\ndestination:/q\n\xc3(:v\n\n\x00", _ALL),
    ("invalid-utf8-command", b"SE\xc3ND\ndestination:/q\n\n\x00", _ALL),
    ("overlong-utf8", b"SEND\ndestination:\xc0\xaf\n\n\x00", _ALL),
    ("undefined-escape-t", b"SEND\ndestination:a\\tb\n\n\x00", _11_12),
    ("undefined-escape-in-name", b"SEND\ndestination:/q\na\\x:b\n\n\x00", _11_12),
    ("trailing-backslash", b"SEND\ndestination:a\\\n\n\x00", _11_12),
    ("cr-escape-in-1.1", b"SEND\ndestination:a\\rb\n\n\x00", ("1.1",)),
    ("content-length-negative", _CL + b"-1\n\n\x00", _ALL),
    ("content-length-plus", _CL + b"+1\n\nx\x00", _ALL),
    ("content-length-huge", _CL + str(10**18).encode() + b"\n\nabc\x00", _ALL),
    ("content-length-5000-digits", _CL + b"9" * 5000 + b"\n\nabc\x00", _ALL),
    ("content-length-non-numeric", _CL + b"abc\n\nabc\x00", _ALL),
    ("content-length-hex", _CL + b"0x3\n\nabc\x00", _ALL),
    ("content-length-float", _CL + b"3.0\n\nabc\x00", _ALL),
    ("content-length-empty", _CL + b"\n\nabc\x00", _ALL),
    ("content-length-unicode-digit", _CL + "٣".encode() + b"\n\nabc\x00", _ALL),
    ("content-length-fullwidth", _CL + "\uff13".encode() + b"\n\nabc\x00", _ALL),
    ("content-length-too-short", _CL + b"2\n\nabc\x00", _ALL),
    ("content-length-no-nul", _CL + b"3\n\nabcX\n", _ALL),
    ("missing-nul-next-frame", b"SEND\ndestination:/q\ncontent-length:1\n\naSEND\n\n\x00", _ALL),
    ("header-without-colon", b"SEND\ndestination\n\n\x00", _ALL),
    ("empty-header-name", b"SEND\ndestination:/q\n:v\n\n\x00", _ALL),
    ("unknown-command", b"FOO\n\n\x00", _ALL),
    ("lowercase-command", b"send\ndestination:/q\n\n\x00", _ALL),
    ("lone-nul", b"\n\x00", _ALL),  # a heart-beat, then a NUL: no frame has no command
    ("stomp-in-1.0", b"STOMP\naccept-version:1.2\nhost:h\n\n\x00", ("1.0",)),
    ("nack-in-1.0", b"NACK\nmessage-id:m\n\n\x00", ("1.0",)),
    ("ack-1.2-form-in-1.1", b"ACK\nid:1\n\n\x00", ("1.1",)),
    ("ack-1.1-form-in-1.2", b"ACK\nmessage-id:m\nsubscription:s\n\n\x00", ("1.2",)),
    ("connect-without-host", b"CONNECT\naccept-version:1.2\n\n\x00", _11_12),
    ("message-without-id", b"MESSAGE\ndestination:/q\nsubscription:s\n\n\x00", _ALL),
    ("subscribe-without-destination", b"SUBSCRIBE\nid:1\n\n\x00", _ALL),
    # STOMP 1.0 lets any frame have a body (tests/test_edges.py); 1.1 and 1.2 do not.
    ("body-on-subscribe", b"SUBSCRIBE\ndestination:/q\nid:1\n\nbody\x00", _11_12),
    ("body-on-receipt-by-length", b"RECEIPT\nreceipt-id:r\ncontent-length:1\n\nx\x00", _11_12),
    ("bad-heart-beat", b"CONNECTED\nversion:1.2\nheart-beat:1,x\n\n\x00", _ALL),
    ("bad-heart-beat-count", b"CONNECTED\nversion:1.2\nheart-beat:1,2,3\n\n\x00", _ALL),
    ("heart-beat-5000-digits", _HB + b"9" * 5000 + b",0\n\n\x00", _ALL),
    ("bad-ack-mode", b"SUBSCRIBE\ndestination:/q\nid:1\nack:sometimes\n\n\x00", _ALL),
    ("nul-in-head", b"SEND\ndestination:/\x00q\n\n\x00", _ALL),
    # Only 1.1 has LF-only line ends; 1.0 (like 1.2) reads CRLF.
    ("crlf-head-in-1.1", b"SEND\r\ndestination:/q\r\n\r\n\x00", ("1.1",)),
    ("cr-heart-beat-in-1.1", b"\r\nSEND\ndestination:/q\n\n\x00", ("1.1",)),
]


@pytest.mark.parametrize("chunk", [1, 3, 1 << 30])
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("name", "data", "fails_in"), SEEDS, ids=[s[0] for s in SEEDS])
def test_seed(
    name: str, data: bytes, fails_in: tuple[Version, ...], version: Version, chunk: int
) -> None:
    outcome = _run(version, data, list(range(chunk, len(data), chunk)))
    if version in fails_in:
        assert outcome.error is not None, f"{name} must be a ProtocolError in {version}"
        assert outcome.frames == []
        with pytest.raises(ProtocolError):
            parse_frame(data, version)


def test_error_keeps_earlier_frames_and_absolute_offset() -> None:
    good = Send(destination="/q", body=b"hi").to_wire()
    decoder = FrameDecoder("1.2")
    assert decoder.feed(good) == [Send(destination="/q", body=b"hi")]
    with pytest.raises(ProtocolError) as info:
        decoder.feed(good + b"\n" + b"FOO\n\n\x00")
    assert info.value.frames == [Send(destination="/q", body=b"hi")]
    # The offset counts from the start of the stream, across feeds: past both good frames.
    assert info.value.offset is None or 2 * len(good) + 1 <= info.value.offset <= 3 * len(good)
    _assert_broken(decoder, "1.2")


# --- limits ------------------------------------------------------------------------------------


def _endless(prefix: bytes, unit: bytes, chunk: int) -> Iterator[bytes]:
    yield prefix
    block = (unit * (chunk // len(unit) + 1))[:chunk]
    while True:
        yield block


def _fed_until_error(decoder: FrameDecoder, pieces: Iterator[bytes], give_up: int) -> int:
    """Feed until ProtocolError; return the bytes fed by then (fails if `give_up` is passed)."""
    fed = 0
    for piece in pieces:
        fed += len(piece)
        try:
            decoder.feed(piece)
        except ProtocolError:
            return fed
        assert fed <= give_up, f"no ProtocolError after {fed} bytes"
    raise AssertionError("unreachable")


class Endless(NamedTuple):
    """A stream that never completes a frame: `prefix`, then `unit` forever."""

    name: str
    prefix: bytes
    unit: bytes
    bound: str  # the Limits field that must stop it ("" = content-length, at once)
    uncounted: int = 0  # bytes of the prefix that bound does not count (before the line)


ENDLESS = [
    Endless("command-line", b"", b"A", "max_header_line"),
    Endless("header-line", b"SEND\ndestination:", b"x", "max_header_line", len(b"SEND\n")),
    Endless("many-headers", b"SEND\n", b"h:v\n", "max_head_size"),
    Endless("many-escapes", b"SEND\n", b"\\c", "max_header_line", len(b"SEND\n")),
    Endless("body-without-nul", b"SEND\ndestination:/q\n\n", b"b", "max_frame_size"),
    Endless("body-of-nuls", b"SEND\ndestination:/q\ncontent-length:999999999\n\n", b"\x00", ""),
]


@pytest.mark.parametrize("chunk", [1, 7, 100, 4096])
@pytest.mark.parametrize(
    "limits",
    [Limits(80, 60, 30, 5), Limits(1000, 100, 40, 3), Limits(50, 50, 50, 50)],
    ids=["80-60-30-5", "1000-100-40-3", "50-50-50-50"],
)
@pytest.mark.parametrize("case", ENDLESS, ids=[e.name for e in ENDLESS])
def test_small_limits_bound_the_buffer(case: Endless, limits: Limits, chunk: int) -> None:
    """The decoder raises before it holds more than the limit plus one chunk."""
    for version in VERSIONS:
        decoder = FrameDecoder(version, limits=limits)
        pieces = _endless(case.prefix, case.unit, chunk)
        if not case.bound:
            # A content-length beyond max_frame_size fails with the head, before any body.
            assert _fed_until_error(decoder, pieces, len(case.prefix)) == len(case.prefix)
            continue
        limit: int = getattr(limits, case.bound) + case.uncounted
        fed = _fed_until_error(decoder, pieces, limit + chunk + len(case.prefix))
        assert fed <= max(limit, len(case.prefix)) + chunk, (version, fed, limit)


@pytest.mark.parametrize("version", VERSIONS)
def test_huge_header_line_fails_fast_with_default_limits(version: Version) -> None:
    chunk = 4096
    for prefix in (b"", b"SEND\ndestination:"):
        decoder = FrameDecoder(version)
        bound = len(prefix) + DEFAULT.max_header_line + chunk
        fed = _fed_until_error(decoder, _endless(prefix, b"x", chunk), bound)
        assert fed <= bound


@pytest.mark.parametrize("version", VERSIONS)
def test_oversize_heads_with_default_limits(version: Version) -> None:
    chunk = 65536
    decoder = FrameDecoder(version)
    bound = DEFAULT.max_head_size + chunk
    fed = _fed_until_error(decoder, _endless(b"SEND\n", b"header:value\n", chunk), bound)
    assert fed <= bound + len(b"SEND\n")
    # One header too many fails as soon as the head is complete; the limit itself is fine.
    for count, fails in ((DEFAULT.max_headers, False), (DEFAULT.max_headers + 1, True)):
        head = b"SEND\ndestination:/q\n" + b"".join(b"h%d:v\n" % i for i in range(count - 1))
        decoder = FrameDecoder(version)
        if fails:
            with pytest.raises(ProtocolError):
                decoder.feed(head + b"\n")
        else:
            assert len(decoder.feed(head + b"\n\x00")) == 1


@pytest.mark.parametrize("length", [10**15, 10**18, DEFAULT.max_frame_size + 1])
@pytest.mark.parametrize("version", VERSIONS)
def test_petabyte_content_length_fails_once_the_head_is_in(version: Version, length: int) -> None:
    head = b"SEND\ndestination:/q\ncontent-length:%d\n\n" % length
    decoder = FrameDecoder(version)
    with pytest.raises(ProtocolError):
        decoder.feed(head)
    # Byte by byte too: the error comes with the last byte of the head, not later.
    decoder = FrameDecoder(version)
    for i in range(len(head) - 1):
        assert decoder.feed(head[i : i + 1]) == []
    with pytest.raises(ProtocolError):
        decoder.feed(head[-1:])


@pytest.mark.parametrize("version", VERSIONS)
def test_max_frame_size_argument(version: Version) -> None:
    frame = Send(destination="/q", body=b"x" * 100)
    wire = frame.to_wire(version)
    assert FrameDecoder(version, max_frame_size=len(wire)).feed(wire) == [frame]
    with pytest.raises(ProtocolError):
        FrameDecoder(version, max_frame_size=len(wire) - 2).feed(wire)


@pytest.mark.parametrize("version", VERSIONS)
def test_heart_beats_are_not_buffered(version: Version) -> None:
    """A long run of heart-beats never counts against the limits."""
    decoder = FrameDecoder(version, limits=Limits(40, 30, 20, 1))
    eol = b"\r\n" if version == "1.2" else b"\n"
    for _ in range(200):
        assert decoder.feed(eol * 50) == []
    assert decoder.heartbeats_received == 200 * 50
    frame = Send(destination="/q")
    assert decoder.feed(frame.to_wire(version)) == [frame]


@st.composite
def _limits(draw: st.DrawFn) -> Limits:
    return Limits(
        max_frame_size=draw(st.integers(20, 400)),
        max_head_size=draw(st.integers(10, 300)),
        max_header_line=draw(st.integers(5, 120)),
        max_headers=draw(st.integers(1, 8)),
    )


def _within(wire: bytes, limits: Limits) -> bool | None:
    """True: within every limit under any reading; False: beyond one; None: in between."""
    head = wire.partition(b"\n\n")[0]
    lines = head.split(b"\n")
    n_headers = len(lines) - 1
    if (
        len(wire) - 1 > limits.max_frame_size
        or len(head) > limits.max_head_size
        or max(len(line) for line in lines) > limits.max_header_line
        or n_headers > limits.max_headers
    ):
        return False
    if (
        len(wire) <= limits.max_frame_size
        and len(head) + 2 <= limits.max_head_size
        and max(len(line) for line in lines) + 1 <= limits.max_header_line
    ):
        return True
    return None


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), version=st.sampled_from(VERSIONS), limits=_limits(), cuts=cuts)
def test_limits_accept_what_fits_and_refuse_what_does_not(
    data: st.DataObject, version: Version, limits: Limits, cuts: list[int]
) -> None:
    """Frames within the limits decode one after another; a frame beyond one is refused."""
    items = data.draw(st.lists(frames(version), min_size=1, max_size=4))
    stream = b"".join(item.to_wire(version) for item in items)
    verdicts = [_within(item.to_wire(version), limits) for item in items]
    outcome = _run(version, stream, cuts, limits)
    first_bad = next((i for i, v in enumerate(verdicts) if v is not True), len(items))
    assert outcome.frames[:first_bad] == items[:first_bad]
    if first_bad == len(items):
        assert outcome.error is None
        assert outcome.frames == items
    elif verdicts[first_bad] is False:
        assert outcome.error is not None
        assert outcome.frames == items[:first_bad]


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    version=st.sampled_from(VERSIONS),
    deltas=st.tuples(*[st.sampled_from([-1, 0, 0, 1])] * 4),
    crlf=st.booleans(),
)
def test_limits_at_the_edge_do_not_depend_on_chunking(
    data: st.DataObject, version: Version, deltas: tuple[int, int, int, int], crlf: bool
) -> None:
    """Limits set to exactly what a frame measures (give or take a byte): feeding it whole,
    byte by byte, or split in two anywhere gives the same outcome."""
    frame = data.draw(frames(version))
    wire = frame.to_wire(version)
    head, _, rest = wire.partition(b"\n\n")
    if crlf and version == "1.2":
        head = head.replace(b"\n", b"\r\n")
        wire = head + b"\r\n\r\n" + rest
    lines = head.split(b"\n")
    sizes = (len(wire), len(head), max(len(line) for line in lines), len(lines) - 1)
    limits = Limits(*(max(1, size + delta) for size, delta in zip(sizes, deltas, strict=True)))
    whole = _run(version, wire, [], limits)
    for pieces in (
        [wire[i : i + 1] for i in range(len(wire))],
        *([wire[:i], wire[i:]] for i in range(1, len(wire))),
    ):
        split = _feed(FrameDecoder(version, limits=limits), pieces)
        assert split.frames == whole.frames, [len(p) for p in pieces]
        assert (split.error is None) == (whole.error is None), [len(p) for p in pieces]


@pytest.mark.parametrize("version", VERSIONS)
def test_head_of_exactly_max_head_size_split_inside_the_blank_line(version: Version) -> None:
    """A head that fits max_head_size exactly is accepted whole, so it must be accepted when
    the chunk ends between the two LFs that close it (the 1.2 "\\n\\r" case too)."""
    frame = Begin(transaction="x")
    wire = frame.to_wire(version)
    head = wire.index(b"\n\n")
    limits = Limits(max_frame_size=100, max_head_size=head, max_header_line=100, max_headers=10)
    assert FrameDecoder(version, limits=limits).feed(wire) == [frame]
    decoder = FrameDecoder(version, limits=limits)
    assert decoder.feed(wire[: head + 1]) == []
    assert decoder.feed(wire[head + 1 :]) == [frame]
    if version == "1.2":
        crlf = wire[:head] + b"\n\r\n" + wire[head + 2 :]
        decoder = FrameDecoder(version, limits=limits)
        assert decoder.feed(crlf[: head + 2]) == []
        assert decoder.feed(crlf[head + 2 :]) == [frame]
