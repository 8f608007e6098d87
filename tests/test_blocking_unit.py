"""The blocking client against a fake broker on a loopback socket: threads, timing, failures.

`FakeBroker` accepts one connection and answers with `tests.fake_server.FakeServer`; the test
decides whether it answers at all, sends heart-beats, holds receipts, sends an ERROR or hangs up.
Intervals are short (100 ms) so that the heart-beat tests take well under a second.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import pytest

from stompmodels import (
    VERSIONS,
    ClientFrame,
    HeartBeat,
    LocalProtocolError,
    Message,
    Receipt,
    State,
    Version,
)
from stompmodels.blocking import BrokerError, Client, ConnectionLost, HeartbeatTimeout
from stompmodels.blocking.sync import Channel, Waiter
from tests.conftest import Certificate
from tests.fake_server import FakeServer

FAST = HeartBeat(100, 100)  # with a 2.5x grace, 250 ms of silence is fatal
NO_BEATS = HeartBeat(0, 0)


class FakeBroker:
    """One loopback connection served by a thread; every knob is set before the client comes."""

    def __init__(
        self,
        server: FakeServer | None = None,
        *,
        answer: bool = True,
        heartbeat_every: float | None = None,
        hang_up_at_end: bool = True,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.server = server or FakeServer()
        self.tls = tls
        self.answer = answer
        self.hang_up_at_end = hang_up_at_end
        self.heartbeat_every = heartbeat_every
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()  # guards `server` and writes to `conn`
        self.conn: socket.socket | None = None
        self.accepted = threading.Event()
        self.stopped = threading.Event()
        self.failures: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="fake-broker", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.listener.settimeout(5)
            conn, _ = self.listener.accept()
            if self.tls is not None:
                conn.settimeout(5)
                conn = self.tls.wrap_socket(conn, server_side=True)
            conn.settimeout(0.02)
            self.conn = conn
            self.accepted.set()
            self._serve(conn)
        except Exception as exc:  # surfaced by `stop`
            self.failures.append(exc)
        finally:
            self.stopped.set()

    def _serve(self, conn: socket.socket) -> None:
        last_beat = time.monotonic()
        deadline = time.monotonic() + 30  # no fake outlives a test
        while time.monotonic() < deadline and not self.stopped.is_set():
            if self.heartbeat_every is not None and time.monotonic() - last_beat >= (
                self.heartbeat_every
            ):
                self.push(b"\n")
                last_beat = time.monotonic()
            try:
                data = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            if not self.answer:
                continue
            with self.lock:
                replies = self.server.receive(data)
                for reply in replies:
                    conn.sendall(reply)
                if self.server.closed and self.hang_up_at_end:  # after ERROR or DISCONNECT
                    conn.close()
                    return

    def push(self, data: bytes) -> None:
        """Write raw bytes to the client (frames made with `server`, EOLs)."""
        assert self.accepted.wait(5)
        assert self.conn is not None
        with self.lock, contextlib.suppress(OSError):
            self.conn.sendall(data)

    def publish(self, destination: str, body: bytes) -> None:
        assert self.accepted.wait(5)
        with self.lock:
            frames = self.server.publish(destination, body)
        self.push(b"".join(frames))

    def hang_up(self) -> None:
        assert self.accepted.wait(5)
        assert self.conn is not None
        with self.lock, contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_RDWR)
            self.conn.close()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.listener.close()
        if self.conn is not None:
            self.conn.close()
        assert not self.failures, self.failures


@pytest.fixture
def broker() -> Iterator[FakeBroker]:
    fake = FakeBroker()
    yield fake
    fake.stop()


def make_broker(
    request: pytest.FixtureRequest,
    server: FakeServer | None = None,
    *,
    answer: bool = True,
    heartbeat_every: float | None = None,
    hang_up_at_end: bool = True,
    tls: ssl.SSLContext | None = None,
) -> FakeBroker:
    fake = FakeBroker(
        server,
        answer=answer,
        heartbeat_every=heartbeat_every,
        hang_up_at_end=hang_up_at_end,
        tls=tls,
    )
    request.addfinalizer(fake.stop)
    return fake


def client_for(
    fake: FakeBroker,
    *,
    heart_beat: HeartBeat = NO_BEATS,
    timeout: float = 2.0,
    versions: tuple[Version, ...] = VERSIONS,
    queue_size: int = 100,
) -> Client:
    return Client(
        port=fake.port,
        login="guest",
        passcode="s3cret-pw",
        heart_beat=heart_beat,
        timeout=timeout,
        versions=versions,
        queue_size=queue_size,
    )


def our_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("stompmodels-")]


@pytest.fixture(autouse=True)
def no_threads_left_behind() -> Iterator[None]:
    yield
    for thread in our_threads():
        thread.join(2)
    assert not our_threads(), "a client thread outlived its test"


# -- connection life cycle -------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_connect_negotiates_and_disconnect_waits_for_receipt(
    broker: FakeBroker, version: Version
) -> None:
    with client_for(broker, versions=(version,)) as client:
        assert client.engine.version == version
        assert client.engine.session == "session-7"
        threads = our_threads()
        assert {t.name for t in threads} == {"stompmodels-reader", "stompmodels-dispatcher"}
        assert all(t.daemon for t in threads)
    assert broker.server.received[-1].command == "DISCONNECT"
    assert client.engine.state is State.CLOSED
    assert not client.engine.pending_receipts  # the DISCONNECT receipt came
    assert not any(t.is_alive() for t in threads)


def test_close_is_bounded_when_the_disconnect_receipt_never_comes(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    fake = make_broker(request, FakeServer(hold_receipts=True), hang_up_at_end=False)
    client = client_for(fake)
    client.connect()
    started = time.monotonic()
    client.close(timeout=0.3)
    assert 0.25 < time.monotonic() - started < 1.5
    assert "no receipt for DISCONNECT" in caplog.text
    fake.hang_up()


def test_connect_times_out_when_the_broker_never_answers(request: pytest.FixtureRequest) -> None:
    fake = make_broker(request, answer=False)
    client = client_for(fake, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ConnectionLost, match="no CONNECTED"):
        client.connect()
    assert time.monotonic() - started < 1.5
    fake.hang_up()


def test_unreachable_port_fails_fast() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ConnectionLost, match="cannot reach"):
        Client(port=port, timeout=5).connect()
    assert time.monotonic() - started < 1.0


def test_bad_credentials_are_a_broker_error(request: pytest.FixtureRequest) -> None:
    fake = make_broker(request, FakeServer(credentials=("guest", "other")))
    with pytest.raises(BrokerError, match="bad credentials") as caught:
        client_for(fake).connect()
    assert caught.value.frame.message == "bad credentials"


def test_a_client_connects_once(broker: FakeBroker) -> None:
    client = client_for(broker)
    with client:
        pass
    with pytest.raises(LocalProtocolError, match="already connected once"):
        client.connect()
    with pytest.raises(ConnectionLost, match="closed"):
        client.send("/queue/a", "after close")


def test_using_a_client_before_connect_is_refused() -> None:
    with pytest.raises(LocalProtocolError, match="not connected"):
        Client(port=1).send("/queue/a", "x")


# -- heart-beats -----------------------------------------------------------------------------


def test_heartbeats_are_sent_when_idle(request: pytest.FixtureRequest) -> None:
    fake = make_broker(request, FakeServer(heart_beat=FAST), heartbeat_every=0.05)
    with client_for(fake, heart_beat=FAST) as client:
        assert tuple(client.engine.heart_beat) == (100, 100)
        time.sleep(0.6)
        with fake.lock:
            beats = fake.server.decoder.heartbeats_received
        assert beats >= 3
        assert client.failure is None


def test_a_silent_broker_is_a_heartbeat_timeout(request: pytest.FixtureRequest) -> None:
    fake = make_broker(request, FakeServer(heart_beat=FAST))  # promises, never beats
    with client_for(fake, heart_beat=FAST, timeout=5) as client:
        subscription = client.subscribe("/queue/a")
        started = time.monotonic()
        with pytest.raises(HeartbeatTimeout, match="sent nothing"):
            subscription.get(timeout=5)  # fails fast, long before its own timeout
        assert time.monotonic() - started < 1.0
        with pytest.raises(HeartbeatTimeout):
            client.send("/queue/a", "too late")
        with pytest.raises(HeartbeatTimeout):
            next(iter(subscription))


@pytest.mark.parametrize("life", ["heart-beats", "frames"])
def test_any_inbound_byte_counts_as_life(request: pytest.FixtureRequest, life: str) -> None:
    beats = 0.05 if life == "heart-beats" else None
    fake = make_broker(request, FakeServer(heart_beat=FAST), heartbeat_every=beats)
    with client_for(fake, heart_beat=FAST) as client:
        subscription = client.subscribe("/queue/a")
        for _ in range(12):  # 0.6 s, three times the silence deadline
            if life == "frames":
                fake.publish("/queue/a", b"tick")  # MESSAGEs, no EOL between them
            time.sleep(0.05)
        client.send("/queue/b", "still here", receipt=True)
        assert client.failure is None
        if life == "frames":
            assert subscription.get(1).body == b"tick"


def test_slow_handler_does_not_cause_a_heartbeat_timeout(request: pytest.FixtureRequest) -> None:
    fake = make_broker(request, FakeServer(heart_beat=FAST), heartbeat_every=0.05)
    handled: list[float] = []
    with client_for(fake, heart_beat=FAST) as client:

        @client.on(Message)
        def slow(message: Message) -> ClientFrame | None:
            time.sleep(0.6)  # three times the 200 ms deadline
            handled.append(time.monotonic())
            return client.engine.ack(message)

        client.subscribe("/queue/a", ack="client-individual")
        fake.publish("/queue/a", b"work")
        deadline = time.monotonic() + 3
        while not handled and time.monotonic() < deadline:
            time.sleep(0.02)
        assert handled, "the handler never ran"
        client.send("/queue/b", "alive", receipt=True)
        assert client.failure is None
    assert [d.body for d in fake.server.acked] == [b"work"]  # the handler's ACK went out


def test_a_lagging_consumer_pauses_reading_without_a_timeout(
    request: pytest.FixtureRequest,
) -> None:
    fake = make_broker(request, FakeServer(heart_beat=FAST), heartbeat_every=0.05)
    with client_for(fake, heart_beat=FAST, queue_size=1) as client:
        subscription = client.subscribe("/queue/a")
        for n in range(5):
            fake.publish("/queue/a", str(n).encode())
        time.sleep(0.6)  # the reader waits for room meanwhile; EOLs pile up unread
        assert [subscription.get(1).body for _ in range(5)] == [b"0", b"1", b"2", b"3", b"4"]
        assert client.failure is None


# -- failures reach every waiter at once -----------------------------------------------------


def test_error_frame_fails_a_waiting_receipt_at_once(request: pytest.FixtureRequest) -> None:
    fake = make_broker(request, FakeServer(hold_receipts=True))
    with client_for(fake, timeout=5) as client:
        subscription = client.subscribe("/queue/a", receipt=False)
        threading.Timer(0.2, lambda: fake.push(fake.server.error("no such thing"))).start()
        started = time.monotonic()
        with pytest.raises(BrokerError, match="no such thing") as caught:
            client.send("/queue/a", "x", receipt=True)
        assert time.monotonic() - started < 1.0
        assert caught.value.frame.message == "no such thing"
        with pytest.raises(BrokerError):
            client.send("/queue/a", "y")
        with pytest.raises(BrokerError):
            list(subscription)
        assert client.engine.state is State.CLOSED


def test_hang_up_ends_iteration_with_connection_lost(broker: FakeBroker) -> None:
    with client_for(broker, timeout=5) as client:
        subscription = client.subscribe("/queue/a")
        broker.publish("/queue/a", b"one")
        threading.Timer(0.2, broker.hang_up).start()
        received: list[bytes] = []
        started = time.monotonic()
        with pytest.raises(ConnectionLost, match="closed the connection"):
            for message in subscription:
                received.append(message.body)
        assert received == [b"one"]
        assert time.monotonic() - started < 1.0


def test_a_receipt_that_never_comes_times_out(request: pytest.FixtureRequest) -> None:
    fake = make_broker(request, FakeServer(hold_receipts=True))
    with client_for(fake, timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="no RECEIPT for SEND"):
            client.send("/queue/a", "x", receipt=True)
        assert 0.25 < time.monotonic() - started < 1.0
        assert not client._session._receipts  # no longer waited for: a late RECEIPT is ignored
        with pytest.raises(TimeoutError, match="no message"):
            client.subscribe("/queue/b", receipt=False).get(timeout=0.1)
        fake.hang_up()


# -- subscriptions, handlers, transactions ---------------------------------------------------


def test_unsubscribe_ends_iteration_after_the_queued_messages(broker: FakeBroker) -> None:
    with client_for(broker) as client:
        subscription = client.subscribe("/queue/a")
        other = client.subscribe("/queue/b")
        broker.publish("/queue/a", b"first")
        broker.publish("/queue/b", b"elsewhere")
        assert other.get(1).body == b"elsewhere"  # so /queue/a's MESSAGE came before it
        subscription.unsubscribe()
        assert not subscription.active
        assert [m.body for m in subscription] == [b"first"]
        with pytest.raises(LocalProtocolError, match="unsubscribed"):
            subscription.get(0.1)
        assert other.pending == 0 and not other._channel.closed  # the other one goes on
        with other:
            pass  # leaving the block unsubscribes
        assert not other.active
        assert broker.server.received[-1].command == "UNSUBSCRIBE"


def test_messages_before_the_unsubscribe_receipt_are_kept(request: pytest.FixtureRequest) -> None:
    fake = make_broker(request, FakeServer(hold_receipts=True))
    with client_for(fake) as client:
        subscription = client.subscribe("/queue/a", receipt=False)
        leaving = threading.Thread(target=subscription.unsubscribe)
        leaving.start()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and fake.server.received[-1].command != "UNSUBSCRIBE":
            time.sleep(0.01)
        late = Message(destination="/queue/a", message_id="m-9", subscription=subscription.id)
        fake.push(late.model_copy(update={"body": b"late"}).to_wire("1.2"))
        time.sleep(0.1)  # STOMP: messages may come until the RECEIPT of the UNSUBSCRIBE
        with fake.lock:
            receipts = fake.server.release_receipts()
        fake.push(b"".join(receipts))
        leaving.join(2)
        assert [m.body for m in subscription] == [b"late"]


def test_close_lets_a_busy_handler_send_its_ack(broker: FakeBroker) -> None:
    started = threading.Event()
    with client_for(broker) as client:

        @client.on(Message)
        def slow(message: Message) -> ClientFrame | None:
            started.set()
            time.sleep(0.3)
            return client.engine.ack(message)

        client.subscribe("/queue/a", ack="client-individual")
        broker.publish("/queue/a", b"work")
        assert started.wait(2)
    assert [d.body for d in broker.server.acked] == [b"work"]
    assert broker.server.received[-1].command == "DISCONNECT"


def test_closing_ends_iteration_quietly_and_keeps_queued_messages(broker: FakeBroker) -> None:
    with client_for(broker) as client:
        subscription = client.subscribe("/queue/a")
        other = client.subscribe("/queue/b")
        broker.publish("/queue/a", b"kept")
        broker.publish("/queue/b", b"marker")
        other.get(1)
    assert [m.body for m in subscription] == [b"kept"]
    with pytest.raises(ConnectionLost, match="closed"):
        subscription.get(0.1)


def test_handlers_reply_and_survive_their_own_exceptions(
    broker: FakeBroker, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[bytes] = []
    receipts: list[str] = []
    with client_for(broker) as client:

        @client.on(Message, destination="/queue/a")
        def handle(message: Message) -> ClientFrame | None:
            seen.append(message.body)
            if message.body == b"bad":
                raise RuntimeError("handler bug")
            return client.engine.ack(message)

        @client.on(Receipt)
        def note(receipt: Receipt) -> ClientFrame | None:
            receipts.append(receipt.receipt_id)
            return None

        subscription = client.subscribe("/queue/a", ack="client")
        for body in (b"bad", b"good"):
            broker.publish("/queue/a", body)
        client.send("/queue/c", "sync", receipt=True)
        deadline = time.monotonic() + 2
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(TimeoutError):
            subscription.get(0.1)  # a handler took them: nothing was queued
    assert seen == [b"bad", b"good"]
    assert "handler bug" in caplog.text
    # The failed handler's message is NACKed (STOMP 1.2, client ack), so the broker can
    # redeliver it now; the ACK the other handler returned went out.
    assert [d.body for d in broker.server.nacked] == [b"bad"]
    assert [d.body for d in broker.server.acked] == [b"good"]
    assert len(receipts) >= 2  # handlers see frames the client also acts on


def test_close_from_inside_a_handler_does_not_deadlock(broker: FakeBroker) -> None:
    done = threading.Event()
    client = client_for(broker)
    client.connect()

    @client.on(Message)
    def stop(message: Message) -> ClientFrame | None:
        client.close(timeout=1)
        done.set()
        return None

    client.subscribe("/queue/a")
    broker.publish("/queue/a", b"stop")
    assert done.wait(3)
    assert client.engine.state is State.CLOSED
    client.close()


@pytest.mark.parametrize("outcome", ["commit", "abort"])
def test_transaction_commits_or_aborts(broker: FakeBroker, outcome: str) -> None:
    with client_for(broker) as client:
        subscription = client.subscribe("/queue/a", ack="client-individual")
        broker.publish("/queue/a", b"to ack")
        message = subscription.get(1)
        with contextlib.suppress(KeyError), client.transaction() as tx:
            client.send("/queue/b", "in tx", transaction=tx)
            subscription.ack(message, transaction=tx)
            if outcome == "abort":
                raise KeyError("abandon")
        assert not client.engine.transactions
        client.send("/queue/c", "sync", receipt=True)
    server = broker.server
    if outcome == "commit":
        assert len(server.committed) == 1 and not server.aborted
        assert [s.body for s in server.published if s.destination == "/queue/b"] == [b"in tx"]
        assert [d.body for d in server.acked] == [b"to ack"]
    else:
        assert len(server.aborted) == 1 and not server.committed
        assert not [s for s in server.published if s.destination == "/queue/b"]
        assert not server.acked


def test_ack_of_an_auto_message_is_refused_locally(broker: FakeBroker) -> None:
    with client_for(broker) as client:
        subscription = client.subscribe("/queue/a")
        broker.publish("/queue/a", b"x")
        with pytest.raises(LocalProtocolError, match="auto"):
            subscription.ack(subscription.get(1))
        assert client.failure is None


def test_frames_are_logged_at_debug_without_the_passcode(
    broker: FakeBroker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="stompmodels.blocking")
    with client_for(broker) as client:
        client.send("/queue/a", "hello", receipt=True)
    logged = [r.getMessage() for r in caplog.records if r.name == "stompmodels.blocking"]
    assert any(line.startswith("sent Connect(") for line in logged)
    assert any(line.startswith("received Connected(") for line in logged)
    assert any(line.startswith("sent Send(") for line in logged)
    assert "s3cret-pw" not in caplog.text


# -- TLS -------------------------------------------------------------------------------------


def tls_broker(request: pytest.FixtureRequest, certificate: Certificate) -> FakeBroker:
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(certificate.cert, certificate.key)
    # The fake keeps the connection open after DISCONNECT: the client's shutdown must wake its
    # reader from a TLS recv().
    return make_broker(
        request,
        FakeServer(heart_beat=FAST),
        heartbeat_every=0.05,
        hang_up_at_end=False,
        tls=server_side,
    )


def test_tls_connection_works_and_closes_promptly(
    request: pytest.FixtureRequest, certificate: Certificate
) -> None:
    fake = tls_broker(request, certificate)
    trusted = ssl.create_default_context(cafile=str(certificate.cert))
    client = Client(port=fake.port, ssl=trusted, heart_beat=FAST, timeout=10)
    with client:
        subscription = client.subscribe("/queue/a")
        fake.publish("/queue/a", b"secret\x00bytes")
        assert subscription.get(1).body == b"secret\x00bytes"
        time.sleep(0.4)  # heart-beats both ways, over TLS
        client.send("/queue/b", "alive", receipt=True)
        started = time.monotonic()
    assert time.monotonic() - started < 1.0
    assert client.failure is not None and "closed" in str(client.failure)


@pytest.mark.parametrize("transport", ["plain", "tls"])
def test_close_wakes_the_reader_at_once(request: pytest.FixtureRequest, transport: str) -> None:
    """A silent broker that keeps the connection: only the client's shutdown() ends recv()."""
    server_side, client_side = None, None
    if transport == "tls":
        certificate: Certificate = request.getfixturevalue("certificate")
        server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_side.load_cert_chain(certificate.cert, certificate.key)
        client_side = ssl.create_default_context(cafile=str(certificate.cert))
    fake = make_broker(request, hang_up_at_end=False, tls=server_side)
    client = Client(port=fake.port, ssl=client_side, heart_beat=(0, 0), timeout=5)
    client.connect()
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 1.0
    assert not our_threads()


