"""Typed payloads: what a value becomes on the wire, and what a MESSAGE's body becomes.

A payload goes out as JSON (`application/json`) unless it is `str` (UTF-8 text) or bytes (as
they are). A body comes back by its `content-type`: JSON for `application/json` and `+json`
(and when no content-type is named, as many producers send none), text for `text/*` in its
charset, anything else only as `bytes`.
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from typing import Final, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError
from pydantic.errors import PydanticSchemaGenerationError
from pydantic_core import PydanticSerializationError, to_json

from stompmodels._frames import Message

T = TypeVar("T")
JSON: Final = "application/json"
TEXT: Final = "text/plain;charset=utf-8"
_REASON_LIMIT: Final = 500  # characters of a reason kept in a header


class PayloadError(ValueError):
    """A MESSAGE's body cannot become the payload a handler takes: it never will, however
    often it is delivered. The message names the type and what was wrong."""


def encode_payload(payload: object, content_type: str | None = None) -> tuple[bytes, str | None]:
    """The body and content-type of `payload`: bytes as they are, `str` as UTF-8 text,
    anything else (a model, a dataclass, a dict, a list, ...) as JSON. A content-type given
    wins over the one chosen."""
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload), content_type
    if isinstance(payload, str):
        return payload.encode(), content_type or TEXT
    try:
        return to_json(payload), content_type or JSON
    except PydanticSerializationError as exc:
        raise TypeError(f"cannot send a {type(payload).__name__} as JSON: {exc}") from None


def media_type(content_type: str | None) -> str:
    """The media type of a content-type header, lower case, without its parameters."""
    return (content_type or "").partition(";")[0].strip().lower()


def is_json(content_type: str | None) -> bool:
    """Whether `content_type` names JSON (`application/json`, or any `+json` type)."""
    media = media_type(content_type)
    return media == JSON or media.endswith("+json")


class _Reading(enum.Enum):
    JSON = "JSON bytes (UTF-8)"
    JSON_TEXT = "JSON text in another charset"
    TEXT = "text"
    NONE = "nothing a type can be validated from"


@functools.lru_cache(maxsize=256)
def _reading(content_type: str | None) -> _Reading:
    """How a body of `content_type` is read into a type (content-types repeat: cached)."""
    if is_json(content_type) or not media_type(content_type):
        if "charset" in (content_type or "").lower():
            return _Reading.JSON_TEXT
        return _Reading.JSON  # JSON's own default: UTF-8
    if media_type(content_type).startswith("text/"):
        return _Reading.TEXT
    return _Reading.NONE


class PayloadDecoder(Generic[T]):
    """Reads MESSAGE bodies as `T`: `bytes`, `str`, or anything pydantic's `TypeAdapter`
    accepts (raises TypeError at once for a type it cannot validate)."""

    __slots__ = ("_adapter", "kind", "name")

    def __init__(self, kind: type[T]) -> None:
        self.kind = kind
        self.name = type_name(kind)
        self._adapter: TypeAdapter[T] | None = None
        if kind is not bytes and kind is not str:
            try:
                self._adapter = TypeAdapter(kind)
            except PydanticSchemaGenerationError as exc:
                raise TypeError(f"pydantic cannot validate {self.name}: {exc}") from None

    def decode(self, message: Message) -> T:
        """The payload of `message` (PayloadError, naming why, when it cannot be one)."""
        adapter = self._adapter
        if adapter is None:
            if self.kind is bytes:
                return message.body  # type: ignore[return-value]  # T is bytes here
            return self._text(message)  # type: ignore[return-value]  # T is str here
        content_type = message.content_type
        reading = _reading(content_type)
        try:
            if reading is _Reading.JSON:
                return adapter.validate_json(message.body)
            if reading is _Reading.JSON_TEXT:
                return adapter.validate_json(self._text(message))
            if reading is _Reading.TEXT:
                return adapter.validate_python(self._text(message))
        except ValidationError as exc:
            raise PayloadError(f"not a valid {self.name}: {describe(exc)}") from exc
        raise PayloadError(f"a body of content-type {content_type} cannot be read as {self.name}")

    def reply(self, message: Message) -> T:
        """`decode` for a request's reply: a reply that is not a valid `T` raises pydantic's
        ValidationError itself (what a caller of `request` catches), other problems
        PayloadError."""
        try:
            return self.decode(message)
        except PayloadError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise exc.__cause__ from None
            raise

    def _text(self, message: Message) -> str:
        try:
            return message.text
        except (UnicodeDecodeError, LookupError) as exc:
            raise PayloadError(f"the body is not text in its charset: {exc}") from exc


def type_name(kind: object) -> str:
    """A type's short name for messages: ``Order``, ``list[Order]``, ``dict[str, int]``."""
    args = typing.get_args(kind)
    origin = typing.get_origin(kind)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in args)
    if origin is not None and args:
        return f"{type_name(origin)}[{', '.join(type_name(arg) for arg in args)}]"
    if kind is type(None):
        return "None"
    name = getattr(kind, "__name__", None)
    return name if isinstance(name, str) else repr(kind)


def describe(error: ValidationError) -> str:
    """What a ValidationError found, on one line: ``field: message; ...``."""
    parts = []
    for found in error.errors(include_url=False):
        where = ".".join(str(part) for part in found["loc"])
        parts.append(f"{where}: {found['msg']}" if where else found["msg"])
    return one_line("; ".join(parts))


def one_line(text: str, limit: int = _REASON_LIMIT) -> str:
    """`text` on one line (for a header or a log line), at most `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


_DECODERS: dict[object, PayloadDecoder[object]] = {}


def decoder_for(kind: type[T]) -> PayloadDecoder[T]:
    """The decoder of `kind`, made once per type (a TypeAdapter costs far more than a
    validation); an unhashable type gets a fresh one each time."""
    try:
        found = _DECODERS.get(kind)
    except TypeError:
        return PayloadDecoder(kind)
    if found is None:
        found = _DECODERS[kind] = PayloadDecoder(kind)
    return found  # type: ignore[return-value]
