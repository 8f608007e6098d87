"""Codec benchmark: stompmodels' decoder and encoder against a floor and two other libraries.

Run ``python benchmarks/codec.py``; options ``--frames N``, ``--quick`` (2,000 frames, small
memory run), ``--gib`` (memory run over 1 GiB), ``--seed``, ``--repeats``.

The workload is a seeded stream of broker-style STOMP 1.2 MESSAGE frames (text bodies of
0-4 KiB, about 5% binary bodies of 16-64 KiB holding NULs, 0-3 custom headers whose values need
escaping, heart-beat EOLs between some frames), built with ``stompmodels.Message.to_wire`` and
fed in 64 KiB chunks. Side by side in one run it times

* a minimal pure-Python splitter and encoder (the floor: find the NUL or honour content-length,
  split and unescape headers, no validation);
* stompmodels: ``FrameDecoder.feed`` (fully validated models), ``Message.to_wire``, and
  construction plus ``to_wire``;
* stomp.py: its transport's receive loop (buffer splitting plus ``stomp.utils.parse_frame``, with
  ``auto_decode`` off, since it would corrupt binary bodies) and ``Protocol12.send_frame``;
* stompman: ``FrameParser.parse_frames_from_chunk`` and ``dump_frame``.

Every timing is the best of three ``time.perf_counter`` runs, the implementations taking turns
so that a busy spell of the machine hits them alike. Before timing, each decoder's output is
compared with what was encoded. The script also checks that feeding one byte at a time stays
linear and that decoding a long stream generated on the fly keeps the peak RSS flat, then prints
each target of the issue with PASS or FAIL. It exits 1 if stompmodels' decoder disagrees with
the floor's frame count or with the encoded models.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import random
import re
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

import stomp.protocol
import stomp.transport
import stomp.utils
from report import format_table, machine_line
from stompman.frames import MessageFrame, MessageHeaders
from stompman.serde import FrameParser, dump_frame

# Run from a checkout without installing: measure the working tree's package.
_ROOT: Final = Path(__file__).resolve().parent.parent
if (_ROOT / "stompmodels" / "__init__.py").is_file() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from stompmodels import FrameDecoder, Limits, Message  # noqa: E402

KIB: Final = 1024
MIB: Final = 1024 * KIB
CHUNK_SIZE: Final = 64 * KIB
REPEATS: Final = 3
DEFAULT_FRAMES: Final = 20_000
QUICK_FRAMES: Final = 2_000
DEFAULT_SEED: Final = 20_240_611

# Targets from the issue.
DECODE_VS_FLOOR: Final = 0.40
DECODE_VS_STOMPPY: Final = 2.0
TO_WIRE_VS_FLOOR: Final = 0.60
BUILD_VS_STOMPPY: Final = 1.0
BYTEWISE_SIZES: Final = (10_000, 40_000)
BYTEWISE_MAX_RATIO: Final = 6.0  # linear is 4, quadratic is 16
MEMORY_MAX_GROWTH: Final = 16 * MIB
MEMORY_POOL_FRAMES: Final = 1_000


# --------------------------------------------------------------------------------------------
# Workload


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """One generated MESSAGE frame as plain data, plus the heart-beat EOLs sent after it."""

    destination: str
    message_id: str
    subscription: str
    ack: str | None
    content_type: str
    body: bytes
    custom: dict[str, str]
    trailer: bytes

    def header_dict(self) -> dict[str, str]:
        """A fresh dict of the wire headers, in stompmodels' order: typed fields first (in
        declaration order), then the custom ones."""
        headers = {
            "destination": self.destination,
            "message-id": self.message_id,
            "subscription": self.subscription,
        }
        if self.ack is not None:
            headers["ack"] = self.ack
        headers["content-type"] = self.content_type
        if self.body:
            headers["content-length"] = str(len(self.body))
        headers.update(self.custom)
        return headers

    def to_model(self) -> Message:
        """Build the stompmodels frame."""
        return Message(
            destination=self.destination,
            message_id=self.message_id,
            subscription=self.subscription,
            ack=self.ack,
            content_type=self.content_type,
            body=self.body,
            headers=self.custom,
        )


_WORDS: Final = (
    "order", "customer", "amount", "currency", "EUR", "status", "shipped", "pending", "id",
    "sku", "quantity", "warehouse", "null", "true", "false", "price", "tax", "note", "café",
    "Zürich", "naïve", "東京", "données", "address", "line", "city", "zip", "country",
)  # fmt: skip

_CUSTOM_HEADERS: Final[tuple[tuple[str, str], ...]] = (
    ("x-correlation-id", "order:{n}:eu-west"),
    ("x-source-path", "C:\\exports\\batch\\{n}.dat"),
    ("x-note", "first line\nsecond line {n}"),
    ("x-routing", "tenant\\a:region\nb:{n}"),
)


def _text_corpus(rng: random.Random, size: int) -> str:
    """JSON-ish text to cut text bodies from (cheaper than drawing every character)."""
    parts: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        part = f'"{word}": {rng.randrange(100_000)}, ' if rng.random() < 0.3 else f"{word} "
        parts.append(part)
        length += len(part)
    return "".join(parts)


def _message_ids(rng: random.Random, n: int) -> tuple[str, str, str]:
    """A destination, message-id and subscription in the style of ActiveMQ or RabbitMQ."""
    sub = rng.randrange(4)
    if rng.random() < 0.5:
        destination = f"/queue/orders.{rng.choice(('eu', 'us', 'apac'))}"
        message_id = f"ID:broker-1.example-40325-1700000000000-1:{sub}:1:1:{n}"
        return destination, message_id, f"sub-{sub}"
    destination = f"/exchange/amq.topic/orders.{rng.choice(('created', 'paid', 'shipped'))}"
    message_id = f"T_sub-{sub}@@session-Kz4xHq9vW2mLr8TnY0bA@@{n}"
    return destination, message_id, f"sub-{sub}"


def generate_specs(count: int, seed: int) -> list[MessageSpec]:
    """The seeded workload; a shorter count yields a prefix of a longer one."""
    rng = random.Random(seed)
    corpus = _text_corpus(rng, 72 * KIB)
    specs: list[MessageSpec] = []
    for n in range(count):
        if rng.random() < 0.05:
            body = rng.randbytes(rng.randint(16 * KIB, 64 * KIB)) + b"\x00tail"
            content_type = "application/octet-stream"
        else:
            size = rng.randint(0, 4 * KIB)
            start = rng.randrange(len(corpus) - size)
            body = corpus[start : start + size].encode()
            content_type = rng.choice(("text/plain;charset=utf-8", "application/json"))
        destination, message_id, subscription = _message_ids(rng, n)
        custom = {
            "redelivered": "true" if rng.random() < 0.1 else "false",
            "persistent": rng.choice(("true", "false")),
        }
        for name, template in rng.sample(_CUSTOM_HEADERS, rng.randint(0, 3)):
            custom[name] = template.format(n=n)
        trailer = b"\n" * rng.randint(1, 3) if rng.random() < 0.1 else b""
        ack = message_id if rng.random() < 0.5 else None
        specs.append(
            MessageSpec(
                destination, message_id, subscription, ack, content_type, body, custom, trailer
            )
        )
    return specs


def build_stream(specs: Sequence[MessageSpec], models: Sequence[Message]) -> bytes:
    """The wire bytes of the whole stream, encoded by stompmodels."""
    parts: list[bytes] = []
    for spec, model in zip(specs, models, strict=True):
        parts.append(model.to_wire("1.2"))
        parts.append(spec.trailer)
    return b"".join(parts)


def split_chunks(data: bytes, size: int = CHUNK_SIZE) -> list[bytes]:
    """Cut a stream into the pieces a socket would hand over."""
    return [data[i : i + size] for i in range(0, len(data), size)]


# --------------------------------------------------------------------------------------------
# The floor: the least a pure-Python codec has to do


PlainFrame = tuple[str, dict[str, str], bytes]
_UNESCAPES: Final = {"\\n": "\n", "\\r": "\r", "\\c": ":", "\\\\": "\\"}
_ESCAPE_RE: Final = re.compile(r"\\[nrc\\]")


def _unescape(match: re.Match[str]) -> str:
    """The character an escape sequence stands for."""
    return _UNESCAPES[match.group()]


class FloorSplitter:
    """Minimal stream splitter: skip EOLs, find the head's end, honour content-length or find
    the NUL, split and unescape headers (first wins). No validation of any kind."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, data: bytes) -> list[PlainFrame]:
        """Append data and return every frame it completes."""
        buf = self._rest + data if self._rest else data
        frames: list[PlainFrame] = []
        pos = 0
        size = len(buf)
        while True:
            while pos < size and buf[pos] in b"\r\n":
                pos += 1
            head_end = buf.find(b"\n\n", pos)
            if head_end < 0:
                break
            command, _, rest = buf[pos:head_end].decode().partition("\n")
            headers: dict[str, str] = {}
            for line in rest.split("\n") if rest else ():
                name, _, value = line.partition(":")
                if "\\" in line:
                    name = _ESCAPE_RE.sub(_unescape, name)
                    value = _ESCAPE_RE.sub(_unescape, value)
                headers.setdefault(name, value)
            body_start = head_end + 2
            length = headers.get("content-length")
            if length is not None:
                end = body_start + int(length)
                if end >= size:
                    break
            else:
                end = buf.find(b"\x00", body_start)
                if end < 0:
                    break
            frames.append((command, headers, buf[body_start:end]))
            pos = end + 1
        self._rest = buf[pos:]
        return frames


