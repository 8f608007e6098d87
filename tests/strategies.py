"""Hypothesis strategies for every stompmodels frame, restricted to what a version can carry.

`frames(version)` draws any frame a peer of that STOMP version may send; `frame_of(cls, version)`
draws one model. The restrictions (see docs/_api_brief.md):

- 1.0: no CR/LF anywhere, no colon in names, no surrounding whitespace (``str.strip``) in names
  or values; no STOMP or NACK frames; ACK in its 1.0 form (message-id).
- 1.1: no CR (LF and colon are escaped); ACK/NACK carry message-id + subscription.
- 1.2: anything (CR is escaped too); ACK/NACK carry id.
- CONNECT and CONNECTED are never escaped: no CR/LF, no colon in names, in every version.
- NUL never appears in header text (a NUL inside a frame head cannot be framed; the decoder
  rejects it), but bodies are arbitrary bytes, NUL included.
- Custom header names never clash with the model's typed header names (nor content-length).
- Destinations of SEND/SUBSCRIBE and transactions of BEGIN/COMMIT/ABORT are never empty, and
  a 1.0 SUBSCRIBE is never client-individual (the models refuse both).
- Required fields are always present. Fields 1.1+ requires (R11) must be given at build time;
  in 1.0 they are sometimes None, as decoding a 1.0 frame that lacks them gives: such frames are
  made with `model_copy(update=...)`, since building with None is refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final, TypeVar

from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr

from stompmodels import (
    Abort,
    Ack,
    Begin,
    Commit,
    Connect,
    Connected,
    Disconnect,
    Error,
    Frame,
    HeartBeat,
    Message,
    Nack,
    Receipt,
    Send,
    Stomp,
    Subscribe,
    Unsubscribe,
    Version,
)

_Model = TypeVar("_Model", bound=BaseModel)

VERSIONS: Final[tuple[Version, ...]] = ("1.0", "1.1", "1.2")

MODELS: Final[tuple[type[Any], ...]] = (
    Connect,
    Stomp,
    Send,
    Subscribe,
    Unsubscribe,
    Ack,
    Nack,
    Begin,
    Commit,
    Abort,
    Disconnect,
    Connected,
    Message,
    Receipt,
    Error,
)
BODY_MODELS: Final[tuple[type[Any], ...]] = (Send, Message, Error)
UNESCAPED_MODELS: Final[tuple[type[Any], ...]] = (Connect, Connected)
NOT_IN_10: Final[tuple[type[Any], ...]] = (Stomp, Nack)

# Characters that stress the codec: escapes, separators, whitespace (ASCII and Unicode, including
# the Unicode line breaks str.splitlines knows), multi-byte UTF-8, and escape-letter look-alikes.
_SPECIALS: Final = "\\:\n\r \t,=\x0b\x0c\x1c\x1d\x1e\x85\xa0\u2028\u2029\u3000\ufeff\u200béé€😀ncrt"


def models_for(version: Version) -> tuple[type[Any], ...]:
    """The frame models that exist in `version` (STOMP and NACK came with 1.1)."""
    if version == "1.0":
        return tuple(m for m in MODELS if m not in NOT_IN_10)
    return MODELS


def model_version_pairs() -> list[tuple[type[Any], Version]]:
    """Every (model, version) combination that exists, for parametrised tests."""
    return [(m, v) for v in VERSIONS for m in models_for(v)]


def pair_id(pair: tuple[type[Any], Version]) -> str:
    return f"{pair[0].__name__}-{pair[1]}"


def typed_wire_names(cls: type[Any]) -> frozenset[str]:
    """Wire names of the model's typed headers (field names with '_' -> '-')."""
    fields: dict[str, Any] = cls.model_fields
    skip = {"command", "headers", "body"}
    return frozenset(name.replace("_", "-") for name in fields if name not in skip)


def forbidden_chars(
    version: Version, *, unescaped: bool, name: bool, send: bool = False
) -> frozenset[str]:
    """Characters a header name/value cannot carry in `version` (NUL: see module docstring)."""
    bad = {"\x00"}
    if version == "1.0" and send:
        bad.add("\\")  # brokers unescape a 1.0 SEND's headers: see _codec._no_backslash
    if version == "1.0" or unescaped:
        bad |= {"\r", "\n"}
        if name:
            bad.add(":")
    elif version == "1.1":
        bad.add("\r")
    return frozenset(bad)


@functools.cache
def header_text(
    version: Version,
    *,
    unescaped: bool = False,
    name: bool = False,
    send: bool = False,
    min_size: int = 0,
    max_size: int = 10,
) -> st.SearchStrategy[str]:
    """A header name or value that `version` can carry in a (un)escaped frame."""
    bad = forbidden_chars(version, unescaped=unescaped, name=name, send=send)
    specials = [c for c in _SPECIALS if c not in bad]
    alphabet = st.one_of(
        st.characters(codec="utf-8", exclude_characters=bad),
        st.sampled_from(specials),
        st.sampled_from("abcxyz019-_/."),
    )
    text = st.text(alphabet, min_size=min_size, max_size=max_size)
    if version == "1.0":
        text = text.map(str.strip).filter(lambda t: len(t) >= min_size)
    return text


