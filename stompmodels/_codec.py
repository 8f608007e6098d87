"""The byte syntax of a STOMP frame: header escaping per version, frame heads, frame encoding."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from ._errors import ProtocolError
from ._spec import COMMANDS_BY_VERSION, UNESCAPED_COMMANDS, Version

_Transform = Callable[[str, str], str]  # (text, header name for messages) -> wire text

_NEEDS_ESCAPE: Final = re.compile(r"[\\\r\n:]").search


def _escape_11(text: str, name: str) -> str:
    if not _NEEDS_ESCAPE(text):
        return text
    if "\r" in text:
        # STOMP 1.1 defines no escape for CR, and a raw CR would be misread by 1.2 peers.
        raise ValueError(f"header {name!r}: STOMP 1.1 cannot carry a carriage return")
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace(":", "\\c")


def _replace_12(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace(":", "\\c")


def _escape_12(text: str, name: str) -> str:
    return _replace_12(text) if _NEEDS_ESCAPE(text) else text


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


def _no_backslash(text: str, name: str) -> str:
    if "\\" in text:
        # STOMP 1.0 has no escapes, yet both brokers unescape 1.0 frames: ActiveMQ hands a
        # SEND's "\\n" to 1.0 consumers as a raw line break (an injected header), and RabbitMQ
        # drops the connection on an undefined escape. Only SEND headers reach other clients.
        raise ValueError(f"header {name!r}: a STOMP 1.0 SEND cannot carry a backslash")
    return text


def _send_name_10(text: str, name: str) -> str:
    return _raw_name_10(_no_backslash(text, name), name)


def _send_value_10(text: str, name: str) -> str:
    return _raw_value_10(_no_backslash(text, name), name)


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
    command: str, headers: list[tuple[str, str]], body: bytes, version: Version
) -> bytes:
    """Return the wire bytes of a frame; ValueError if `version` cannot carry a header."""
    if command not in COMMANDS_BY_VERSION[version]:
        raise ValueError(f"{command} frames do not exist in STOMP {version}")
    return frame_bytes(command, headers, body, version)


def frame_bytes(
    command: str, headers: list[tuple[str, str]], body: bytes, version: Version
) -> bytes:
    """`encode_frame` of a command that exists in `version`."""
    count = len(headers)
    if not count:
        return b"".join((f"{command}\n\n".encode(), body, b"\0"))
    if version != "1.0" and command not in UNESCAPED_COMMANDS:
        # All names and values in one string, joined by NUL and SOH, which escaping leaves as
        # they are; their counts prove no header held one (NUL is refused below, SOH is sent).
        # Models guarantee names are non-empty.
        flat = "\x01".join(map("\0".join, headers))
        if (
            flat.count("\0") == count
            and flat.count("\x01") == count - 1
            and not (version == "1.1" and "\r" in flat)
        ):
            if ":" in flat or "\\" in flat or "\n" in flat or "\r" in flat:
                flat = _replace_12(flat)  # 1.1 escapes the same, less CR (none here)
            text = flat.replace("\0", ":").replace("\x01", "\n")
            return b"".join((f"{command}\n{text}\n\n".encode(), body, b"\0"))
    return encode_each(command, headers, body, version)


def encode_plain(command: str, lines: list[str], body: bytes, version: Version) -> bytes | None:
    """The wire bytes of a frame whose "name:value" `lines` need no escaping and break no rule;
    None when one might (`frame_bytes` then decides). The command exists in `version`."""
    if version == "1.0" or command in UNESCAPED_COMMANDS or not lines:
        return None
    text = "\n".join(lines)
    count = len(lines)
    # The separators are all the ":" and LF there are, and there is no backslash, CR or NUL:
    # then no name or value needs escaping or must be refused.
    if (
        text.count(":") == count
        and text.count("\n") == count - 1
        and "\\" not in text
        and "\r" not in text
        and "\0" not in text
    ):
        return b"".join((f"{command}\n{text}\n\n".encode(), body, b"\0"))
    return None


def encode_each(
    command: str, headers: list[tuple[str, str]], body: bytes, version: Version
) -> bytes:
    """`frame_bytes` header by header: 1.0, CONNECT/CONNECTED, and whatever must be refused
    with its name (the passes of `frame_bytes` give the same bytes when they apply)."""
    table = _UNESCAPED if command in UNESCAPED_COMMANDS else _ESCAPED
    name_of, value_of = table[version]
    if version == "1.0" and command == "SEND":
        name_of, value_of = _send_name_10, _send_value_10
    lines = [command]
    for name, value in headers:
        if not name:
            raise ValueError("a header name cannot be empty")
        if "\0" in name or "\0" in value:
            # A NUL ends a frame (STOMP 1.2 "STOMP Frames"); no version can escape it.
            raise ValueError(f"header {name!r}: NUL cannot be sent in a header")
        lines.append(f"{name_of(name, name)}:{value_of(value, name)}")
    lines.append("\n")
    return b"".join(("\n".join(lines).encode(), body, b"\0"))


_CHARSET: Final = re.compile(r";\s*charset=([^;\s]+)", re.IGNORECASE)


def encode_text(text: str, content_type: str | None) -> bytes:
    """A text body in the charset its `content_type` declares (UTF-8 when it names none, STOMP
    1.2 "Header content-type"); ValueError naming the charset if Python knows no such text
    encoding or it cannot encode `text`."""
    found = _CHARSET.search(content_type) if content_type else None
    if found is None:
        return text.encode()
    charset = found.group(1).strip("\"'")
    try:
        return text.encode(charset)
    except LookupError:
        raise ValueError(f"unknown charset {charset!r} in the content-type") from None
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"the body cannot be encoded in charset {charset!r} of its content-type "
            f"(character {exc.start}: {exc.reason})"
        ) from None
    except UnicodeError:
        raise ValueError(
            f"the body cannot be encoded in charset {charset!r} of its content-type"
        ) from None


def encode_id_frame(command: str, ident: str) -> bytes | None:
    """The STOMP 1.2 bytes of a frame whose one header is `id` (an ACK or NACK); None if
    `ident` holds a NUL, which no header can carry (`frame_bytes` then refuses it)."""
    if "\0" in ident:
        return None
    if "\\" in ident or "\n" in ident or "\r" in ident:
        ident = _replace_12(ident)
    elif ":" in ident:
        ident = ident.replace(":", "\\c")  # ActiveMQ's ids: colons only
    return f"{command}\nid:{ident}\n\n\0".encode()


def _unescape(
    text: str, version: Version, command: str, header: str, line: int | None = None
) -> str:
    """`text` with its escapes replaced: the value of `header`, or with `line`, the name on
    that line (the error says which; it is made only when raised)."""
    result = unescaped(text, version)
    if result is None:
        # STOMP 1.2 "Value Encoding": undefined escape sequences MUST be treated as fatal.
        what = f"header {header!r}" if line is None else f"header name on line {line}"
        raise ProtocolError(f"{command} frame: undefined escape sequence in {what}")
    return result


def unescaped(text: str, version: Version) -> str | None:
    """`text` with the escapes of `version` (1.1 or 1.2) replaced; None if it holds an
    undefined one."""
    if "\\\\" in text:
        # NUL cannot occur in a head (parse_head refuses it), so it can stand in for "\\"
        # while the other sequences are replaced.
        result = text.replace("\\\\", "\0").replace("\\n", "\n").replace("\\c", ":")
    else:
        result = text.replace("\\n", "\n").replace("\\c", ":")
    if version == "1.2":
        result = result.replace("\\r", "\r")
    if "\\" in result:  # any backslash left over starts an undefined escape
        return None
    return result.replace("\0", "\\") if "\\\\" in text else result


def parse_head(
    head: bytes | bytearray, version: Version, max_headers: int
) -> tuple[str, dict[str, str]]:
    """Split a frame head (command and header lines, no blank line) into command and headers.

    Headers keep wire order; the first of repeated headers wins. Error offsets are relative
    to the head.
    """
    try:
        text = head.decode()
    except UnicodeDecodeError as exc:
        raise ProtocolError("frame head is not valid UTF-8", offset=exc.start) from None
    if "\0" in text:
        raise ProtocolError("NUL byte inside a frame head", offset=head.find(b"\0"))
    lines = text.split("\n")
    count = len(lines) - 1
    if count > max_headers:
        raise ProtocolError(f"more than max_headers {max_headers} headers", offset=0)
    if version == "1.0":
        # STOMP 1.0 defines no whitespace rules; like ActiveMQ and stomper, strip around values.
        lines = [line.strip() for line in lines]
    elif "\r" in text and version == "1.2":
        # STOMP 1.2 "Augmented BNF": EOL is an optional CR followed by LF; a CR anywhere else
        # is not an octet a command or header may hold (it must be escaped as \r).
        lines = [line.removesuffix("\r") for line in lines]
        if any("\r" in line for line in lines):
            raise ProtocolError("bare carriage return in a STOMP 1.2 frame head", offset=0)
    command = lines[0]
    if command not in COMMANDS_BY_VERSION[version]:
        shown = command if len(command) <= 32 else command[:32] + "..."
        raise ProtocolError(
            f"unknown STOMP {version} command {shown!r}", offset=0, receipt=_receipt_of(lines)
        )
    if version != "1.0":
        # Fast path; repeated names, bad lines and escaped names fall through to the loop.
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                break
            headers[name] = value
        else:
            if len(headers) == count and "" not in headers:
                if "\\" not in text or command in UNESCAPED_COMMANDS:
                    return command, headers
                if "\\" not in "\0".join(headers):
                    for name, value in headers.items():
                        if "\\" in value:
                            headers[name] = _unescape(value, version, command, name)
                    return command, headers
    escaped = version != "1.0" and command not in UNESCAPED_COMMANDS
    return command, _header_loop(command, lines, version, escaped)


class HeadShape:
    """A head's command and header names, in wire order: what the heads of a stream repeat.

    `read` takes the values out of a head of this shape with one regex match, and gives what
    `parse_head` gives for it (the values in the order of `names`), or None.
    """

    __slots__ = ("_escaped", "_fullmatch", "command", "length_index", "names", "version")

    def __init__(self, command: str, names: tuple[str, ...], version: Version = "1.2") -> None:
        self.command = command
        self.names = names
        self.version: Version = version
        self._escaped = command not in UNESCAPED_COMMANDS
        self.length_index = names.index("content-length") if "content-length" in names else None
        pattern = re.escape(command) + "".join(f"\n{re.escape(name)}:(.*)" for name in names)
        self._fullmatch = re.compile(pattern).fullmatch  # "." matches all but LF

    def read(self, head: bytes | bytearray) -> tuple[str, ...] | None:
        """The header values of `head`, if it has this shape and `parse_head` takes it without
        a doubt: no CR (an EOL, or refused), no NUL, no undefined escape; in `version`, which
        is not 1.0 (values stripped), and with no more than max_headers (the caller sees to
        both)."""
        try:
            text = head.decode()
        except UnicodeDecodeError:
            return None
        if "\r" in text or "\0" in text:
            return None
        match = self._fullmatch(text)
        if match is None:
            return None
        values: tuple[str, ...] = match.groups()
        if "\\" in text:
            # The command and names hold no backslash (`head_shape`), and an escape holds no
            # ":" or LF: the match found the lines and values parse_head would.
            if not self._escaped:
                return None
            version = self.version
            found = [unescaped(value, version) if "\\" in value else value for value in values]
            if None in found:
                return None  # parse_head names the undefined escape
            values = tuple(found)  # type: ignore[arg-type]  # no None left
        return values


def head_shape(command: str, headers: dict[str, str], version: Version) -> HeadShape | None:
    """The shape of a head that `parse_head` read as `command` and `headers` (in `version`,
    not 1.0), or None if a name may have been unescaped (its wire text differs)."""
    names = tuple(headers)
    text = "\n".join(names)
    if ":" in text or "\\" in text or "\r" in text:
        return None
    return HeadShape(command, names, version)


def _receipt_of(lines: list[str]) -> str | None:
    """The `receipt` header among the lines of a head refused as a whole, as written (for the
    ERROR a server sends: STOMP 1.2 "ERROR" asks it to name the frame's receipt)."""
    return next((line[8:] for line in lines[1:] if line.startswith("receipt:")), None)


def _header_loop(command: str, lines: list[str], version: Version, escaped: bool) -> dict[str, str]:
    headers: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=1):
        name, colon, value = line.partition(":")
        if version == "1.0":
            name, value = name.rstrip(), value.lstrip()
        if not colon or not name:
            where = sum(len(x) + 1 for x in lines[:number])  # exact for LF-only heads
            problem = "has no ':'" if not colon else "has an empty header name"
            raise ProtocolError(
                f"{command} header line {number} {problem}",
                offset=where,
                receipt=_receipt_of(lines),
            )
        if escaped and "\\" in line:
            name = _unescape(name, version, command, name, number)
            value = _unescape(value, version, command, name)
        # STOMP 1.2 "Repeated Header Entries": only the first occurrence is used.
        headers.setdefault(name, value)
    return headers
