"""ClientSession, the pure session logic every driver runs, against the in-memory FakeServer."""

from __future__ import annotations

import logging

import pytest

from stompmodels import (
    AckMode,
    ClientFrame,
    HeartBeat,
    LocalProtocolError,
    Message,
    Receipt,
    Version,
)
from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import BrokerError, Closed, ConnectionLost, HeartbeatTimeout
from stompmodels._client.options import PREFETCH_HEADERS, ClientOptions
from stompmodels._client.session import (
    ClientSession,
    Deliver,
    Dispatch,
    Dropped,
    Failed,
    Opened,
    SentFrame,
    Settled,
)
from stompmodels._client.url import BrokerURL, parse_url

from .conftest import FakeClock
from .fake_server import FakeServer

Session = ClientSession[str, str]  # waiters and sinks are plain names here


def options(**changes: object) -> ClientOptions:
    fields: dict[str, object] = {"urls": (parse_url("stomp://guest:secret@127.0.0.1:61613/"),)}
    fields.update(changes)
    return ClientOptions(**fields)  # type: ignore[arg-type]  # the test passes each field's type


def opened(
    server: FakeServer | None = None, version: Version = "1.2", **changes: object
) -> tuple[Session, FakeServer]:
    """A session that connected to `server` (a new FakeServer speaking `version`)."""
    server = server or FakeServer(supports=(version,))
    session: Session = ClientSession(options(**changes))
    answer = server.receive(session.begin(session.next_url, now=0.0))
    actions = session.receive(b"".join(answer), now=0.0)
    assert [type(a) for a in actions] == [Opened]
    return session, server


def subscribed(session: Session, server: FakeServer, ack: AckMode = "client-individual") -> str:
    frame = session.subscribe(
        "/queue/a",
        ack=ack,
        id=None,
        headers=None,
        receipt=False,
        prefetch=None,
    )
    session.add(frame, f"sink-{frame.id}")
    assert server.receive(session.engine.encode(frame)) == []
    assert frame.id is not None
    return frame.id


def test_options_build_from_a_constructor_s_keywords() -> None:
    built = ClientOptions.build(
        "failover:(stomp://a:1,stomp://b:2)",
        host="ignored",
        port=1,
        login=None,
        passcode=None,
        vhost="/",
        tls=False,
        heart_beat=(500, 600),
        versions=("1.2",),
        timeout=3.0,
        limits=None,
        queue_size=5,
        reconnect=True,
        credentials=None,
        on_state=None,
    )
    assert [url.host for url in built.urls] == ["a", "b"]
    assert built.heart_beat == HeartBeat(500, 600)
    assert built.backoff == Backoff()
    assert built.queue_size == 5


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("queue_size", 0, "queue_size"), ("timeout", 0.0, "timeout"), ("versions", (), "versions")],
)
def test_options_refuse_what_cannot_work(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        options(**{field: value})


def test_connect_order_starts_at_the_next_broker_and_fails_over_in_turn() -> None:
    urls = tuple(parse_url(f"stomp://h{n}:61613/") for n in range(3))
    session: Session = ClientSession(options(urls=urls))
    assert [u.host for u in session.connect_order()] == ["h0", "h1", "h2"]
    session.failed_over()
    assert session.next_url.host == "h1"
    assert [u.host for u in session.connect_order()] == ["h1", "h2", "h0"]
    session.failed_over()
    session.failed_over()
    assert session.next_url.host == "h0"


def test_reconnect_delays_come_from_the_backoff_and_none_without_one() -> None:
    session: Session = ClientSession(options())
    assert list(session.reconnect_delays()) == []
    backoff = Backoff(initial=1.0, maximum=4.0, jitter=0.0, attempts=4)
    session = ClientSession(options(backoff=backoff))
    assert list(session.reconnect_delays()) == [1.0, 2.0, 4.0, 4.0]


def test_the_credentials_hook_decides_the_url_of_each_attempt() -> None:
    fresh = parse_url("stomp://other:new@127.0.0.1:61613/")
    session: Session = ClientSession(options(credentials=lambda url: fresh))
    assert session.resolve(session.next_url) is fresh


def test_begin_sends_connect_with_the_options_and_a_passcode_only_on_the_wire() -> None:
    session: Session = ClientSession(options(heart_beat=HeartBeat(1000, 2000), versions=("1.1",)))
    data = session.begin(session.next_url, now=5.0)
    assert b"accept-version:1.1\n" in data
    assert b"heart-beat:1000,2000\n" in data
    assert b"passcode:secret\n" in data
    assert "secret" not in repr(session.sent(data))  # the lazy log repr is the model's
    assert "Connect" in repr(session.sent(data))
    assert session.last_sent == session.last_received == 5.0


def test_a_receipt_settles_its_waiter_and_an_error_fails_the_connection() -> None:
    server = FakeServer(hold_receipts=True)
    session, server = opened(server)
    frame = session.engine.begin(receipt=True)
    assert frame.receipt is not None
    session.expect(frame.receipt, "waiter-1")
    server.receive(session.engine.encode(frame))
    actions = session.receive(b"".join(server.release_receipts()), now=1.0)
    assert len(actions) == 1
    settled = actions[0]
    assert isinstance(settled, Settled)
    assert settled.waiters == ("waiter-1",)
    assert isinstance(settled.frame, Receipt)
    actions = session.receive(server.error("go away") + server.receipt("r-x"), now=2.0)
    assert [type(a) for a in actions] == [Failed]  # nothing after the ERROR is acted on
    failed = actions[0]
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, BrokerError)
    assert "go away" in str(failed.error)


