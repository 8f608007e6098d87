"""stomp.py 9 as an oracle for the codec: it reads what we write, and we read what it writes.

What stomp.py does (stomp/utils.py, transport.py, protocol.py of 9.0.0), and so what is compared:

- `utils.parse_frame(frame)` takes ONE frame WITHOUT its NUL (the transport cuts the stream at
  the NUL, or after content-length bytes, before calling it). It returns Frame(cmd, headers, body):
  headers a dict (first of repeated headers wins), names and values UNESCAPED with the 1.2 table
  (\\r \\n \\c \\\\; unknown escapes kept as they are); body the raw bytes after the blank line.
- It unescapes in every version and for every command, CONNECT/CONNECTED included. The spec
  says never to unescape CONNECT/CONNECTED (nor anything in 1.0), so for those frames the
  comparison only uses text without a backslash, where both readings agree.
- Encoding: `Protocol11/12.send_frame` escape header VALUES only (1.1 without \\r), never names,
  and never for CONNECT or STOMP (the spec exempts CONNECT and CONNECTED, not STOMP; a client
  never sends CONNECTED, and stomp.py escapes it); Protocol10 escapes
  nothing. `utils.convert_frame` writes headers sorted by name, sets content-length to the body's
  length if the header is present, and the transport packs the lines with `utils.pack`.
- The transport's framing (`BaseTransport.__read`, private) drops a frame preceded by two or
  more EOLs in one read, and only knows LF heart-beats; the stream test keeps within that.
"""

from __future__ import annotations

from typing import Any

import pytest
import stomp
import stomp.protocol
import stomp.transport
import stomp.utils
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stompmodels import (
    Abort,
    Ack,
    Begin,
    Commit,
    Connect,
    Connected,
    Frame,
    Nack,
    Send,
    Stomp,
    Subscribe,
    Unsubscribe,
    Version,
    parse_frame,
)
from tests.strategies import BODY_MODELS, VERSIONS, frame_of, frames, header_text, wire_headers

pytestmark = pytest.mark.slow  # hypothesis searches checked against another library

ORACLE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_SPECIAL_IN_NAMES = ("\\", ":", "\n", "\r")


def test_stomp_py_9_ships_no_type_information() -> None:
    """Why typings/stomp exists: stomp.py has no py.typed marker (PEP 561)."""
    from importlib.resources import files

    assert stomp.__version__.startswith("9.")
    assert not files("stomp").joinpath("py.typed").is_file()


def _unescaped_frame(frame: Frame, version: Version) -> bool:
    return version == "1.0" or isinstance(frame, Connect | Connected)


def _no_backslash(frame: Frame) -> bool:
    return not any("\\" in k or "\\" in v for k, v in wire_headers(frame).items())


def _body(frame: Frame) -> bytes:
    body: bytes = getattr(frame, "body", b"")
    return body


def _check_stomppy_frame(parsed: stomp.utils.Frame | None, frame: Frame) -> None:
    assert parsed is not None
    assert parsed.cmd == frame.command
    expected = wire_headers(frame)
    # Same headers, in the same (wire) order: typed ones first, then the custom ones.
    assert list(parsed.headers.items()) == list(expected.items())
    assert parsed.body == _body(frame)


# --- stomp.py reads what we write ---------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@ORACLE
@given(data=st.data())
def test_stomppy_parses_our_frames(version: Version, data: st.DataObject) -> None:
    frame = data.draw(frames(version))
    if _unescaped_frame(frame, version):
        assume(_no_backslash(frame))  # stomp.py would unescape where the spec says not to
    wire = frame.to_wire(version)
    assert wire.endswith(stomp.utils.NULL)
    _check_stomppy_frame(stomp.utils.parse_frame(wire[:-1]), frame)