def test_an_untrusted_certificate_fails_fast(
    request: pytest.FixtureRequest, certificate: Certificate
) -> None:
    fake = tls_broker(request, certificate)
    started = time.monotonic()
    with pytest.raises(ConnectionLost, match="cannot set up TLS"):
        Client(port=fake.port, ssl=True, timeout=2).connect()
    assert time.monotonic() - started < 1.0
    assert fake.stopped.wait(2)
    assert [type(e) for e in fake.failures] == [ssl.SSLError]  # the client refused the handshake
    fake.failures.clear()


# -- the primitives --------------------------------------------------------------------------


def test_channel_is_bounded_and_closing_keeps_its_items() -> None:
    channel: Channel[int] = Channel(2)
    assert channel.put(1, 0) and channel.put(2, 0)
    assert not channel.put(3, 0.05)  # full: the caller must wait
    assert channel.get(0) == 1
    with pytest.raises(TimeoutError):
        Channel[int](1).get(0.05)
    channel.close(ConnectionLost("gone"))
    assert channel.put(4, 0)  # dropped: nobody will take it
    assert channel.get(None) == 2
    assert channel.get(None) is None
    assert isinstance(channel.error, ConnectionLost)


def test_waiter_times_out_or_raises_a_fresh_copy_of_the_error() -> None:
    waiter: Waiter[int] = Waiter("answer")
    with pytest.raises(TimeoutError, match="no answer within 0.05 s"):
        waiter.wait(0.05)
    error = HeartbeatTimeout("silence")
    waiter.fail(error)
    waiter.set(1)  # too late: the first outcome stays
    with pytest.raises(HeartbeatTimeout, match="silence") as caught:
        waiter.wait(0)
    assert caught.value is not error
