"""Clients we did not write, against the embedded broker: stomp.py (threads; STOMP 1.0, 1.1 and
1.2) and stompman (asyncio; STOMP 1.2, over TCP and over WebSocket).

Each connects, subscribes, sends, receives, acknowledges (client-individual where the version
has it), refuses (NACK, where the version has it), uses a transaction and disconnects; then
the broker's own view (`held`, `connections`) must show nothing left unsettled and the
connection gone. Every wait is bounded by `WAIT`.
"""

from __future__ import annotations

import asyncio
import queue as queues
import threading
import uuid
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol, cast

import pytest
import stomp
import stomp.utils
import stompman
from stompman.connection import Connection as StompmanConnection
from stompman.connection_ws import WebSocketConnection

from stompmodels.testing import RunningBroker

WAIT = 3.0
"""Seconds any single wait here may take at most."""
SCENARIO = 10.0
"""Seconds a whole asyncio scenario may take at most."""
DEAD = "/queue/interop-dead"


def queue() -> str:
    return f"/queue/interop-{uuid.uuid4().hex[:8]}"


def settled(destination: str) -> Callable[[RunningBroker], bool]:
    """Whether nothing of `destination` waits in the queue or for an ACK."""
    return lambda broker: not broker.held(destination) and broker.unacked(destination) == 0


def gone(broker: RunningBroker) -> bool:
    return not broker.connections()


# --------------------------------------------------------------------------------------------
# stomp.py


class StompPy(Protocol):
    """What these tests use of a stomp.py connection, whatever its STOMP version (their `ack`
    and `nack` take different arguments per version)."""

    def set_listener(self, name: str, listener: stomp.ConnectionListener) -> None: ...

    def connect(
        self,
        username: str | None = None,
        passcode: str | None = None,
        wait: bool = False,
        headers: dict[str, Any] | None = None,
        **keyword_headers: Any,
    ) -> None: ...

    def subscribe(self, *args: Any, **kwargs: Any) -> None: ...

    def unsubscribe(self, *args: Any, **kwargs: Any) -> None: ...

    def send(
        self,
        destination: str,
        body: bytes | str,
        content_type: str | None = None,
        headers: dict[str, Any] | None = None,
        **keyword_headers: Any,
    ) -> None: ...

    def ack(self, *args: Any, **kwargs: Any) -> None: ...

    def nack(self, *args: Any, **kwargs: Any) -> None: ...

    def begin(
        self, transaction: str | None = None, headers: dict[str, Any] | None = None
    ) -> str: ...

    def commit(
        self, transaction: str | None = None, headers: dict[str, Any] | None = None
    ) -> None: ...

    def abort(self, transaction: str, headers: dict[str, Any] | None = None) -> None: ...

    def disconnect(self, receipt: str | None = None) -> None: ...


# stomp.Connection is stomp.py's STOMP 1.1 class and Connection10 its 1.0 one; the partial stubs
# in typings/stomp name only Connection12, so the other two are looked up untyped.
STOMP_PY: Mapping[str, Callable[..., StompPy]] = {
    "1.0": vars(stomp)["Connection10"],
    "1.1": vars(stomp)["Connection"],
    "1.2": stomp.Connection12,
}


