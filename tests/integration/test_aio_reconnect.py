"""Reconnect and failover of the asyncio client against the real RabbitMQ."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from stompmodels.aio import Backoff, BrokerURL, Client, ConnectionEvent, ConnectionLost

from ._brokers import RABBITMQ as RABBITMQ_BROKER
from ._brokers import BrokerGate, cut_vhost_connections, prepare_vhost

# A vhost of our own, so cutting its connections leaves every other client alone.
VHOST = "stompmodels-reconnect"
RABBITMQ = f"stomp://guest:guest@127.0.0.1:61613/{VHOST}"
NOWHERE = "stomp://guest:guest@127.0.0.1:1/"  # nothing listens on port 1: refused at once
QUICK = Backoff(initial=0.1, maximum=0.5, attempts=20)


def queue() -> str:
    return f"/queue/stompmodels-reconnect-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module", autouse=True)
def vhost(brokers: BrokerGate) -> None:
    brokers.require(RABBITMQ_BROKER)
    prepare_vhost(VHOST)


async def cut_all_connections() -> None:
    """Make RabbitMQ drop every connection to the test vhost (as a broker restart would)."""
    await asyncio.to_thread(cut_vhost_connections, VHOST)


async def wait_for(events: list[ConnectionEvent], event: ConnectionEvent) -> None:
    async with asyncio.timeout(15):
        while event not in events:
            await asyncio.sleep(0.05)


def test_a_cut_connection_is_renewed_with_its_subscriptions() -> None:
    async def scenario() -> list[ConnectionEvent]:
        events: list[ConnectionEvent] = []
        destination = queue()
        client = Client(
            RABBITMQ, reconnect=QUICK, timeout=5, on_state=lambda event, _: events.append(event)
        )
        async with client:
            subscription = await client.subscribe(destination, ack="client-individual")
            await client.send(destination, "before", receipt=True)
            first = await subscription.get(5)
            await subscription.ack(first)
            await cut_all_connections()
            await wait_for(events, "reconnected")
            await client.send(destination, "after", receipt=True)
            second = await subscription.get(5)
            await subscription.ack(second)
            assert (first.text, second.text) == ("before", "after")
        return events

    assert asyncio.run(scenario()) == ["connected", "lost", "reconnected", "closed"]


def test_failover_skips_a_broker_that_does_not_answer() -> None:
    async def scenario() -> BrokerURL:
        async with Client([NOWHERE, RABBITMQ], timeout=5) as client:
            await client.send(queue(), "via the second broker", receipt=True)
            return client.url

    assert asyncio.run(scenario()).port == 61613


def test_the_credentials_hook_runs_before_every_connect() -> None:
    seen: list[str] = []

    def refresh(url: BrokerURL) -> BrokerURL:
        seen.append(url.host)
        return BrokerURL(url.host, url.port, "guest", url.passcode, url.vhost, url.tls)

    async def scenario() -> None:
        events: list[ConnectionEvent] = []
        client = Client(
            f"stomp://nobody:guest@127.0.0.1:61613/{VHOST}",
            reconnect=QUICK,
            credentials=refresh,
            timeout=5,
            on_state=lambda event, _: events.append(event),
        )
        async with client:
            await cut_all_connections()
            await wait_for(events, "reconnected")

    asyncio.run(scenario())
    assert seen == ["127.0.0.1", "127.0.0.1"]


def test_a_transaction_cut_short_is_not_replayed() -> None:
    async def scenario() -> None:
        events: list[ConnectionEvent] = []
        destination = queue()
        client = Client(
            RABBITMQ, reconnect=QUICK, timeout=5, on_state=lambda event, _: events.append(event)
        )
        async with client:
            subscription = await client.subscribe(destination)
            with pytest.raises(ConnectionLost, match="not committed"):
                async with client.transaction() as tx:
                    await client.send(destination, "in the lost transaction", transaction=tx)
                    await cut_all_connections()
                    await wait_for(events, "reconnected")
            await client.send(destination, "after", receipt=True)
            assert (await subscription.get(5)).text == "after"  # nothing from the transaction

    asyncio.run(scenario())


def test_without_reconnect_a_cut_ends_the_iterators_with_the_error() -> None:
    async def scenario() -> None:
        client = Client(RABBITMQ, timeout=5)
        with pytest.raises(ConnectionLost):
            async with client:
                subscription = await client.subscribe(queue())
                await cut_all_connections()
                async with asyncio.timeout(10):
                    async for _ in subscription:
                        pass
        assert client.failure is not None

    asyncio.run(scenario())


def test_an_error_after_a_send_without_receipt_is_raised_on_exit() -> None:
    async def scenario() -> None:
        async with Client(RABBITMQ, timeout=5) as client:
            await client.send("/invalid/x", "RabbitMQ refuses this destination")
            await asyncio.sleep(1)

    with pytest.raises(ConnectionLost, match="Unknown destination"):
        asyncio.run(scenario())