def floor_encode(command: str, headers: dict[str, str], body: bytes) -> bytes:
    """Minimal STOMP 1.2 encoder: escape names and values, join, terminate with NUL."""
    lines = [command]
    for name, value in headers.items():
        lines.append(f"{_escape(name)}:{_escape(value)}")
    lines.append("\n")
    return b"".join(("\n".join(lines).encode(), body, b"\x00"))


def _escape(text: str) -> str:
    """STOMP 1.2 header escaping."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace(":", "\\c").replace("\r", "\\r")


# --------------------------------------------------------------------------------------------
# stomp.py, driven through its own transport code


class StompPyReplay(stomp.transport.BaseTransport):
    """stomp.py's receive path over recorded chunks.

    ``BaseTransport.__read_frames`` is stomp.py's receive loop: it pulls chunks through
    ``receive()`` until one holds a NUL, splits its buffer into frames (content-length aware),
    runs ``stomp.utils.parse_frame`` on each and hands the result to ``process_frame``, where
    the frames are counted (and kept if asked) instead of being dispatched to listeners.
    """

    def __init__(self, chunks: Sequence[bytes], *, keep: bool = False) -> None:
        super().__init__(auto_decode=False)
        self._chunks = iter(chunks)
        self._exhausted = False
        self._keep = keep
        self.frames: list[stomp.utils.Frame] = []
        self.messages = 0
        self.running = True
        # A non-blocking transport treats "no data" as "try later" instead of "connection lost".
        self.blocking = False

    def receive(self) -> bytes | None:
        """The next recorded chunk, or None once they are used up."""
        chunk = next(self._chunks, None)
        if chunk is None:
            self._exhausted = True
        return chunk

    def process_frame(self, f: stomp.utils.Frame, frame_str: bytes) -> None:
        """Count the parsed frame (stomp.py would notify its listeners here)."""
        if f.cmd == "MESSAGE":
            self.messages += 1
            if self._keep:
                self.frames.append(f)

    def drain(self) -> int:
        """Run stomp.py's receive loop until every chunk is consumed; the MESSAGE count."""
        while not self._exhausted:
            self._BaseTransport__read_frames()  # BaseTransport.__read_frames, name-mangled
        return self.messages


