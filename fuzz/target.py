"""The fuzz target: one input is a decoder or an engine run, checked against the invariants.

An input is three control bytes and a stream (see `Case.parse`):

- byte 0: the STOMP version (``% 3``) and whether to run the decoder or an Engine;
- byte 1: the Limits (``% len(LIMITS)``); for an Engine also the versions its CONNECT offers,
  the ack mode of the subscription it makes once connected, and whether it then disconnects;
- byte 2: how the stream is cut into chunks: 0 whole, 1 byte by byte, else cuts drawn from a
  generator seeded with the byte;
- the rest: the bytes of the peer.

`check` raises (AssertionError or whatever the library raised) when an invariant breaks, and
returns normally otherwise, so anything escaping it is a finding.
"""

from __future__ import annotations

import itertools
import os
import random
from dataclasses import dataclass
from typing import Final

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
    Frame,
    FrameDecoder,
    Limits,
    Message,
    Nack,
    ProtocolError,
    Receipt,
    Send,
    State,
    Stomp,
    Subscribe,
    Unsubscribe,
    Version,
    parse_frame,
)

MODELS: Final = (Connect, Stomp, Send, Subscribe, Unsubscribe, Ack, Nack, Begin, Commit, Abort,
                 Disconnect, Connected, Message, Receipt, Error)  # fmt: skip
SERVER_MODELS: Final = (Connected, Message, Receipt, Error)
DEFAULT: Final = Limits()
LIMITS: Final = (
    DEFAULT,
    Limits(max_frame_size=256, max_head_size=128, max_header_line=48, max_headers=6),
    Limits(max_frame_size=64, max_head_size=64, max_header_line=24, max_headers=2),
    Limits(max_frame_size=1024, max_head_size=16, max_header_line=16, max_headers=1000),
)
ACK_MODES: Final[tuple[AckMode, ...]] = ("client-individual", "client", "auto")
MAX_CUTS: Final = 8
PLANTED_BUG_ENV: Final = "STOMPMODELS_FUZZ_PLANTED_BUG"
"""Set to 1 to plant a bug: any decoded SEND raises PlantedBug (proves crashes get reported)."""


class PlantedBug(RuntimeError):
    """The deliberate failure of a target run with the planted bug switched on."""


