"""How the command line shows frames: JSON lines, readable blocks, a progress line.

Every output goes through a frame's model dump, where a passcode is a `SecretStr` and shows as
asterisks, so no output can carry one. What a peer sent (header names and values, a destination,
a text body) is shown escaped in the readable form (`escape`): it cannot move the cursor, clear
the screen or start a new line. JSON lines are exact JSON (ASCII, with JSON's own escapes).
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
from typing import Any, Final, TextIO

from stompmodels._frames import Frame

PREVIEW_CHARS: Final = 200
"""How much of a text body the readable form shows."""
PREVIEW_BYTES: Final = 32
"""How much of a binary body the readable form shows (as hex)."""

_SHORT_ESCAPES: Final = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_UNSAFE: Final = re.compile(
    # C0 controls (ESC among them), DEL, C1 controls (CSI among them), line and paragraph
    # separators, and the bidirectional controls that reorder what a line shows.
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]"
)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def escape(text: str, *, backslash: bool = True) -> str:
    """`text` safe to show on a terminal, in one line: control characters as JSON escapes.

    ``\\n``, ``\\t``, ``\\r``, ``\\b`` and ``\\f`` keep their short forms; other controls (ESC
    is ``\\u001b``), line separators and bidirectional controls become ``\\uXXXX``. With
    `backslash`, a backslash doubles, so that the escapes are unambiguous.
    """
    if backslash:
        text = text.replace("\\", "\\\\")
    return _UNSAFE.sub(_escape_one, text)


def body_fields(body: bytes) -> dict[str, str]:
    """`body` as JSON fields: the text if it is valid UTF-8, else base64, and which it is."""
    try:
        return {"body": body.decode("utf-8"), "body_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(body).decode("ascii"), "body_encoding": "base64"}


def frame_record(frame: Frame, **extra: object) -> dict[str, Any]:
    """The frame's JSON-mode model dump (field names), with `extra` keys first.

    A body becomes `body` plus `body_encoding` ("utf-8" or "base64"); a passcode shows as
    asterisks.
    """
    record: dict[str, Any] = dict(extra)
    record.update(frame.model_dump(mode="json", exclude={"body"}))
    body = getattr(frame, "body", None)
    if isinstance(body, bytes):
        record.update(body_fields(body))
    return record


def frame_json(frame: Frame, **extra: object) -> str:
    """One JSON line (ASCII only) for `frame`; see `frame_record`."""
    return json.dumps(frame_record(frame, **extra))


def header_lines(frame: Frame) -> list[tuple[str, str]]:
    """(wire name, text) of the headers a frame has: typed ones that are set, then custom ones.

    Typed values come from the JSON-mode dump, so a passcode is masked.
    """
    typed = frame.model_dump(
        mode="json", by_alias=True, exclude={"command", "headers", "body"}, exclude_unset=True
    )
    # Decoded frames mark what was on the wire as set; a built frame may hold more.
    if not typed:
        typed = frame.model_dump(mode="json", by_alias=True, exclude={"command", "headers", "body"})
    pairs = [(name, str(value)) for name, value in typed.items() if value is not None]
    pairs.extend(frame.headers.items())
    return pairs


def quoted(text: str) -> str:
    """`text` in double quotes, escaped: a JSON string literal that shows safely (non-ASCII
    letters stay as they are)."""
    return '"' + escape(text).replace('"', '\\"') + '"'


def body_preview(body: bytes) -> str:
    """A one-line view of a body: quoted text (escaped, cut short) or the first bytes in hex."""
    size = f"{len(body)} byte{'' if len(body) == 1 else 's'}"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        shown = body[:PREVIEW_BYTES].hex(" ")
        more = " ..." if len(body) > PREVIEW_BYTES else ""
        return f"body ({size}, binary): {shown}{more}"
    more = " ..." if len(text) > PREVIEW_CHARS else ""
    return f"body ({size}): {quoted(text[:PREVIEW_CHARS])}{more}"


def frame_text(frame: Frame, where: str = "") -> str:
    """A readable block: the command and destination, one header a line, a body preview.

    Header names and values (the destination too) are escaped (`escape`): one line each.
    """
    destination = getattr(frame, "destination", None)
    title = frame.command + (f" {escape(destination)}" if destination else "") + where
    lines = [title]
    lines.extend(f"  {escape(name)}: {escape(value)}" for name, value in header_lines(frame))
    body = getattr(frame, "body", None)
    if isinstance(body, bytes) and body:
        lines.append("  " + body_preview(body))
    return "\n".join(lines)


class Progress:
    """A one-line ``sent 10/100`` counter redrawn with ``\\r``, shown only on a terminal."""

    def __init__(self, total: int, stream: TextIO | None = None, every: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.total = total
        self.every = every
        self.enabled = total > 1 and self.stream.isatty()
        self._drawn = 0.0
        self._shown = False

    def update(self, done: int) -> None:
        """Redraw when at most every `every` seconds, and always for the last one."""
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self._drawn < self.every:
            return
        self._drawn = now
        self._shown = True
        self.stream.write(f"\rsent {done}/{self.total}")
        self.stream.flush()

    def finish(self) -> None:
        """End the line so that whatever comes next starts on a fresh one."""
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False