class StompPySink(stomp.transport.BaseTransport):
    """A transport whose socket is a byte counter, under a ``Protocol12`` that encodes."""

    def __init__(self) -> None:
        super().__init__(auto_decode=False)
        self.sent = 0

    def send(self, encoded_frame: bytes) -> None:
        """Count what stomp.py would write to the socket."""
        self.sent += len(encoded_frame)


# --------------------------------------------------------------------------------------------
# stompman


def stompman_frame(spec: MessageSpec) -> MessageFrame:
    """The stompman dataclass for a spec (custom headers ride along in the TypedDict)."""
    return MessageFrame(headers=cast(MessageHeaders, spec.header_dict()), body=spec.body)


def stompman_messages(chunks: Sequence[bytes]) -> Iterator[MessageFrame]:
    """Run stompman's byte-at-a-time parser over the chunks, yielding the MESSAGE frames."""
    parser = FrameParser()
    for chunk in chunks:
        for frame in parser.parse_frames_from_chunk(chunk):
            if isinstance(frame, MessageFrame):
                yield frame


# --------------------------------------------------------------------------------------------
# Measuring


@dataclass(frozen=True, slots=True)
class Timing:
    """The best of several runs of one operation over a known amount of work."""

    seconds: float
    frames: int
    nbytes: int

    @property
    def fps(self) -> float:
        """Frames per second."""
        return self.frames / self.seconds

    @property
    def mbps(self) -> float:
        """Megabytes (10**6) per second."""
        return self.nbytes / self.seconds / 1e6


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the results table."""

    implementation: str
    operation: str
    timing: Timing
    floor: Timing

    @property
    def ratio(self) -> float:
        """Frames per second relative to the floor on the same input."""
        return self.timing.fps / self.floor.fps


@dataclass(frozen=True, slots=True)
class Job:
    """One operation to time: the frames it handles and a run returning the bytes it handled."""

    label: str
    frames: int
    run: Callable[[], int]


def time_jobs(jobs: Sequence[Job], repeats: int) -> list[Timing]:
    """The best of ``repeats`` wall-clock runs of each job (each after a full collection).

    The jobs take turns, so a busy spell of a shared machine slows all of them alike and the
    ratios between them stay meaningful.
    """
    best = [math.inf] * len(jobs)
    nbytes = [0] * len(jobs)
    for round_ in range(1, repeats + 1):
        for index, job in enumerate(jobs):
            progress(f"run {round_}/{repeats}: {job.label}")
            gc.collect()
            start = time.perf_counter()
            nbytes[index] = job.run()
            best[index] = min(best[index], time.perf_counter() - start)
    return [
        Timing(seconds, job.frames, size)
        for seconds, job, size in zip(best, jobs, nbytes, strict=True)
    ]


def progress(message: str) -> None:
    """Tell the impatient reader what is running (stderr, so the table stays clean)."""
    print(f"... {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Workload:
    """Everything the timed runs read, built once."""

    specs: list[MessageSpec]
    models: list[Message]
    stream: bytes
    chunks: list[bytes]
    prefix_frames: int
    prefix_chunks: list[bytes]


def make_workload(count: int, seed: int) -> Workload:
    """Generate the specs, models, stream and chunks (and the prefix stompman can afford)."""
    specs = generate_specs(count, seed)
    models = [spec.to_model() for spec in specs]
    stream = build_stream(specs, models)
    prefix_frames = min(count, max(200, count // 40))
    prefix = build_stream(specs[:prefix_frames], models[:prefix_frames])
    return Workload(
        specs, models, stream, split_chunks(stream), prefix_frames, split_chunks(prefix)
    )


def decode_rows(work: Workload, repeats: int) -> list[Row]:
    """Decode the stream with every implementation."""
    count = len(work.specs)
    size = len(work.stream)

    def floor(chunks: Sequence[bytes]) -> Callable[[], int]:
        def run() -> int:
            splitter = FloorSplitter()
            for chunk in chunks:
                splitter.feed(chunk)
            return sum(map(len, chunks))

        return run

    def ours() -> int:
        decoder = FrameDecoder("1.2")
        for chunk in work.chunks:
            decoder.feed(chunk)
        return size

    def stomppy() -> int:
        StompPyReplay(work.chunks).drain()
        return size

    def stompman() -> int:
        for _ in stompman_messages(work.prefix_chunks):
            pass
        return sum(map(len, work.prefix_chunks))

    prefix = work.prefix_frames
    floor_all, ours_t, stomppy_t, floor_prefix, stompman_t = time_jobs(
        [
            Job("decode, floor", count, floor(work.chunks)),
            Job("decode, stompmodels", count, ours),
            Job("decode, stomp.py", count, stomppy),
            Job(f"decode, floor (first {prefix} frames)", prefix, floor(work.prefix_chunks)),
            Job(f"decode, stompman (first {prefix} frames)", prefix, stompman),
        ],
        repeats,
    )
    return [
        Row("floor (pure Python)", "decode", floor_all, floor_all),
        Row("stompmodels", "decode FrameDecoder.feed", ours_t, floor_all),
        Row("stomp.py", "decode receive loop", stomppy_t, floor_all),
        Row(
            "stompman",
            f"decode FrameParser ({work.prefix_frames} fr.)*",
            stompman_t,
            floor_prefix,
        ),
    ]


def encode_rows(work: Workload, repeats: int) -> list[Row]:
    """Encode the stream's frames with every implementation."""
    count = len(work.specs)
    plain = [("MESSAGE", spec.header_dict(), spec.body) for spec in work.specs]

    def floor() -> int:
        return sum(len(floor_encode(*frame)) for frame in plain)

    def to_wire() -> int:
        return sum(len(model.to_wire("1.2")) for model in work.models)

    def build_to_wire() -> int:
        return sum(len(spec.to_model().to_wire("1.2")) for spec in work.specs)

    def stomppy() -> int:
        sink = StompPySink()
        protocol = stomp.protocol.Protocol12(sink)
        for spec in work.specs:
            protocol.send_frame("MESSAGE", spec.header_dict(), spec.body)
        return sink.sent

    def stompman() -> int:
        return sum(len(dump_frame(stompman_frame(spec))) for spec in work.specs)

    floor_t, to_wire_t, build_t, stomppy_t, stompman_t = time_jobs(
        [
            Job("encode, floor", count, floor),
            Job("encode, stompmodels to_wire", count, to_wire),
            Job("encode, stompmodels Message(...) + to_wire", count, build_to_wire),
            Job("encode, stomp.py", count, stomppy),
            Job("encode, stompman", count, stompman),
        ],
        repeats,
    )
    return [
        Row("floor (pure Python)", "encode", floor_t, floor_t),
        Row("stompmodels", "encode to_wire (built model)", to_wire_t, floor_t),
        Row("stompmodels", "encode Message(...) + to_wire", build_t, floor_t),
        Row("stomp.py", "encode Protocol12.send_frame", stomppy_t, floor_t),
        Row("stompman", "encode MessageFrame + dump_frame", stompman_t, floor_t),
    ]