class Recorder(stomp.ConnectionListener):
    """What stomp.py's receiver thread hands over, for the test's thread to wait on."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.answered = threading.Event()  # CONNECTED or ERROR
        self.disconnected = threading.Event()
        self.messages: queues.Queue[stomp.utils.Frame] = queues.Queue()
        self.errors: list[str] = []
        self._receipts: set[str] = set()
        self._changed = threading.Condition()

    def on_connected(self, frame: stomp.utils.Frame) -> None:
        self.connected.set()
        self.answered.set()

    def on_disconnected(self) -> None:
        self.disconnected.set()

    def on_message(self, frame: stomp.utils.Frame) -> None:
        self.messages.put(frame)

    def on_receipt(self, frame: stomp.utils.Frame) -> None:
        with self._changed:
            self._receipts.add(str(frame.headers["receipt-id"]))
            self._changed.notify_all()

    def on_error(self, frame: stomp.utils.Frame) -> None:
        with self._changed:
            self.errors.append(str(frame.headers.get("message", "")))
            self._changed.notify_all()
        self.answered.set()

    def receipt(self, receipt_id: str) -> None:
        """Wait (at most WAIT) for the RECEIPT of `receipt_id`."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: receipt_id in self._receipts or bool(self.errors), WAIT
            ):
                pytest.fail(f"no RECEIPT {receipt_id!r} within {WAIT} s")
        assert not self.errors, f"the broker sent ERROR: {self.errors}"

    def message(self) -> stomp.utils.Frame:
        """The next MESSAGE (at most WAIT)."""
        try:
            return self.messages.get(timeout=WAIT)
        except queues.Empty:
            pytest.fail(f"no MESSAGE within {WAIT} s (errors: {self.errors})")

    def nothing_more(self) -> None:
        assert self.messages.empty(), f"unexpected MESSAGE: {self.messages.get_nowait().body!r}"


def open_stomppy(
    broker: RunningBroker, version: str, login: str, vhost: str | None = "/"
) -> tuple[StompPy, Recorder]:
    """A connected stomp.py connection. Without `vhost`, stomp.py's STOMP frame has no `host`
    header (which STOMP 1.1 and 1.2 require; RabbitMQ and ActiveMQ take it)."""
    # stomp.py's 1.0 class takes neither heart-beats nor a vhost (1.0 has no `host` header).
    options: dict[str, Any] = (
        {} if version == "1.0" else {"heartbeats": (1000, 1000), "vhost": vhost}
    )
    connection = STOMP_PY[version](
        [("127.0.0.1", broker.port)],
        timeout=WAIT,
        reconnect_attempts_max=1,
        auto_decode=False,
        **options,
    )
    recorder = Recorder()
    connection.set_listener("test", recorder)
    connection.connect(login, "secret", wait=False)  # wait=True would wait without a bound
    if not (recorder.answered.wait(WAIT) and recorder.connected.is_set()):
        close_stomppy(connection)
        pytest.fail(f"stomp.py {version}: not connected within {WAIT} s; ERROR: {recorder.errors}")
    return connection, recorder


def close_stomppy(connection: StompPy) -> None:
    """DISCONNECT with a receipt. stomp.py then joins its receiver thread without a bound, so
    this runs in a daemon thread that gets WAIT seconds."""
    closer = threading.Thread(target=lambda: connection.disconnect(receipt="bye"), daemon=True)
    closer.start()
    closer.join(WAIT)
    assert not closer.is_alive(), f"stomp.py's disconnect did not finish within {WAIT} s"


def tag(frame: stomp.utils.Frame, version: str) -> tuple[str, ...]:
    """The positional arguments of stomp.py's ack/nack for `frame` in `version`."""
    headers = frame.headers
    if version == "1.2":
        return (str(headers["ack"]),)
    if version == "1.1":
        return (str(headers["message-id"]), str(headers["subscription"]))
    return (str(headers["message-id"]),)


def subscribe_stomppy(
    broker: RunningBroker, connection: StompPy, recorder: Recorder, destination: str
) -> None:
    """SUBSCRIBE `destination` (id sub-1, client-individual) and wait for its RECEIPT."""
    connection.subscribe(
        destination, "sub-1", ack="client-individual", headers={"receipt": "subscribed"}
    )
    recorder.receipt("subscribed")
    [info] = broker.connections()
    assert [(s.id, s.destination, s.ack) for s in info.subscriptions] == [
        ("sub-1", destination, "client-individual")
    ]


def unsubscribe_stomppy(broker: RunningBroker, connection: StompPy, recorder: Recorder) -> None:
    connection.unsubscribe("sub-1", headers={"receipt": "unsubscribed"})
    recorder.receipt("unsubscribed")
    [info] = broker.connections()
    assert (info.subscriptions, info.transactions) == ((), ())