def test_a_forgotten_receipt_is_ignored_when_it_comes_late() -> None:
    session, server = opened(FakeServer(hold_receipts=True))
    frame = session.engine.begin(receipt=True)
    assert frame.receipt is not None
    session.expect(frame.receipt, "w")
    server.receive(session.engine.encode(frame))
    session.forget(frame.receipt)
    actions = session.receive(b"".join(server.release_receipts()), now=1.0)
    assert len(actions) == 1
    settled = actions[0]
    assert isinstance(settled, Settled)
    assert settled.waiters == ()


def test_forgetting_a_waiter_leaves_another_parked_on_the_same_receipt_id() -> None:
    session, _ = opened()
    session.expect("receipt-1", "this connection's waiter")
    session.forget("receipt-1", "an earlier connection's waiter")  # ids start again per Engine
    session.forget("receipt-2", "nobody")
    assert session.connection_lost(ConnectionLost("x"))[1] == ["this connection's waiter"]
    session.expect("receipt-1", "w")
    session.forget("receipt-1", "w")
    assert session.connection_lost(ConnectionLost("x"))[1] == []


def test_messages_go_to_their_subscription_s_sink_and_unknown_ones_are_dropped() -> None:
    session, server = opened()
    ident = subscribed(session, server)
    data = server.message(ident, b"one")
    actions = session.receive(data, now=1.0)
    assert len(actions) == 1
    deliver = actions[0]
    assert isinstance(deliver, Deliver)
    assert deliver.sink == f"sink-{ident}"
    assert deliver.message.body == b"one"
    stray = Message(destination="/queue/z", message_id="m-x", subscription="nope")
    actions = session.receive(stray.to_wire("1.2"), now=1.0)
    assert len(actions) == 1
    dropped = actions[0]
    assert isinstance(dropped, Dropped)
    assert "'nope'" in dropped.reason


def test_a_10_message_without_subscription_goes_by_its_destination() -> None:
    session, server = opened(version="1.0")
    subscribed(session, server, ack="auto")
    untagged = Message(destination="/queue/a", message_id="m-1", subscription=None)
    actions = session.receive(untagged.to_wire("1.0"), now=1.0)
    assert [type(a) for a in actions] == [Deliver]


def test_a_registered_handler_takes_its_messages_and_sees_other_frames_too() -> None:
    session, server = opened(FakeServer(hold_receipts=True))
    ident = subscribed(session, server)
    seen: list[str] = []

    @session.router.on(Message)
    def take(message: Message) -> ClientFrame | None:
        seen.append(message.message_id)
        return session.engine.ack(message)

    @session.router.on(Receipt)
    def note(receipt: Receipt) -> None:
        seen.append(receipt.receipt_id)

    actions = session.receive(server.message(ident, b"x"), now=1.0)
    assert [type(a) for a in actions] == [Dispatch]
    dispatch = actions[0]
    assert isinstance(dispatch, Dispatch)
    outcome = session.run_handler(dispatch.handler, dispatch.frame)
    assert outcome.error is None
    assert outcome.data.startswith(b"ACK\n")
    server.receive(outcome.data)
    assert len(server.acked) == 1
    begin = session.engine.begin(receipt=True)
    server.receive(session.engine.encode(begin))
    actions = session.receive(b"".join(server.release_receipts()), now=1.0)
    assert [type(a) for a in actions] == [Dispatch, Settled]  # the handler runs, waiters settle


@pytest.mark.parametrize(
    ("version", "ack", "nacked"),
    [
        ("1.2", "client-individual", True),
        ("1.2", "client", True),
        ("1.1", "client-individual", True),
        ("1.2", "auto", False),
        ("1.0", "client", False),  # 1.0 has no NACK: the message stays unacknowledged
    ],
)
def test_a_failing_handler_leaves_its_message_unacknowledged_and_nacks_where_it_can(
    version: Version, ack: AckMode, nacked: bool
) -> None:
    session, server = opened(version=version)
    ident = subscribed(session, server, ack=ack)

    @session.router.on(Message)
    def broken(message: Message) -> None:
        raise ValueError("the user's bug")

    actions = session.receive(server.message(ident, b"x"), now=1.0)
    dispatch = actions[0]
    assert isinstance(dispatch, Dispatch)
    outcome = session.run_handler(dispatch.handler, dispatch.frame)
    assert isinstance(outcome.error, ValueError)  # handed to the driver to log, not raised
    assert outcome.data.startswith(b"NACK\n") is nacked
    assert server.receive(outcome.data) == []
    assert len(server.nacked) == int(nacked)
    assert server.acked == []