# --------------------------------------------------------------------------------------------
# Correctness checks (untimed)


def expected_frame(spec: MessageSpec) -> PlainFrame:
    """What every decoder should produce for a spec."""
    return "MESSAGE", spec.header_dict(), spec.body


def count_matches(expected: Sequence[PlainFrame], got: Sequence[PlainFrame]) -> str:
    """'matching/expected' frames, noting a different frame count."""
    same = sum(1 for want, have in zip(expected, got, strict=False) if want == have)
    note = "" if len(got) == len(expected) else f" (decoded {len(got)} frames)"
    return f"{same}/{len(expected)} match{note}"


@dataclass(frozen=True, slots=True)
class Sanity:
    """The untimed comparison of every decoder's output with what was encoded."""

    lines: list[str]
    decoder_raised: bool
    consistent: bool
    """stompmodels found as many frames as the floor, each equal to the model encoded."""


def sanity_checks(work: Workload) -> Sanity:
    """Decode once with each implementation and compare with what was encoded."""
    expected = [expected_frame(spec) for spec in work.specs]
    floor = FloorSplitter()
    floor_frames = [frame for chunk in work.chunks for frame in floor.feed(chunk)]

    decoder = FrameDecoder("1.2")
    ours: list[object] = []
    error = ""
    try:
        for chunk in work.chunks:
            ours.extend(decoder.feed(chunk))
    except ValueError as exc:
        error = f" -- raised {type(exc).__name__}: {exc}"
    same_models = sum(1 for want, have in zip(work.models, ours, strict=False) if want == have)
    same_wire = sum(
        1
        for spec, model in zip(work.specs, work.models, strict=True)
        if floor_encode("MESSAGE", spec.header_dict(), spec.body) == model.to_wire("1.2")
    )

    replay = StompPyReplay(work.chunks, keep=True)
    replay.drain()
    stomppy: list[PlainFrame] = [
        (frame.cmd or "", cast(dict[str, str], frame.headers), cast(bytes, frame.body))
        for frame in replay.frames
    ]
    stompman = [
        ("MESSAGE", dict(cast(dict[str, str], frame.headers)), frame.body)
        for frame in stompman_messages(work.prefix_chunks)
    ]
    count = len(expected)
    lines = [
        f"floor splitter:        {count_matches(expected, floor_frames)}",
        f"stompmodels decoder:   {len(ours)} frames, {same_models}/{count} equal to the encoded"
        f" models{error}",
        f"stompmodels to_wire:   {same_wire}/{count} byte-identical to the floor encoder",
        f"stomp.py receive loop: {count_matches(expected, stomppy)}",
        f"stompman parser:       {count_matches(expected[: work.prefix_frames], stompman)}",
    ]
    consistent = not error and len(ours) == len(floor_frames) == count == same_models
    return Sanity(lines, bool(error), consistent)


