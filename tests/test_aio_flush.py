"""The asyncio client's write queue: frames queued in one pass go out in one write, and a
consumer that runs out of messages sends the ACKs it queued before it waits for more."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import cast

from stompmodels import Subscribe
from stompmodels._client.url import parse_url
from stompmodels.aio import Client
from stompmodels.aio.connection import Connection
from stompmodels.aio.stream import Stream
from stompmodels.aio.subscription import Subscription

WAIT = 2.0  # seconds any scenario here may take at most


class RecordingStream:
    """A Stream that keeps what is written."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def read(self) -> bytes:
        await asyncio.sleep(WAIT)
        return b""

    def write(self, chunks: list[bytes]) -> None:
        self.writes.append(b"".join(chunks))

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        return None

    async def wait_closed(self) -> None:
        return None


class ClientStandIn:
    """What a Subscription asks of its client."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _raise_if_failed(self) -> None:
        return None


def run(coroutine: Coroutine[object, object, None]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(WAIT * 5):
            await coroutine

    asyncio.run(bounded())


def connection_with(stream: RecordingStream) -> Connection:
    return Connection(parse_url("stomp://127.0.0.1:61613/"), cast(Stream, stream), wrote)


def wrote(now: float) -> None:
    assert now > 0  # the loop's clock, read once per write


def test_frames_queued_in_one_pass_go_out_in_one_write() -> None:
    async def scenario() -> None:
        stream = RecordingStream()
        connection = connection_with(stream)
        assert not connection.send(b"ACK\nid:1\n\n\0")
        assert not connection.send(b"ACK\nid:2\n\n\0")
        assert stream.writes == []  # not yet: at the end of this pass
        await asyncio.sleep(0)
        assert stream.writes == [b"ACK\nid:1\n\n\0ACK\nid:2\n\n\0"]

    run(scenario())


def test_a_consumer_out_of_messages_sends_its_queued_acks_before_it_waits() -> None:
    async def scenario() -> None:
        stream = RecordingStream()
        connection = connection_with(stream)
        client = cast(Client, ClientStandIn(connection))
        subscription = Subscription(client, Subscribe(destination="/queue/a", id="s-1"), 10)
        connection.send(b"ACK\nid:1\n\n\0")  # as Client.ack queues it
        # One step of the consumer, without letting the loop run the queued flush: it stops
        # where it waits for a message, and the ACK must be out by then.
        step = subscription.__anext__()
        waits_on = step.send(None)
        assert isinstance(waits_on, asyncio.Future) and not waits_on.done()
        assert stream.writes == [b"ACK\nid:1\n\n\0"]
        step.close()
        await asyncio.sleep(0)
        assert stream.writes == [b"ACK\nid:1\n\n\0"]  # the pass's own flush finds nothing more

    run(scenario())
