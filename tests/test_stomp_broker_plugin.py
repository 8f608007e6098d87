"""The `stomp_broker` pytest fixture, used as an application's tests would use it: only the
fixture's public methods and the clients' public APIs, no broker internals.

Every scenario is bounded (`WAIT` per wait, `SCENARIO` per test), and the file takes a few
seconds: it runs in `make unit`.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine

import pytest

from stompmodels import blocking
from stompmodels.aio import (
    Backoff,
    BrokerError,
    Client,
    ConnectionEvent,
    ConnectionLost,
    HeartbeatTimeout,
)
from stompmodels.testing import RunningBroker

WAIT = 3.0
"""Seconds any single wait here may take at most."""
SCENARIO = 10.0
"""Seconds a whole asyncio scenario may take at most."""
QUICK = Backoff(initial=0.05, maximum=0.2, jitter=0.0, attempts=40)
"""Reconnect at once, and go on trying for a few seconds at most."""


def run(scenario: Coroutine[object, object, None]) -> None:
    """Run an asyncio scenario, bounded in time."""

    async def bounded() -> None:
        async with asyncio.timeout(SCENARIO):
            await scenario

    asyncio.run(bounded())


def queue() -> str:
    return f"/queue/plugin-{uuid.uuid4().hex[:8]}"


async def broker_until(
    broker: RunningBroker, condition: Callable[[RunningBroker], bool], timeout: float = WAIT
) -> None:
    """`broker.wait_until` off the event loop, so the clients in it go on working meanwhile."""
    await asyncio.to_thread(broker.wait_until, condition, timeout)


async def event_seen(events: list[ConnectionEvent], event: ConnectionEvent) -> None:
    """Wait (about WAIT at most) until the client has told `on_state` of `event`."""
    pause = 0.01
    for _ in range(int(WAIT / pause)):
        if event in events:
            return
        await asyncio.sleep(pause)
    pytest.fail(f"no {event!r} within {WAIT} s; the client told {events}")


# --------------------------------------------------------------------------------------------
# Round trips


def test_asyncio_client_sends_receives_and_acknowledges(stomp_broker: RunningBroker) -> None:
    destination = queue()

    async def scenario() -> None:
        async with Client(stomp_broker.url, timeout=WAIT) as client:
            orders = await client.subscribe(destination, ack="client-individual")
            await client.send(destination, "order 1", headers={"x-order": "1"}, receipt=True)
            message = await orders.get(timeout=WAIT)
            assert (message.text, message.headers["x-order"]) == ("order 1", "1")
            assert stomp_broker.unacked(destination) == 1
            await orders.ack(message, receipt=True)
            assert stomp_broker.unacked(destination) == 0
        await broker_until(stomp_broker, lambda broker: not broker.connections())

    run(scenario())
    assert stomp_broker.held(destination) == ()


def test_blocking_client_round_trip(stomp_broker: RunningBroker) -> None:
    destination = queue()
    with (
        blocking.Client(stomp_broker.url, timeout=WAIT) as client,
        client.subscribe(destination, ack="client-individual") as work,
    ):
        client.send(destination, b"\x00job\x00", receipt=True)
        job = work.get(timeout=WAIT)
        assert job.body == b"\x00job\x00"
        assert stomp_broker.unacked(destination) == 1
        work.ack(job, receipt=True)
        assert stomp_broker.unacked(destination) == 0
    stomp_broker.wait_until(lambda broker: not broker.connections(), WAIT)
    assert stomp_broker.held(destination) == ()


# --------------------------------------------------------------------------------------------
# What the broker holds and who is connected


def test_held_shows_what_waits_for_a_consumer(stomp_broker: RunningBroker) -> None:
    destination = queue()

    async def scenario() -> None:
        async with Client(stomp_broker.url, timeout=WAIT) as client:
            for n in range(3):
                await client.send(
                    destination,
                    f"job {n}",
                    content_type="text/plain",
                    headers={"x-job": str(n)},
                    receipt=True,
                )
            held = stomp_broker.held(destination)
            assert [m.body for m in held] == [b"job 0", b"job 1", b"job 2"]
            assert [m.headers.get("x-job") for m in held] == ["0", "1", "2"]
            assert all(m.headers.get("content-type") == "text/plain" for m in held)
            assert all(m.destination == destination for m in held)
            assert not any(m.redelivered for m in held)
            assert len({m.message_id for m in held}) == 3
            assert stomp_broker.destinations()[destination] == 3

            jobs = await client.subscribe(destination)  # auto ack: taken as delivered
            bodies = [(await jobs.get(timeout=WAIT)).body for _ in range(3)]
            assert bodies == [b"job 0", b"job 1", b"job 2"]
            assert stomp_broker.held(destination) == ()
            assert stomp_broker.destinations()[destination] == 0

    run(scenario())


def test_connections_show_login_version_and_subscriptions(stomp_broker: RunningBroker) -> None:
    destination = queue()

    async def scenario() -> None:
        async with (
            Client(stomp_broker.url_for("alice", "a"), timeout=WAIT) as alice,
            Client(stomp_broker.url_for("bob", "b"), timeout=WAIT, versions=("1.1",)) as bob,
        ):
            work = await alice.subscribe(destination, ack="client-individual", id="work")
            await bob.subscribe("/topic/news", id="news")
            await bob.send(destination, "one", receipt=True)
            await bob.send(destination, "two", receipt=True)
            first = await work.get(timeout=WAIT)
            await work.get(timeout=WAIT)

            by_login = {info.login: info for info in stomp_broker.connections()}
            assert set(by_login) == {"alice", "bob"}
            assert by_login["alice"].connected and by_login["bob"].connected
            assert (by_login["alice"].version, by_login["bob"].version) == ("1.2", "1.1")
            assert by_login["alice"].session and by_login["bob"].session
            assert by_login["alice"].peer.startswith("127.0.0.1:")
            [subscription] = by_login["alice"].subscriptions
            assert (subscription.id, subscription.destination) == ("work", destination)
            assert (subscription.ack, subscription.unacked) == ("client-individual", 2)
            [news] = by_login["bob"].subscriptions
            assert (news.id, news.destination, news.ack) == ("news", "/topic/news", "auto")

            await work.ack(first, receipt=True)
            assert stomp_broker.unacked(destination) == 1

            async with alice.transaction() as tx:
                [info] = [i for i in stomp_broker.connections() if i.login == "alice"]
                assert info.transactions == (tx,)

            await work.unsubscribe()
            [info] = [i for i in stomp_broker.connections() if i.login == "alice"]
            assert info.subscriptions == ()
            # The message alice neither acknowledged nor refused goes back to the queue.
            [back] = stomp_broker.held(destination)
            assert (back.body, back.redelivered) == (b"two", True)

        await broker_until(stomp_broker, lambda broker: not broker.connections())

    run(scenario())


# --------------------------------------------------------------------------------------------
# Faults


def test_a_cut_connection_is_renewed_and_the_unacked_message_comes_again(
    stomp_broker: RunningBroker,
) -> None:
    destination = queue()

    async def scenario() -> None:
        events: list[ConnectionEvent] = []
        client = Client(
            stomp_broker.url,
            timeout=WAIT,
            reconnect=QUICK,
            on_state=lambda event, _: events.append(event),
        )
        async with client:
            work = await client.subscribe(destination, ack="client-individual")
            await client.send(destination, "before", receipt=True)
            before = await work.get(timeout=WAIT)
            assert before.text == "before" and "redelivered" not in before.headers
            assert stomp_broker.unacked(destination) == 1

            stomp_broker.cut()
            await event_seen(events, "lost")
            await event_seen(events, "reconnected")

            # Renewed: the broker has the subscription on the new connection.
            [connection] = stomp_broker.connections()
            assert [s.destination for s in connection.subscriptions] == [destination]
            await client.send(destination, "after", receipt=True)

            again = await work.get(timeout=WAIT)
            assert (again.text, again.headers.get("redelivered")) == ("before", "true")
            after = await work.get(timeout=WAIT)
            assert (after.text, after.headers.get("redelivered")) == ("after", None)
            await work.ack(before)  # from the old session: the client leaves it alone
            await work.ack(again)
            await work.ack(after, receipt=True)
            assert stomp_broker.unacked(destination) == 0
        assert events == ["connected", "lost", "reconnected", "closed"]

    run(scenario())
    assert stomp_broker.held(destination) == ()


@pytest.mark.stomp_broker(heart_beat=(100, 100))
def test_a_silent_broker_is_detected_by_heart_beats(stomp_broker: RunningBroker) -> None:
    destination = queue()

    async def scenario() -> None:
        client = Client(stomp_broker.url, timeout=WAIT, heart_beat=(100, 100))
        await client.connect()
        try:
            work = await client.subscribe(destination)
            assert client.health().ok
            stomp_broker.silence()
            started = time.monotonic()
            with pytest.raises(HeartbeatTimeout, match="sent nothing"):
                await work.get(timeout=WAIT)
            # 2.5 agreed intervals of 100 ms, plus a tick of the client's heart-beat timer.
            assert time.monotonic() - started < 1.5
            assert isinstance(client.failure, HeartbeatTimeout)
            health = client.health()
            assert not health.ok and not health.connected
            assert "not connected" in health.problems
        finally:
            await client.close()

        stomp_broker.resume()
        async with Client(stomp_broker.url, timeout=WAIT, heart_beat=(100, 100)) as again:
            work = await again.subscribe(destination)
            await again.send(destination, "awake", receipt=True)
            assert (await work.get(timeout=WAIT)).text == "awake"
            await asyncio.sleep(0.5)  # heart-beats keep the quiet connection alive both ways
            assert again.health().ok

    run(scenario())


@pytest.mark.stomp_broker(heart_beat=(100, 100))
def test_a_silent_broker_makes_the_client_reconnect_once_it_answers(
    stomp_broker: RunningBroker,
) -> None:
    destination = queue()

    async def scenario() -> None:
        events: list[ConnectionEvent] = []
        client = Client(
            stomp_broker.url,
            timeout=0.5,  # each attempt during the silence gives up soon
            heart_beat=(100, 100),
            reconnect=QUICK,
            on_state=lambda event, _: events.append(event),
        )
        async with client:
            work = await client.subscribe(destination)
            stomp_broker.silence()
            await event_seen(events, "lost")
            assert not client.health().ok
            await asyncio.sleep(0.3)
            assert "reconnected" not in events  # no CONNECTED comes from a silent broker
            assert not client.health().ok

            stomp_broker.resume()
            await event_seen(events, "reconnected")
            assert client.health().ok
            await client.send(destination, "after the silence", receipt=True)
            assert (await work.get(timeout=WAIT)).text == "after the silence"

    run(scenario())


def test_a_delayed_receipt_arrives_late(stomp_broker: RunningBroker) -> None:
    destination = queue()

    async def scenario() -> None:
        async with Client(stomp_broker.url, timeout=WAIT) as client:
            stomp_broker.delay(0.5)
            started = time.monotonic()
            await client.send(destination, "late", receipt=True)
            took = time.monotonic() - started
            assert 0.5 <= took < WAIT
            assert [m.body for m in stomp_broker.held(destination)] == [b"late"]

            stomp_broker.delay(0)
            started = time.monotonic()
            await client.send(destination, "on time", receipt=True)
            assert time.monotonic() - started < 0.4

    run(scenario())


def test_refused_logins(stomp_broker: RunningBroker) -> None:
    async def scenario() -> None:
        stomp_broker.refuse_logins(True)
        with pytest.raises(BrokerError, match="login refused") as refused:
            await Client(stomp_broker.url, timeout=WAIT).connect()
        assert refused.value.frame.message is not None
        await broker_until(stomp_broker, lambda broker: not broker.connections())

        stomp_broker.refuse_logins(False)
        async with Client(stomp_broker.url, timeout=WAIT) as client:
            assert client.health().ok

    run(scenario())


@pytest.mark.stomp_broker(users={"app": "secret"})
def test_users_refuse_wrong_credentials(stomp_broker: RunningBroker) -> None:
    async def scenario() -> None:
        for url in (
            stomp_broker.url_for("app", "wrong"),
            stomp_broker.url_for("intruder", "secret"),
            stomp_broker.url,  # no login at all
        ):
            with pytest.raises(BrokerError, match="login refused"):
                await Client(url, timeout=WAIT).connect()
        async with Client(stomp_broker.url_for("app", "secret"), timeout=WAIT) as client:
            assert [info.login for info in stomp_broker.connections()] == ["app"]
            assert client.health().ok

    run(scenario())


@pytest.mark.stomp_broker(websocket=True)
def test_the_client_over_websocket(stomp_broker: RunningBroker) -> None:
    ws_url = stomp_broker.ws_url
    assert ws_url is not None and ws_url.startswith("ws://127.0.0.1:")
    destination = queue()

    async def scenario() -> None:
        async with Client(ws_url, timeout=WAIT) as over_ws, Client(stomp_broker.url) as over_tcp:
            work = await over_ws.subscribe(destination, ack="client-individual")
            await over_tcp.send(destination, b"\x00binary\x00", receipt=True)
            await over_ws.send(destination, "text", receipt=True)
            first = await work.get(timeout=WAIT)
            second = await work.get(timeout=WAIT)
            assert (first.body, second.body) == (b"\x00binary\x00", b"text")
            await work.ack(first)
            await work.ack(second, receipt=True)
            assert stomp_broker.unacked(destination) == 0
            peers = sorted(info.peer for info in stomp_broker.connections())
            assert len(peers) == 2 and peers[1].startswith("ws ")

    run(scenario())


def test_without_websocket_there_is_no_ws_url() -> None:
    from stompmodels.testing import running_broker

    with running_broker(websocket=False) as broker:
        assert broker.ws_url is None
        with blocking.Client(broker.url, timeout=WAIT) as client:
            assert client.health().ok


def test_a_client_that_gives_up_reports_connection_lost(stomp_broker: RunningBroker) -> None:
    destination = queue()

    async def scenario() -> None:
        client = Client(stomp_broker.url, timeout=WAIT)  # no reconnect
        await client.connect()
        work = await client.subscribe(destination)
        stomp_broker.cut()
        with pytest.raises(ConnectionLost):
            await work.get(timeout=WAIT)
        assert client.failure is not None
        await client.close()

    run(scenario())


@pytest.mark.slow
def test_the_plugin_imports_no_broker_until_a_test_asks_for_one() -> None:
    """pytest loads the plugin in every run of a project with stompmodels installed."""
    code = (
        "import sys, stompmodels.testing as plugin\n"
        "assert 'stompmodels.broker.server' not in sys.modules\n"
        "assert plugin.RunningBroker.__module__ == 'stompmodels.broker.running'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