# --------------------------------------------------------------------------------------------
# Byte-at-a-time feeding and memory


@dataclass(frozen=True, slots=True)
class BytewiseCase:
    """A frame whose one growing part is fed byte by byte at two sizes."""

    name: str
    build: Callable[[int], Message]
    limits: Limits


def _body_frame(size: int, *, content_length: bool) -> Message:
    """A MESSAGE with a ``size``-byte body, with or without a content-length header."""
    body = b"x" * size
    if content_length:
        return Message(destination="/queue/a", message_id="m-1", subscription="s-1", body=body)
    return Message(
        destination="/queue/a",
        message_id="m-1",
        subscription="s-1",
        body=body,
        content_length=None,
    )


def _header_frame(size: int) -> Message:
    """A MESSAGE with one custom header of ``size`` characters."""
    return Message(
        destination="/queue/a", message_id="m-1", subscription="s-1", headers={"x-long": "y" * size}
    )


BYTEWISE_CASES: Final = (
    BytewiseCase("body, NUL-terminated", lambda n: _body_frame(n, content_length=False), Limits()),
    BytewiseCase("body, content-length", lambda n: _body_frame(n, content_length=True), Limits()),
    BytewiseCase("one long header value", _header_frame, Limits(max_header_line=64 * KIB)),
)


