"""Protocol errors (STOMP 1.2 "ERROR": the server "MUST then close the connection").

Neither real broker closes after most errors: RabbitMQ sends ERROR and keeps the session
working (its ERROR has no receipt-id); ActiveMQ does the same except after an unknown command
(its ERROR carries the receipt-id of the frame that caused it). The embedded broker sends ERROR
with a `message` naming the problem and the receipt-id, then closes, as the spec says.
"""

from __future__ import annotations

from stompmodels import Connected, Error, Message, Receipt

from .conftest import ErrorCase, Target
from .wire import Session, connect, connect_frame, open_socket, unique


def check_error(session: Session, target: Target, case: ErrorCase, words: tuple[str, ...]) -> Error:
    """The ERROR the broker owes for `case` (sent with ``receipt:bad``): its message or body
    names the problem (one of `words`), it has the receipt-id where the target sends one, and
    the connection closes or keeps working as the target does."""
    error = session.expect(Error)
    assert error.message, f"ERROR without a message header: {error}"
    text = f"{error.message} {error.body.decode(errors='replace')}".lower()
    assert any(word in text for word in words), f"{words} not in {text!r}"
    unreadable = case in ("unknown-command", "bad-header-line")
    if target.error_receipt_id and (target.unreadable_receipt_id or not unreadable):
        assert error.receipt_id == "bad", error
    else:
        assert error.receipt_id is None, error
    if case in target.error_closes:
        frames = session.closed_within(2.0)
        assert not any(isinstance(frame, Receipt | Message) for frame in frames), frames
    elif session.connected is not None:
        session.barrier()
    else:
        session.nothing_for()
    return error


def test_unknown_command(target: Target) -> None:
    """A frame with an unknown command gets ERROR: RabbitMQ "Bad command" (body: Could not
    interpret command "FOO") and keeps the session; ActiveMQ "Unknown STOMP action: FOO" and
    closes; the embedded broker names it and closes."""
    with connect(target, "1.2") as session:
        session.send_raw(b"FOO\nreceipt:bad\n\n\0")
        check_error(session, target, "unknown-command", ("foo", "command"))


def test_frame_before_connect(target: Target) -> None:
    """A SEND before CONNECT gets ERROR (RabbitMQ "Illegal command"/"You must log in using
    CONNECT first"; ActiveMQ "Not connected."). Both real brokers keep the socket and accept a
    CONNECT after it; the embedded broker closes."""
    session = open_socket(target)
    with session:
        session.send_raw(b"SEND\ndestination:" + unique().encode() + b"\nreceipt:bad\n\nhi\0")
        check_error(session, target, "before-connect", ("connect", "log in", "login"))
        if "before-connect" not in target.error_closes:
            session.send_raw(connect_frame(target, "1.2").to_wire("1.0"))
            assert session.expect(Connected).version == "1.2"


def test_send_without_destination(target: Target) -> None:
    """STOMP 1.2 "SEND": destination is required. Without it: ERROR (RabbitMQ "Missing
    destination"; ActiveMQ "SEND received without a Destination specified!")."""
    with connect(target, "1.2") as session:
        session.send_raw(b"SEND\nreceipt:bad\n\nnowhere\0")
        check_error(session, target, "no-destination", ("destination",))


def test_header_line_without_colon(target: Target) -> None:
    """A header line with no ``:`` is not a header (STOMP 1.2 "Augmented BNF"). RabbitMQ
    closes the socket without ERROR; ActiveMQ skips the line and accepts the frame (the
    message is delivered); the embedded broker answers ERROR naming the bad header line
    and closes (neither broker's way)."""
    queue = unique()
    with connect(target, "1.2") as session:
        session.subscribe(queue)
        session.send_raw(
            b"SEND\ndestination:" + queue.encode() + b"\nreceipt:bad\nno colon here\n\nodd\0"
        )
        if target.bad_header_line == "ignored":
            session.expect_receipt("bad")
            assert [m.body for m in session.messages(1)] == [b"odd"]
            session.disconnect()
        elif target.bad_header_line == "close":
            frames = session.closed_within(2.0)
            assert frames == [], frames
        else:
            check_error(session, target, "bad-header-line", ("header", "colon", "':'"))
