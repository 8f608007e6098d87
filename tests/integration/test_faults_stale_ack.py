"""An ACK of a message received before a reconnect must not reach the new connection.

When a connection ends, the broker takes back every message it delivered and that was not
acknowledged, and delivers it again on the next connection, under a new ack id. A message the
application took before the loss is stale: its ACK names a delivery of the old session.
- RabbitMQ numbers deliveries per channel from 1 and ignores the session part of the ack id,
  so a stale ACK settles whichever new delivery has the same number: another message, which
  is then lost if the consumer stops before it has processed that message (and the ACK of the
  message itself later gets an ERROR that ends the connection).
- ActiveMQ answers a stale ACK with an ERROR that ends the connection (every unacknowledged
  message is delivered yet again).

The scenario: A, B and C are queued; the consumer takes A and acknowledges it, takes B and C;
the proxy cuts the connection; the client reconnects and receives B and C again. The
application finishes B and acknowledges it (the stale copy), then stops. C was never
acknowledged, so the broker must still have it; and nothing but the cut may end a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Final

from stompmodels import Message
from stompmodels.aio import Backoff, BrokerURL, ConnectionEvent, ConnectionLost
from stompmodels.aio import Client as AioClient
from stompmodels.blocking import Client as BlockingClient
from tests.faultproxy import FaultProxy

from ._brokers import Broker
from ._fault_stream import queue_args

TIMEOUT: Final = 5.0
QUICK: Final = Backoff(initial=0.05, maximum=0.5, attempts=40)
SYNC: Final = "/topic/stompmodels-faults-sync"  # a receipt here: earlier frames were processed
CUT_ONLY: Final = ["connected", "lost", "reconnected"]


def remaining_bodies(broker: Broker, destination: str, quiet: float = 1.0) -> list[str]:
    """Take (auto ack) whatever `destination` still holds, until `quiet` s pass without any."""
    bodies: list[str] = []
    with BlockingClient(broker.url, timeout=TIMEOUT) as client:
        subscription = client.subscribe(
            destination, headers=queue_args(broker.product), prefetch=100
        )
        while True:
            try:
                bodies.append(subscription.get(quiet).text)
            except TimeoutError:
                return bodies


def publish(broker: Broker, destination: str, *bodies: str) -> None:
    with BlockingClient(broker.url, timeout=TIMEOUT) as client:
        for body in bodies:
            client.send(destination, body, headers=queue_args(broker.product), receipt=True)


def wait_for(events: list[ConnectionEvent], event: ConnectionEvent) -> None:
    deadline = time.monotonic() + 15
    while event not in events:
        assert time.monotonic() < deadline, f"no {event!r} within 15 s: {events}"
        time.sleep(0.02)


def test_a_stale_ack_after_a_reconnect_settles_nothing_else_aio(broker: Broker) -> None:
    destination = f"/queue/stompmodels-faults-stale-{uuid.uuid4().hex[:12]}"
    events: list[ConnectionEvent] = []

    async def consume(proxy: FaultProxy) -> None:
        client = AioClient(
            proxy.url(broker.url),
            reconnect=QUICK,
            timeout=TIMEOUT,
            on_state=lambda event, _: events.append(event),
        )
        await client.connect()
        try:
            subscription = await client.subscribe(
                destination,
                ack="client-individual",
                headers=queue_args(broker.product),
                prefetch=10,
            )
            await asyncio.to_thread(publish, broker, destination, "A", "B", "C")
            a, b, c = [await subscription.get() for _ in range(3)]
            await subscription.ack(a)
            await client.send(SYNC, "A is acknowledged", receipt=True)
            await asyncio.to_thread(proxy.cut)
            await asyncio.to_thread(wait_for, events, "reconnected")
            again = [await subscription.get() for _ in range(2)]
            assert [m.text for m in (a, b, c, *again)] == ["A", "B", "C", "B", "C"]
            await subscription.ack(b)  # the application finished B: a stale copy
            # An ERROR here (ActiveMQ) ends the connection: the assertion on `events` says so.
            with contextlib.suppress(ConnectionLost):
                await client.send(SYNC, "B is acknowledged", receipt=True)
        finally:
            await client.close()

    with FaultProxy(broker.port) as proxy:
        asyncio.run(asyncio.wait_for(consume(proxy), 60))
    assert "C" in remaining_bodies(broker, destination)  # C was never acknowledged
    assert events[:3] == CUT_ONLY and "lost" not in events[3:]


def test_a_stale_ack_after_a_reconnect_settles_nothing_else_blocking(broker: Broker) -> None:
    destination = f"/queue/stompmodels-faults-stale-{uuid.uuid4().hex[:12]}"
    events: list[ConnectionEvent] = []

    def on_state(event: ConnectionEvent, _: BrokerURL) -> None:
        events.append(event)

    with FaultProxy(broker.port) as proxy:
        client = BlockingClient(
            proxy.url(broker.url), reconnect=QUICK, timeout=TIMEOUT, on_state=on_state
        )
        with client:
            subscription = client.subscribe(
                destination,
                ack="client-individual",
                headers=queue_args(broker.product),
                prefetch=10,
            )
            publish(broker, destination, "A", "B", "C")
            a, b, c = [subscription.get() for _ in range(3)]
            subscription.ack(a, receipt=True)
            proxy.cut()
            wait_for(events, "reconnected")
            again: list[Message] = [subscription.get() for _ in range(2)]
            assert [m.text for m in (a, b, c, *again)] == ["A", "B", "C", "B", "C"]
            # The application finished B: a stale copy. An ERROR (ActiveMQ) ends the connection.
            with contextlib.suppress(ConnectionLost, TimeoutError):
                subscription.ack(b, receipt=True)
    assert "C" in remaining_bodies(broker, destination)  # C was never acknowledged
    assert events[:3] == CUT_ONLY and "lost" not in events[3:]