@pytest.mark.stomp_broker(dead_letter=DEAD)
@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_stomppy_client_individual_ack_and_nack(stomp_broker: RunningBroker, version: str) -> None:
    destination = queue()
    connection, recorder = open_stomppy(stomp_broker, version, "stomppy")
    try:
        [info] = stomp_broker.connections()
        assert (info.connected, info.login, info.version) == (True, "stomppy", version)
        subscribe_stomppy(stomp_broker, connection, recorder, destination)

        for n in range(4):
            headers: dict[str, Any] = {"x-n": str(n)}
            if n == 3:
                headers["receipt"] = "sent"
            connection.send(destination, f"m{n}".encode(), content_type="text/plain", **headers)
        recorder.receipt("sent")
        frames = [recorder.message() for _ in range(4)]
        assert [f.body for f in frames] == [b"m0", b"m1", b"m2", b"m3"]
        assert [f.headers["x-n"] for f in frames] == ["0", "1", "2", "3"]
        assert {f.headers["subscription"] for f in frames} == {"sub-1"}
        assert {f.headers["destination"] for f in frames} == {destination}
        assert all(f.headers["content-type"] == "text/plain" for f in frames)
        assert len({f.headers["message-id"] for f in frames}) == 4
        assert ("ack" in frames[0].headers) == (version == "1.2")
        assert stomp_broker.unacked(destination) == 4

        connection.ack(*tag(frames[0], version))
        connection.nack(*tag(frames[1], version))  # requeued: it comes again
        again = recorder.message()
        assert (again.body, again.headers.get("redelivered")) == (b"m1", "true")
        connection.nack(*tag(frames[2], version), requeue="false")  # to the dead letters
        connection.ack(*tag(frames[3], version))
        connection.ack(*tag(again, version), receipt="settled")
        recorder.receipt("settled")
        assert stomp_broker.unacked(destination) == 0
        assert stomp_broker.held(destination) == ()
        [dead] = stomp_broker.held(DEAD)
        assert dead.body == b"m2"
        assert dead.headers.get("x-original-destination") == destination
        recorder.nothing_more()
        unsubscribe_stomppy(stomp_broker, connection, recorder)
    finally:
        close_stomppy(connection)
    assert recorder.disconnected.wait(WAIT)
    assert recorder.errors == []
    stomp_broker.wait_until(gone, WAIT)
    assert settled(destination)(stomp_broker)


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_stomppy_transaction(stomp_broker: RunningBroker, version: str) -> None:
    destination = queue()
    connection, recorder = open_stomppy(stomp_broker, version, "stomppy")
    try:
        subscribe_stomppy(stomp_broker, connection, recorder, destination)
        transaction = connection.begin()
        connection.send(destination, b"in a transaction", transaction=transaction)
        [info] = stomp_broker.connections()
        assert info.transactions == (transaction,)
        assert stomp_broker.held(destination) == ()
        recorder.nothing_more()  # not before COMMIT
        connection.commit(transaction, headers={"receipt": "committed"})
        recorder.receipt("committed")
        committed = recorder.message()
        assert committed.body == b"in a transaction"

        # An ACK in a transaction that is aborted leaves the message unacknowledged.
        aborted = connection.begin()
        connection.ack(*tag(committed, version), transaction=aborted)
        connection.abort(aborted)
        connection.send(destination, b"", headers={"receipt": "aborted"})
        recorder.receipt("aborted")
        assert recorder.message().body == b""
        assert stomp_broker.unacked(destination) == 2
        unsubscribe_stomppy(stomp_broker, connection, recorder)
        back = stomp_broker.held(destination)
        assert [(m.body, m.redelivered) for m in back] == [
            (b"in a transaction", True),
            (b"", True),
        ]
    finally:
        close_stomppy(connection)
    assert recorder.errors == []
    stomp_broker.wait_until(gone, WAIT)


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_stomppy_connects_as_it_does_by_default(stomp_broker: RunningBroker, version: str) -> None:
    """`stomp.Connection([(host, port)])` with no vhost: a STOMP frame without `host`."""
    destination = queue()
    connection, recorder = open_stomppy(stomp_broker, version, "plain", vhost=None)
    try:
        [info] = stomp_broker.connections()
        assert (info.login, info.version) == ("plain", version)
        connection.subscribe(destination, "s")
        connection.send(destination, b"hello", headers={"receipt": "sent"})
        recorder.receipt("sent")
        assert recorder.message().body == b"hello"
    finally:
        close_stomppy(connection)
    stomp_broker.wait_until(gone, WAIT)


