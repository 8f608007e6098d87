"""The asyncio client against real RabbitMQ 3.10 and ActiveMQ 5.17, on every STOMP version.

Each scenario runs on both brokers (the `broker` fixture) and on each version offered alone
(`versions=(v,)`). Where the brokers differ (NACK, text bodies, 1.0 escaping, what an ERROR
looks like) the test asserts each broker's documented behaviour (shared/brokers/README.md).

Every queue is new (a uuid in its name) and is drained by the test; on RabbitMQ it is made with
`x-expires`, so it disappears a few minutes after the test. Every wait is bounded: the client's
own timeout is short, and each scenario runs under `asyncio.timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar
from urllib.parse import quote

import pytest

from stompmodels import VERSIONS, AckMode, LocalProtocolError, Message, State, Version
from stompmodels.aio import BrokerError, Client, ConnectionLost, Subscription

from ._brokers import LOOPBACK, Broker

T = TypeVar("T")

SCENARIO_LIMIT: Final = 10.0  # seconds for one scenario, whatever happens
CLIENT_TIMEOUT: Final = 3.0  # the client's bound on each of its own waits
QUIET: Final = 0.3  # how long "nothing arrives" is watched for
# RabbitMQ deletes a queue made with this argument 5 minutes after its last use (the first frame
# that touches a queue makes it, so every test subscribes before it sends). ActiveMQ ignores it.
QUEUE_ARGS: Final = {"x-expires": "300000"}

each_version = pytest.mark.parametrize("version", VERSIONS)
versions_with_nack = pytest.mark.parametrize("version", ["1.1", "1.2"])
acking_modes = pytest.mark.parametrize("mode", ["client", "client-individual"])


def individual(version: Version) -> AckMode:
    """The mode that acknowledges one message at a time, where the version has it: STOMP 1.0
    knows only auto and client (and a client refuses client-individual there)."""
    return "client" if version == "1.0" else "client-individual"


def run(scenario: Coroutine[Any, Any, T], limit: float = SCENARIO_LIMIT) -> T:
    """Run `scenario` on a fresh event loop, failing it if it takes longer than `limit`."""

    async def bounded() -> T:
        async with asyncio.timeout(limit):
            return await scenario

    return asyncio.run(bounded())


def queue_name(label: str) -> str:
    return f"/queue/stompmodels-aio-{label}-{uuid.uuid4().hex[:12]}"


def make_client(
    broker: Broker,
    version: Version,
    *,
    login: str | None = None,
    passcode: str | None = None,
    vhost: str = "/",
    heart_beat: tuple[int, int] = (10000, 10000),
    timeout: float = CLIENT_TIMEOUT,
) -> Client:
    return Client(
        broker.url_for(
            broker.login if login is None else quote(login, safe=""),
            broker.passcode if passcode is None else quote(passcode, safe=""),
            vhost,
        ),
        versions=(version,),
        heart_beat=heart_beat,
        timeout=timeout,
    )


@asynccontextmanager
async def connected(broker: Broker, version: Version, **options: Any) -> AsyncIterator[Client]:
    async with make_client(broker, version, **options) as client:
        yield client


@asynccontextmanager
async def failing(broker: Broker, version: Version) -> AsyncIterator[Client]:
    """A connected client for a scenario in which it fails: closed at the end, without
    `async with Client` raising the failure again on exit."""
    client = make_client(broker, version)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


async def subscribe(client: Client, queue: str, ack: AckMode = "auto") -> Subscription:
    return await client.subscribe(queue, ack=ack, headers=QUEUE_ARGS)


async def next_is_sentinel(client: Client, subscription: Subscription) -> None:
    """Send a fresh marker and check that it is the very next message: nothing came before."""
    marker = f"sentinel-{uuid.uuid4().hex}"
    await client.send(subscription.destination, marker, receipt=True)
    message = await subscription.get()
    if subscription.ack_mode != "auto":
        await subscription.ack(message)
    assert message.text == marker, f"expected nothing before the sentinel, got {message!r}"


async def texts(subscription: Subscription, count: int) -> list[str]:
    return [(await subscription.get()).text for _ in range(count)]


# -- connecting ----------------------------------------------------------------------------


@each_version
def test_connect_negotiates_the_only_version_offered(broker: Broker, version: Version) -> None:
    async def scenario() -> Client:
        client = make_client(broker, version)
        frame = await client.connect()
        try:
            engine = client.engine
            assert engine.state is State.CONNECTED
            assert engine.version == version
            assert frame.version == version
            assert engine.server is not None
            assert engine.server.startswith(f"{broker.product}/"), engine.server
            assert frame.server == engine.server
            assert engine.session
        finally:
            await client.close()
        return client

    client = run(scenario())
    assert client.engine.state is State.CLOSED


@pytest.mark.parametrize(
    ("offered", "expected"),
    [(VERSIONS, "1.2"), (("1.0", "1.1"), "1.1"), (("1.0", "1.2"), "1.2"), (("1.1", "1.2"), "1.2")],
)
def test_connect_picks_the_highest_common_version(
    broker: Broker, offered: tuple[Version, ...], expected: Version
) -> None:
    async def scenario() -> Version | None:
        url = broker.url
        async with Client(url, versions=offered, timeout=CLIENT_TIMEOUT) as client:
            return client.engine.version

    assert run(scenario()) == expected


# -- bodies and headers --------------------------------------------------------------------


@each_version
def test_binary_bodies_with_nuls_round_trip(broker: Broker, version: Version) -> None:
    bodies = [
        b"\x00",
        b"a\x00b\x00\x00c\n\n\r\n\x00",
        bytes(range(256)) * 4,
        os.urandom(300 * 1024) + b"\x00",  # several reads of the client's 64 KiB buffer
    ]

    async def scenario() -> list[Message]:
        queue = queue_name("binary")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue)
            for body in bodies:
                await client.send(queue, body, receipt=True)
            return [await subscription.get() for _ in bodies]

    messages = run(scenario())
    assert [message.body for message in messages] == bodies
    assert [message.content_length for message in messages] == [len(body) for body in bodies]


@each_version
def test_an_empty_body_round_trips(broker: Broker, version: Version) -> None:
    async def scenario() -> Message:
        queue = queue_name("empty")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue)
            await client.send(queue, b"", receipt=True)
            return await subscription.get()

    assert run(scenario()).body == b""


@each_version
def test_text_bodies_and_activemq_text_messages(broker: Broker, version: Version) -> None:
    text = "héllo ☃ — ünïcode\nsecond line"
    size = len(text.encode())

    async def scenario() -> tuple[Message, Message]:
        queue = queue_name("text")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue)
            await client.send(queue, text, receipt=True)
            await client.send(queue, text, receipt=True, omit_content_length=True)
            return await subscription.get(), await subscription.get()

    as_bytes, as_text = run(scenario())
    for message in (as_bytes, as_text):
        assert message.text == text
        assert message.content_type == "text/plain;charset=utf-8"
    assert as_bytes.content_length == size
    if broker.name == "activemq":
        # A SEND without content-length is a text message, which comes back without one.
        assert as_text.content_length is None
    else:
        assert as_text.content_length == size  # RabbitMQ always sends content-length


ESCAPED_VALUES: Final = {
    "x-colon": "a:b:c",
    "x-backslash": "C:\\path\\n",
    "x-newline": "one\ntwo",
    "x-everything": "k:v\\c\n\\\\end:",
    "x-unicode": "é ☃ 日本",
}


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_headers_that_need_escaping_round_trip(broker: Broker, version: Version) -> None:
    sent = dict(ESCAPED_VALUES)
    if version == "1.2":
        sent["x-carriage-return"] = "a\r\nb\r"

    async def scenario() -> Message:
        queue = queue_name("escape")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue)
            await client.send(queue, "x", headers=sent, receipt=True)
            return await subscription.get()

    message = run(scenario())
    assert {name: message.headers.get(name) for name in sent} == sent


def test_a_carriage_return_is_refused_locally_in_1_1(broker: Broker) -> None:
    async def scenario() -> None:
        queue = queue_name("cr11")
        async with connected(broker, "1.1") as client:
            subscription = await subscribe(client, queue)
            with pytest.raises(LocalProtocolError, match="carriage return"):
                await client.send(queue, "x", headers={"x-cr": "a\rb"}, receipt=True)
            assert client.engine.state is State.CONNECTED
            await next_is_sentinel(client, subscription)  # nothing half-sent

    run(scenario())


def test_headers_in_1_0(broker: Broker) -> None:
    """1.0 has no escaping: a line break cannot be sent at all, and a colon goes raw.

    RabbitMQ escapes its headers even in a 1.0 session, so the colon comes back as ``\\c``;
    ActiveMQ sends it raw.
    """

    async def scenario() -> Message:
        queue = queue_name("headers10")
        async with connected(broker, "1.0") as client:
            subscription = await subscribe(client, queue)
            for bad in ("one\ntwo", "one\rtwo"):
                with pytest.raises(LocalProtocolError, match="CR or LF"):
                    await client.send(queue, "x", headers={"x-bad": bad}, receipt=True)
            assert client.engine.state is State.CONNECTED
            await client.send(queue, "x", headers={"x-colon": "a:b:c", "x-u": "é☃"}, receipt=True)
            return await subscription.get()

    message = run(scenario())
    assert message.text == "x"
    assert message.headers.get("x-u") == "é☃"
    expected = "a\\cb\\cc" if broker.name == "rabbitmq" else "a:b:c"
    assert message.headers.get("x-colon") == expected


def test_a_backslash_in_a_1_0_send_is_refused_locally(broker: Broker) -> None:
    """1.0 has no escapes, yet both brokers unescape a 1.0 SEND's headers: RabbitMQ drops the
    connection on ``\\p`` (no such escape), ActiveMQ hands ``\\n`` to 1.0 consumers as a line
    break. So the client refuses the SEND before writing it, and the connection goes on."""

    async def scenario() -> None:
        queue = queue_name("backslash10")
        async with connected(broker, "1.0") as client:
            subscription = await subscribe(client, queue)
            for value in ("C:\\path", "x\\ninjected:yes"):
                with pytest.raises(LocalProtocolError, match="backslash"):
                    await client.send(queue, "x", headers={"x-path": value}, receipt=True)
            assert client.engine.state is State.CONNECTED
            await next_is_sentinel(client, subscription)  # nothing half-sent

    run(scenario())


# -- acknowledgement -----------------------------------------------------------------------


@each_version
@pytest.mark.parametrize("mode", ["auto", "client", "client-individual"])
def test_ack_modes_decide_what_is_redelivered(
    broker: Broker, version: Version, mode: AckMode
) -> None:
    """Three messages are received and only the second is ACKed, then the client reconnects.

    auto: nothing comes back (and ACK is refused locally); client: the ACK covers the first two,
    the third comes back; client-individual: the first and the third come back.
    """
    expected_back = {"auto": [], "client": ["m3"], "client-individual": ["m1", "m3"]}[mode]
    if version == "1.0" and mode == "client-individual":
        run(refused_in_10(broker, f"ack-{mode}"))
        return

    async def scenario() -> list[Message]:
        queue = queue_name(f"ack-{mode}")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue, mode)
            for text in ("m1", "m2", "m3"):
                await client.send(queue, text, receipt=True)
            received = [await subscription.get() for _ in range(3)]
            assert [message.text for message in received] == ["m1", "m2", "m3"]
            if mode == "auto":
                with pytest.raises(LocalProtocolError, match="auto"):
                    await subscription.ack(received[1])
            else:
                await subscription.ack(received[1])
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue, mode)
            back = [await subscription.get() for _ in expected_back]
            for message in back:
                await subscription.ack(message)
            await next_is_sentinel(client, subscription)
        return back

    back = run(scenario())
    assert [message.text for message in back] == expected_back
    # Both brokers mark a message delivered before as redelivered.
    assert all(message.headers.get("redelivered") == "true" for message in back)


@versions_with_nack
@acking_modes
def test_nack_follows_each_brokers_rules(broker: Broker, version: Version, mode: AckMode) -> None:
    """RabbitMQ requeues a NACKed message and redelivers it; ActiveMQ does not redeliver it and
    moves a persistent one to its dead-letter queue."""
    tag = uuid.uuid4().hex

    async def scenario() -> tuple[Message, Message | None]:
        queue = queue_name(f"nack-{mode}")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue, mode)
            headers = {"persistent": "true", "xtag": tag}
            await client.send(queue, "rejected", headers=headers, receipt=True)
            first = await subscription.get()
            await subscription.nack(first)
            if broker.name == "rabbitmq":
                again = await subscription.get()
                await subscription.ack(again)
                await next_is_sentinel(client, subscription)
                return first, again
            await next_is_sentinel(client, subscription)
            dead = await client.subscribe(
                "/queue/ActiveMQ.DLQ",
                ack="client-individual",
                headers={"selector": f"xtag = '{tag}'"},
            )
            letter = await dead.get()
            await dead.ack(letter)
            assert letter.headers.get("original-destination") == queue
            return first, letter

    first, later = run(scenario())
    assert first.text == "rejected"
    assert first.headers.get("redelivered", "false") == "false"
    assert later is not None
    assert later.text == "rejected"
    assert later.headers.get("xtag") == tag
    if broker.name == "rabbitmq":
        assert later.headers.get("redelivered") == "true"


async def refused_in_10(broker: Broker, name: str) -> None:
    """A 1.0 SUBSCRIBE in client-individual mode is refused before it is written."""
    async with connected(broker, "1.0") as client:
        with pytest.raises(LocalProtocolError, match="1.0 knows only ack modes auto and client"):
            await subscribe(client, queue_name(name), "client-individual")
        assert client.engine.state is State.CONNECTED
        assert not client.engine.subscriptions


@pytest.mark.parametrize("mode", ["client"])  # the one acknowledging mode of STOMP 1.0
def test_nack_does_not_exist_in_1_0(broker: Broker, mode: AckMode) -> None:
    async def scenario() -> None:
        queue = queue_name("nack10")
        async with connected(broker, "1.0") as client:
            subscription = await subscribe(client, queue, mode)
            await client.send(queue, "m", receipt=True)
            message = await subscription.get()
            with pytest.raises(LocalProtocolError, match="NACK does not exist in STOMP 1.0"):
                await subscription.nack(message)
            await subscription.ack(message)
            assert client.engine.state is State.CONNECTED
            await next_is_sentinel(client, subscription)
        async with connected(broker, "1.0") as client:  # the ACK went through: nothing is back
            await next_is_sentinel(client, await subscribe(client, queue, mode))

    run(scenario())


@each_version
def test_nack_and_ack_are_refused_on_an_auto_subscription(broker: Broker, version: Version) -> None:
    async def scenario() -> None:
        queue = queue_name("auto")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue)
            await client.send(queue, "m", receipt=True)
            message = await subscription.get()
            with pytest.raises(LocalProtocolError):
                await subscription.ack(message)
            with pytest.raises(LocalProtocolError):
                await subscription.nack(message)
            await next_is_sentinel(client, subscription)

    run(scenario())


# -- receipts and transactions -------------------------------------------------------------


@each_version
def test_receipts_are_awaited(broker: Broker, version: Version) -> None:
    async def scenario() -> list[Message]:
        queue = queue_name("receipt")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue)
            assert not client.engine.pending_receipts
            sending = asyncio.create_task(client.send(queue, "m0", receipt=True))
            await asyncio.sleep(0)  # the SEND is written; its RECEIPT cannot be back yet
            assert list(client.engine.pending_receipts.values()) == ["SEND"]
            assert not sending.done()
            await sending
            assert not client.engine.pending_receipts
            for index in range(1, 5):
                await client.send(queue, f"m{index}", receipt=True)
                assert not client.engine.pending_receipts
            return [await subscription.get() for _ in range(5)]

    messages = run(scenario())
    assert [message.text for message in messages] == [f"m{index}" for index in range(5)]
    # RabbitMQ copies the SEND's receipt header into the MESSAGE; ActiveMQ does not.
    copied = [message.headers.get("receipt") is not None for message in messages]
    assert copied == [broker.name == "rabbitmq"] * 5


class Rollback(Exception):
    """Raised inside a transaction to abort it."""


@each_version
def test_commit_delivers_and_abort_does_not(broker: Broker, version: Version) -> None:
    async def scenario() -> None:
        queue = queue_name("tx")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue)
            async with client.transaction() as tx:
                assert tx in client.engine.transactions
                await client.send(queue, "tx-1", transaction=tx)
                await client.send(queue, "tx-2", transaction=tx)
                await next_is_sentinel(client, subscription)  # nothing before COMMIT
            assert not client.engine.transactions
            assert await texts(subscription, 2) == ["tx-1", "tx-2"]

            with pytest.raises(Rollback):
                async with client.transaction() as tx:
                    await client.send(queue, "aborted", transaction=tx)
                    raise Rollback
            assert not client.engine.transactions
            assert client.engine.state is State.CONNECTED
            await next_is_sentinel(client, subscription)  # the aborted SEND never came

    run(scenario())


@each_version
def test_the_receipt_of_a_send_in_a_transaction(broker: Broker, version: Version) -> None:
    """RabbitMQ holds the RECEIPT of a SEND inside a transaction back until COMMIT (so awaiting
    it before COMMIT would only time out); ActiveMQ sends it at once."""

    async def scenario() -> tuple[bool, bool]:
        queue = queue_name("tx-receipt")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue)
            async with client.transaction() as tx:
                sending = asyncio.create_task(
                    client.send(queue, "in-tx", transaction=tx, receipt=True)
                )
                await next_is_sentinel(client, subscription)  # the broker is past it
                done, _ = await asyncio.wait({sending}, timeout=QUIET)
                before_commit = sending in done
            await sending
            assert (await subscription.get()).text == "in-tx"
            return before_commit, sending.done()

    before_commit, after_commit = run(scenario())
    assert after_commit
    assert before_commit == (broker.name == "activemq")


@each_version
@pytest.mark.parametrize("commit", [True, False], ids=["commit", "abort"])
def test_an_ack_inside_a_transaction(broker: Broker, version: Version, commit: bool) -> None:
    """A committed ACK holds across a reconnect; an aborted one does not."""

    async def scenario() -> list[str]:
        queue = queue_name("tx-ack")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue, individual(version))
            await client.send(queue, "m", receipt=True)
            message = await subscription.get()

            async def ack_in_a_transaction() -> None:
                async with client.transaction() as tx:
                    await subscription.ack(message, transaction=tx)
                    if not commit:
                        raise Rollback

            if commit:
                await ack_in_a_transaction()
            else:
                with pytest.raises(Rollback):
                    await ack_in_a_transaction()
            assert not client.engine.transactions
            if version != "1.0":  # a client-mode ACK of the sentinel would cover "m" as well
                await next_is_sentinel(client, subscription)
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue, individual(version))
            back = [] if commit else [await subscription.get()]
            for message in back:
                await subscription.ack(message)
            await next_is_sentinel(client, subscription)
            return [message.text for message in back]

    assert run(scenario()) == ([] if commit else ["m"])


# -- subscriptions, heart-beats, disconnect ------------------------------------------------


@each_version
def test_unsubscribe_stops_delivery(broker: Broker, version: Version) -> None:
    async def scenario() -> None:
        queue = queue_name("unsub")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue)
            await client.send(queue, "before", receipt=True)
            assert (await subscription.get()).text == "before"
            await subscription.unsubscribe()
            assert subscription.id not in client.engine.subscriptions
            assert [message async for message in subscription] == []  # the iterator ends
            await client.send(queue, "after", receipt=True)
            await asyncio.sleep(QUIET)  # a delivery to the old subscription would come now
            again = await subscribe(client, queue)
            assert again.id != subscription.id
            assert (await again.get()).text == "after"  # it waited in the queue
            await next_is_sentinel(client, again)

    run(scenario())


@each_version
def test_heart_beats_keep_an_idle_connection_alive(broker: Broker, version: Version) -> None:
    """Both brokers drop a client that promised 1 s heart-beats and sent none after about 3 s;
    this client stays connected through 3.5 s of silence of its own."""

    async def scenario() -> tuple[int, Message]:
        queue = queue_name("heartbeat")
        async with connected(broker, version, heart_beat=(1000, 1000)) as client:
            engine = client.engine
            assert tuple(engine.heart_beat) == (1000, 1000)
            subscription = await subscribe(client, queue)
            before = engine.decoder.heartbeats_received
            await asyncio.sleep(3.5)
            assert engine.state is State.CONNECTED
            await client.send(queue, "still here", receipt=True)
            message = await subscription.get()
            return engine.decoder.heartbeats_received - before, message

    beats, message = run(scenario())
    assert message.text == "still here"
    assert beats >= 2, "the broker's heart-beats were not seen"


def test_heart_beat_tolerance_covers_activemqs_schedule() -> None:
    """ActiveMQ skips a heart-beat when it wrote anything in the last interval, so with 1000 ms
    its first EOL after a frame comes 1.99-2.02 s later (measured on 5.17 with raw sockets; later
    under load). A loopback server replays that schedule: CONNECTED, an EOL 2.05 s later, then
    one a second. A client that allows exactly two intervals declares it dead."""
    connected_frame = b"CONNECTED\nversion:1.2\nheart-beat:1000,1000\n\n\x00"

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            await reader.readuntil(b"\x00")
            writer.write(connected_frame)
            beat_at = loop.time() + 2.05
            while True:  # EOLs on schedule; whatever the client sends is read and ignored
                try:
                    async with asyncio.timeout_at(beat_at):
                        if not await reader.read(4096):
                            return  # the client hung up
                except TimeoutError:
                    writer.write(b"\n")
                    beat_at += 1.0
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def scenario() -> State:
        server = await asyncio.start_server(serve, LOOPBACK, 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            client = Client(host=LOOPBACK, port=port, heart_beat=(1000, 1000), timeout=1.0)
            await client.connect()
            try:
                await asyncio.sleep(3.5)
                return client.engine.state
            finally:
                with contextlib.suppress(ConnectionLost):
                    await client.close(timeout=0.2)

    assert run(scenario()) is State.CONNECTED


@each_version
def test_close_is_graceful(
    broker: Broker, version: Version, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="stompmodels")

    async def scenario() -> float:
        queue = queue_name("close")
        client = make_client(broker, version)
        await client.connect()
        subscription = await subscribe(client, queue)
        engine = client.engine
        loop = asyncio.get_running_loop()
        started = loop.time()
        await client.close()
        took = loop.time() - started
        assert engine.state is State.CLOSED
        assert not engine.pending_receipts  # the DISCONNECT's receipt came back
        assert [message async for message in subscription] == []  # ends quietly
        with pytest.raises(ConnectionLost):
            await client.send(queue, "too late")
        await client.close()  # a second close does nothing
        return took

    took = run(scenario())
    assert took < CLIENT_TIMEOUT / 2
    logged = [record.getMessage() for record in caplog.records]
    assert not [line for line in logged if "no receipt for DISCONNECT" in line]
    disconnect = next(i for i, line in enumerate(logged) if line.startswith("sent Disconnect("))
    receipt = re.search(r"receipt='([^']+)'", logged[disconnect])
    assert receipt is not None
    assert any(
        line.startswith("received Receipt(") and f"receipt_id='{receipt[1]}'" in line
        for line in logged[disconnect:]
    )


# -- errors --------------------------------------------------------------------------------


@each_version
@pytest.mark.parametrize("receipt", [True, False], ids=["receipt", "no-receipt"])
def test_rabbitmq_error_for_an_unknown_destination(
    rabbitmq: Broker, version: Version, receipt: bool
) -> None:
    """RabbitMQ answers a SEND to ``/invalid/x`` with ERROR: the waiter gets BrokerError, every
    later call raises it, subscriptions end with it, and the session is closed."""

    async def scenario() -> BrokerError:
        queue = queue_name("error")
        async with failing(rabbitmq, version) as client:
            subscription = await subscribe(client, queue)
            if receipt:
                with pytest.raises(BrokerError) as caught:
                    await client.send("/invalid/x", "x", receipt=True)
            else:
                await client.send("/invalid/x", "x")
                with pytest.raises(BrokerError) as caught:
                    await subscription.get()
            error = caught.value
            assert client.engine.state is State.CLOSED
            assert client.engine.error == error.frame
            with pytest.raises(BrokerError):
                await client.send(queue, "after the error")
            with pytest.raises(BrokerError):
                await subscription.get()
            return error

    error = run(scenario())
    assert error.frame.message == "Unknown destination"
    assert "Unknown destination" in str(error)


@each_version
def test_activemq_takes_any_destination(activemq: Broker, version: Version) -> None:
    async def scenario() -> Message:
        destination = f"/invalid/stompmodels-aio-{uuid.uuid4().hex[:12]}"
        async with connected(activemq, version) as client:
            subscription = await client.subscribe(destination)
            await client.send(destination, "x", receipt=True)
            assert client.engine.state is State.CONNECTED
            return await subscription.get()

    assert run(scenario()).text == "x"


@each_version
def test_an_error_followed_by_more_frames_is_still_a_broker_error(
    broker: Broker, version: Version
) -> None:
    """An ACK of an unknown message gets ERROR from both brokers, and both keep the connection
    open and go on sending (here the MESSAGE of the next SEND). The ERROR is what ended the
    session, so the client must report it as BrokerError, whatever arrives after it.

    The loop is blocked for a moment so that the ERROR and the MESSAGE after it arrive in one
    read, as they do on a busy client.
    """

    async def scenario() -> ConnectionLost:
        queue = queue_name("error-then-more")
        async with failing(broker, version) as client:
            subscription = await subscribe(client, queue, individual(version))
            unknown = Message(
                destination=queue,
                message_id="no-such:1",  # ActiveMQ hangs up without ERROR on an id with no ":"
                subscription=subscription.id,
                ack="no-such:1",
            )
            await subscription.ack(unknown)
            await client.send(queue, "after the bad ACK")
            await asyncio.sleep(0)  # one pass of the loop: the client writes what it queued
            time.sleep(0.5)  # blocks the loop: the broker's answers pile up in the socket
            with pytest.raises(ConnectionLost) as caught:
                await subscription.get()
            assert client.engine.state is State.CLOSED
            assert client.engine.error is not None
            return caught.value

    error = run(scenario())
    assert isinstance(error, BrokerError), f"{type(error).__name__}: {error}"
    expected = "Invalid header" if broker.name == "rabbitmq" else "Unexpected ACK received"
    assert expected in (error.frame.message or "")


@each_version
@pytest.mark.parametrize("who", ["wrong-password", "unknown-user"])
def test_a_refused_login(broker: Broker, version: Version, who: str) -> None:
    login = "guest" if who == "wrong-password" else f"nobody-{uuid.uuid4().hex[:8]}"

    async def scenario() -> tuple[BrokerError, float, Client]:
        client = make_client(broker, version, login=login, passcode="not-the-password")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(BrokerError) as caught:
            await client.connect()
        took = loop.time() - started
        assert client.engine.state is State.CLOSED
        with pytest.raises(ConnectionLost):
            await client.send("/queue/never", "x")
        await client.close()  # harmless after a failed connect
        return caught.value, took, client

    error, took, client = run(scenario())
    assert took < 1.5, "a refusal is an ERROR frame, not a timeout"
    assert client.engine.error == error.frame
    if broker.name == "rabbitmq":
        assert error.frame.message == "Bad CONNECT"
        assert f"Access refused for user '{login}'" in error.frame.text
    else:
        assert error.frame.message == f"User name [{login}] or password is invalid."


@each_version
def test_an_unknown_vhost(broker: Broker, version: Version) -> None:
    """RabbitMQ maps `host` to a vhost and refuses an unknown one; ActiveMQ ignores `host`."""
    vhost = f"no-such-vhost-{uuid.uuid4().hex[:8]}"

    async def scenario() -> BrokerError | None:
        client = make_client(broker, version, vhost=vhost)
        try:
            await client.connect()
        except BrokerError as error:
            return error
        assert client.engine.state is State.CONNECTED
        await client.close()
        return None

    error = run(scenario())
    if broker.name == "rabbitmq":
        assert error is not None
        assert error.frame.message is not None
    else:
        assert error is None


# -- bounded waits -------------------------------------------------------------------------


def free_loopback_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def test_an_unreachable_port_fails_fast() -> None:
    port = free_loopback_port()

    async def scenario() -> tuple[ConnectionLost, float]:
        client = Client(host=LOOPBACK, port=port, login="guest", passcode="guest", timeout=5.0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(ConnectionLost) as caught:
            await client.connect()
        return caught.value, loop.time() - started

    error, took = run(scenario())
    assert took < 1.0, "a refused connection must not wait for the timeout"
    assert "cannot reach" in str(error)
    assert str(port) in str(error)


@asynccontextmanager
async def fake_server(greeting: bytes | None) -> AsyncIterator[int]:
    """A loopback server that answers each connection's first frame with `greeting` (hangs up
    after it if None) and then reads and ignores everything."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\x00")
            if greeting is None:
                return
            writer.write(greeting)
            while await reader.read(4096):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, LOOPBACK, 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.mark.parametrize(
    ("greeting", "expected"),
    [(b"", "no answer from"), (None, "closed the connection")],
    ids=["silent", "hangs-up"],
)
def test_connect_to_a_server_that_does_not_answer_is_bounded(
    greeting: bytes | None, expected: str
) -> None:
    async def scenario() -> tuple[ConnectionLost, float]:
        async with fake_server(greeting) as port:
            client = Client(host=LOOPBACK, port=port, timeout=0.5)
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(ConnectionLost) as caught:
                await client.connect()
            return caught.value, loop.time() - started

    error, took = run(scenario())
    assert expected in str(error)
    assert took < 2.0


