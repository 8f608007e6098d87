"""Property tests of the codec: round trips, stream decoding under any split, determinism."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from stompmodels import (
    Ack,
    Connect,
    Frame,
    FrameDecoder,
    Nack,
    ProtocolError,
    Send,
    Stomp,
    Subscribe,
    Version,
    parse_frame,
)
from tests.strategies import (
    MODELS,
    VERSIONS,
    frame_of,
    frames,
    model_version_pairs,
    pair_id,
    wire_headers,
)

PAIRS = model_version_pairs()
PAIR_IDS = [pair_id(p) for p in PAIRS]

ROUND_TRIP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STREAM = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_model_is_covered() -> None:
    # 15 models; 13 in 1.0 (no STOMP, no NACK), 15 in 1.1 and 1.2.
    assert len(MODELS) == 15
    assert len(PAIRS) == 13 + 15 + 15


@pytest.mark.slow
@pytest.mark.parametrize(("cls", "version"), PAIRS, ids=PAIR_IDS)
@ROUND_TRIP
@given(data=st.data())
def test_round_trip(cls: type[Any], version: Version, data: st.DataObject) -> None:
    frame = data.draw(frame_of(cls, version))
    assert type(frame) is cls
    wire = frame.to_wire(version)
    assert wire.startswith(frame.command.encode() + b"\n")
    assert wire.endswith(b"\x00")
    parsed = parse_frame(wire, version)
    assert type(parsed) is cls
    assert parsed == frame
    assert cls.from_wire(wire, version) == frame
    assert FrameDecoder(version).feed(wire) == [frame]
    # The wire form is canonical: decoding and encoding again gives the same bytes.
    assert parsed.to_wire(version) == wire
    # Trailing EOLs after the NUL are allowed (and ignored) by parse_frame.
    eols = b"\r\n\n" if version == "1.2" else b"\n\n"
    assert parse_frame(wire + eols, version) == frame
    # The bytes themselves, read with an independent statement of the spec: typed headers first
    # (own fields in declaration order, then the inherited content-type and content-length),
    # then the custom ones in their order; then the body and NUL.
    head, sep, rest = wire.partition(b"\n\n")
    assert sep
    lines = head.decode().split("\n")
    assert lines[0] == frame.command
    pairs = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        assert colon
        pairs.append(
            (_unescape_for_test(name, version, cls), _unescape_for_test(value, version, cls))
        )
    want = list(wire_headers(frame).items())
    if ("ack", "auto") in want and cls is Subscribe and "ack" not in dict(pairs):
        want.remove(("ack", "auto"))  # the default: writing it or leaving it out are both fine
    assert pairs == want
    assert rest == getattr(frame, "body", b"") + b"\x00"


def _unescape_for_test(text: str, version: Version, cls: type[Any]) -> str:
    """The spec's unescaping (1.1/1.2 value encoding), written out independently."""
    if version == "1.0" or cls.__name__ in ("Connect", "Connected"):
        return text
    table = {"\\": "\\", "n": "\n", "c": ":", "r": "\r"}
    out: list[str] = []
    it = iter(text)
    for ch in it:
        if ch == "\\":
            out.append(table[next(it)])
        else:
            out.append(ch)
    return "".join(out)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(), frame_version=st.sampled_from(VERSIONS), wire_version=st.sampled_from(VERSIONS)
)
def test_to_wire_in_any_version_raises_or_round_trips(
    data: st.DataObject, frame_version: Version, wire_version: Version
) -> None:
    """A frame built for one version, written in another: ValueError, or it round-trips.

    This holds the encoder's checks (CR in 1.1, whitespace in 1.0, the ACK form of the version,
    STOMP/NACK absent in 1.0, required 1.1 headers) to what the decoder of that version accepts.
    """
    frame = data.draw(frames(frame_version))
    try:
        wire = frame.to_wire(wire_version)
    except ValueError:
        return
    assert parse_frame(wire, wire_version) == frame


_ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=8) | st.text(
    st.sampled_from("\\:\n\r \t\x00\x85\u2028\u3000ac"), max_size=8
)


