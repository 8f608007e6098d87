"""Connecting and version negotiation (STOMP 1.2 "Connecting", "Protocol Negotiation")."""

from __future__ import annotations

import pytest

from stompmodels import Connected, Error, Version

from .conftest import Target
from .wire import connect, open_socket, unique


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_connect_in_each_version(target: Target, version: Version) -> None:
    """CONNECT with accept-version for one version (none at all for 1.0) gets CONNECTED in it.

    STOMP 1.2 "Protocol Negotiation": a CONNECT without accept-version is a 1.0 client; the
    server answers with the highest version both speak in CONNECTED's `version` (a 1.0 server
    leaves it out; RabbitMQ and ActiveMQ write ``version:1.0``). CONNECTED names the `server`
    and a `session` id in every version (both real brokers do, 1.0 included; the embedded
    broker's is ``server:stompmodels/<version>``). The session then works: a message sent to a
    fresh queue comes back.
    """
    with connect(target, version) as session:
        connected = session.connected
        assert connected is not None
        expected = {"1.0": (None, "1.0"), "1.1": ("1.1",), "1.2": ("1.2",)}[version]
        assert connected.version in expected
        assert (connected.server or "").startswith(target.product), connected.server
        assert connected.session, "CONNECTED has no session id"
        queue = unique()
        session.subscribe(queue, id="only")
        session.publish(queue, b"in " + version.encode())
        assert session.messages(1)[0].body == b"in " + version.encode()
        session.disconnect()


def test_stomp_frame_connects(target: Target) -> None:
    """STOMP 1.2 "CONNECT or STOMP Frame": a 1.1+ server accepts STOMP as well as CONNECT
    (RabbitMQ and ActiveMQ both do)."""
    with connect(target, "1.2", stomp=True) as session:
        assert session.connected is not None
        assert session.connected.version == "1.2"
        session.barrier()
        session.disconnect()


@pytest.mark.parametrize(
    ("offer", "agreed"),
    [("1.0,1.1,1.2", "1.2"), ("1.1,1.0", "1.1"), ("1.0", "1.0"), ("1.2,1.1", "1.2")],
)
def test_highest_common_version_wins(target: Target, offer: str, agreed: str) -> None:
    """STOMP 1.2 "Protocol Negotiation": the server picks the highest version in accept-version
    that it speaks too, whatever the order of the list, and names it in CONNECTED's `version`
    (required of a 1.1+ server, "CONNECTED Frame"; both brokers write ``version:1.0`` when
    1.0 is all that was offered)."""
    with connect(target, "1.2", accept_version=offer) as session:
        assert session.connected is not None
        assert session.connected.version == agreed
        assert session.version == agreed


def test_no_common_version_is_refused(target: Target) -> None:
    """STOMP 1.2 "Protocol Negotiation": when no offered version is supported, the server
    answers ERROR (RabbitMQ: "Version mismatch"; ActiveMQ: "Invalid Protocol version") and
    should list its versions. Both answer no CONNECTED. ActiveMQ (and the embedded broker)
    then close the socket; RabbitMQ keeps it open, still not logged in."""
    session = open_socket(target)
    with session:
        session.send_raw(
            b"CONNECT\naccept-version:2.0\nhost:/\n"
            + f"login:{target.login}\npasscode:{target.passcode}\n\n\0".encode()
        )
        error = session.expect(Error, strict=True)
        text = f"{error.message} {error.body.decode(errors='replace')}".lower()
        assert "version" in text, error
        if "version-mismatch" in target.error_closes:
            frames = session.closed_within(2.0)
            assert not any(isinstance(frame, Connected) for frame in frames)
        else:
            session.nothing_for()
