"""STOMP over WebSocket against RabbitMQ's Web-STOMP plugin (127.0.0.1:15674, path /ws).

`stompmodels.ws.Client` is the asyncio client over another stream, so it must pass the asyncio
client's scenarios unchanged: every scenario of test_aio_brokers.py that runs on "each broker"
runs here again, with the `broker` fixture below pointing at the WebSocket endpoint. The tests
after that check what only a WebSocket has: the subprotocol, one frame per message, binary
messages for binary bodies, and a refused handshake.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid

import pytest

from stompmodels import State, Version
from stompmodels.ws import Client, ConnectionLost, Subscription, WebSocketStream

from . import test_aio_brokers as tcp_scenarios
from ._brokers import RABBITMQ_WS, Broker, BrokerGate

# The TCP scenarios that take `broker`, collected again in this module (so with this module's
# `broker` fixture); those written for one named broker or for a local fake server are not.
# Web-STOMP answers DISCONNECT by closing the WebSocket, without the RECEIPT that STOMP over TCP
# sends: test_close_is_graceful has a WebSocket version below.
DIFFERENT_HERE = {"test_close_is_graceful"}
for _name, _test in vars(tcp_scenarios).items():
    if (
        _name.startswith("test_")
        and _name not in DIFFERENT_HERE
        and "broker" in inspect.signature(_test).parameters
    ):
        globals()[_name] = _test

CLIENT_TIMEOUT = tcp_scenarios.CLIENT_TIMEOUT
run = tcp_scenarios.run


@pytest.fixture
def broker(brokers: BrokerGate) -> Broker:
    """RabbitMQ, through its Web-STOMP endpoint."""
    return brokers.require(RABBITMQ_WS)


def stream_of(client: Client) -> WebSocketStream:
    stream = client._connection.stream if client._connection else None
    assert isinstance(stream, WebSocketStream)
    return stream


@pytest.mark.parametrize(
    ("versions", "subprotocol"),
    [(("1.0", "1.1", "1.2"), "v12.stomp"), (("1.1",), "v11.stomp"), (("1.0",), "v10.stomp")],
)
def test_the_subprotocol_follows_the_versions_offered(
    broker: Broker, versions: tuple[Version, ...], subprotocol: str
) -> None:
    async def scenario() -> tuple[str | None, str | None]:
        async with Client(broker.url, versions=versions, timeout=CLIENT_TIMEOUT) as client:
            return stream_of(client).subprotocol, client.engine.version

    chosen, version = run(scenario())
    assert chosen == subprotocol
    assert version == max(versions)


def test_binary_bodies_travel_as_binary_messages(broker: Broker) -> None:
    body = bytes(range(256)) * 4  # NULs and bytes that are not UTF-8
    queue = f"/queue/stompmodels-ws-binary-{uuid.uuid4().hex[:12]}"

    async def scenario() -> tuple[bytes, list[bool]]:
        async with Client(broker.url, timeout=CLIENT_TIMEOUT) as client:
            subscription = await client.subscribe(queue, headers={"x-expires": "300000"})
            sent: list[bool] = []
            original = stream_of(client)._websocket.send

            async def spy(message: bytes, *, text: bool | None = None) -> None:
                if message.startswith(b"SEND\n"):
                    sent.append(bool(text))
                await original(message, text=text)

            stream_of(client)._websocket.send = spy  # type: ignore[method-assign,assignment]
            await client.send(queue, body, receipt=True)
            await client.send(queue, "plain text", receipt=True)
            first = await subscription.get()
            await subscription.get()
            return first.body, sent

    received, text_flags = run(scenario())
    assert received == body
    assert text_flags == [False, True]  # the binary SEND as binary, the text one as text


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_close_is_graceful_though_web_stomp_sends_no_receipt(
    broker: Broker, version: Version, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="stompmodels")

    async def scenario() -> tuple[float, Client, Subscription]:
        client = Client(broker.url, versions=(version,), timeout=CLIENT_TIMEOUT)
        await client.connect()
        queue = f"/queue/stompmodels-ws-close-{uuid.uuid4().hex[:12]}"
        subscription = await client.subscribe(queue, headers={"x-expires": "300000"})
        engine = client.engine
        started = time.monotonic()
        await client.close()
        assert engine.state is State.CLOSED
        assert [message async for message in subscription] == []  # ends quietly
        return time.monotonic() - started, client, subscription

    took, client, _ = run(scenario())
    assert took < CLIENT_TIMEOUT / 2  # no wait for a RECEIPT that never comes
    assert client.failure is None
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert warnings == []
    assert "closed the connection after DISCONNECT" in caplog.text


def test_a_wrong_path_is_a_refused_handshake(broker: Broker) -> None:
    async def scenario() -> None:
        url = broker.url.replace("/ws", "/not-stomp")
        await Client(url, timeout=CLIENT_TIMEOUT).connect()

    with pytest.raises(ConnectionLost, match="HTTP 404"):
        run(scenario())


def test_many_frames_in_a_burst_arrive_in_order(broker: Broker) -> None:
    queue = f"/queue/stompmodels-ws-burst-{uuid.uuid4().hex[:12]}"
    count = 500

    async def scenario() -> list[bytes]:
        async with Client(broker.url, timeout=CLIENT_TIMEOUT) as client:
            subscription = await client.subscribe(
                queue, ack="client-individual", headers={"x-expires": "300000"}
            )
            for number in range(count):  # queued in one pass: one WebSocket message each
                await client.send(queue, str(number))
            bodies = []
            for _ in range(count):
                message = await subscription.get()
                await subscription.ack(message)
                bodies.append(message.body)
            await asyncio.sleep(0)
            return bodies

    assert run(scenario(), limit=30.0) == [str(number).encode() for number in range(count)]