# Typed header names (of these and other models) used as custom names: the model must refuse
# the ones that clash, and a custom content-length must not break the framing.
_TYPED_NAMES = ["host", "login", "passcode", "accept-version", "heart-beat", "destination",
                "content-length", "content-type", "receipt", "transaction", ""]  # fmt: skip


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    cls=st.sampled_from([Send, Connect, Stomp]),
    version=st.sampled_from(VERSIONS),
    name=_ANY_TEXT | st.sampled_from(_TYPED_NAMES),
    value=_ANY_TEXT,
    login=_ANY_TEXT,
)
def test_unrestricted_text_raises_or_round_trips(
    cls: type[Any], version: Version, name: str, value: str, login: str
) -> None:
    """Any header text at all: the model or to_wire rejects it (ValueError) or it round-trips."""
    try:
        if cls is Send:
            frame = Send(destination=login, headers={name: value})
        else:
            frame = cls(accept_version=("1.2",), host="h", login=login, headers={name: value})
        wire = frame.to_wire(version)
    except ValueError:
        return
    assert parse_frame(wire, version) == frame


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@ROUND_TRIP
@given(data=st.data())
def test_crlf_heads_decode_the_same_in_1_2(version: Version, data: st.DataObject) -> None:
    """1.2 accepts CRLF line ends; 1.0/1.1 do not treat CR as part of the line end."""
    frame = data.draw(frames(version))
    wire = frame.to_wire(version)
    head, _, rest = wire.partition(b"\n\n")
    crlf = head.replace(b"\n", b"\r\n") + b"\r\n\r\n" + rest
    if version == "1.2":
        assert parse_frame(crlf, "1.2") == frame
    elif version == "1.1":
        # 1.1 lines end at LF only: the command line reads "SEND\r", which is no command.
        with pytest.raises(ProtocolError):
            parse_frame(crlf, "1.1")


def _head_lines(wire: bytes) -> tuple[list[bytes], bytes]:
    head, sep, rest = wire.partition(b"\n\n")
    assert sep
    return head.split(b"\n"), rest


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_repeated_headers_first_wins(version: Version, data: st.DataObject) -> None:
    """Repeats of any header, after the originals, change nothing (STOMP 1.2 "Repeated Header
    Entries"; the brief applies it to every version), content-length included."""
    frame = data.draw(frames(version))
    lines, rest = _head_lines(frame.to_wire(version))
    other = st.sampled_from([b"x", b"", b"1,2", b"9"])
    repeats = [line.partition(b":")[0] + b":" + data.draw(other) for line in lines[1:]]
    order = data.draw(st.permutations(repeats))
    wire = b"\n".join([*lines, *order]) + b"\n\n" + rest
    assert parse_frame(wire, version) == frame


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_10_strips_whitespace_around_names_and_values(data: st.DataObject) -> None:
    frame = data.draw(frames("1.0"))
    lines, rest = _head_lines(frame.to_wire("1.0"))
    pad = st.sampled_from([b"", b" ", b"\t", b"  \t"])
    padded = [lines[0]]
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        parts = [data.draw(pad), name, data.draw(pad), b":", data.draw(pad), value, data.draw(pad)]
        padded.append(b"".join(parts))
    assert parse_frame(b"\n".join(padded) + b"\n\n" + rest, "1.0") == frame


def _stream(data: st.DataObject, version: Version) -> tuple[list[Frame], bytes, int]:
    """Frames with heart-beat EOLs before, between and after them; also the EOL count."""
    items = data.draw(st.lists(frames(version), min_size=1, max_size=5))
    eol = st.sampled_from([b"\n", b"\r\n"] if version == "1.2" else [b"\n"])
    chunks: list[bytes] = []
    n_eols = 0

    def eols() -> None:
        nonlocal n_eols
        got = data.draw(st.lists(eol, max_size=3))
        n_eols += len(got)
        chunks.extend(got)

    eols()
    for frame in items:
        chunks.append(frame.to_wire(version))
        eols()
    return items, b"".join(chunks), n_eols


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces: list[bytes] = []
    last = 0
    for p in [*points, len(data)]:
        pieces.append(data[last:p])
        last = p
    return pieces