def test_a_handler_reply_the_session_forbids_is_reported_not_raised() -> None:
    session, server = opened()
    ident = subscribed(session, server)

    @session.router.on(Message)
    def twice(message: Message) -> ClientFrame | None:
        return session.engine.begin("tx-1")

    session.engine.encode(session.engine.begin("tx-1"))
    dispatch = session.receive(server.message(ident, b"x"), now=1.0)[0]
    assert isinstance(dispatch, Dispatch)
    outcome = session.run_handler(dispatch.handler, dispatch.frame)
    assert outcome.data == b""
    assert outcome.error is not None
    assert "tx-1" in str(outcome.error)


def test_bytes_that_break_the_protocol_fail_the_connection_after_the_frames_before() -> None:
    session, server = opened()
    ident = subscribed(session, server)
    actions = session.receive(server.message(ident, b"ok") + b"BOGUS\n\n\0", now=1.0)
    assert [type(a) for a in actions] == [Deliver, Failed]
    failed = actions[-1]
    assert isinstance(failed, Failed)
    assert type(failed.error) is ConnectionLost
    assert "BOGUS" in str(failed.error)


def test_renewals_resubscribe_with_the_same_ids_modes_and_headers() -> None:
    session, _server = opened()
    frame = session.subscribe(
        "/queue/a", ack="client", id="s-1", headers={"x-k": "v"}, receipt=True, prefetch=7
    )
    session.add(frame, "sink")
    session.engine.encode(frame)
    session.connection_lost(ConnectionLost("gone"))
    session.begin(session.next_url, now=10.0)
    (renewal,) = session.renewals()
    assert (renewal.id, renewal.destination, renewal.ack) == ("s-1", "/queue/a", "client")
    assert renewal.receipt is not None
    assert dict(renewal.headers) == {"x-k": "v", **dict.fromkeys(PREFETCH_HEADERS, "7")}
    assert session.remove("s-1") == "sink"
    assert session.renewals() == []


def test_prefetch_defaults_to_the_queue_size_when_messages_are_acknowledged() -> None:
    session: Session = ClientSession(options(queue_size=25))
    auto = session.subscribe("/q", ack="auto", id=None, headers=None, receipt=False, prefetch=None)
    acked = session.subscribe(
        "/q", ack="client", id=None, headers=None, receipt=False, prefetch=None
    )
    assert dict(auto.headers) == {}
    assert dict(acked.headers) == dict.fromkeys(PREFETCH_HEADERS, "25")


def test_a_lost_connection_fails_every_waiter_and_says_if_to_reconnect() -> None:
    session, _ = opened(backoff=Backoff())
    session.expect("r-1", "w1")
    session.expect("r-2", "w2")
    error, waiters = session.connection_lost(ConnectionLost("reset"))
    assert waiters == ["w1", "w2"]
    assert session.should_reconnect(error)
    _, waiters = session.connection_lost(ConnectionLost("again"))
    assert waiters == []
    assert not session.should_reconnect(Closed("closed on purpose"))
    session.closing = True
    error, _ = session.connection_lost(ConnectionLost("hung up"))
    assert isinstance(error, Closed)  # expected once the client closes
    assert not session.should_reconnect(error)


def test_a_first_connect_that_never_opened_does_not_reconnect() -> None:
    session: Session = ClientSession(options(backoff=Backoff()))
    session.begin(session.next_url, now=0.0)
    error, _ = session.connection_lost(ConnectionLost("refused"))
    assert not session.should_reconnect(error)


def test_closed_after_disconnect_is_a_clean_close() -> None:
    session, _ = opened()
    session.engine.encode(session.engine.disconnect())
    error, _ = session.connection_lost(ConnectionLost("socket closed"))
    assert isinstance(error, Closed)


def test_acks_of_an_earlier_connection_are_refused_with_a_reason() -> None:
    session, server = opened()
    ident = subscribed(session, server)
    deliver = session.receive(server.message(ident, b"x"), now=1.0)[0]
    assert isinstance(deliver, Deliver)
    old = deliver.message
    session.connection_lost(ConnectionLost("reset"))
    session.begin(session.next_url, now=2.0)
    assert session.stale(old, "ACK") is not None
    reason = session.stale(old, "NACK")
    assert reason is not None
    assert reason.startswith(f"NACK of message {old.message_id} not sent")