def bytewise_job(case: BytewiseCase, size: int) -> Job:
    """Feed the case's frame, grown to about ``size`` bytes, to a decoder one byte per call."""
    wire = case.build(size).to_wire("1.2")
    pieces = [wire[i : i + 1] for i in range(len(wire))]

    def run() -> int:
        decoder = FrameDecoder("1.2", limits=case.limits)
        frames = 0
        for piece in pieces:
            frames += len(decoder.feed(piece))
        if frames != 1:
            raise AssertionError(f"{case.name}: decoded {frames} frames, expected 1")
        return len(wire)

    return Job(f"byte-at-a-time, {case.name}, {size // 1000} kB", 1, run)


def bytewise_results(repeats: int) -> list[tuple[str, float, float]]:
    """(case, seconds at the small size, seconds at the large size) for every case."""
    small, large = BYTEWISE_SIZES
    jobs = [bytewise_job(case, size) for case in BYTEWISE_CASES for size in (small, large)]
    timings = time_jobs(jobs, repeats)
    return [
        (case.name, timings[2 * index].seconds, timings[2 * index + 1].seconds)
        for index, case in enumerate(BYTEWISE_CASES)
    ]


@dataclass(frozen=True, slots=True)
class MemoryResult:
    """Peak RSS around a long decode."""

    stream_bytes: int
    frames: int
    seconds: float
    rss_before: int
    rss_after: int

    @property
    def growth(self) -> int:
        """How much the peak RSS rose while decoding, in bytes."""
        return self.rss_after - self.rss_before


def peak_rss() -> int:
    """The process's peak resident set size in bytes (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * KIB


def generated_chunks(pool: Sequence[bytes], total: int) -> Iterator[bytes]:
    """The pool's chunks over and over until at least ``total`` bytes were produced."""
    produced = 0
    for chunk in itertools.cycle(pool):
        if produced >= total:
            return
        produced += len(chunk)
        yield chunk


