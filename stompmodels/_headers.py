"""Typed header values and their wire forms."""

from __future__ import annotations

import re
from typing import Annotated, Final, Literal, NamedTuple

from pydantic import Field, PlainSerializer, PlainValidator, SecretStr

_VERSION_TEXT: Final = re.compile(r"[0-9]+(?:\.[0-9]+)*")

AckMode = Literal["auto", "client", "client-individual"]


class HeartBeat(NamedTuple):
    """The `heart-beat` header: how often a side sends, and wants to receive, in ms (0: never)."""

    send_ms: int
    receive_ms: int

    def to_wire(self) -> str:
        """The header value, e.g. ``"10000,10000"``."""
        return f"{self.send_ms},{self.receive_ms}"


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
    return HeartBeat(_non_negative(parts[0], "heart-beat"), _non_negative(parts[1], "heart-beat"))


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
    return versions


HeartBeatValue = Annotated[
    HeartBeat, PlainValidator(_to_heart_beat), PlainSerializer(HeartBeat.to_wire)
]
"""A heart-beat field: accepts a HeartBeat, a 2-tuple or the wire string."""

Versions = Annotated[tuple[str, ...], PlainValidator(_to_versions), PlainSerializer(",".join)]
"""The accept-version field: accepts a sequence of versions or the wire string "1.1,1.2"."""

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
