"""Logging in (STOMP 1.2 "CONNECT or STOMP Frame": login and passcode)."""

from __future__ import annotations

import pytest

from stompmodels import Connected, Error, Send

from .conftest import Target
from .wire import connect_frame, open_socket, token, unique


@pytest.mark.parametrize(
    ("login", "passcode"),
    [("guest", "wrong-passcode"), ("nobody-such", "guest")],
    ids=["wrong-passcode", "unknown-login"],
)
def test_refused_login(target: Target, login: str, passcode: str) -> None:
    """A wrong passcode or an unknown login gets ERROR, never CONNECTED (STOMP 1.2: "If the
    server cannot accept the connection ... it MUST send an ERROR frame and then close").

    ActiveMQ closes at once, and so does the embedded broker. RabbitMQ ("Bad CONNECT", "Access
    refused") keeps the socket open about 10 s, answering every further frame with ERROR
    ("You must log in using CONNECT first"); nothing is ever accepted on it.
    """
    session = open_socket(target)
    with session:
        session.send_raw(
            connect_frame(target, "1.2", login=login, passcode=passcode).to_wire("1.0")
        )
        error = session.expect(Error, strict=True)
        assert error.message, "the ERROR has no message header"
        if target.refused_login_closes:
            frames = session.closed_within(2.0)
            assert not any(isinstance(frame, Connected) for frame in frames), frames
        else:
            receipt = token()
            session.send(Send(destination=unique(), body=b"not logged in", receipt=receipt))
            refused = session.expect(Error)
            text = f"{refused.message} {refused.body.decode(errors='replace')}".lower()
            assert "log in" in text or "connect" in text, refused
            assert not session.pending, f"the refused session got {list(session.pending)}"


def test_connect_without_login(target: Target) -> None:
    """A CONNECT with no login at all: RabbitMQ logs it in as its default user (guest) and
    ActiveMQ takes it as anonymous; the embedded broker, with users configured, refuses it
    with ERROR and closes, as for a wrong passcode."""
    session = open_socket(target)
    with session:
        session.send_raw(connect_frame(target, "1.2", login=None, passcode=None).to_wire("1.0"))
        if target.anonymous_login:
            connected = session.expect(Connected, strict=True)
            assert connected.version == "1.2"
        else:
            session.expect(Error, strict=True)
            frames = session.closed_within(2.0)
            assert not any(isinstance(frame, Connected) for frame in frames), frames
