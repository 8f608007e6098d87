"""How the command line shows frames: JSON lines, readable blocks, a progress line.

A passcode is a `SecretStr` and shows as asterisks in every output (JSON lines are the frame's
`model_dump_json`, the readable form shows `str` of the value), so no output can carry one.
What a peer sent (header names and values, a destination, a text body) is shown escaped in the
readable form (`escape`): it cannot move the cursor, clear the screen or start a new line. JSON
lines are exact JSON (ASCII, with JSON's own escapes).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import time
from typing import Any, Final, TextIO

from stompmodels._frames import Frame
from stompmodels._headers import HeartBeat
from stompmodels._plan import wire_name

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
    """`body` as JSON fields, in the models' JSON form: standard base64, and `body_encoding`
    ("base64", kept for readers of earlier output, which gave UTF-8 text as it was)."""
    return {"body": base64.b64encode(body).decode("ascii"), "body_encoding": "base64"}


def frame_record(frame: Frame, **extra: object) -> dict[str, Any]:
    """`extra` keys, then the frame's JSON dump (field names) as `model_dump_json` gives it:
    `Model.model_validate_json` reads the frame's keys back.

    A body is base64 (`body_encoding` says so); a passcode shows as asterisks; accept-version
    is a list and heart-beat a [send_ms, receive_ms] pair.
    """
    record: dict[str, Any] = dict(extra)
    record.update(json.loads(frame.model_dump_json()))
    if "body" in record:
        record["body_encoding"] = "base64"
    return record


def frame_json(frame: Frame, **extra: object) -> str:
    """One JSON line (ASCII only) for `frame`; see `frame_record`."""
    return json.dumps(frame_record(frame, **extra))


def _header_text(value: object) -> str:
    """A typed header's text as the wire carries it, but a passcode masked."""
    if isinstance(value, HeartBeat):
        return value.to_wire()
    if isinstance(value, tuple):  # accept-version
        return ",".join(value)
    return str(value)  # a SecretStr shows as asterisks


def header_lines(frame: Frame) -> list[tuple[str, str]]:
    """(wire name, text) of the headers a frame has: typed ones that are set, then custom ones.

    A passcode is masked (a `SecretStr` shows as asterisks).
    """
    exclude = {"command", "headers", "body"}
    fields = frame.model_fields_set - exclude
    # Decoded frames mark what was on the wire as set; a built frame may hold more.
    names = [name for name in type(frame).model_fields if name not in exclude]
    if fields:
        names = [name for name in names if name in fields]
    values = frame.__dict__
    pairs = [
        (wire_name(name), _header_text(values[name])) for name in names if values[name] is not None
    ]
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


class EscapingFormatter(logging.Formatter):
    """Log lines whose text (which may quote a peer: a session id, a reason) is escaped."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape(super().formatMessage(record), backslash=False)