def memory_run(total: int, seed: int) -> MemoryResult:
    """Decode ``total`` bytes generated on the fly from a seeded pool of whole frames.

    Runs before anything else allocates, so the peak RSS has not been pushed up by other work.
    """
    specs = generate_specs(MEMORY_POOL_FRAMES, seed)
    pool = split_chunks(build_stream(specs, [spec.to_model() for spec in specs]))
    gc.collect()
    before = peak_rss()
    decoder = FrameDecoder("1.2")
    frames = 0
    fed = 0
    start = time.perf_counter()
    for chunk in generated_chunks(pool, total):
        frames += len(decoder.feed(chunk))
        fed += len(chunk)
    seconds = time.perf_counter() - start
    return MemoryResult(fed, frames, seconds, before, peak_rss())


# --------------------------------------------------------------------------------------------
# Report


def results_table(rows: Sequence[Row]) -> list[str]:
    """The main table."""
    header = ("implementation", "operation", "frames/s", "MB/s", "ratio vs floor")
    cells = [
        (
            row.implementation,
            row.operation,
            f"{row.timing.fps:,.0f}",
            f"{row.timing.mbps:,.1f}",
            f"{row.ratio:.2f}x",
        )
        for row in rows
    ]
    return format_table(header, cells)


def verdict(ok: bool, *, gate: bool = True) -> str:
    """PASS or FAIL; INFO for a figure the issue quotes only as an estimate."""
    if not gate:
        return "INFO"
    return "PASS" if ok else "FAIL"


def find_row(rows: Sequence[Row], implementation: str, operation: str) -> Row:
    """The row whose implementation matches and whose operation starts with ``operation``."""
    for row in rows:
        if row.implementation == implementation and row.operation.startswith(operation):
            return row
    raise KeyError((implementation, operation))


def target_lines(
    rows: Sequence[Row],
    bytewise: Sequence[tuple[str, float, float]],
    memory: MemoryResult,
) -> list[str]:
    """Each target of the issue with its measured ratio and verdict."""
    ours_decode = find_row(rows, "stompmodels", "decode").timing.fps
    floor_decode = find_row(rows, "floor (pure Python)", "decode").timing.fps
    stomppy_decode = find_row(rows, "stomp.py", "decode").timing.fps
    floor_encode_fps = find_row(rows, "floor (pure Python)", "encode").timing.fps
    to_wire = find_row(rows, "stompmodels", "encode to_wire").timing.fps
    built = find_row(rows, "stompmodels", "encode Message").timing.fps
    stomppy_encode = find_row(rows, "stomp.py", "encode").timing.fps
    worst_name, worst_small, worst_large = max(bytewise, key=lambda item: item[2] / item[1])
    worst = worst_large / worst_small
    growth_mib = memory.growth / MIB

    checks = [
        (
            f"decode >= {DECODE_VS_FLOOR:.2f}x floor frames/s",
            verdict(ours_decode / floor_decode >= DECODE_VS_FLOOR),
            f"{ours_decode / floor_decode:.3f}x",
        ),
        (
            f"decode vs stomp.py's receive loop (issue estimates ~{DECODE_VS_STOMPPY:.0f}x)",
            verdict(ours_decode / stomppy_decode >= DECODE_VS_STOMPPY, gate=False),
            f"{ours_decode / stomppy_decode:.3f}x",
        ),
        (
            f"to_wire of a built model >= {TO_WIRE_VS_FLOOR:.2f}x floor encode",
            verdict(to_wire / floor_encode_fps >= TO_WIRE_VS_FLOOR),
            f"{to_wire / floor_encode_fps:.3f}x",
        ),
        (
            f"construction + to_wire >= {BUILD_VS_STOMPPY:.2f}x stomp.py's encoder",
            verdict(built / stomppy_encode >= BUILD_VS_STOMPPY),
            f"{built / stomppy_encode:.3f}x",
        ),
        (
            f"byte-at-a-time feed: {BYTEWISE_SIZES[1] // 1000} kB / {BYTEWISE_SIZES[0] // 1000} kB"
            f" time <= {BYTEWISE_MAX_RATIO:.0f} (linear 4, quadratic 16)",
            verdict(worst <= BYTEWISE_MAX_RATIO),
            f"{worst:.2f}, worst case: {worst_name}",
        ),
        (
            f"peak RSS growth <= {MEMORY_MAX_GROWTH // MIB} MiB decoding "
            f"{memory.stream_bytes / MIB:,.0f} MiB",
            verdict(memory.growth <= MEMORY_MAX_GROWTH),
            f"{growth_mib:.1f} MiB",
        ),
    ]
    width = max(len(name) for name, _, _ in checks)
    return [f"  {name.ljust(width)}  {status}  ({measured})" for name, status, measured in checks]


