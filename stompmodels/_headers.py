"""Typed header values and their wire forms."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    Field,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    SerializationInfo,
    WithJsonSchema,
)

from ._spec import VERSIONS

_VERSION_TEXT: Final = re.compile(r"[0-9]+(?:\.[0-9]+)*")

AckMode = Literal["auto", "client", "client-individual"]


class _HeartBeatFields(NamedTuple):
    send_ms: int
    receive_ms: int


class HeartBeat(_HeartBeatFields):
    """The `heart-beat` header: how often a side sends, and wants to receive, in ms (0: never).

    Both values are non-negative ints (STOMP 1.2 "Heart-beating"); anything else is a
    ValueError naming the value."""

    __slots__ = ()

    def __new__(cls, send_ms: int, receive_ms: int) -> HeartBeat:
        for what, value in (("send_ms", send_ms), ("receive_ms", receive_ms)):
            if type(value) is not int or value < 0:
                raise ValueError(f"heart-beat {what} must be a non-negative integer")
        return _new_tuple(cls, (send_ms, receive_ms))

    def to_wire(self) -> str:
        """The header value, e.g. ``"10000,10000"``."""
        return f"{self.send_ms},{self.receive_ms}"


_new_tuple: Final = tuple.__new__


NO_HEART_BEAT: Final = HeartBeat(0, 0)


def _non_negative(value: object, what: str) -> int:
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise ValueError(f"{what} must be a non-negative integer")
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(f"{what} must be a non-negative integer")


def _to_heart_beat(value: object) -> HeartBeat:
    if isinstance(value, str):
        parts: tuple[object, ...] = tuple(value.split(","))
    elif isinstance(value, tuple | list):
        parts = tuple(value)
    else:
        raise ValueError("heart-beat must be 'send,receive' or a (send_ms, receive_ms) pair")
    if len(parts) != 2:
        raise ValueError("heart-beat must have exactly two values")
    # Both values checked here: built without HeartBeat.__new__ checking them again.
    pair = (_non_negative(parts[0], "heart-beat"), _non_negative(parts[1], "heart-beat"))
    return _new_tuple(HeartBeat, pair)


def _to_versions(value: object) -> tuple[str, ...]:
    items: tuple[object, ...]
    if isinstance(value, str):
        items = tuple(value.split(","))
    elif isinstance(value, tuple | list):
        items = tuple(value)
    else:
        raise ValueError("accept-version must be 'v1,v2' or a sequence of version strings")
    versions = tuple(item for item in items if isinstance(item, str))
    if not versions or len(versions) != len(items):
        raise ValueError("accept-version must list at least one version string")
    if not all(_VERSION_TEXT.fullmatch(version) for version in versions):
        raise ValueError("accept-version entries must look like '1.2'")
    # STOMP 1.2 "Protocol Negotiation": the versions offered must include one both sides speak;
    # later ones may be listed too, but an offer of none of ours can never be accepted.
    if not any(version in VERSIONS for version in versions):
        raise ValueError(f"accept-version must offer one of {', '.join(VERSIONS)}")
    return versions


def _heart_beat_out(value: HeartBeat, info: SerializationInfo) -> Any:
    # JSON mode gives the [send_ms, receive_ms] pair; Python mode the value, which pydantic
    # hands back as a plain (send_ms, receive_ms) tuple (it rebuilds tuples), equal to it.
    return [value[0], value[1]] if info.mode_is_json() else value


def _versions_out(value: tuple[str, ...], info: SerializationInfo) -> Any:
    # Python mode keeps the tuple; JSON mode gives a list of version strings.
    return list(value) if info.mode_is_json() else value


_MS: Final[dict[str, Any]] = {"type": "integer", "minimum": 0}
_MS_PAIR: Final[dict[str, Any]] = {
    "type": "array",
    "prefixItems": [{**_MS, "title": "Send Ms"}, {**_MS, "title": "Receive Ms"}],
    "minItems": 2,
    "maxItems": 2,
}
_VERSION_PATTERN: Final = r"[0-9]+(?:\.[0-9]+)*"
_VERSION_LIST: Final[dict[str, Any]] = {
    "type": "array",
    "items": {"type": "string", "pattern": f"^{_VERSION_PATTERN}$"},
    "minItems": 1,
    "contains": {"enum": list(VERSIONS)},
}

HeartBeatValue = Annotated[
    HeartBeat,
    PlainValidator(_to_heart_beat),
    PlainSerializer(_heart_beat_out),
    WithJsonSchema(_MS_PAIR, mode="serialization"),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "array",
                    "prefixItems": [{"anyOf": [_MS, {"type": "string", "pattern": "^[0-9]+$"}]}]
                    * 2,
                    "minItems": 2,
                    "maxItems": 2,
                },
                {"type": "string", "pattern": "^[0-9]+,[0-9]+$"},
            ]
        },
        mode="validation",
    ),
]
"""A heart-beat field: accepts a HeartBeat, a 2-tuple or the wire string. Python-mode dumps
give the ``(send_ms, receive_ms)`` tuple (equal to the HeartBeat, not one: pydantic rebuilds
tuples); JSON gives the pair ``[send_ms, receive_ms]``. Both validate back."""

Versions = Annotated[
    tuple[str, ...],
    PlainValidator(_to_versions),
    PlainSerializer(_versions_out),
    WithJsonSchema(_VERSION_LIST, mode="serialization"),
    WithJsonSchema(
        {
            "anyOf": [
                _VERSION_LIST,
                {
                    "type": "string",
                    "pattern": f"^{_VERSION_PATTERN}(?:,{_VERSION_PATTERN})*$",
                },
            ]
        },
        mode="validation",
    ),
]
"""The accept-version field: accepts a sequence of versions or the wire string "1.1,1.2".
Python-mode dumps keep the tuple; JSON gives a list of version strings."""


def _body_out(body: bytes) -> str:
    return base64.b64encode(body).decode("ascii")


Body = Annotated[
    bytes,
    PlainSerializer(_body_out, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]
"""A frame body: bytes; in JSON, standard base64 (RFC 4648 section 4, padded), which JSON
validation reads back (`val_json_bytes="base64"` on the models, which takes the URL-safe
alphabet too). Python-mode dumps keep the bytes."""

NonEmpty = Annotated[str, Field(min_length=1)]
"""A header naming something (a destination, a transaction): never the empty string. The
decoder's unvalidated path checks it too (`Plan.nonempty`)."""

EMPTY_HEADERS: Final[Mapping[str, str]] = MappingProxyType({})

Headers = Annotated[
    Mapping[str, str],
    AfterValidator(MappingProxyType),
    PlainSerializer(dict, return_type=dict[str, str]),
]
"""Custom headers: validated from any mapping of str to str into a new dict, held read-only
(a `MappingProxyType`: the frame is frozen, so are its headers), in wire order; serialized as
a dict. A proxy compares equal to a dict with the same items."""

ContentLength = Annotated[int, Field(strict=True, ge=0)]
"""A byte count: a non-negative int (the decoder checks the wire's digits itself)."""


def wire_value(value: object) -> str | None:
    """The header text of a typed field value, or None when the header is left out."""
    if type(value) is int:  # content-length, the one typed value on most frames
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, HeartBeat):
        return None if value == NO_HEART_BEAT else value.to_wire()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return None
