"""Bodies and headers of MESSAGE frames (STOMP 1.2 "Body", "MESSAGE", "Value Encoding")."""

from __future__ import annotations

import pytest

from stompmodels import AckMode, Message, Send, Version

from .conftest import Target
from .wire import Session, connect, unique


def round_trip(session: Session, send: Send) -> Message:
    """Subscribe to the SEND's destination, send it, and the MESSAGE that comes back."""
    session.subscribe(send.destination, id="rt")
    session.send(send)
    (message,) = session.messages(1)
    return message


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_message_required_headers(target: Target, version: Version) -> None:
    """STOMP 1.2 "MESSAGE": it has `destination`, `message-id` and `subscription` (1.0: when
    the SUBSCRIBE had an id); in 1.2 a client or client-individual subscription's MESSAGE has
    `ack`. Custom headers of the SEND are kept."""
    queue = unique()
    with connect(target, version) as session:
        ack: AckMode = "client" if version == "1.0" else "client-individual"
        session.subscribe(queue, id="sub-h", ack=ack)
        session.send(Send(destination=queue, body=b"h", headers={"x-custom": "kept"}))
        (message,) = session.messages(1)
        assert message.destination == queue
        assert message.message_id
        assert message.subscription == "sub-h"
        assert message.headers.get("x-custom") == "kept"
        if version == "1.2":
            assert message.ack, message
        session.ack(message, receipt="acked")
        session.disconnect()


def test_binary_body_round_trips(target: Target) -> None:
    """STOMP 1.2 "Body": with content-length a body may hold any octets, NULs included; it
    comes back byte for byte, with content-length and content-type (all three brokers)."""
    body = bytes(range(256)) + b"\0\0 after NULs \0"
    with connect(target, "1.2") as session:
        message = round_trip(
            session,
            Send(destination=unique(), body=body, content_type="application/octet-stream"),
        )
        assert message.body == body
        assert message.content_length == len(body)
        assert message.content_type == "application/octet-stream"
        session.disconnect()


def test_text_body_content_length(target: Target) -> None:
    """A SEND without content-length (its body ends at the first NUL): RabbitMQ's MESSAGE has
    content-length anyway, and so does the embedded broker's; ActiveMQ's has none (a text
    message). The body is the same either way."""
    with connect(target, "1.2") as session:
        send = Send(
            destination=unique(),
            body=b"plain text",
            content_type="text/plain",
            content_length=None,
        )
        assert b"content-length" not in send.to_wire("1.2")
        message = round_trip(session, send)
        assert message.body == b"plain text"
        assert message.content_type == "text/plain"
        if target.content_length == "always":
            assert message.content_length == len(b"plain text"), message
        else:
            assert message.content_length is None, message
        session.disconnect()


def test_empty_body(target: Target) -> None:
    """An empty body stays empty (RabbitMQ leaves content-length out even when the SEND had
    ``content-length:0``; ActiveMQ copies it)."""
    with connect(target, "1.2") as session:
        message = round_trip(session, Send(destination=unique(), body=b"", content_length=0))
        assert message.body == b""
        assert message.content_length in (None, 0), message
        session.disconnect()


ESCAPED_11 = {
    "x-colon": "a:b:c",
    "x-newline": "line1\nline2",
    "x-backslash": "back\\slash",
    "x-all": "a:\\\n",
}
ESCAPED_12 = {**ESCAPED_11, "x-cr": "c\rr", "x-all": ":\\\r\n"}


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_escaped_headers_round_trip(target: Target, version: Version) -> None:
    """STOMP 1.1/1.2 "Value Encoding": ``:``, LF and ``\\`` (and CR in 1.2) in a header value
    travel as ``\\c``, ``\\n``, ``\\\\`` (``\\r``); the broker decodes them and encodes them again
    in the MESSAGE, so the values come back as sent (all three brokers)."""
    headers = ESCAPED_12 if version == "1.2" else ESCAPED_11
    with connect(target, version) as session:
        send = Send(destination=unique(), body=b"e", headers=headers)
        assert b"\\c" in send.to_wire(version)
        message = round_trip(session, send)
        assert {name: message.headers.get(name) for name in headers} == headers
        session.disconnect()


def test_no_escaping_in_10(target: Target) -> None:
    """STOMP 1.0 has no value encoding: a colon in a value is sent as it is. ActiveMQ and the
    embedded broker deliver it as it is; RabbitMQ escapes it as ``\\c`` in the 1.0 MESSAGE
    (it applies 1.1's encoding to every version), which a 1.0 client reads literally."""
    with connect(target, "1.0") as session:
        send = Send(destination=unique(), body=b"raw", headers={"x-colon": "a:b", "x-eq": "c=d"})
        assert b"x-colon:a:b\n" in send.to_wire("1.0")
        message = round_trip(session, send)
        expected = "a\\cb" if target.escapes_10_headers else "a:b"
        assert message.headers.get("x-colon") == expected, message
        assert message.headers.get("x-eq") == "c=d"
        session.disconnect()
