"""Session scenarios, each written once and run against every driver (the `driver` fixture).

They use the clients' public API only, through the adapters of `tests.drivers.harness`, and
prove that the three drivers behave alike once they run on the shared `ClientSession`: a
handler's exception is the handler's problem (logged, its message NACKed), a slow consumer is not
a dead broker, every driver has the same features (failover, reconnect with `Backoff`, the
credentials hook, `include`, acknowledgements with receipts), a driver imports no other, the
code path does not depend on the log level, and an ACK never crosses a reconnect.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal, cast

import pytest
from pydantic import SecretStr

from stompmodels import (
    Ack,
    ClientFrame,
    Connect,
    Disconnect,
    Engine,
    HeartBeat,
    Message,
    Nack,
    Router,
    Send,
    Stomp,
)
from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import Closed, ConnectionLost, HeartbeatTimeout
from stompmodels._client.url import BrokerURL

from .harness import PASSCODE, Driver, StompClient, frames_of

BEATS: Final = HeartBeat(100, 100)
"""What the broker offers in the heart-beat scenarios: it beats every 100 ms (silence is judged
after 250 ms: a margin for a loaded machine, still a quarter of the consumer's lag)."""
LAG: Final = 1.0
"""How long a slow consumer takes nothing (seconds, on the driver's clock)."""
ATTEMPTS: Final = 3
RETRY: Final = Backoff(initial=0.01, maximum=0.05, jitter=0.0, attempts=ATTEMPTS)
SHORT: Final = 1.0
"""The client timeout of the scenario that waits for a receipt that never comes."""
CONNECTION_FAILED: Final = re.compile(r"connection to .* failed")
REPO: Final = Path(__file__).resolve().parents[2]
DRIVER_PACKAGES: Final = ("stompmodels.aio", "stompmodels.blocking", "stompmodels.twisted")


def stopped_cleanly(client: StompClient) -> bool:
    """Whether the client is closed without a failure (`Closed` says it was on purpose)."""
    failure = client.failure
    return failure is None or isinstance(failure, Closed)


# -- sanity ---------------------------------------------------------------------------------


def test_connect_subscribe_send_receive_ack_and_close(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    broker = driver.broker()
    client = driver.client(broker.url)
    client.connect()
    assert client.events == ["connected"]
    assert broker.server.connected and broker.server.version == "1.2"

    inbox = client.subscribe("/queue/a", ack="client-individual")
    assert list(broker.server.subscriptions) == [inbox.id]
    client.send("/queue/a", b"hello", receipt=True)
    [send] = [frame for frame in broker.server.received if isinstance(frame, Send)]
    assert send.receipt is not None

    message = inbox.get()
    assert (message.body, message.subscription) == (b"hello", inbox.id)
    client.ack(message)
    driver.until(lambda: broker.server.acked, "the broker got the ACK")
    assert [delivery.body for delivery in broker.server.acked] == [b"hello"]
    assert client.failure is None

    client.close()
    disconnect = broker.server.received[-1]
    assert isinstance(disconnect, Disconnect) and disconnect.receipt is not None
    assert broker.server.closed  # it answered with the RECEIPT, then ended the session
    assert "no receipt for DISCONNECT" not in caplog.text
    assert stopped_cleanly(client), repr(client.failure)
    assert client.events == ["connected", "closed"]


# -- defect 1: a handler's exception -------------------------------------------------------


def test_a_failing_handler_is_logged_its_message_nacked_and_the_connection_lives_on(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stompmodels")
    broker = driver.broker()
    client = driver.client(broker.url)
    seen: list[bytes] = []

    def handle(message: Message) -> None:
        seen.append(message.body)
        if message.body == b"bad":
            raise ValueError("a bug in the handler")

    client.on_message(handle)
    client.connect()
    client.subscribe("/queue/a", ack="client-individual")
    assert broker.server.version == "1.2"

    broker.publish("/queue/a", b"bad", b"good")  # two MESSAGEs in one write
    driver.until(
        lambda: len(seen) == 2 or client.failure is not None, "the handler saw both MESSAGEs"
    )
    assert client.failure is None, f"the handler's error ended the connection: {client.failure!r}"
    assert seen == [b"bad", b"good"]  # the second MESSAGE of the same read is still handled

    driver.until(lambda: broker.server.nacked, "the broker got a NACK of the failed message", 1.0)
    assert [delivery.body for delivery in broker.server.nacked] == [b"bad"]
    assert broker.server.acked == []

    client.send("/queue/b", b"after", receipt=True)
    assert client.failure is None

    logged = [
        record
        for record in caplog.records
        if record.name == driver.logger
        and record.levelno == logging.ERROR
        and record.exc_info is not None
        and record.exc_info[0] is ValueError
    ]
    assert logged, f"no ERROR with the ValueError's traceback on {driver.logger}"
    failed = [r.getMessage() for r in caplog.records if CONNECTION_FAILED.search(r.getMessage())]
    assert failed == [], "the handler's error was reported as a failed connection"


# -- defect 2: a slow consumer is not a dead broker ----------------------------------------


def test_a_slow_consumer_is_not_taken_for_a_silent_broker(driver: Driver) -> None:
    broker = driver.broker(BEATS, beat_every=0.1)
    client = driver.client(broker.url, heart_beat=(100, 100), queue_size=2)
    client.connect()
    inbox = client.subscribe("/queue/a")
    bodies = [str(number).encode() for number in range(6)]
    for body in bodies:  # one write each, three times what the queue holds
        broker.publish("/queue/a", body)

    driver.wait(LAG)  # the consumer takes nothing; the broker heart-beats all along
    assert client.failure is None, f"a lagging consumer killed the connection: {client.failure!r}"

    assert [inbox.get().body for _ in bodies] == bodies
    client.send("/queue/b", b"still here", receipt=True)
    assert client.failure is None


def test_a_silent_broker_is_declared_dead(driver: Driver) -> None:
    broker = driver.broker(BEATS)  # promises heart-beats, sends none
    client = driver.client(broker.url, heart_beat=(100, 100), queue_size=2)
    client.connect()
    client.subscribe("/queue/a")  # nothing queued: the consumer does not lag
    driver.until(lambda: client.failure is not None, "the client gave up on the silent broker", 1.0)
    assert isinstance(client.failure, HeartbeatTimeout), repr(client.failure)


# -- defect 3: the same features in every driver -------------------------------------------


@pytest.mark.parametrize("form", ["list", "failover"])
def test_several_urls_fail_over_to_the_next_broker(
    driver: Driver, form: Literal["list", "failover"]
) -> None:
    refused = driver.refused_url()
    broker = driver.broker()
    urls = [refused, broker.url] if form == "list" else f"failover:({refused},{broker.url})"
    client = driver.client(urls)
    client.connect()
    client.send("/queue/a", b"here", receipt=True)
    assert broker.dials == 1 and broker.server.connected
    assert [send.destination for send in broker.server.published] == ["/queue/a"]
    assert client.events == ["connected"]


def test_reconnect_renews_the_subscriptions_with_the_same_ids(driver: Driver) -> None:
    broker = driver.broker()
    client = driver.client(broker.url, reconnect=RETRY)
    client.connect()
    inbox = client.subscribe("/queue/a", ack="client-individual")
    first = broker.server
    assert list(first.subscriptions) == [inbox.id]

    broker.hang_up()
    driver.until(lambda: "reconnected" in client.events, "the client reconnected")
    assert client.events == ["connected", "lost", "reconnected"]
    assert len(broker.servers) == 2
    renewed = broker.server.subscriptions
    assert list(renewed) == [inbox.id]
    assert renewed[inbox.id].ack == "client-individual"

    broker.publish("/queue/a", b"after")
    message = inbox.get()  # the same subscription object goes on
    assert message.body == b"after"
    client.ack(message)
    client.send("/queue/b", b"sync", receipt=True)
    assert [delivery.body for delivery in broker.server.acked] == [b"after"]
    assert client.failure is None


def test_reconnect_gives_up_after_its_attempts(driver: Driver) -> None:
    broker = driver.broker()
    client = driver.client(broker.url, reconnect=RETRY)
    client.connect()
    inbox = client.subscribe("/queue/a")
    broker.refuse()
    broker.hang_up()
    # Not just "a failure": the blocking client's `failure` also says why a connection ended
    # while it reconnects.
    driver.until(lambda: "gave up" in str(client.failure), "the client gave up reconnecting")
    assert broker.dials == 1 + ATTEMPTS
    with pytest.raises(ConnectionLost, match="gave up"):
        inbox.get(timeout=0.5)  # the subscription ended with it


def secret(frame: object) -> tuple[str | None, str | None]:
    """The login and passcode of a CONNECT (or STOMP) frame."""
    assert isinstance(frame, Connect | Stomp), frame
    passcode = frame.passcode.get_secret_value() if frame.passcode is not None else None
    return frame.login, passcode


def test_the_credentials_hook_runs_before_each_connect(driver: Driver) -> None:
    broker = driver.broker()
    given: list[BrokerURL] = []

    def fresh(url: BrokerURL) -> BrokerURL:
        given.append(url)
        token = SecretStr(f"token-{len(given)}")
        return dataclasses.replace(url, login="fresh", passcode=token)

    client = driver.client(broker.url, reconnect=RETRY, credentials=fresh)
    client.connect()
    assert len(given) == 1
    broker.hang_up()
    driver.until(lambda: "reconnected" in client.events, "the client reconnected")
    assert [url.login for url in given] == ["guest", "guest"]  # the URL as given, each time
    connects = [secret(server.received[0]) for server in broker.servers]
    assert connects == [("fresh", "token-1"), ("fresh", "token-2")]


def test_an_included_router_s_handlers_take_their_messages(driver: Driver) -> None:
    broker = driver.broker()
    client = driver.client(broker.url)
    router = Router()
    routed: list[bytes] = []

    @router.on(Message, destination="/queue/a")
    def take(message: Message) -> ClientFrame | None:
        routed.append(message.body)
        return None

    client.include(router)
    client.connect()
    inbox = client.subscribe("/queue/a")
    broker.publish("/queue/a", b"routed")
    driver.until(lambda: routed, "the included router's handler ran")
    assert routed == [b"routed"]
    with pytest.raises(TimeoutError):
        inbox.get(timeout=0.1)  # the handler took it: nothing was queued
    assert client.failure is None


def test_ack_and_nack_with_a_receipt_wait_for_it(driver: Driver) -> None:
    broker = driver.broker()
    client = driver.client(broker.url, timeout=SHORT)
    client.connect()
    inbox = client.subscribe("/queue/a", ack="client-individual")
    broker.publish("/queue/a", b"one", b"two")
    first, second = inbox.get(), inbox.get()

    client.ack(first, receipt=True)
    assert [delivery.body for delivery in broker.server.acked] == [b"one"]  # confirmed
    [ack] = [frame for frame in broker.server.received if isinstance(frame, Ack)]
    assert ack.receipt is not None

    broker.hold_receipts()
    with pytest.raises(TimeoutError, match="RECEIPT"):
        client.nack(second, receipt=True)  # it waits for the RECEIPT (bounded by the timeout)
    [nack] = [frame for frame in broker.server.received if isinstance(frame, Nack)]
    assert nack.receipt is not None
    assert [delivery.body for delivery in broker.server.nacked] == [b"two"]
    broker.release_receipts()
    assert client.failure is None


# -- defect 4: a driver imports no other ---------------------------------------------------


def test_importing_a_driver_imports_no_other_driver(driver: Driver) -> None:
    others = [package for package in DRIVER_PACKAGES if package != driver.package]
    if driver.name != "twisted":
        others.append("twisted")
    code = f"import json, sys, {driver.package}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=REPO,
    )
    loaded = cast(list[str], json.loads(result.stdout))
    inside = tuple(f"{package}." for package in others)
    leaked = [name for name in loaded if name in others or name.startswith(inside)]
    assert leaked == [], f"import {driver.package} imported {leaked}"


# -- defect 5: one code path whatever the log level ----------------------------------------


@dataclasses.dataclass
class LevelRun:
    """What one run of a plain send and a plain ACK gave at one log level."""

    sent: list[bytes]
    """The SEND and the ACK, as the broker received them."""
    builds: int
    """Calls of `Engine.send` (the model builder) during the plain send."""
    lines: list[str]
    text: str


def plain_send_and_ack(
    driver: Driver, level: int, caplog: pytest.LogCaptureFixture, builds: list[object]
) -> LevelRun:
    caplog.set_level(level, logger="stompmodels")
    caplog.clear()
    broker = driver.broker()
    client = driver.client(broker.url)
    client.connect()
    inbox = client.subscribe("/queue/a", ack="client-individual")
    broker.publish("/queue/a", b"payload")
    message = inbox.get()

    builds.clear()
    client.send("/queue/b", b"plain")
    built = len(builds)
    client.ack(message)
    client.send("/queue/sync", b"sync", receipt=True)  # all before it has reached the broker
    frames = frames_of(broker.server.wire)
    client.close()
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("stompmodels")]
    wanted = (b"SEND\ndestination:/queue/b\n", b"ACK\n")
    return LevelRun([f for f in frames if f.startswith(wanted)], built, lines, caplog.text)


def test_the_code_path_does_not_depend_on_the_log_level(
    driver: Driver, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[object] = []
    build = cast(Callable[..., Send], Engine.send)

    def spy(self: Engine, *args: object, **kwargs: object) -> Send:
        builds.append(args)
        return build(self, *args, **kwargs)

    monkeypatch.setattr(Engine, "send", spy)
    debug = plain_send_and_ack(driver, logging.DEBUG, caplog, builds)
    quiet = plain_send_and_ack(driver, logging.WARNING, caplog, builds)

    assert [frame.split(b"\n", 1)[0] for frame in debug.sent] == [b"SEND", b"ACK"]
    assert debug.sent == quiet.sent, "the bytes on the wire depend on the log level"
    assert (debug.builds, quiet.builds) == (0, 0), (
        "Engine.send built the model of a receipt-less send "
        f"(at DEBUG: {debug.builds} calls, at WARNING: {quiet.builds})"
    )
    assert any(line.startswith("sent Send(") for line in debug.lines), debug.lines
    assert PASSCODE not in debug.text


# -- an ACK never crosses a reconnect ------------------------------------------------------


def test_a_message_from_before_a_reconnect_is_not_acked_on_the_new_connection(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stompmodels")
    broker = driver.broker()
    client = driver.client(broker.url, reconnect=RETRY)
    client.connect()
    inbox = client.subscribe("/queue/a", ack="client-individual")
    broker.publish("/queue/a", b"work")
    before = inbox.get()

    broker.hang_up()
    driver.until(lambda: "reconnected" in client.events, "the client reconnected")
    broker.publish("/queue/a", b"work")  # delivered again; its ack id is the new session's
    again = inbox.get()
    assert again.ack == before.ack  # the same id in both sessions: the stale ACK would hit this

    client.ack(before)
    client.send("/queue/sync", b"sync", receipt=True)
    assert [f for f in broker.server.received if isinstance(f, Ack | Nack)] == []
    refused = f"ACK of message {before.message_id} not sent"
    assert [
        record
        for record in caplog.records
        if record.name == driver.logger
        and record.levelno == logging.INFO
        and refused in record.getMessage()
    ], f"no INFO line {refused!r} on {driver.logger}"

    client.ack(again)
    client.send("/queue/sync", b"sync", receipt=True)
    assert [delivery.body for delivery in broker.server.acked] == [b"work"]
    assert client.failure is None