def test_stomppy_stomp_1_0_cumulative_ack(stomp_broker: RunningBroker) -> None:
    """STOMP 1.0: no subscription id, no NACK; `client` acknowledges cumulatively."""
    destination = queue()
    connection, recorder = open_stomppy(stomp_broker, "1.0", "old-timer")
    try:
        [info] = stomp_broker.connections()
        assert (info.login, info.version) == ("old-timer", "1.0")
        connection.subscribe(destination, ack="client", headers={"receipt": "subscribed"})
        recorder.receipt("subscribed")
        for n in range(3):
            connection.send(destination, f"m{n}".encode())
        frames = [recorder.message() for _ in range(3)]
        assert [f.body for f in frames] == [b"m0", b"m1", b"m2"]
        assert stomp_broker.unacked(destination) == 3
        connection.ack(*tag(frames[1], "1.0"), receipt="two")  # m0 and m1
        recorder.receipt("two")
        assert stomp_broker.unacked(destination) == 1
        connection.ack(*tag(frames[2], "1.0"), receipt="three")
        recorder.receipt("three")
        assert stomp_broker.unacked(destination) == 0
        recorder.nothing_more()
    finally:
        close_stomppy(connection)
    assert recorder.errors == []
    stomp_broker.wait_until(gone, WAIT)
    assert settled(destination)(stomp_broker)


def test_stomppy_unacked_messages_return_when_it_disconnects(stomp_broker: RunningBroker) -> None:
    destination = queue()
    connection, recorder = open_stomppy(stomp_broker, "1.2", "leaver")
    try:
        connection.subscribe(destination, "s", ack="client-individual")
        connection.send(destination, b"kept", headers={"receipt": "sent"})
        recorder.receipt("sent")
        assert recorder.message().body == b"kept"
    finally:
        close_stomppy(connection)
    stomp_broker.wait_until(gone, WAIT)
    [back] = stomp_broker.held(destination)
    assert (back.body, back.redelivered) == (b"kept", True)


# --------------------------------------------------------------------------------------------
# stompman


def run(scenario: Coroutine[object, object, None]) -> None:
    """Run an asyncio scenario, bounded in time."""

    async def bounded() -> None:
        async with asyncio.timeout(SCENARIO):
            await scenario

    asyncio.run(bounded())


def header(frame: stompman.MessageFrame, name: str) -> str | None:
    """Any header of a MESSAGE (stompman types only the standard ones)."""
    return cast(Mapping[str, str], frame.headers).get(name)


def stompman_client(
    broker: RunningBroker, *, websocket: bool = False, login: str = "stompman"
) -> stompman.Client:
    if websocket:
        assert broker.ws_port is not None
        server = stompman.ConnectionParameters(
            "127.0.0.1", broker.ws_port, login, "secret", ws_uri_path="/ws"
        )
    else:
        server = stompman.ConnectionParameters("127.0.0.1", broker.port, login, "secret")
    return stompman.Client(
        [server],
        heartbeat=stompman.Heartbeat(1000, 1000),
        connect_retry_attempts=1,
        connect_retry_interval=1,
        connect_timeout=int(WAIT),
        connection_confirmation_timeout=int(WAIT),
        disconnect_confirmation_timeout=int(WAIT),
        connection_class=WebSocketConnection if websocket else StompmanConnection,
    )


Frames = asyncio.Queue[stompman.AckableMessageFrame]


async def next_of(frames: Frames) -> stompman.AckableMessageFrame:
    try:
        return await asyncio.wait_for(frames.get(), WAIT)
    except TimeoutError:
        pytest.fail(f"no MESSAGE within {WAIT} s")


