"""Incremental framing: bytes in, raw frames out, every bound checked before bytes pile up."""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from ._codec import HeadShape, head_shape, parse_head
from ._errors import ProtocolError
from ._limits import Limits
from ._spec import BODY_COMMANDS_BY_VERSION, COMMANDS_BY_VERSION, Version

WINDOW = 512  # bytes searched for the end of a head before the search widens
_SMALL_BODY = 16 * 1024  # copied twice (slice, bytes) faster than through a memoryview
_MAX_SHAPES = 128  # head shapes a reader remembers (the peer picks them)
_RUN = 4  # heads in a row of one shape before it is tried first
_WINDOW_HEADS = 512  # heads looked up between two judgements of the shapes' worth:
_WORTH = _WINDOW_HEADS // 4  # with fewer known than this (a key costs a fifth of a parse)...
_PAUSE = 4096  # ...no head is looked up for this many (a stream of ever-new heads)
_NAMES_OF: Final = re.compile(rb":[^\n]*").sub  # a head without its values: its shape's key
_UNSHAPED: Final = HeadShape("", ())  # a key whose heads have no shape (`head_shape`)
_ONCE = frozenset({"CONNECT", "STOMP", "CONNECTED"})  # once a session: no shape to learn
_new_tuple = tuple.__new__  # a NamedTuple's own __new__ is a Python function


class RawFrame(NamedTuple):
    """A complete frame, before typing: command, headers (unescaped, first wins), body."""

    command: str
    headers: dict[str, str]
    body: bytes
    offset: int
    content_length: int | None


Headers = dict[str, str] | tuple[HeadShape, tuple[str, ...]]
"""A head's headers: a dict, or (the shape of the head, its values in the order of names)."""

Parts = tuple[str, Headers, bytes, int, int | None]
"""What `FrameReader.next_parts` gives: a RawFrame whose headers may be shaped."""