@dataclass(frozen=True, slots=True)
class Case:
    """One fuzz input, decoded."""

    version: Version
    engine: bool
    limits: Limits
    offered: tuple[Version, ...]
    ack: AckMode
    disconnect: bool
    chunks: list[bytes]

    @classmethod
    def parse(cls, data: bytes) -> Case:
        """The case an input stands for (any input is one; short ones are padded with 0)."""
        head = data[:3].ljust(3, b"\0")
        stream = data[3:]
        mask = (head[1] >> 2) & 0b111
        offered = tuple(v for i, v in enumerate(VERSIONS) if mask & (1 << i)) or VERSIONS
        return cls(
            version=VERSIONS[head[0] % 3],
            engine=(head[0] // 3) % 2 == 1,
            limits=LIMITS[head[1] % len(LIMITS)],
            offered=offered,
            ack=ACK_MODES[(head[1] >> 5) % 3],
            disconnect=bool(head[1] & 0x80),
            chunks=_chunks(stream, head[2]),
        )


def _chunks(stream: bytes, how: int) -> list[bytes]:
    if how == 0 or len(stream) < 2:
        return [stream]
    if how == 1:
        return [stream[i : i + 1] for i in range(len(stream))]
    draw = random.Random(how)
    cuts = sorted({draw.randrange(1, len(stream)) for _ in range(draw.randint(1, MAX_CUTS))})
    bounds = [0, *cuts, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


def check(data: bytes) -> None:
    """Run one input through the decoder or an Engine; raise if an invariant breaks."""
    case = Case.parse(data)
    if case.engine:
        check_engine(case)
    else:
        check_decoder(case)


# -- the decoder -----------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """What a decoder made of a stream: its frames, and the error that ended it, if any."""

    frames: list[Frame]
    error: ProtocolError | None


def decode(version: Version, chunks: list[bytes], limits: Limits) -> Outcome:
    """Feed `chunks` to a fresh decoder, checking what each feed returns or raises."""
    decoder = FrameDecoder(version, limits=limits)
    frames: list[Frame] = []
    fed = 0
    for chunk in chunks:
        fed += len(chunk)
        try:
            got = decoder.feed(chunk)
        except ProtocolError as exc:  # anything else escapes: a finding
            _assert_frames(exc.frames, MODELS)
            frames += exc.frames
            assert exc.offset is None or 0 <= exc.offset <= fed, (exc.offset, fed)
            _assert_broken(decoder)
            return Outcome(frames, exc)
        _assert_frames(got, MODELS)
        frames += got
    return Outcome(frames, None)


def check_decoder(case: Case) -> None:
    """Typed frames or ProtocolError; any chunking gives the same; frames re-encode."""
    stream = b"".join(case.chunks)
    outcome = decode(case.version, case.chunks, case.limits)
    whole = outcome if len(case.chunks) == 1 else decode(case.version, [stream], case.limits)
    assert whole.frames == outcome.frames, "the chunking changed the frames"
    assert (whole.error is None) == (outcome.error is None), "the chunking changed the verdict"
    if case.limits is not DEFAULT:
        # Limits only ever stop a stream earlier: what passed them, the defaults pass too.
        loose = decode(case.version, [stream], DEFAULT)
        assert loose.frames[: len(outcome.frames)] == outcome.frames, "limits changed a frame"
        assert outcome.error is not None or loose.error is None, "limits let a bad stream pass"
    for frame in outcome.frames:
        _check_roundtrip(frame, case.version)
        if os.environ.get(PLANTED_BUG_ENV) == "1" and isinstance(frame, Send):
            raise PlantedBug(f"planted bug: a SEND to {frame.destination!r} was decoded")


def _check_roundtrip(frame: Frame, version: Version) -> None:
    """A decoded frame that the version can carry re-encodes to bytes that decode to it."""
    try:
        wire = frame.to_wire(version)
    except ValueError:
        return  # e.g. a 1.0 value with an inner CR: the encoder refuses what it cannot write
    assert parse_frame(wire, version) == frame, (frame, wire)


def _assert_frames(frames: list[Frame], models: tuple[type, ...]) -> None:
    for frame in frames:
        assert isinstance(frame, models), type(frame)


def _assert_broken(decoder: FrameDecoder) -> None:
    for more in (b"", b"\n"):
        try:
            decoder.feed(more)
        except ProtocolError:
            continue
        raise AssertionError("a decoder fed after a ProtocolError did not raise")


# -- the engine ------------------------------------------------------------------------------


def check_engine(case: Case) -> None:
    """An Engine that sent CONNECT, fed the server's bytes: reactions or ProtocolError.

    Its replies are ACKs (its one default reaction) that decode in the negotiated version; after
    a ProtocolError the session is closed and stays unusable.
    """
    engine = Engine(limits=case.limits)
    engine.encode(engine.connect(login="guest", passcode="fuzz-secret", versions=case.offered))
    ready = False
    for chunk in case.chunks:
        try:
            reactions = engine.receive(chunk)
        except ProtocolError as exc:  # anything else escapes: a finding
            _assert_frames(exc.frames, SERVER_MODELS)
            assert engine.state is State.CLOSED, engine.state
            try:
                engine.receive(b"\n")
            except ProtocolError:
                return
            raise AssertionError("an engine fed after a ProtocolError did not raise") from None
        for reaction in reactions:
            assert isinstance(reaction.frame, SERVER_MODELS), type(reaction.frame)
            if reaction.reply:
                assert engine.version is not None, "a reply before CONNECTED"
                replies = FrameDecoder(engine.version).feed(reaction.reply)
                assert replies, reaction.reply
                _assert_frames(replies, (Ack,))
        if engine.state is State.CONNECTED and not ready:
            ready = True
            _start_work(engine, case)


def _start_work(engine: Engine, case: Case) -> None:
    """What a client does once connected, so RECEIPTs, MESSAGEs and ERRORs meet real state:
    a subscription (sub-1), a SEND with receipt (receipt-2), a transaction (tx-3), and maybe a
    DISCONNECT (receipt-4)."""
    # STOMP 1.0 knows only auto and client: a 1.0 client asks for client instead.
    ack: AckMode = "client" if engine.version == "1.0" and case.ack != "auto" else case.ack
    engine.encode(engine.subscribe("/queue/fuzz", ack=ack))
    engine.encode(engine.send("/queue/fuzz", b"x", receipt=True))
    engine.encode(engine.begin())
    if case.disconnect:
        engine.encode(engine.disconnect())