async def broker_until(broker: RunningBroker, condition: Callable[[RunningBroker], bool]) -> None:
    """`broker.wait_until` off the event loop, so the client in it goes on working."""
    await asyncio.to_thread(broker.wait_until, condition, WAIT)


async def stompman_round_trip(broker: RunningBroker, *, websocket: bool) -> None:
    destination = queue()
    frames: Frames = asyncio.Queue()

    async def take(frame: stompman.AckableMessageFrame) -> None:
        await frames.put(frame)

    async with stompman_client(broker, websocket=websocket) as client:
        [info] = broker.connections()
        assert (info.login, info.version) == ("stompman", "1.2")
        assert info.peer.startswith("ws ") == websocket
        subscription = await client.subscribe_with_manual_ack(
            destination, take, ack="client-individual", receipt_timeout=WAIT
        )
        [info] = broker.connections()
        assert [(s.destination, s.ack) for s in info.subscriptions] == [
            (destination, "client-individual")
        ]

        for n in range(3):
            await client.send(
                f"m{n}".encode(), destination, headers={"x-n": str(n)}, receipt_timeout=WAIT
            )
        got = [await next_of(frames) for _ in range(3)]
        assert [f.body for f in got] == [b"m0", b"m1", b"m2"]
        assert [header(f, "x-n") for f in got] == ["0", "1", "2"]
        assert {f.headers["subscription"] for f in got} == {subscription.id}
        assert broker.unacked(destination) == 3

        await got[0].ack()
        await got[1].nack()  # requeued: it comes again
        again = await next_of(frames)
        assert (again.body, header(again, "redelivered")) == (b"m1", "true")
        await got[2].ack()
        await again.ack()
        await broker_until(broker, settled(destination))

        async with client.begin() as transaction:
            await transaction.send(b"in a transaction", destination)
            await asyncio.sleep(0.05)
            assert frames.empty()  # not before COMMIT
        committed = await next_of(frames)
        assert committed.body == b"in a transaction"
        await committed.ack()
        await broker_until(broker, settled(destination))

        await subscription.unsubscribe()
        await broker_until(broker, lambda b: all(not c.subscriptions for c in b.connections()))
    await broker_until(broker, gone)
    assert frames.empty()
    assert settled(destination)(broker)


def test_stompman_client_individual_ack_nack_and_transactions(
    stomp_broker: RunningBroker,
) -> None:
    run(stompman_round_trip(stomp_broker, websocket=False))


def test_stompman_handler_failures_are_nacked_and_redelivered(stomp_broker: RunningBroker) -> None:
    """stompman's `subscribe`: ACK after the handler returns, NACK when it raises."""
    destination = queue()

    async def scenario() -> None:
        seen: list[tuple[bytes, str | None]] = []
        suppressed: list[Exception] = []
        done = asyncio.Event()

        async def handle(frame: stompman.MessageFrame) -> None:
            seen.append((frame.body, header(frame, "redelivered")))
            if len(seen) == 1:
                raise RuntimeError("the first try fails")
            done.set()

        async with stompman_client(stomp_broker) as client:
            subscription = await client.subscribe(
                destination,
                handle,
                ack="client-individual",
                on_suppressed_exception=lambda error, _: suppressed.append(error),
                receipt_timeout=WAIT,
            )
            await client.send(b"job", destination, receipt_timeout=WAIT)
            await asyncio.wait_for(done.wait(), WAIT)
            await broker_until(stomp_broker, settled(destination))
            await subscription.unsubscribe()
        assert seen == [(b"job", None), (b"job", "true")]
        assert [str(error) for error in suppressed] == ["the first try fails"]
        await broker_until(stomp_broker, gone)

    run(scenario())


@pytest.mark.stomp_broker(websocket=True)
def test_stompman_over_websocket(stomp_broker: RunningBroker) -> None:
    """stompman's WebSocket connection offers no subprotocol (RabbitMQ's Web-STOMP takes that)."""
    run(stompman_round_trip(stomp_broker, websocket=True))
