"""The bounds of a frame being read: where its head ends, and the checks that fail a head or a
body as soon as it breaks a limit, before its bytes pile up (`FrameReader`'s half that judges)."""

from __future__ import annotations

from ._errors import ProtocolError
from ._limits import Limits
from ._spec import Version

WINDOW = 512  # bytes searched for the end of a head before the search widens


class HeadBounds:
    """Checks on the frame in progress, for `FrameReader`, which keeps the state they read.

    Positions are indexes into `_buf`; `_base` is the stream offset of `_buf[0]`.
    """

    _buf: bytes | bytearray
    _base: int
    _start: int
    _scanned: int
    _line_start: int
    _crlf_heads: bool
    _version: Version
    _limits: Limits
    _length_digits: int

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