def bytewise_lines(results: Sequence[tuple[str, float, float]]) -> list[str]:
    """The byte-at-a-time table."""
    small, large = BYTEWISE_SIZES
    header = ("case", "", f"{small // 1000} kB (ms)", f"{large // 1000} kB (ms)", "ratio")
    cells = [
        (name, "", f"{t_small * 1e3:.1f}", f"{t_large * 1e3:.1f}", f"{t_large / t_small:.2f}")
        for name, t_small, t_large in results
    ]
    return format_table(header, cells)


def memory_lines(memory: MemoryResult) -> list[str]:
    """The memory run in words."""
    return [
        f"decoded {memory.stream_bytes / MIB:,.0f} MiB ({memory.frames:,} frames) generated on "
        f"the fly in {CHUNK_SIZE // KIB} KiB chunks in {memory.seconds:.1f} s "
        f"({memory.stream_bytes / memory.seconds / 1e6:,.1f} MB/s)",
        f"peak RSS before {memory.rss_before / MIB:,.1f} MiB, after {memory.rss_after / MIB:,.1f}"
        f" MiB, growth {memory.growth / MIB:,.1f} MiB",
    ]


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--frames", type=int, default=None, help=f"frames in the stream (default {DEFAULT_FRAMES})"
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_FRAMES} frames and a 32 MiB memory run"
    )
    parser.add_argument(
        "--gib", action="store_true", help="decode 1 GiB in the memory run (default 256 MiB)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="workload seed")
    parser.add_argument(
        "--repeats", type=int, default=REPEATS, help=f"runs per timing, best kept ({REPEATS})"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run everything and print the report; exit 1 if stompmodels disagrees with the floor."""
    args = parse_args(argv)
    frames = cast(int | None, args.frames) or (QUICK_FRAMES if args.quick else DEFAULT_FRAMES)
    seed = cast(int, args.seed)
    repeats = cast(int, args.repeats)
    memory_total = 1024 * MIB if args.gib else (32 * MIB if args.quick else 256 * MIB)

    progress(f"memory: decoding {memory_total // MIB} MiB")
    memory = memory_run(memory_total, seed)
    progress(f"generating {frames:,} frames (seed {seed})")
    work = make_workload(frames, seed)
    sanity = sanity_checks(work)
    binary = sum(1 for spec in work.specs if spec.content_type == "application/octet-stream")
    preamble = [
        machine_line(),
        f"stream: {frames:,} MESSAGE frames (STOMP 1.2, {binary} binary), "
        f"{len(work.stream) / 1e6:,.1f} MB, {len(work.chunks)} chunks of {CHUNK_SIZE // KIB} KiB,"
        f" seed {seed}; best of {repeats} runs, implementations taking turns",
        "",
        "sanity (decoded vs encoded):",
        *(f"  {line}" for line in sanity.lines),
        "",
    ]
    if sanity.decoder_raised:
        print("\n".join([*preamble, "stompmodels cannot decode the stream; nothing timed."]))
        return 1

    rows = decode_rows(work, repeats) + encode_rows(work, repeats)
    bytewise = bytewise_results(repeats)
    report = [
        *preamble,
        *results_table(rows),
        f"* stompman parses byte by byte; it gets the first {work.prefix_frames} frames and its "
        "ratio is against the floor on that prefix.",
        "",
        "byte-at-a-time feed (stompmodels):",
        *bytewise_lines(bytewise),
        "",
        "memory (stompmodels, default limits):",
        *memory_lines(memory),
        "",
        "targets:",
        *target_lines(rows, bytewise, memory),
    ]
    print("\n".join(report))
    return 0 if sanity.consistent else 1


if __name__ == "__main__":
    sys.exit(main())