def test_a_receipt_that_never_comes_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    """A server that says CONNECTED and then nothing: a receipt wait and close() both end."""
    caplog.set_level(logging.WARNING, logger="stompmodels")
    connected_frame = b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\x00"

    async def scenario() -> tuple[float, float]:
        async with fake_server(connected_frame) as port:
            client = Client(host=LOOPBACK, port=port, timeout=0.5, heart_beat=(0, 0))
            await client.connect()
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(TimeoutError, match="no RECEIPT for SEND"):
                await client.send("/queue/x", "x", receipt=True)
            waited = loop.time() - started
            started = loop.time()
            await client.close()
            return waited, loop.time() - started

    waited, closing = run(scenario())
    assert 0.4 < waited < 2.0
    assert 0.4 < closing < 3.0
    assert any("no receipt for DISCONNECT" in record.getMessage() for record in caplog.records)


@each_version
def test_get_times_out_and_the_subscription_stays_usable(broker: Broker, version: Version) -> None:
    async def scenario() -> float:
        queue = queue_name("get-timeout")
        async with connected(broker, version) as client:
            subscription = await subscribe(client, queue)
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(TimeoutError):
                await subscription.get(timeout=QUIET)
            took = loop.time() - started
            await next_is_sentinel(client, subscription)
            return took

    took = run(scenario())
    assert QUIET * 0.9 < took < QUIET + 1.0


