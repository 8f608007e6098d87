"""FrameDecoder and parse_frame: untrusted bytes in, typed frames or ProtocolError out."""

from __future__ import annotations

from typing import Any, Final, cast

from pydantic import ValidationError

from ._codec import HeadShape
from ._errors import ProtocolError
from ._frames import MODELS, Frame
from ._limits import Limits
from ._model import FrameModel
from ._plan import Layout, Plan
from ._reader import FrameReader, Parts, RawFrame
from ._spec import VERSIONS, Version


def _describe(error: ValidationError, command: str) -> str:
    """One line naming the header at fault, never its value (it may be a passcode)."""
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    if first["type"] == "missing":
        return f"{command} frame lacks required header {where!r}"
    message = first["msg"].removeprefix("Value error, ")
    return f"{command} frame: {message}" if not where else f"{command} header {where!r}: {message}"


_MAX_FRAME_SIZE: Final = Limits().max_frame_size
_PLANS: Final = {command: model.plan for command, model in MODELS.items()}
_new_tuple: Final = tuple.__new__  # a NamedTuple's own __new__ is a Python function


def build_frame(raw: RawFrame, version: Version) -> Frame:
    """Type a raw frame; ProtocolError names what was wrong."""
    plan = _PLANS[raw.command]
    headers = raw.headers
    if raw.body and not plan.carries_body:
        # Only in STOMP 1.0, whose frames may all have a body (the reader refuses one on these
        # commands in 1.1 and 1.2): a model without a body field has nowhere to keep it, so the
        # body is ignored, with the content-length that framed it.
        headers = {name: value for name, value in headers.items() if name != "content-length"}
        raw = raw._replace(headers=headers)
    required = plan.wire_required.get(version)
    if required is not None and not required <= headers.keys():
        problem = plan.model.wire_problem(headers, version)
        if problem:
            raise ProtocolError(problem, offset=raw.offset, receipt=headers.get("receipt"))
    if plan.decoded_as_is and plan.wire_needed <= headers.keys():
        frame = as_is_frame(plan, raw)
        if frame is not None:
            return frame
    return validated_frame(plan, raw)


def as_is_frame(plan: Plan[FrameModel], raw: RawFrame) -> Frame | None:
    """The frame validation would build from `raw`, built without it; None when only
    validation can tell (it then names the fault).

    For a `decoded_as_is` model whose `wire_needed` headers are there: every typed header is
    a str, and the reader guarantees non-empty distinct names and a body of the declared length.
    """
    headers = raw.headers
    if plan.carries_body:
        if raw.content_length is not None and raw.content_length != len(raw.body):
            return None
    elif "content-length" in headers:
        return None  # the model's validator decides whether this one is allowed
    layout = plan.layout(tuple(headers))
    return cast(Frame, plan.decoded(layout, tuple(headers.values()), raw.body, raw.content_length))


def validated_frame(plan: Plan[FrameModel], raw: RawFrame) -> Frame:
    """Type a raw frame through pydantic validation; ProtocolError names what was wrong."""
    model = plan.model
    typed_names = model.wire_fields
    data: dict[str, object] = {}
    custom: dict[str, str] = {}
    for name, value in raw.headers.items():
        if name in typed_names:
            data[name] = value
        else:
            custom[name] = value
    data["headers"] = custom
    data["command"] = raw.command
    for name in model.optional_required:
        data.setdefault(name, None)
    if plan.carries_body:
        data["body"] = raw.body
        data["content-length"] = raw.content_length  # None: absent on the wire stays absent
    try:
        frame = model.__pydantic_validator__.validate_python(data)
    except ValidationError as exc:
        raise ProtocolError(
            _describe(exc, raw.command), offset=raw.offset, receipt=raw.headers.get("receipt")
        ) from None
    return cast(Frame, frame)


