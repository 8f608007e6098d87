"""STOMP over WebSocket against an in-process WebSocket server playing the broker (FakeServer).

What a real broker cannot be made to do is done here: several frames in one message, messages
over the limits, a server that picks no subprotocol, TLS with a test certificate.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from stompmodels import HeartBeat, Limits, Message
from stompmodels.blocking import Client as BlockingClient
from stompmodels.twisted import StompClientFactory
from stompmodels.ws import (
    SUBPROTOCOLS,
    Client,
    ConnectionLost,
    is_text,
    subprotocols_for,
)
from tests.conftest import Certificate
from tests.fake_server import FakeServer

T = TypeVar("T")
Behaviour = Callable[[ServerConnection, FakeServer], Awaitable[None]]


async def answer_everything(websocket: ServerConnection, server: FakeServer) -> None:
    """A broker: every message is fed to FakeServer; each answer goes out as its own message."""
    async for message in websocket:
        data = message.encode() if isinstance(message, str) else message
        for answer in server.receive(data):
            await websocket.send(answer, text=is_text(answer))


@asynccontextmanager
async def ws_broker(
    behaviour: Behaviour = answer_everything,
    *,
    tls: ssl.SSLContext | None = None,
    subprotocols: list[Subprotocol] | None = None,
    seen: list[bytes] | None = None,
) -> AsyncIterator[str]:
    """Serve `behaviour` on a loopback port; yields the URL to connect to."""

    async def handler(websocket: ServerConnection) -> None:
        server = FakeServer()
        if seen is not None:
            original = server.receive

            def record(data: bytes) -> list[bytes]:
                seen.append(data)
                return original(data)

            server.receive = record  # type: ignore[method-assign]
        await behaviour(websocket, server)

    offered = list(SUBPROTOCOLS.values()) if subprotocols is None else subprotocols
    async with serve(handler, "127.0.0.1", 0, subprotocols=offered or None, ssl=tls) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        scheme = "wss" if tls else "ws"
        yield f"{scheme}://guest:guest@127.0.0.1:{port}/ws"


def run(scenario: Awaitable[T], limit: float = 10.0) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(limit):
            return await scenario

    return asyncio.run(bounded())


def test_subprotocols_are_offered_newest_first() -> None:
    assert subprotocols_for(("1.0", "1.1", "1.2")) == ["v12.stomp", "v11.stomp", "v10.stomp"]
    assert subprotocols_for(("1.1",)) == ["v11.stomp"]


@pytest.mark.parametrize(
    ("frame", "text"),
    [
        (b"SEND\ndestination:/q\n\nplain\x00", True),
        ("SEND\n\nh\u00e9llo \u2603\x00".encode(), True),
        (b"SEND\n\n\xff\xfe\x00", False),
        (b"SEND\n\n\xc3\x00", False),  # a UTF-8 sequence cut short
        (b"\n", True),
    ],
)
def test_frames_that_are_utf8_travel_as_text(frame: bytes, text: bool) -> None:
    assert is_text(frame) is text


def test_a_session_sends_one_frame_per_message() -> None:
    seen: list[bytes] = []

    async def scenario() -> tuple[str | None, bytes]:
        async with ws_broker(seen=seen) as url, Client(url, heart_beat=(0, 0), timeout=5) as c:
            subscription = await c.subscribe("/queue/a")
            await c.send("/queue/a", b"\x00binary\xff", receipt=True)
            message = await subscription.get()
            return c.engine.version, message.body

    version, body = run(scenario())
    assert (version, body) == ("1.2", b"\x00binary\xff")
    commands = [data.split(b"\n", 1)[0] for data in seen]
    assert commands == [b"CONNECT", b"SUBSCRIBE", b"SEND", b"DISCONNECT"]
    assert all(data.endswith(b"\x00") for data in seen)  # exactly one whole frame each


def test_several_frames_in_one_message_are_all_read() -> None:
    async def together(websocket: ServerConnection, server: FakeServer) -> None:
        async for message in websocket:
            data = message.encode() if isinstance(message, str) else message
            answers = server.receive(data)
            if data.startswith(b"SUBSCRIBE"):
                answers += server.publish("/queue/a", b"one") + server.publish("/queue/a", b"two")
            if answers:
                await websocket.send(b"".join(answers))  # all in a single binary message

    async def scenario() -> list[bytes]:
        async with ws_broker(together) as url, Client(url, heart_beat=(0, 0), timeout=5) as c:
            subscription = await c.subscribe("/queue/a")
            return [(await subscription.get()).body for _ in range(2)]

    assert run(scenario()) == [b"one", b"two"]


def test_a_header_line_over_the_limit_is_a_protocol_error_naming_it() -> None:
    long_line = b"MESSAGE\ndestination:/queue/a\nsubscription:s\nmessage-id:1\nx:" + b"y" * 500

    async def oversize(websocket: ServerConnection, server: FakeServer) -> None:
        async for message in websocket:
            data = message.encode() if isinstance(message, str) else message
            for answer in server.receive(data):
                await websocket.send(answer)
            if data.startswith(b"SUBSCRIBE"):
                await websocket.send(long_line + b"\n\n\x00")

    async def scenario() -> None:
        async with ws_broker(oversize) as url:
            limits = Limits(max_header_line=100)
            async with Client(url, heart_beat=(0, 0), timeout=5, limits=limits) as client:
                subscription = await client.subscribe("/queue/a")
                await subscription.get()

    with pytest.raises(ConnectionLost, match="100"):
        run(scenario())


def test_a_message_over_the_frame_limit_is_refused_unread() -> None:
    async def huge(websocket: ServerConnection, server: FakeServer) -> None:
        await websocket.recv()
        await websocket.send(b"x" * 100_000)  # websockets refuses it before it is buffered
        async with asyncio.timeout(5):
            await websocket.wait_closed()  # the client closes at once

    async def scenario() -> None:
        async with ws_broker(huge) as url:
            client = Client(url, heart_beat=(0, 0), timeout=5, limits=Limits(max_frame_size=1024))
            await client.connect()

    with pytest.raises(ConnectionLost, match="message over max_frame_size 1024 .*exceeds limit"):
        run(scenario())


def test_heart_beats_go_out_as_their_own_messages() -> None:
    received: list[bytes] = []

    async def beats(websocket: ServerConnection, server: FakeServer) -> None:
        server.heart_beat = HeartBeat(0, 100)  # the client then beats every 200 ms
        async for message in websocket:
            data = message.encode() if isinstance(message, str) else message
            received.append(data)
            for answer in server.receive(data):
                await websocket.send(answer)

    async def scenario() -> None:
        async with ws_broker(beats) as url, Client(url, heart_beat=(200, 0), timeout=5) as c:
            assert c.engine.heart_beat[0] == 200
            await asyncio.sleep(0.7)  # three beats due, at least one on time

    run(scenario())
    assert b"\n" in received


def test_a_server_that_picks_no_subprotocol_still_speaks_stomp() -> None:
    async def scenario() -> str | None:
        async with ws_broker(subprotocols=[]) as url, Client(url, heart_beat=(0, 0)) as client:
            return client.engine.version

    assert run(scenario()) == "1.2"


def test_wss_verifies_the_certificate(certificate: Certificate) -> None:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(certificate.cert, certificate.key)
    trusted = ssl.create_default_context(cafile=str(certificate.cert))

    async def scenario(context: ssl.SSLContext | None) -> str | None:
        async with (
            ws_broker(tls=server_context) as url,
            Client(url, ssl=context, heart_beat=(0, 0), timeout=5) as client,
        ):
            return client.engine.version

    assert run(scenario(trusted)) == "1.2"
    with pytest.raises(ConnectionLost, match="CERTIFICATE_VERIFY_FAILED"):
        run(scenario(None))  # the system's CAs do not know the test certificate


def test_a_refused_handshake_says_so() -> None:
    async def scenario() -> None:
        async with ws_broker() as url:
            await Client(url.replace("ws://", "wss://"), timeout=5).connect()

    with pytest.raises(ConnectionLost, match="cannot reach wss://guest@127.0.0.1"):
        run(scenario())


def test_tcp_only_clients_point_to_the_websocket_client() -> None:
    with pytest.raises(ValueError, match="the blocking client does not speak.*stompmodels.ws"):
        BlockingClient("ws://127.0.0.1:15674/ws")
    with pytest.raises(ValueError, match="StompClientFactory does not speak.*stompmodels.ws"):
        StompClientFactory("wss://127.0.0.1/ws")


def test_received_messages_are_typed() -> None:
    async def scenario() -> Message:
        async with ws_broker() as url, Client(url, heart_beat=(0, 0), timeout=5) as c:
            subscription = await c.subscribe("/queue/typed", ack="client-individual")
            await c.send("/queue/typed", "caf\u00e9", receipt=True)
            message = await subscription.get()
            await subscription.ack(message)
            return message

    message = run(scenario())
    assert isinstance(message, Message)
    assert (message.destination, message.body) == ("/queue/typed", "caf\u00e9".encode())