def _opt(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), strategy)


@functools.cache
def _custom_headers_strategy(
    reserved: frozenset[str], version: Version, unescaped: bool, send: bool
) -> st.SearchStrategy[dict[str, str]]:
    names = header_text(version, unescaped=unescaped, name=True, send=send, min_size=1).filter(
        lambda n: n not in reserved
    )
    values = header_text(version, unescaped=unescaped, send=send)
    return st.dictionaries(names, values, max_size=4)


def _custom_headers(
    draw: st.DrawFn, cls: type[Any], version: Version, unescaped: bool
) -> dict[str, str]:
    reserved = typed_wire_names(cls) | {"content-length"}
    return draw(_custom_headers_strategy(reserved, version, unescaped, cls is Send))


def _heart_beat(draw: st.DrawFn) -> HeartBeat:
    ms = st.one_of(st.just(0), st.integers(0, 100_000), st.integers(0, 2**63))
    return HeartBeat(draw(ms), draw(ms))


def _body_kwargs(draw: st.DrawFn) -> dict[str, Any]:
    """body and, sometimes, content_length: default, explicit len(body), or opted out."""
    body = draw(
        st.one_of(
            st.just(b""),
            st.binary(max_size=64),
            st.lists(st.sampled_from([b"\x00", b"\n", b"\r\n", b"a", b"\xff", b"\x00\n"])).map(
                b"".join
            ),
        )
    )
    kwargs: dict[str, Any] = {"body": body}
    choice = draw(st.sampled_from(["default", "explicit", "none"]))
    if choice == "explicit":
        kwargs["content_length"] = len(body)
    elif choice == "none" and b"\x00" not in body:
        # A body with NUL always needs the header; without one it may be left out.
        kwargs["content_length"] = None
    return kwargs


def _maybe_absent_in_10(
    draw: st.DrawFn, frame: _Model, version: Version, fields: tuple[str, ...]
) -> _Model:
    """In 1.0, sometimes drop R11 fields, giving the frame a 1.0 decoder makes without them."""
    if version != "1.0":
        return frame
    update = {name: None for name in fields if draw(st.booleans())}
    return frame.model_copy(update=update) if update else frame


@st.composite
def _connect_like(draw: st.DrawFn, cls: type[Any], version: Version) -> Any:
    unescaped = cls in UNESCAPED_MODELS
    value = header_text(version, unescaped=unescaped)
    versions = st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=3, unique=True)
    accept: tuple[str, ...] | str | None = tuple(draw(versions))
    if draw(st.booleans()):
        assert accept is not None
        accept = ",".join(accept)  # the wire form is accepted as input too
    host: str | None = draw(value)
    secret = draw(_opt(value))
    passcode: str | SecretStr | None = secret
    if secret is not None and draw(st.booleans()):
        passcode = SecretStr(secret)
    frame = cls(
        accept_version=accept,
        host=host,
        login=draw(_opt(value)),
        passcode=passcode,
        heart_beat=_heart_beat(draw),
        headers=_custom_headers(draw, cls, version, unescaped),
    )
    return _maybe_absent_in_10(draw, frame, version, ("accept_version", "host"))


@st.composite
def _connected(draw: st.DrawFn, version: Version) -> Connected:
    value = header_text(version, unescaped=True)
    frame = Connected(
        version=draw(st.sampled_from(VERSIONS)),
        session=draw(_opt(value)),
        server=draw(_opt(value)),
        heart_beat=_heart_beat(draw),
        headers=_custom_headers(draw, Connected, version, True),
    )
    return _maybe_absent_in_10(draw, frame, version, ("version",))


@st.composite
def _send(draw: st.DrawFn, version: Version) -> Send:
    value = header_text(version, send=True)
    return Send(
        destination=draw(header_text(version, send=True, min_size=1)),
        transaction=draw(_opt(value)),
        receipt=draw(_opt(value)),
        content_type=draw(_opt(value)),
        headers=_custom_headers(draw, Send, version, False),
        **_body_kwargs(draw),
    )


@st.composite
def _subscribe(draw: st.DrawFn, version: Version) -> Subscribe:
    value = header_text(version)
    modes = ["auto", "client"] if version == "1.0" else ["auto", "client", "client-individual"]
    frame = Subscribe(
        destination=draw(header_text(version, min_size=1)),
        id=draw(value),
        ack=draw(st.sampled_from(modes)),
        receipt=draw(_opt(value)),
        headers=_custom_headers(draw, Subscribe, version, False),
    )
    return _maybe_absent_in_10(draw, frame, version, ("id",))


@st.composite
def _unsubscribe(draw: st.DrawFn, version: Version) -> Unsubscribe:
    value = header_text(version)
    frame = Unsubscribe(
        id=draw(value),
        destination=draw(_opt(value)),
        receipt=draw(_opt(value)),
        headers=_custom_headers(draw, Unsubscribe, version, False),
    )
    if frame.destination is None:
        return frame
    # 1.0 names the subscription by id or by destination: the id may be absent then.
    return _maybe_absent_in_10(draw, frame, version, ("id",))