class FrameDecoder:
    """Turns a STOMP byte stream, split any way, into typed frames.

    Heart-beat EOLs between frames are consumed; `bytes_received` and `heartbeats_received`
    let the owner see that the peer is alive. After a ProtocolError the stream is unusable
    and every later call raises.
    """

    def __init__(
        self,
        version: Version = "1.2",
        *,
        max_frame_size: int | None = None,
        limits: Limits | None = None,
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"unknown STOMP version {version!r}")
        limits = limits or Limits()
        if max_frame_size is not None:
            limits = Limits(
                max_frame_size=max_frame_size,
                max_head_size=min(limits.max_head_size, max_frame_size),
                max_header_line=limits.max_header_line,
                max_headers=limits.max_headers,
            )
        self._reader = FrameReader(version, limits)
        self._version: Version = version
        self._typing: dict[HeadShape, tuple[Plan[Any], Layout]] = {}  # one per reader's shape
        self._error: ProtocolError | None = None
        self.bytes_received = 0

    @property
    def version(self) -> Version:
        """The STOMP version frames are decoded by; CONNECTED may switch it."""
        return self._version

    @version.setter
    def version(self, version: Version) -> None:
        if version not in VERSIONS:
            raise ValueError(f"unknown STOMP version {version!r}")
        if version != self._version:
            self._version = self._reader.version = version

    @property
    def limits(self) -> Limits:
        """The bounds this decoder enforces."""
        return self._reader.limits

    @property
    def heartbeats_received(self) -> int:
        """How many heart-beat EOLs have been consumed between frames."""
        return self._reader.heartbeats

    @property
    def buffered(self) -> int:
        """Bytes held for a frame not yet complete."""
        return self._reader.buffered

    def receive(self, data: bytes) -> None:
        """Take bytes from the peer; frames come out of `next_frame`."""
        self._raise_if_broken()
        self.bytes_received += len(data)
        self._reader.feed(data)

    def next_frame(self) -> Frame | None:
        """The next complete frame, or None when more bytes are needed."""
        if self._error is not None:
            self._raise_if_broken()
        try:
            parts = self._reader.next_shaped() or self._reader.next_parts()
            return None if parts is None else self._frame_of(parts)
        except ProtocolError as exc:
            self._error = exc
            raise

    def _frame_of(self, parts: Parts) -> Frame:
        """`build_frame` of what the reader gives, taking its headers over."""
        command, headers, body, offset, length = parts
        if isinstance(headers, tuple):
            shape, values = headers
            plan, layout = self._typing.get(shape) or self._type(shape)
            if self._version in layout[3]:
                # The reader checked that the body has the declared length.
                frame: Frame = plan.decoded(layout, values, body, length)
                return frame
            headers = dict(zip(shape.names, values, strict=True))
        else:
            plan = _PLANS[command]
            typed = plan.from_headers(headers, self._version, body, length)
            if typed is not None:
                return cast(Frame, typed)
        raw = _new_tuple(RawFrame, (command, headers, body, offset, length))
        return build_frame(raw, self._version)

    def _type(self, shape: HeadShape) -> tuple[Plan[Any], Layout]:
        """The plan and layout of the heads of `shape` (looked up once per shape, by identity:
        comparing the names of a new head with those of the layouts costs more)."""
        plan = _PLANS[shape.command]
        typing = self._typing[shape] = (plan, plan.layout(shape.names))
        return typing

    def feed(self, data: bytes) -> list[Frame]:
        """Take bytes and return every frame they complete.

        On a ProtocolError, the frames completed before it are on the exception's `frames`.
        """
        self.receive(data)
        frames: list[Frame] = []
        try:
            while (frame := self.next_frame()) is not None:
                frames.append(frame)
        except ProtocolError as exc:
            exc.frames = frames
            raise
        return frames

    def _raise_if_broken(self) -> None:
        if self._error is not None:
            raise ProtocolError(f"the stream is unusable after an earlier error: {self._error}")


def parse_frame(data: bytes, version: Version = "1.2") -> Frame:
    """Decode exactly one complete frame (EOLs may follow it); anything else is a ProtocolError."""
    # Any frame `data` holds fits, so one that needs more bytes than it has is truncated, and
    # is reported so: not as over a limit, unless it declares a content-length over the
    # default one (a stream's decoder would refuse it as well).
    decoder = FrameDecoder(version, max_frame_size=max(len(data) + 1, _MAX_FRAME_SIZE))
    frames = decoder.feed(data)
    if not frames:
        reason = decoder._reader.unfinished() or "no frame in the input"
        raise ProtocolError(reason, offset=len(data) - decoder.buffered)
    if decoder.buffered:
        raise ProtocolError("bytes after the frame", offset=len(data) - decoder.buffered)
    if len(frames) > 1:
        raise ProtocolError("more than one frame", offset=None)
    return frames[0]


FrameModel._parse_frame = staticmethod(parse_frame)  # what `FrameModel.from_wire` decodes with