def test_a_message_of_this_connection_is_not_stale() -> None:
    session, server = opened()
    ident = subscribed(session, server)
    deliver = session.receive(server.message(ident, b"x"), now=1.0)[0]
    assert isinstance(deliver, Deliver)
    assert session.stale(deliver.message, "ACK") is None


@pytest.mark.parametrize("receipt", [False, True])
@pytest.mark.parametrize("nack", [False, True])
def test_acknowledge_writes_the_version_s_form_and_asks_for_a_receipt_if_told(
    nack: bool, receipt: bool
) -> None:
    session, server = opened(FakeServer(hold_receipts=True))
    ident = subscribed(session, server)
    deliver = session.receive(server.message(ident, b"x"), now=1.0)[0]
    assert isinstance(deliver, Deliver)
    out = session.acknowledge(deliver.message, nack=nack, receipt=receipt)
    assert out.command == ("NACK" if nack else "ACK")
    assert out.data.startswith(out.command.encode() + b"\n")
    assert (out.receipt is not None) is receipt
    server.receive(out.data)
    assert len(server.nacked if nack else server.acked) == 1
    assert server.held_receipts == ([out.receipt] if receipt else [])


@pytest.mark.parametrize("receipt", [False, True])
def test_send_is_one_path_and_asks_for_a_receipt_if_told(receipt: bool) -> None:
    session, server = opened(FakeServer(hold_receipts=True))
    out = session.send("/queue/a", b"hi", headers={"x-k": "v"}, receipt=receipt)
    assert out.command == "SEND"
    assert (out.receipt is not None) is receipt
    server.receive(out.data)
    (published,) = server.published
    assert (published.destination, published.body) == ("/queue/a", b"hi")
    assert published.headers["x-k"] == "v"


def test_what_the_session_forbids_is_refused_before_anything_is_written() -> None:
    session: Session = ClientSession(options())
    with pytest.raises(LocalProtocolError, match="SEND"):
        session.send("/queue/a", b"too early")
    with pytest.raises(LocalProtocolError, match="BEGIN"):
        session.outgoing(session.engine.begin())


def heartbeating(receive_ms: int, send_ms: int) -> Session:
    server = FakeServer(heart_beat=HeartBeat(receive_ms, send_ms))  # the broker's side
    session, _ = opened(server, heart_beat=HeartBeat(send_ms, receive_ms))
    return session


def test_heartbeat_is_due_after_an_interval_without_writing() -> None:
    session = heartbeating(receive_ms=0, send_ms=1000)
    assert session.heartbeat_tick == 0.5
    assert not session.heartbeat_due(0.4)
    assert session.heartbeat_due(0.5)
    session.last_sent = 0.5
    assert not session.heartbeat_due(0.9)


def test_a_silent_broker_is_overdue_after_the_grace() -> None:
    session = heartbeating(receive_ms=1000, send_ms=0)
    assert session.overdue(2.5) is None
    timeout = session.overdue(2.6)
    assert isinstance(timeout, HeartbeatTimeout)
    assert "sent nothing for 2.6 s" in str(timeout)
    session.receive(b"\n", now=2.0)  # any byte is life
    assert session.overdue(2.6) is None


def test_silence_is_not_judged_while_reading_is_paused(clock: FakeClock) -> None:
    """Defect 2 of the session issue: a full inbox holds the reader, the broker's heart-beats
    wait unread, and that must not look like a dead broker."""
    session = heartbeating(receive_ms=50, send_ms=0)
    session.resume_reading(clock())
    session.pause_reading()
    assert session.reading_paused
    assert session.overdue(clock.advance(100.0)) is None
    session.resume_reading(clock())
    assert session.overdue(clock.advance(0.1)) is None  # the deadline restarts with reading
    assert session.overdue(clock.advance(0.1)) is not None


def test_no_heartbeats_no_tick() -> None:
    session, _ = opened()
    assert session.heartbeat_tick is None
    assert not session.heartbeat_due(1e9)
    assert session.overdue(1e9) is None


def test_a_sent_frame_is_parsed_only_when_logged(caplog: pytest.LogCaptureFixture) -> None:
    shown = SentFrame(b"SEND\ndestination:/q\n\nhi\0", "1.2")
    assert "Send(" in repr(shown)
    assert repr(SentFrame(b"junk", "1.2")) == "<4 bytes>"
    with caplog.at_level(logging.INFO):
        logging.getLogger("stompmodels.test").debug("sent %r", shown)
    assert caplog.records == []


def test_describe_names_the_broker_version_and_session() -> None:
    session, _ = opened()
    text = session.describe()
    assert "127.0.0.1:61613" in text
    assert "STOMP 1.2" in text
    assert isinstance(session.url, BrokerURL)