@pytest.mark.parametrize("cls", BODY_MODELS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("version", ["1.1", "1.2"])
@ORACLE
@given(data=st.data())
def test_stomppy_parses_our_body_frames(
    version: Version, cls: type[Any], data: st.DataObject
) -> None:
    """SEND, MESSAGE and ERROR on their own: any bytes, NUL included, with or without
    content-length, and headers that need escaping."""
    frame = data.draw(frame_of(cls, version))
    wire = frame.to_wire(version)
    _check_stomppy_frame(stomp.utils.parse_frame(wire[:-1]), frame)


class _Wire(stomp.transport.BaseTransport):
    """A stomp.py transport over a list of chunks; sent bytes are kept, as the socket would."""

    def __init__(self, chunks: list[bytes] | None = None) -> None:
        super().__init__(auto_decode=False)
        self.chunks = list(chunks or [])
        self.sent: list[bytes] = []
        self.vhost = "vhost.example"
        self.current_host_and_port = ("broker.example", 61613)
        self.connected = True

    def send(self, encoded_frame: bytes) -> None:
        self.sent.append(encoded_frame)

    def receive(self) -> bytes | None:
        return self.chunks.pop(0) if self.chunks else None

    def read_frames(self) -> list[bytes]:
        """Run stomp.py's own framing (the private BaseTransport.__read) over the chunks."""
        self.running = True
        self.blocking = False  # receive() returning None means "no more for now"
        read = getattr(self, "_BaseTransport__read")  # noqa: B009 - private, not in the stubs
        out: list[bytes] = []
        while True:
            got: list[bytes] = read()
            out.extend(got)
            if not got and not self.chunks:
                break
        return [f for f in out if f != b"\n"]  # a chunk of one LF comes back as a heart-beat


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@ORACLE
@given(data=st.data())
def test_stomppy_transport_frames_our_stream(version: Version, data: st.DataObject) -> None:
    """Several frames, LF heart-beats after some, in random chunks: stomp.py cuts and reads
    them as we wrote them (bodies with NUL included, by content-length)."""
    items = data.draw(st.lists(frames(version), min_size=1, max_size=4))
    for item in items:
        if isinstance(item, Connect | Connected):
            assume(_no_backslash(item))
    stream = b"".join(
        item.to_wire(version) + data.draw(st.sampled_from([b"", b"\n"])) for item in items
    )
    cuts = sorted(set(data.draw(st.lists(st.integers(0, len(stream)), max_size=6))))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    raw = _Wire([c for c in chunks if c]).read_frames()
    assert len(raw) == len(items)
    for got, item in zip(raw, items, strict=True):
        _check_stomppy_frame(stomp.utils.parse_frame(got), item)


# --- we read what stomp.py writes ---------------------------------------------------------------


def _protocol(
    version: Version, wire: _Wire
) -> stomp.protocol.Protocol10 | stomp.protocol.Protocol11:
    if version == "1.0":
        return stomp.protocol.Protocol10(wire)
    if version == "1.1":
        return stomp.protocol.Protocol11(wire)
    return stomp.protocol.Protocol12(wire)


def _sent(wire: _Wire) -> bytes:
    assert len(wire.sent) == 1
    return wire.sent.pop()


@pytest.mark.parametrize("version", VERSIONS)
@ORACLE
@given(data=st.data())
def test_we_parse_frames_stomppy_encodes(version: Version, data: st.DataObject) -> None:
    """Any frame, its headers handed to stomp.py's send_frame (escaping) and transport
    (convert_frame + pack): parse_frame gives the frame back."""
    frame = data.draw(frames(version))
    headers = wire_headers(frame)
    if version != "1.0" and not isinstance(frame, Connect):
        # stomp.py never escapes names; it leaves STOMP frames unescaped, and (a client) it
        # escapes CONNECTED ones: keep to text on which both readings agree.
        assume(not any(c in name for name in headers for c in _SPECIAL_IN_NAMES))
        if isinstance(frame, Stomp):
            assume(not any(c in v for v in headers.values() for c in "\\\n\r"))
        if isinstance(frame, Connected):
            assume(not any(c in v for v in headers.values() for c in "\\:"))
    wire = _Wire()
    _protocol(version, wire).send_frame(frame.command, dict(headers), _body(frame))
    sent = _sent(wire)
    assert parse_frame(sent, version) == frame


def _value(version: Version) -> st.SearchStrategy[str]:
    # stomp.py tests truthiness (`if id:`), so the values are never empty.
    return header_text(version, min_size=1)


_NAME = st.text(st.sampled_from("abcdefxyz-_"), min_size=1, max_size=6).map(lambda n: "x-" + n)


@pytest.mark.parametrize("version", VERSIONS)
@ORACLE
@given(data=st.data())
def test_we_parse_stomppy_protocol_methods(version: Version, data: st.DataObject) -> None:
    """Frames built by stomp.py's Protocol10/11/12 methods decode to the values passed."""
    value = _value(version)
    wire = _Wire()
    proto = _protocol(version, wire)
    custom = data.draw(st.dictionaries(_NAME, header_text(version), max_size=3))

    destination, body = data.draw(value), data.draw(st.binary(max_size=40))
    content_type = data.draw(st.none() | value)
    proto.send(destination, body, content_type, headers=dict(custom))
    assert parse_frame(_sent(wire), version) == Send(
        destination=destination, content_type=content_type, body=body, headers=custom
    )

    sub_id, ack = (
        data.draw(value),
        data.draw(st.sampled_from(["auto", "client", "client-individual"])),
    )
    proto.subscribe(destination, sub_id, ack, headers=dict(custom))
    assert parse_frame(_sent(wire), version) == Subscribe(
        destination=destination, id=sub_id, ack=ack, headers=custom
    )

    if isinstance(proto, stomp.protocol.Protocol11):
        proto.unsubscribe(sub_id)
        assert parse_frame(_sent(wire), version) == Unsubscribe(id=sub_id)
    else:
        proto.unsubscribe(destination=destination)
        got = parse_frame(_sent(wire), version)
        assert isinstance(got, Unsubscribe)
        assert (got.id, got.destination) == (None, destination)

    msg_id, transaction = data.draw(value), data.draw(value)
    receipt = data.draw(value)
    if isinstance(proto, stomp.protocol.Protocol12):
        proto.ack(msg_id, transaction, receipt)
        want_ack = Ack(id=msg_id, transaction=transaction, receipt=receipt)
        proto.nack(msg_id, transaction, receipt)
        want_nack = Nack(id=msg_id, transaction=transaction, receipt=receipt)
    elif isinstance(proto, stomp.protocol.Protocol11):
        proto.ack(msg_id, sub_id, transaction, receipt)
        want_ack = Ack(
            message_id=msg_id, subscription=sub_id, transaction=transaction, receipt=receipt
        )
        proto.nack(msg_id, sub_id, transaction, receipt)
        want_nack = Nack(
            message_id=msg_id, subscription=sub_id, transaction=transaction, receipt=receipt
        )
    else:
        proto.ack(msg_id, transaction, receipt)
        want_ack = Ack(message_id=msg_id, transaction=transaction, receipt=receipt)
        want_nack = None
    if want_nack is not None:
        assert parse_frame(wire.sent.pop(), version) == want_nack
    assert parse_frame(_sent(wire), version) == want_ack

    assert proto.begin(transaction) == transaction
    assert parse_frame(_sent(wire), version) == Begin(transaction=transaction)
    proto.commit(transaction)
    assert parse_frame(_sent(wire), version) == Commit(transaction=transaction)
    proto.abort(transaction, receipt=receipt)
    assert parse_frame(_sent(wire), version) == Abort(transaction=transaction, receipt=receipt)


@pytest.mark.parametrize("version", VERSIONS)
@ORACLE
@given(data=st.data(), with_connect=st.booleans())
def test_we_parse_stomppy_connect(
    version: Version, data: st.DataObject, with_connect: bool
) -> None:
    value = header_text(version, unescaped=True)
    login, passcode = data.draw(st.none() | value), data.draw(st.none() | value)
    wire = _Wire()
    proto = _protocol(version, wire)
    if isinstance(proto, stomp.protocol.Protocol11):
        if not with_connect:
            # STOMP frames are escaped (spec); stomp.py sends them raw: keep to text both agree on.
            assume(not any("\\" in v for v in (login or "", passcode or "")))
        proto.connect(login, passcode, with_connect_command=with_connect)
    else:
        proto.connect(login, passcode)
    got = parse_frame(_sent(wire), version)
    assert isinstance(got, Connect | Stomp)
    assert isinstance(got, Connect) == (with_connect or version == "1.0")
    assert got.accept_version == (version,)
    assert got.host == (None if version == "1.0" else wire.vhost)
    assert got.login == login
    assert (None if got.passcode is None else got.passcode.get_secret_value()) == passcode
    assert got.headers == {}


def test_stomppy_unescapes_what_the_spec_leaves_raw() -> None:
    """Documents why CONNECT/CONNECTED/1.0 backslashes are kept out of the comparisons above:
    stomp.py reads `\\n` in a CONNECTED value as a newline; the spec (and we) keep it."""
    wire = Connected(version="1.2", server="a\\nb").to_wire("1.2")
    assert b"server:a\\nb\n" in wire
    assert parse_frame(wire, "1.2") == Connected(version="1.2", server="a\\nb")
    parsed = stomp.utils.parse_frame(wire[:-1])
    assert parsed is not None
    assert parsed.headers["server"] == "a\nb"
