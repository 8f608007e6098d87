"""The byte syntax of a STOMP frame: header escaping per version, frame heads, frame encoding."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

from ._errors import ProtocolError
from ._spec import COMMANDS_BY_VERSION, UNESCAPED_COMMANDS, Version

_Transform = Callable[[str, str], str]  # (text, header name for messages) -> wire text

_NEEDS_ESCAPE: Final = re.compile(r"[\\\r\n:]").search
_ESCAPE_SEQUENCE: Final = re.compile(r"\\(.?)", re.DOTALL)
_UNESCAPES: Final[dict[Version, dict[str, str]]] = {
    "1.0": {},
    "1.1": {"\\": "\\", "n": "\n", "c": ":"},
    "1.2": {"\\": "\\", "n": "\n", "c": ":", "r": "\r"},
}


def _escape_11(text: str, name: str) -> str:
    if not _NEEDS_ESCAPE(text):
        return text
    if "\r" in text:
        # STOMP 1.1 defines no escape for CR, and a raw CR would be misread by 1.2 peers.
        raise ValueError(f"header {name!r}: STOMP 1.1 cannot carry a carriage return")
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace(":", "\\c")


def _escape_12(text: str, name: str) -> str:
    if not _NEEDS_ESCAPE(text):
        return text
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace(":", "\\c")


def _raw_value(text: str, name: str) -> str:
    if "\n" in text or "\r" in text:
        raise ValueError(f"header {name!r}: CR or LF cannot be sent in an unescaped frame")
    return text


def _raw_name(text: str, name: str) -> str:
    if ":" in text:
        raise ValueError(f"header {name!r}: a colon cannot be sent in an unescaped header name")
    return _raw_value(text, name)


def _raw_value_10(text: str, name: str) -> str:
    if text != text.strip():
        # STOMP 1.0 readers (ActiveMQ, stomper, and ours) strip the whitespace around values.
        raise ValueError(f"header {name!r}: STOMP 1.0 cannot carry surrounding whitespace")
    return _raw_value(text, name)


def _raw_name_10(text: str, name: str) -> str:
    return _raw_name(_raw_value_10(text, name), name)


# (name transform, value transform) for: escaped frames per version, and unescaped frames.
_ESCAPED: Final[dict[Version, tuple[_Transform, _Transform]]] = {
    "1.0": (_raw_name_10, _raw_value_10),
    "1.1": (_escape_11, _escape_11),
    "1.2": (_escape_12, _escape_12),
}
_UNESCAPED: Final[dict[Version, tuple[_Transform, _Transform]]] = {
    "1.0": (_raw_name_10, _raw_value_10),
    "1.1": (_raw_name, _raw_value),
    "1.2": (_raw_name, _raw_value),
}


def encode_frame(
    command: str, headers: Iterable[tuple[str, str]], body: bytes, version: Version
) -> bytes:
    """Return the wire bytes of a frame; ValueError if `version` cannot carry a header."""
    if command not in COMMANDS_BY_VERSION[version]:
        raise ValueError(f"{command} frames do not exist in STOMP {version}")
    table = _UNESCAPED if command in UNESCAPED_COMMANDS else _ESCAPED
    name_of, value_of = table[version]
    lines = [command]
    for name, value in headers:
        if not name:
            raise ValueError("a header name cannot be empty")
        lines.append(f"{name_of(name, name)}:{value_of(value, name)}")
    lines.append("\n")
    return "\n".join(lines).encode() + body + b"\0"


def _unescape(text: str, version: Version, what: str) -> str:
    table = _UNESCAPES[version]

    def replace(match: re.Match[str]) -> str:
        found = table.get(match.group(1))
        if found is None:
            # STOMP 1.2 "Value Encoding": undefined escape sequences MUST be treated as fatal.
            raise ProtocolError(f"undefined escape sequence in {what}")
        return found

    return _ESCAPE_SEQUENCE.sub(replace, text)


def parse_head(head: bytes, version: Version, offset: int) -> tuple[str, dict[str, str]]:
    """Split a frame head (command and header lines, no blank line) into command and headers.

    Headers keep wire order; the first of repeated headers wins. `offset` is the head's
    position in the stream, for error messages.
    """
    try:
        text = head.decode()
    except UnicodeDecodeError as exc:
        raise ProtocolError("frame head is not valid UTF-8", offset=offset + exc.start) from None
    lines = text.split("\n")
    if version == "1.0":
        # STOMP 1.0 defines no whitespace rules; like ActiveMQ and stomper, strip around values.
        lines = [line.strip() for line in lines]
    elif version == "1.2" and "\r" in text:
        # STOMP 1.2 "Augmented BNF": EOL is an optional CR followed by LF.
        lines = [line.removesuffix("\r") for line in lines]
    command = lines[0]
    if command not in COMMANDS_BY_VERSION[version]:
        shown = command if len(command) <= 32 else command[:32] + "..."
        raise ProtocolError(f"unknown STOMP {version} command {shown!r}", offset=offset)
    escaped = version != "1.0" and command not in UNESCAPED_COMMANDS
    headers: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=1):
        name, colon, value = line.partition(":")
        if version == "1.0":
            name, value = name.rstrip(), value.lstrip()
        if not colon or not name:
            where = offset + sum(len(x) + 1 for x in lines[:number])  # exact for LF-only heads
            problem = "has no ':'" if not colon else "has an empty header name"
            raise ProtocolError(f"{command} header line {number} {problem}", offset=where)
        if escaped and "\\" in line:
            try:
                name = _unescape(name, version, f"header name on line {number}")
                value = _unescape(value, version, f"header {name!r}")
            except ProtocolError as exc:
                raise ProtocolError(f"{command} frame: {exc}", offset=offset) from None
        # STOMP 1.2 "Repeated Header Entries": only the first occurrence is used.
        headers.setdefault(name, value)
    return command, headers