# -- secrets -------------------------------------------------------------------------------


@each_version
def test_the_passcode_is_not_logged_on_a_good_login(
    broker: Broker, version: Version, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="stompmodels")

    async def scenario() -> Client:
        queue = queue_name("secret")
        async with Client(broker.url, versions=(version,), timeout=CLIENT_TIMEOUT) as client:
            subscription = await subscribe(client, queue)
            await client.send(queue, "x", receipt=True)
            await subscription.get()
            return client

    client = run(scenario())
    text = caplog.text
    assert "sent Connect(" in text, "the CONNECT frame was not logged at DEBUG"
    after_passcode = [
        text[match.end() : match.end() + 40] for match in re.finditer("passcode", text)
    ]
    assert after_passcode, "the log does not mention the passcode field at all"
    assert not [tail for tail in after_passcode if broker.passcode in tail]
    assert f":{broker.passcode}@" not in text
    assert f":{broker.passcode}@" not in f"{client.url} {client.url!r} {client.urls!r}"


@each_version
def test_a_refused_passcode_appears_nowhere(
    broker: Broker, version: Version, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="stompmodels")
    secret = f"pw-{uuid.uuid4().hex}"

    async def scenario() -> tuple[BrokerError, Client]:
        url = broker.url_for(broker.login, secret)
        client = Client(url, versions=(version,), timeout=CLIENT_TIMEOUT)
        with pytest.raises(BrokerError) as caught:
            await client.connect()
        await client.close()
        return caught.value, client

    error, client = run(scenario())
    assert "sent Connect(" in caplog.text
    seen = [
        caplog.text,
        str(error),
        repr(error),
        repr(error.frame),
        str(client.url),
        repr(client.url),
        repr(client.urls),
    ]
    assert not [place for place in seen if secret in place]