@st.composite
def _ack_like(draw: st.DrawFn, cls: type[Any], version: Version) -> Any:
    """ACK/NACK in the form of `version`: id (1.2), message-id+subscription (1.1), message-id."""
    value = header_text(version)
    form: dict[str, str | None] = {}
    if version == "1.2":
        form["id"] = draw(value)
    elif version == "1.1":
        form["message_id"] = draw(value)
        form["subscription"] = draw(value)
    else:
        form["message_id"] = draw(value)
    return cls(
        **form,
        transaction=draw(_opt(value)),
        receipt=draw(_opt(value)),
        headers=_custom_headers(draw, cls, version, False),
    )


@st.composite
def _transaction_frame(draw: st.DrawFn, cls: type[Any], version: Version) -> Any:
    value = header_text(version)
    return cls(
        transaction=draw(header_text(version, min_size=1)),
        receipt=draw(_opt(value)),
        headers=_custom_headers(draw, cls, version, False),
    )


@st.composite
def _disconnect(draw: st.DrawFn, version: Version) -> Disconnect:
    return Disconnect(
        receipt=draw(_opt(header_text(version))),
        headers=_custom_headers(draw, Disconnect, version, False),
    )


@st.composite
def _message(draw: st.DrawFn, version: Version) -> Message:
    value = header_text(version)
    frame = Message(
        destination=draw(value),
        message_id=draw(value),
        subscription=draw(value),
        ack=draw(_opt(value)),
        content_type=draw(_opt(value)),
        headers=_custom_headers(draw, Message, version, False),
        **_body_kwargs(draw),
    )
    return _maybe_absent_in_10(draw, frame, version, ("subscription",))


@st.composite
def _receipt(draw: st.DrawFn, version: Version) -> Receipt:
    return Receipt(
        receipt_id=draw(header_text(version)),
        headers=_custom_headers(draw, Receipt, version, False),
    )


@st.composite
def _error(draw: st.DrawFn, version: Version) -> Error:
    value = header_text(version)
    return Error(
        message=draw(_opt(value)),
        receipt_id=draw(_opt(value)),
        content_type=draw(_opt(value)),
        headers=_custom_headers(draw, Error, version, False),
        **_body_kwargs(draw),
    )


_BUILDERS: Final[dict[type[Any], Callable[[Version], st.SearchStrategy[Any]]]] = {
    Connect: lambda v: _connect_like(Connect, v),
    Stomp: lambda v: _connect_like(Stomp, v),
    Send: _send,
    Subscribe: _subscribe,
    Unsubscribe: _unsubscribe,
    Ack: lambda v: _ack_like(Ack, v),
    Nack: lambda v: _ack_like(Nack, v),
    Begin: lambda v: _transaction_frame(Begin, v),
    Commit: lambda v: _transaction_frame(Commit, v),
    Abort: lambda v: _transaction_frame(Abort, v),
    Disconnect: _disconnect,
    Connected: _connected,
    Message: _message,
    Receipt: _receipt,
    Error: _error,
}


def frame_of(cls: type[Any], version: Version) -> st.SearchStrategy[Frame]:
    """Frames of model `cls` that `version` can carry."""
    if cls not in models_for(version):
        raise ValueError(f"{cls.__name__} does not exist in STOMP {version}")
    return _BUILDERS[cls](version)


def frames(version: Version) -> st.SearchStrategy[Frame]:
    """Any frame that `version` can carry."""
    return st.one_of([frame_of(cls, version) for cls in models_for(version)])


def wire_headers(frame: Frame) -> dict[str, str]:
    """The headers `frame` should put on the wire, unescaped, in wire order.

    An independent statement of the encoding rules: typed fields first, the command's own in
    declaration order and then the inherited body fields (content-type, content-length), with
    None and a (0, 0) heart-beat left out, accept-version joined with commas and the passcode in
    clear; then the custom headers.
    """
    cls = type(frame)
    fields: dict[str, Any] = cls.model_fields
    own: dict[str, Any] = vars(cls).get("__annotations__", {})
    names = [f for f in fields if f not in ("command", "headers", "body")]
    names.sort(key=lambda f: f not in own)  # stable: keeps declaration order within each group
    out: dict[str, str] = {}
    for field in names:
        value: object = getattr(frame, field)
        wire = field.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, HeartBeat):
            if value != (0, 0):
                out[wire] = f"{value.send_ms},{value.receive_ms}"
        elif isinstance(value, SecretStr):
            out[wire] = value.get_secret_value()
        elif isinstance(value, tuple):
            out[wire] = ",".join(str(item) for item in value)
        elif isinstance(value, int | str):
            out[wire] = str(value)
        else:  # pragma: no cover - a new field type this helper does not know
            raise TypeError(f"{field}: unexpected {type(value).__name__}")
    out.update(frame.headers)
    return out