class FrameReader:
    """Cuts a byte stream into raw frames; feeding one byte at a time stays linear.

    Positions are indexes into `_buf`; `_base` is the stream offset of `_buf[0]`.
    """

    def __init__(self, version: Version, limits: Limits) -> None:
        # Head shapes by their key (the head without its values): None when seen once.
        self._shapes: dict[bytes, HeadShape | None] = {}
        self._keyed: tuple[int, bytes] | None = None  # (start, key) of a head looked up
        self._previous: HeadShape | None = None  # the shape of the last head read by one
        self._repeated: HeadShape | None = None  # a shape the last heads repeated
        self._run = 0  # how many heads in a row had the shape `_previous`
        self._looked = 0  # heads looked up since the last judgement
        self._found = 0  # of which had a known shape
        self._pause = 0  # heads still to read without looking for their shape
        self._version = version
        self._body_commands = BODY_COMMANDS_BY_VERSION[version]
        self.limits = limits
        self.heartbeats = 0
        self._buf: bytes | bytearray = b""
        self._base = 0
        self._start = 0  # where the current frame (or heart-beats) begins
        # How far the current search has looked, so no byte is searched twice, and the start
        # of the current head line (for max_header_line): both stale while below `_start`.
        self._scanned = 0
        self._line_start = 0
        self._head: tuple[str, Headers, int, int | None] | None = None
        self._crlf_heads = False  # whether the last head ended in "\n\r\n": search that first

    @property
    def version(self) -> Version:
        """The STOMP version heads are read by."""
        return self._version

    @version.setter
    def version(self, version: Version) -> None:
        self._version = version
        self._body_commands = BODY_COMMANDS_BY_VERSION[version]
        # Learn afresh: 1.0 has no shapes (its values are stripped; `HeadShape.read` assumes not).
        self._forget_shapes()

    @property
    def limits(self) -> Limits:
        """The bounds this reader enforces."""
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        self._limits = limits
        # Learn afresh: no shape may have more than max_headers (`HeadShape.read` assumes not).
        self._forget_shapes()
        # Derived once, not per frame: a head up to this size needs no per-line check, and a
        # content-length with more significant digits than this cannot fit.
        self._short_head = min(limits.max_header_line, limits.max_head_size)
        self._max_headers = limits.max_headers
        self._length_digits = len(str(limits.max_frame_size))

    def feed(self, data: bytes) -> None:
        """Append bytes; frames are taken out with `next_frame`."""
        buf = self._buf
        if not buf and type(data) is bytes:
            # Nothing pending: read the caller's bytes in place, so a body is one slice (one
            # copy, not a bytearray slice and then bytes()); later feeds append to a bytearray.
            self._buf = data
        elif type(buf) is bytes:
            self._buf = bytearray(buf)
            self._buf += data
        else:
            buf += data

    def next_frame(self) -> RawFrame | None:
        """Return the next complete frame, or None when more bytes are needed."""
        parts = self.next_parts()
        if parts is None:
            return None
        command, headers, body, offset, length = parts
        if isinstance(headers, tuple):
            shape, values = headers
            headers = dict(zip(shape.names, values, strict=True))
        return _new_tuple(RawFrame, (command, headers, body, offset, length))

    def next_shaped(self) -> Parts | None:
        """`next_parts` of a stream's routine frame, else None with nothing taken: a short
        head of a known shape, LF only, declaring a content-length that its body has. Whatever
        else may hold a fault (see each None below) is left to `next_parts`, which checks it."""
        buf = self._buf
        start = self._start
        if (
            self._head is not None
            or self._crlf_heads
            or self._scanned > start
            or self._pause
            or self._version == "1.0"
        ):
            # A head read already; or shortcuts: a CRLF stream (read would refuse its heads),
            # bytes searched already (`next_parts` goes on from where it stopped), shapes not
            # looked up for now (`_shape_of`), none in STOMP 1.0.
            return None
        end = len(buf)
        if start < end and buf[start] == 0x0A:  # one EOL after a frame (a heart-beat)
            start += 1
        if start >= end:
            return None
        head_end = buf.find(b"\n\n", start, start + WINDOW)
        if head_end <= start or head_end - start > self._short_head:
            return None
        head = buf[start:head_end]
        shape = self._repeated
        values = None if shape is None else shape.read(head)
        if values is None:
            self._repeated = None
            key = _NAMES_OF(b"", head)  # `_shape_of`, inline
            shape = self._shapes.get(key)
            self._looked += 1
            if shape is None or shape.length_index is None:  # unknown, unshaped, or no length
                self._keyed = (start, key)
                self._repeated = self._previous = None
                self._run = 0
                self._judge()
                return None
            self._found += 1
            # A shape found _RUN times in a row is tried first from then on, without a key: a
            # subscription's messages mostly repeat one shape (a broker's mixed heads seldom do).
            if shape is self._previous:
                self._run += 1
                if self._run >= _RUN:
                    self._repeated = shape
            else:
                self._previous, self._run = shape, 1
            values = shape.read(head)  # refuses a CR (an EOL, or bad)
        assert shape is not None and shape.length_index is not None  # (both checked above)
        if values is None:
            return None  # `next_parts` reads it, and names its fault if it has one
        text = values[shape.length_index]
        if not (text.isdigit() and text.isascii() and len(text) <= self._length_digits):
            return None
        body_start = head_end + 2
        nul = body_start + int(text)
        if nul >= end or buf[nul] or nul + 1 - start > self._limits.max_frame_size:
            return None
        if nul > body_start and shape.command not in self._body_commands:
            return None
        if start != self._start:
            self.heartbeats += 1
        self._start = nul + 1
        body = buf[body_start:nul] if isinstance(buf, bytes) else _copy(buf, body_start, nul)
        return shape.command, (shape, values), body, self._base + start, nul - body_start

    def next_parts(self) -> Parts | None:
        """`next_frame` as a plain tuple, for the decoder's loop."""
        head = self._head or self._read_head()
        if head is None:
            self._compact()
            return None
        command, headers, body_start, length = head
        buf = self._buf
        if length is not None:
            nul = body_start + length
            if nul >= len(buf):
                self._head = head
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
                self._head = head
                self._check_unfinished_body(command)
                self._compact()
                return None
        start = self._start
        if nul > body_start and command not in self._body_commands:
            # STOMP 1.1/1.2 "Body": only SEND, MESSAGE and ERROR frames MAY have a body (1.0
            # lets any frame have one: `BODY_COMMANDS_BY_VERSION`).
            raise ProtocolError(f"{command} frames cannot have a body", offset=self._base + start)
        self._head = None
        self._start = nul + 1
        body = buf[body_start:nul] if isinstance(buf, bytes) else _copy(buf, body_start, nul)
        return command, headers, body, self._base + start, length

    def _skip_heartbeats(self) -> None:
        buf, pos, end = self._buf, self._start, len(self._buf)
        crlf = self._version != "1.1"
        while pos < end:
            byte = buf[pos]
            if byte == 0x0A:
                pos += 1
            elif byte == 0x0D and crlf and pos + 1 < end and buf[pos + 1] == 0x0A:
                pos += 2
            else:
                break
            self.heartbeats += 1
        self._start = pos

    def _read_head(self) -> tuple[str, Headers, int, int | None] | None:
        buf = self._buf
        start = self._start
        end = len(buf)
        if start == end:
            return None
        if buf[start] == 0x0A and start + 1 < end and buf[start + 1] > 0x0D:
            # The common case, one EOL after a frame (RabbitMQ sends one after each).
            self.heartbeats += 1
            start = self._start = start + 1
        elif buf[start] in b"\r\n":
            self._skip_heartbeats()
            start = self._start
            if start == end or (buf[start] == 0x0D and start + 1 == end):
                return None
        search = self._scanned if self._scanned > start else start
        # The common case: a head that ends in "\n\n" and holds no CR, which no "\n\r\n" can
        # end sooner.
        head_end = -1 if self._crlf_heads else buf.find(b"\n\n", search, search + WINDOW)
        if head_end >= 0:
            body_start = head_end + 2
            head = buf[start:head_end]
            if 0x0D in head and self._version != "1.1":
                head_end = -1
        if head_end < 0:
            head_end, body_start = self._find_head_end(search, end)
            if head_end < 0:
                self._check_partial_head(search, end)
                return None
            head = buf[start:head_end]
        if head_end - start > self._short_head:
            self._check_long_head(start, head_end)
        shape = self._shape_of(head, start)
        values = None if shape is None else shape.read(head)
        if shape is None or values is None:
            command, headers, text = self._parse(head, start)
        else:
            index = shape.length_index
            command, headers = shape.command, (shape, values)
            text = None if index is None else values[index]
        if text is None:
            self._scanned = body_start  # the NUL ending the body is searched from here
            return command, headers, body_start, None
        if text.isdigit() and text.isascii() and len(text) <= self._length_digits:
            length = int(text)
            if body_start - start + length < self._limits.max_frame_size:
                return command, headers, body_start, length
        return command, headers, body_start, self._declared_length(command, text, body_start)

    # -- the bounds of the frame being read ------------------------------------------------
    # Where its head ends, and the checks that fail a head or a body as soon as it breaks a
    # limit, before its bytes pile up.

    def _declared_length(self, command: str, text: str, body_start: int) -> int:
        """The content-length `text` as a number, or the ProtocolError it deserves."""
        start, limits = self._start, self._limits
        if not (text.isdigit() and text.isascii()):
            raise ProtocolError(
                "content-length is not a non-negative integer", offset=self._base + start
            )
        # More digits than the limit has cannot fit (and would be slow to convert).
        if len(text) <= self._length_digits or len(text.lstrip("0")) <= self._length_digits:
            length = int(text)
            if body_start - start + length + 1 <= limits.max_frame_size:
                return length
        raise ProtocolError(
            f"{command} frame declares a content-length over max_frame_size "
            f"{limits.max_frame_size}",
            offset=self._base + start,
        )

    def _find_head_end(self, search: int, end: int) -> tuple[int, int]:
        """Where the head's blank line starts and where the body starts, or (-1, -1).

        STOMP 1.2 lines may end in CRLF; 1.0 defines no EOL and its readers strip the CR: the
        earlier of "\n\n" and "\n\r\n" ends the head (1.1: only "\n\n"). Each search is
        bounded by a window that doubles, so a stream of heads that end in "\n\r\n" and have
        no "\n\n" after them is not searched to its end for every frame.
        """
        buf = self._buf
        if self._version == "1.1":
            head_end = buf.find(b"\n\n", search)
            return head_end, head_end + 2 if head_end >= 0 else -1
        low, size = search, WINDOW
        while True:
            high = min(end, low + size)
            crlf_end = buf.find(b"\n\r\n", low, high)
            # A "\n\n" ends the head only if it starts before the "\n\r\n" (they may overlap).
            head_end = buf.find(b"\n\n", low, high if crlf_end < 0 else crlf_end + 1)
            if head_end >= 0:
                self._crlf_heads = False
                return head_end, head_end + 2
            if crlf_end >= 0:
                self._crlf_heads = True
                return crlf_end, crlf_end + 3
            if high >= end:
                return -1, -1
            low, size = high - 2, 2 * size  # a match may straddle the window's end

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
        line_start = max(self._line_start, start)
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
        elif self._version != "1.1" and buf.endswith(b"\n\r"):
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

    def _parse(self, head: bytes | bytearray, start: int) -> tuple[str, Headers, str | None]:
        """Command, headers and content-length text of a complete head starting at `start`,
        whose shape is not known yet."""
        try:
            command, headers = parse_head(head, self._version, self._max_headers)
        except ProtocolError as exc:
            raise exc.shifted(self._base + start) from None
        keyed = self._keyed
        if keyed is not None and keyed[0] == start and command not in _ONCE:
            self._learn(keyed[1], command, headers)
        return command, headers, headers.get("content-length")

    def _forget_shapes(self) -> None:
        self._shapes.clear()
        self._previous = self._repeated = None
        self._run = 0

    def _shape_of(self, head: bytes | bytearray, start: int) -> HeadShape | None:
        """The shape to read the head at `start` by, if one is known; its key is kept for
        `_learn` either way. In a stream of ever-new heads, keys are not looked for a while
        (the pause counts the heads `_read_head` reads)."""
        keyed = self._keyed
        if keyed is not None and keyed[0] == start:
            # `next_shaped` looked this head up, and found no shape it could read it by.
            shape = self._shapes.get(keyed[1])
            return None if shape is _UNSHAPED else shape
        if self._pause:
            self._pause -= 1
            self._keyed = None
            return None
        if self._version == "1.0":
            return None  # no shapes: its values are stripped
        key = _NAMES_OF(b"", head)
        self._keyed = (start, key)
        shape = self._shapes.get(key)
        self._looked += 1
        if shape is None or shape is _UNSHAPED:
            self._judge()
            return None
        self._found += 1
        return shape

    def _judge(self) -> None:
        """After a head of no known shape: once a window of heads is looked up, pause the
        lookups if few had a shape."""
        if self._looked >= _WINDOW_HEADS:
            if self._found < _WORTH:
                self._pause = _PAUSE
            self._looked = self._found = 0

    def _learn(self, key: bytes, command: str, headers: dict[str, str]) -> None:
        """Note the shape of a head under its key; from its second sighting, heads of that
        key are first read as that shape (compiling one costs a few dozen heads' parsing)."""
        shapes = self._shapes
        if key not in shapes:
            if len(shapes) < _MAX_SHAPES:
                shapes[key] = None
        elif shapes[key] is None:
            shapes[key] = head_shape(command, headers, self._version) or _UNSHAPED

    def _compact(self) -> None:
        """Drop consumed bytes, once per call that needs more data (amortised O(1) per byte)."""
        drop = self._start
        if drop:
            if isinstance(self._buf, bytes):
                self._buf = self._buf[drop:]
            else:
                del self._buf[:drop]
            self._base += drop
            self._start = 0
            self._scanned -= drop
            self._line_start -= drop
            if self._head is not None:
                command, headers, body_start, length = self._head
                self._head = (command, headers, body_start - drop, length)

    def unfinished(self) -> str | None:
        """Where the bytes fed so far end, if they end inside a frame (None if they do not):
        what an owner whose input has ended reports as a truncated frame."""
        buf, start, head = self._buf, self._start, self._head
        if head is not None:
            command, _, body_start, length = head
            got = len(buf) - body_start
            if length is None or got >= length:
                return f"the input ends inside a {command} frame (no NUL after the body)"
            return (
                f"the input ends inside a {command} frame (its body has {got} of the "
                f"{length} bytes its content-length declares)"
            )
        end = len(buf)
        while start < end and buf[start] in b"\r\n":  # heart-beats, or the start of one
            start += 1
        if start == end:
            return None
        line_end = buf.find(b"\n", start)
        command = bytes(buf[start:line_end]).decode("utf-8", "replace").strip()
        if line_end < 0 or command not in COMMANDS_BY_VERSION[self._version]:
            return "the input ends inside a frame head (no blank line after it)"
        return f"the input ends inside a {command} frame head (no blank line after it)"

    @property
    def buffered(self) -> int:
        """Bytes held for the frame in progress."""
        return len(self._buf) - self._start


def _copy(buf: bytearray, start: int, end: int) -> bytes:
    """`buf[start:end]` as bytes."""
    if end - start <= _SMALL_BODY:
        return bytes(buf[start:end])
    with memoryview(buf) as view:  # one copy of a large body, not two
        return bytes(view[start:end])
