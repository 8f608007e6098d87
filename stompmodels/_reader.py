"""Incremental framing: bytes in, raw frames out, every bound checked before bytes pile up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ._codec import parse_head
from ._errors import ProtocolError
from ._spec import BODY_COMMANDS, Version

_KIB = 1024
_MIB = 1024 * _KIB
_SMALL_BODY = 16 * _KIB  # copied twice (slice, bytes) faster than through a memoryview
_new_tuple = tuple.__new__  # a NamedTuple's own __new__ is a Python function


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what a peer may make the decoder buffer, in bytes (and header lines).

    The defaults follow ActiveMQ's STOMP transport (maxDataLength 100 MiB, maxHeaderLength
    10 KiB, maxHeaders 1000), so anything a mainstream broker accepts passes.
    """

    max_frame_size: int = 100 * _MIB + 1 * _MIB
    max_head_size: int = 1 * _MIB
    max_header_line: int = 10 * _KIB
    max_headers: int = 1000

    def __post_init__(self) -> None:
        for name in ("max_frame_size", "max_head_size", "max_header_line", "max_headers"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be positive")


class RawFrame(NamedTuple):
    """A complete frame, before typing: command, headers (unescaped, first wins), body."""

    command: str
    headers: dict[str, str]
    body: bytes
    offset: int
    content_length: int | None


class FrameReader:
    """Cuts a byte stream into raw frames; feeding one byte at a time stays linear.

    Positions are indexes into `_buf`; `_base` is the stream offset of `_buf[0]`.
    """

    def __init__(self, version: Version, limits: Limits) -> None:
        self.version: Version = version
        self.limits = limits
        self.heartbeats = 0
        self._buf = bytearray()
        self._base = 0
        self._start = 0  # where the current frame (or heart-beats) begins
        self._scanned = 0  # how far the current search has looked, so no byte is searched twice
        self._line_start = 0  # start of the current head line, for max_header_line
        self._head: tuple[str, dict[str, str], int, int | None] | None = None

    @property
    def limits(self) -> Limits:
        """The bounds this reader enforces."""
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        self._limits = limits
        # Derived once, not per frame: a head up to this size needs no per-line check, and a
        # content-length with more significant digits than this cannot fit.
        self._short_head = min(limits.max_header_line, limits.max_head_size)
        self._length_digits = len(str(limits.max_frame_size))

    def feed(self, data: bytes) -> None:
        """Append bytes; frames are taken out with `next_frame`."""
        self._buf += data

    def next_frame(self) -> RawFrame | None:
        """Return the next complete frame, or None when more bytes are needed."""
        head = self._head
        if head is None:
            head = self._read_head()
            if head is None:
                self._compact()
                return None
        command, headers, body_start, length = head
        buf = self._buf
        if length is not None:
            nul = body_start + length
            if nul >= len(buf):
                self._compact()
                return None
            if buf[nul]:
                raise ProtocolError(
                    f"{command} body of content-length {length} is not followed by NUL",
                    offset=self._base + nul,
                )
        else:
            nul = buf.find(b"\0", self._scanned)
            if nul < 0 or nul + 1 - self._start > self._limits.max_frame_size:
                self._check_unfinished_body(command)
                self._compact()
                return None
        if nul > body_start and command not in BODY_COMMANDS:
            # STOMP 1.2 "Body": only SEND, MESSAGE and ERROR frames MAY have a body.
            raise ProtocolError(
                f"{command} frames cannot have a body", offset=self._base + self._start
            )
        offset = self._base + self._start
        self._head = None
        self._start = self._scanned = self._line_start = nul + 1
        if nul - body_start <= _SMALL_BODY:
            body = bytes(buf[body_start:nul])
        else:
            with memoryview(buf) as view:  # one copy of a large body, not two
                body = bytes(view[body_start:nul])
        return _new_tuple(RawFrame, (command, headers, body, offset, length))

    def _skip_heartbeats(self) -> None:
        buf, pos, end = self._buf, self._start, len(self._buf)
        crlf = self.version != "1.1"
        while pos < end:
            byte = buf[pos]
            if byte == 0x0A:
                pos += 1
            elif byte == 0x0D and crlf and pos + 1 < end and buf[pos + 1] == 0x0A:
                pos += 2
            else:
                break
            self.heartbeats += 1
        if pos != self._start:
            self._start = self._scanned = self._line_start = pos

    def _read_head(self) -> tuple[str, dict[str, str], int, int | None] | None:
        buf = self._buf
        end = len(buf)
        start = self._start
        if start < end and buf[start] in b"\r\n":
            if buf[start] == 0x0A and (start + 1 == end or buf[start + 1] not in b"\r\n"):
                # The common case, one EOL after a frame (RabbitMQ sends one after each).
                self.heartbeats += 1
                start = self._start = self._scanned = self._line_start = start + 1
            else:
                self._skip_heartbeats()
                start = self._start
        if start == end or (buf[start] == 0x0D and start + 1 == end):
            return None
        search = self._scanned if self._scanned > start else start
        head_end = buf.find(b"\n\n", search)
        body_start = head_end + 2
        if self.version != "1.1":
            # STOMP 1.2 lines may end in CRLF; 1.0 defines no EOL and its readers strip the CR.
            # The earlier of "\n\n" and "\n\r\n" ends the head; the bound lets them overlap.
            crlf_end = buf.find(b"\n\r\n", search, body_start if head_end >= 0 else end)
            if crlf_end >= 0:
                head_end, body_start = crlf_end, crlf_end + 3
        if head_end < 0:
            self._check_partial_head(search, end)
            return None
        limits = self._limits
        if head_end - start > self._short_head:
            self._check_long_head(start, head_end)
        try:
            command, headers = parse_head(buf[start:head_end], self.version, limits.max_headers)
        except ProtocolError as exc:
            raise exc.shifted(self._base + start) from None
        length = None
        text = headers.get("content-length")
        if text is not None:
            if not (text.isdigit() and text.isascii()):
                raise ProtocolError(
                    "content-length is not a non-negative integer", offset=self._base + start
                )
            # More digits than the limit has cannot fit (and would be slow to convert).
            if len(text) <= self._length_digits or len(text.lstrip("0")) <= self._length_digits:
                length = int(text)
            if length is None or body_start - start + length + 1 > limits.max_frame_size:
                raise ProtocolError(
                    f"{command} frame declares a content-length over max_frame_size "
                    f"{limits.max_frame_size}",
                    offset=self._base + start,
                )
        self._head = head = (command, headers, body_start, length)
        self._scanned = body_start
        return head

    def _check_partial_head(self, search: int, end: int) -> None:
        """Fail as soon as an unfinished head breaks a bound, instead of buffering on.

        The header count is checked once the head is complete: until then max_head_size bounds it.
        """
        buf, start, limits = self._buf, self._start, self._limits
        offset = self._base + start
        nul = buf.find(b"\0", search, end)
        if nul >= 0:
            raise ProtocolError("frame ends (NUL) before its blank line", offset=self._base + nul)
        # Every line completed since the last call is measured, not only the last one, so the
        # verdict does not depend on where the chunks split; each byte is still searched once.
        line_start = self._line_start
        while True:
            line_end = buf.find(b"\n", max(search, line_start), end)
            if (line_end if line_end >= 0 else end) - line_start > limits.max_header_line:
                raise ProtocolError(
                    f"header line longer than max_header_line {limits.max_header_line}",
                    offset=self._base + line_start,
                )
            if line_end < 0:
                break
            line_start = line_end + 1
        self._line_start = line_start
        # The head's size leaves out what may be the start of the blank line ending it, as a
        # complete head's does, so the verdict does not depend on where the chunks split.
        head_end = end
        if buf.endswith(b"\n"):
            head_end -= 1
        elif self.version != "1.1" and buf.endswith(b"\n\r"):
            head_end -= 2
        if head_end - start > limits.max_head_size:
            raise ProtocolError(
                f"frame head over max_head_size {limits.max_head_size}", offset=offset
            )
        self._scanned = max(start, end - 2)  # "\n\r\n" may straddle the next chunk

    def _check_long_head(self, start: int, head_end: int) -> None:
        """Bounds of a complete head longer than one header line may be."""
        buf, limits = self._buf, self._limits
        if head_end - start > limits.max_head_size:
            raise ProtocolError(
                f"frame head over max_head_size {limits.max_head_size}", offset=self._base + start
            )
        line_start = start
        while line_start <= head_end:
            line_end = buf.find(b"\n", line_start, head_end)
            line_end = head_end if line_end < 0 else line_end
            if line_end - line_start > limits.max_header_line:
                raise ProtocolError(
                    f"header line longer than max_header_line {limits.max_header_line}",
                    offset=self._base + line_start,
                )
            line_start = line_end + 1

    def _check_unfinished_body(self, command: str) -> None:
        """A body read up to its NUL may grow only to max_frame_size."""
        start, end = self._start, len(self._buf)
        nul = self._buf.find(b"\0", self._scanned)
        if (nul if nul >= 0 else end) + 1 - start > self._limits.max_frame_size:
            raise ProtocolError(
                f"{command} frame over max_frame_size {self._limits.max_frame_size}",
                offset=self._base + start,
            )
        self._scanned = end

    def _compact(self) -> None:
        """Drop consumed bytes, once per call that needs more data (amortised O(1) per byte)."""
        drop = self._start
        if drop:
            del self._buf[:drop]
            self._base += drop
            self._start = 0
            self._scanned -= drop
            self._line_start -= drop
            if self._head is not None:
                command, headers, body_start, length = self._head
                self._head = (command, headers, body_start - drop, length)

    @property
    def buffered(self) -> int:
        """Bytes held for the frame in progress."""
        return len(self._buf) - self._start