def _feed_all(version: Version, pieces: list[bytes]) -> tuple[list[Frame], FrameDecoder]:
    decoder = FrameDecoder(version)
    out: list[Frame] = []
    for piece in pieces:
        out.extend(decoder.feed(piece))
    return out, decoder


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@STREAM
@given(data=st.data())
def test_stream_any_split_gives_the_frames(version: Version, data: st.DataObject) -> None:
    items, stream, n_eols = _stream(data, version)
    cuts = data.draw(st.lists(st.integers(0, 10**6), max_size=12))
    pieces = _split(stream, cuts)
    assert b"".join(pieces) == stream
    got, decoder = _feed_all(version, pieces)
    assert got == items
    assert decoder.bytes_received == len(stream)
    # Every EOL outside a frame is read as one heart-beat (including those right after a NUL).
    assert decoder.heartbeats_received == n_eols
    # The same stream at once, and byte by byte, gives the same frames.
    assert _feed_all(version, [stream])[0] == items
    assert _feed_all(version, [stream[i : i + 1] for i in range(len(stream))])[0] == items


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(data=st.data(), version=st.sampled_from(VERSIONS))
def test_version_is_assignable_between_frames(data: st.DataObject, version: Version) -> None:
    """A decoder that starts in 1.0 (before CONNECTED) and switches keeps decoding."""
    first = data.draw(frames("1.0"))
    second = data.draw(frames(version))
    decoder = FrameDecoder("1.0")
    assert decoder.feed(first.to_wire("1.0")) == [first]
    decoder.version = version
    assert decoder.feed(second.to_wire(version)) == [second]


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_to_wire_is_deterministic(version: Version, data: st.DataObject) -> None:
    frame = data.draw(frames(version))
    wire = frame.to_wire(version)
    assert frame.to_wire(version) == wire
    assert frame.model_copy().to_wire(version) == wire
    rebuilt = type(frame).model_validate(frame.model_dump())
    assert rebuilt == frame
    assert rebuilt.to_wire(version) == wire


_SECRET = st.text(st.sampled_from("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"), min_size=12, max_size=16)


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=100, deadline=None)
@given(data=st.data(), secret=_SECRET, as_secret=st.booleans())
def test_passcode_never_in_repr(
    version: Version, data: st.DataObject, secret: str, as_secret: bool
) -> None:
    classes: list[type[Connect] | type[Stomp]] = [Connect] if version == "1.0" else [Connect, Stomp]
    cls = data.draw(st.sampled_from(classes))
    base = data.draw(frame_of(cls, version))
    assert isinstance(base, Connect | Stomp)
    passcode: str | SecretStr = SecretStr(secret) if as_secret else secret
    frame = cls(
        accept_version=base.accept_version,
        host=base.host,
        login=base.login,
        passcode=passcode,
        heart_beat=base.heart_beat,
        headers=base.headers,
    )
    assert frame.passcode is not None
    assert frame.passcode.get_secret_value() == secret
    for shown in (repr(frame), str(frame), f"{frame!r}", repr(frame.passcode)):
        assert secret not in shown
    # ... yet it is on the wire, in clear, and read back.
    wire = frame.to_wire(version)
    assert f"\npasscode:{secret}\n".encode() in wire
    parsed = parse_frame(wire, version)
    assert parsed == frame
    assert secret not in repr(parsed)
    assert secret not in str(parsed)


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_ack_nack_form_of_version(version: Version) -> None:
    """to_wire checks the ACK/NACK form of the version in use."""
    other: dict[str, str] = (
        {"message_id": "m", "subscription": "s"} if version == "1.2" else {"id": "i"}
    )
    for cls in (Ack, Nack):
        with pytest.raises(ValueError):
            cls(**other).to_wire(version)
    with pytest.raises(ValueError):
        Nack(message_id="m").to_wire("1.0")
    with pytest.raises(ValueError):
        Stomp(accept_version=("1.2",), host="h").to_wire("1.0")
