"""The Twisted transport without a network: Twisted's in-memory reactor, clock and transports.

`Harness` wires a `StompClientFactory` to a `MemoryReactorClock` (which records connectTCP
and runs timers only when the test advances it) and each connection to a `StringTransport`
(which keeps what the client wrote). The test plays the broker: it decodes the client's
bytes and feeds the server's frames to `dataReceived`. The TLS tests pump a real TLS
handshake between the client and an in-memory broker through `twisted.test.iosim`.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Final, TypeVar, cast

import pytest
from pydantic import SecretStr
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.interfaces import IConnector, IProtocolFactory, IReactorTime, ITransport
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure

from stompmodels import (
    VERSIONS,
    Ack,
    Begin,
    Connect,
    Connected,
    Disconnect,
    Error,
    Frame,
    FrameDecoder,
    LocalProtocolError,
    Message,
    Nack,
    Receipt,
    Router,
    Send,
    ServerFrame,
    Subscribe,
    Version,
)
from stompmodels._client.options import PREFETCH_HEADERS
from stompmodels.twisted import (
    Backoff,
    BrokerError,
    BrokerURL,
    Closed,
    ConnectionEvent,
    ConnectionLost,
    HeartbeatTimeout,
    StompClientFactory,
    StompProtocol,
    Subscription,
)
from stompmodels.twisted.interfaces import Transport
from tests.conftest import Certificate
from tests.fake_server import FakeServer

T = TypeVar("T")

URL: Final = "stomp://guest:s3cret-pass@127.0.0.1:61613/"
TIMEOUT: Final = 5.0
BACKOFF: Final = Backoff(initial=1.0, maximum=1.0, jitter=0.0, attempts=3)  # 1 s, 3 times


def fired(deferred: Deferred[T]) -> T:
    """The result of a Deferred that has fired; its error is raised."""
    outcomes: list[T | Failure] = []
    deferred.addBoth(outcomes.append)
    assert outcomes, "the Deferred has not fired"
    outcome = outcomes[0]
    if isinstance(outcome, Failure):
        assert isinstance(outcome.value, BaseException)
        raise outcome.value
    return outcome


def failed(deferred: Deferred[T]) -> BaseException:
    """The error of a Deferred that has failed."""
    outcomes: list[T | Failure] = []
    deferred.addBoth(outcomes.append)
    assert outcomes, "the Deferred has not fired"
    outcome = outcomes[0]
    assert isinstance(outcome, Failure), f"the Deferred succeeded with {outcome!r}"
    assert isinstance(outcome.value, BaseException)
    return outcome.value


def pending(deferred: Deferred[T]) -> bool:
    return not deferred.called


def failure(error: BaseException) -> Failure:
    return Failure(error)  # type: ignore[no-untyped-call]  # Twisted's Failure is not annotated


def refused() -> Failure:
    return failure(ConnectionRefusedError())  # type: ignore[no-untyped-call]  # idem


class Wire:
    """A `StringTransport`, behind methods (mypy would keep an attribute's narrowing)."""

    def __init__(self) -> None:
        self.transport = StringTransport()  # type: ignore[no-untyped-call]  # not annotated

    def value(self) -> bytes:
        data: bytes = self.transport.value()  # type: ignore[no-untyped-call]  # idem
        return data

    def clear(self) -> None:
        self.transport.clear()  # type: ignore[no-untyped-call]  # idem

    def closing(self) -> bool:
        """Whether the client closed (or aborted) the connection."""
        return bool(self.transport.disconnecting)

    def aborted(self) -> bool:
        return bool(self.transport.disconnected)

    def paused(self) -> bool:
        return bool(self.transport.producerState == "paused")


class Harness:
    """A factory on an in-memory reactor; `accept` gives its last connectTCP a transport."""

    def __init__(
        self, url: str | list[str] = URL, *, accept: bool = True, **options: object
    ) -> None:
        self.reactor = MemoryReactorClock()  # type: ignore[no-untyped-call]  # not annotated
        self.events: list[ConnectionEvent] = []
        settings: dict[str, object] = {"timeout": TIMEOUT, "heart_beat": (0, 0), **options}
        self.factory = StompClientFactory(
            url,
            reactor=self.reactor,
            on_state=lambda event, _: self.events.append(event),
            **settings,  # type: ignore[arg-type]  # the options of each test
        )
        self.ready = self.factory.connect()
        self.decoder = FrameDecoder("1.2")
        if accept:
            self.accept()

    def accept(self) -> StompProtocol:
        """Open the connection the factory asked for last (its CONNECT is written)."""
        protocol = self.reactor.tcpClients[-1][2].buildProtocol(None)
        assert isinstance(protocol, StompProtocol)
        self.protocol, self.transport = protocol, Wire()
        transport = cast(ITransport, self.transport.transport)
        protocol.makeConnection(transport)  # type: ignore[no-untyped-call]  # not annotated
        self.decoder = FrameDecoder("1.2")
        return protocol

    def sent(self) -> list[Frame]:
        """The frames the client wrote since the last call."""
        data = self.transport.value()
        self.transport.clear()
        return list(self.decoder.feed(data))

    def serve(self, *frames: ServerFrame | bytes, version: Version = "1.2") -> None:
        """Feed the client the broker's frames (or raw bytes), in one read."""
        chunks = [f if isinstance(f, bytes) else f.to_wire(version) for f in frames]
        self.protocol.dataReceived(b"".join(chunks))

    def connected(self, version: Version = "1.2", heart_beat: str = "0,0") -> StompProtocol:
        """Answer the CONNECT; return the protocol the factory hands out."""
        self.sent()
        self.decoder.version = version
        self.serve(
            Connected(version=version, session="s-1", heart_beat=heart_beat), version=version
        )
        return fired(self.factory.when_connected())

    def subscribe(self, destination: str = "/queue/a", **options: object) -> Subscription:
        waiting = self.protocol.subscribe(destination, **options)  # type: ignore[arg-type]
        [frame] = self.sent()
        assert isinstance(frame, Subscribe)
        if frame.receipt is not None:
            self.serve(Receipt(receipt_id=frame.receipt))
        return fired(waiting)

    def message(self, subscription: Subscription, body: bytes = b"m", number: int = 1) -> Message:
        return Message(
            destination=subscription.destination,
            message_id=f"m-{number}",
            subscription=subscription.id,
            ack=f"ack-{number}",
            body=body,
        )

    def lose(self, reason: BaseException | None = None) -> None:
        """The connection drops, as Twisted reports it: the protocol, then the factory."""
        why = failure(reason or ConnectionDone())
        self.protocol.connectionLost(why)
        self.factory.clientConnectionLost(self.connector(), why)

    def connector(self) -> IConnector:
        return cast(IConnector, self.reactor.connectors[-1])


# -- connecting ----------------------------------------------------------------------------


def test_connect_sends_connect_and_fires_once_connected() -> None:
    harness = Harness("stomp://guest:s3cret-pass@127.0.0.1:61613/orders", heart_beat=(0, 5000))
    host, port, _, timeout, _ = harness.reactor.tcpClients[0]
    assert (host, port, timeout) == ("127.0.0.1", 61613, TIMEOUT)
    [connect] = harness.sent()
    assert isinstance(connect, Connect)
    assert (connect.login, connect.host, connect.accept_version) == ("guest", "orders", VERSIONS)
    assert connect.passcode is not None and connect.passcode.get_secret_value() == "s3cret-pass"
    assert tuple(connect.heart_beat) == (0, 5000)
    assert pending(harness.ready)
    frame = Connected(version="1.1", session="s-9", server="Fake/1", heart_beat="0,0")
    harness.serve(frame, version="1.1")
    assert fired(harness.ready) is harness.protocol
    assert fired(harness.protocol.when_connected()) == frame
    assert harness.protocol.engine.version == "1.1"
    assert harness.events == ["connected"]


def test_the_versions_offered_are_the_ones_asked_for() -> None:
    harness = Harness(versions=("1.0", "1.1"))
    [connect] = harness.sent()
    assert isinstance(connect, Connect)
    assert connect.accept_version == ("1.0", "1.1")


def test_no_connected_within_the_timeout_fails_the_connect() -> None:
    harness = Harness()
    harness.reactor.advance(TIMEOUT - 0.1)
    assert pending(harness.ready)
    harness.reactor.advance(0.2)
    error = failed(harness.ready)
    assert type(error) is ConnectionLost
    assert "no answer" in str(error)
    assert harness.transport.aborted()  # aborted: the broker may never answer


def test_an_error_instead_of_connected_fails_the_connect() -> None:
    harness = Harness(reconnect=True)
    harness.sent()
    harness.serve(Error(message="Bad CONNECT", body=b"Access refused"), version="1.0")
    error = failed(harness.ready)
    assert isinstance(error, BrokerError)
    assert error.frame.message == "Bad CONNECT"
    assert harness.transport.closing()
    harness.lose()
    assert harness.reactor.getDelayedCalls() == []  # a refused first connect is not retried
    assert harness.factory.failure is error


def test_a_refused_tcp_connection_fails_the_connect_without_retrying() -> None:
    harness = Harness(reconnect=True, accept=False)
    harness.factory.clientConnectionFailed(harness.connector(), refused())
    error = failed(harness.ready)
    assert type(error) is ConnectionLost
    assert "cannot reach stomp://guest@127.0.0.1:61613" in str(error)
    assert harness.reactor.getDelayedCalls() == []


def test_the_passcode_is_on_the_wire_but_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="stompmodels")
    harness = Harness()
    assert b"passcode:s3cret-pass" in harness.transport.value()
    harness.connected()
    harness.lose()
    assert "sent Connect(" in caplog.text  # frames are logged at DEBUG
    assert "s3cret-pass" not in caplog.text


# -- frames out, receipts in ---------------------------------------------------------------


def test_subscribe_writes_subscribe_and_fires_on_its_receipt() -> None:
    harness = Harness()
    harness.connected()
    waiting = harness.protocol.subscribe(
        "/queue/a", ack="client-individual", headers={"x-prio": "9"}
    )
    assert harness.transport.value() == (
        b"SUBSCRIBE\ndestination:/queue/a\nid:sub-1\nack:client-individual\n"
        b"receipt:receipt-2\nx-prio:9\nprefetch-count:1000\nactivemq.prefetchSize:1000\n\n\x00"
    )  # the brokers' prefetch headers: as many unacknowledged messages as the queue holds
    assert pending(waiting)
    harness.serve(Receipt(receipt_id="receipt-2"))
    subscription = fired(waiting)
    assert (subscription.id, subscription.ack_mode) == ("sub-1", "client-individual")
    assert harness.factory.subscriptions == {"sub-1": subscription}


def test_send_with_a_receipt_fires_with_the_receipt_frame() -> None:
    harness = Harness()
    harness.connected()
    waiting = harness.protocol.send("/queue/a", b"\x00bin", headers={"x": "a:b"}, receipt=True)
    assert harness.transport.value() == (
        b"SEND\ndestination:/queue/a\nreceipt:receipt-1\ncontent-length:4\nx:a\\cb\n\n\x00bin\x00"
    )
    assert pending(waiting)
    harness.serve(Receipt(receipt_id="receipt-1"))
    assert fired(waiting) == Receipt(receipt_id="receipt-1")


def test_send_without_a_receipt_fires_at_once() -> None:
    harness = Harness()
    harness.connected()
    assert fired(harness.protocol.send("/queue/a", "text", omit_content_length=True)) is None
    assert harness.transport.value() == (
        b"SEND\ndestination:/queue/a\ncontent-type:text/plain;charset=utf-8\n\ntext\x00"
    )


def test_what_the_session_forbids_fails_the_deferred() -> None:
    harness = Harness()
    harness.sent()
    error = failed(harness.protocol.send("/queue/a", "too early"))  # before CONNECTED
    assert isinstance(error, LocalProtocolError)
    harness.connected()
    auto = harness.subscribe()
    assert isinstance(failed(harness.protocol.ack(harness.message(auto))), LocalProtocolError)
    assert harness.sent() == []


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_ack_and_nack_carry_the_headers_of_the_version(version: Version) -> None:
    harness = Harness()
    harness.connected(version)
    subscription = harness.subscribe(ack="client-individual", receipt=False)
    message = harness.message(subscription)
    fired(subscription.ack(message))
    fired(subscription.nack(message, receipt=False))
    ack, nack = harness.sent()
    assert isinstance(ack, Ack)
    assert isinstance(nack, Nack)
    if version == "1.2":
        assert (ack.id, ack.message_id, nack.id) == ("ack-1", None, "ack-1")
    else:
        assert (ack.id, ack.message_id, ack.subscription) == (None, "m-1", subscription.id)
        assert (nack.message_id, nack.subscription) == ("m-1", subscription.id)


def test_a_receipt_that_never_comes_times_out_and_a_late_one_is_ignored() -> None:
    harness = Harness()
    harness.connected()
    waiting = harness.protocol.send("/queue/a", "x", receipt=True)
    harness.reactor.advance(TIMEOUT + 0.1)
    error = failed(waiting)
    assert isinstance(error, TimeoutError)
    assert "no RECEIPT for SEND" in str(error)
    harness.serve(Receipt(receipt_id="receipt-1"))  # late: nobody waits for it any more
    assert harness.protocol.failure is None


def test_transactions_begin_commit_and_abort() -> None:
    harness = Harness()
    harness.connected()
    beginning = harness.protocol.begin()
    [begin] = harness.sent()
    assert isinstance(begin, Begin) and begin.receipt is not None
    harness.serve(Receipt(receipt_id=begin.receipt))
    transaction = fired(beginning)
    assert transaction == begin.transaction
    fired(harness.protocol.send("/queue/a", "in tx", transaction=transaction))
    committing = harness.protocol.commit(transaction, receipt=False)
    assert fired(committing) is None
    assert [frame.command for frame in harness.sent()] == ["SEND", "COMMIT"]
    assert isinstance(failed(harness.protocol.abort(transaction)), LocalProtocolError)


# -- messages in ---------------------------------------------------------------------------


def test_messages_go_to_the_callback_of_their_subscription() -> None:
    harness = Harness()
    harness.connected()
    got: list[Message] = []
    subscription = harness.subscribe(callback=got.append)
    messages = [harness.message(subscription, number=n) for n in (1, 2)]
    harness.serve(*messages)
    assert got == messages


def test_a_handler_takes_its_messages_and_its_reply_is_sent() -> None:
    harness = Harness()
    protocol = harness.connected()
    handled: list[Message] = []

    @protocol.on(Message, destination="/queue/h")
    def handle(message: Message) -> Ack | None:
        handled.append(message)
        return protocol.engine.ack(message)

    queued = harness.subscribe("/queue/h", ack="client")
    message = harness.message(queued)
    harness.serve(message)
    assert handled == [message]
    assert harness.transport.value() == b"ACK\nid:ack-1\n\n\x00"
    waiting = queued.get(timeout=1.0)
    harness.reactor.advance(1.1)
    assert isinstance(failed(waiting), TimeoutError)  # the handler took it: nothing is queued


def test_get_waits_for_the_next_message_and_times_out() -> None:
    harness = Harness()
    harness.connected()
    subscription = harness.subscribe()
    waiting = subscription.get(timeout=1.0)
    assert pending(waiting)
    message = harness.message(subscription)
    harness.serve(message)
    assert fired(waiting) == message
    late = subscription.get(timeout=1.0)
    harness.reactor.advance(1.1)
    assert isinstance(failed(late), TimeoutError)
    harness.serve(harness.message(subscription, number=2))  # queued, not given to `late`
    assert fired(subscription.get()).message_id == "m-2"


def test_a_full_queue_stops_reading_until_it_is_drained() -> None:
    harness = Harness(queue_size=2)
    harness.connected()
    subscription = harness.subscribe()
    harness.serve(*(harness.message(subscription, number=n) for n in (1, 2)))
    assert harness.transport.paused()
    fired(subscription.get())
    assert not harness.transport.paused()


def test_a_queue_still_full_after_a_reconnect_pauses_the_new_connection_once_renewed() -> None:
    harness = Harness(queue_size=1, reconnect=BACKOFF)
    harness.connected()
    subscription = harness.subscribe()
    harness.serve(harness.message(subscription))
    harness.lose()
    harness.reactor.advance(BACKOFF.maximum)
    harness.accept()
    harness.sent()
    harness.serve(Connected(version="1.2"))  # read: a reconnect never waits for the consumer
    [renewed] = harness.sent()
    assert isinstance(renewed, Subscribe) and renewed.receipt is not None
    assert not harness.transport.paused()
    harness.serve(Receipt(receipt_id=renewed.receipt))
    assert harness.transport.paused()
    fired(subscription.get())
    assert not harness.transport.paused()


# -- failures ------------------------------------------------------------------------------


def test_an_error_fails_what_waits_and_closes_the_connection() -> None:
    harness = Harness()
    harness.connected()
    subscription = harness.subscribe()
    sending = harness.protocol.send("/queue/a", "x", receipt=True)
    getting = subscription.get()
    after = harness.message(subscription)
    harness.serve(Error(message="boom"), after)  # what follows an ERROR is not delivered
    error = failed(sending)
    assert isinstance(error, BrokerError)
    assert error.frame.message == "boom"
    assert harness.transport.closing()
    assert pending(getting)
    assert harness.protocol.failure is error
    assert failed(harness.protocol.send("/queue/a", "y")) is error
    harness.lose()
    assert failed(getting) is error
    assert harness.factory.failure is error


def test_a_lost_connection_fails_what_waits() -> None:
    harness = Harness()
    harness.connected()
    sending = harness.protocol.send("/queue/a", "x", receipt=True)
    harness.lose()
    error = failed(sending)
    assert type(error) is ConnectionLost
    assert "closed the connection" in str(error)
    assert isinstance(failed(harness.protocol.send("/queue/a", "y")), ConnectionLost)
    assert isinstance(failed(harness.factory.when_connected()), ConnectionLost)


def test_bytes_that_break_the_protocol_end_the_connection() -> None:
    harness = Harness()
    harness.connected()
    harness.serve(b"NONSENSE\n\n\x00")
    assert isinstance(harness.protocol.failure, ConnectionLost)
    assert "failed" in str(harness.protocol.failure)
    assert harness.transport.aborted()


# -- heart-beats ---------------------------------------------------------------------------


def eol_times(harness: Harness, until: float, step: float = 0.05) -> list[float]:
    """Advance the clock to `until` in steps; when the client wrote an EOL."""
    times: list[float] = []
    while harness.reactor.seconds() < until:
        harness.reactor.advance(step)
        if harness.transport.value() == b"\n":
            times.append(harness.reactor.seconds())
        assert harness.transport.value() in (b"", b"\n")
        harness.transport.clear()
    return times


def test_heart_beats_go_out_at_least_every_agreed_interval() -> None:
    harness = Harness(heart_beat=(1000, 0))
    harness.connected(heart_beat="0,1000")
    assert tuple(harness.protocol.engine.heart_beat) == (1000, 0)
    times = eol_times(harness, 10.0)
    gaps = [later - earlier for earlier, later in zip([0.0, *times], times, strict=False)]
    assert len(times) >= 10
    assert max(gaps) <= 1.0 + 1e-9


def test_a_frame_sent_counts_as_a_heart_beat() -> None:
    harness = Harness(heart_beat=(1000, 0))
    harness.connected(heart_beat="0,1000")
    for _ in range(10):
        harness.reactor.advance(0.4)
        fired(harness.protocol.send("/queue/a", "busy"))
    assert len(harness.sent()) == 10
    assert harness.decoder.heartbeats_received == 0


def test_any_byte_from_the_broker_keeps_the_connection_alive() -> None:
    harness = Harness(heart_beat=(0, 1000))
    harness.connected(heart_beat="1000,0")
    for _ in range(8):  # 16 s with an EOL every 2 s: within 2.5 intervals
        harness.reactor.advance(2.0)
        harness.serve(b"\n")
    assert harness.protocol.failure is None


def test_a_silent_broker_is_declared_dead() -> None:
    harness = Harness(heart_beat=(0, 1000))
    harness.connected(heart_beat="1000,0")
    sending = harness.protocol.send("/queue/a", "x", receipt=True)
    harness.reactor.advance(2.4)
    assert harness.protocol.failure is None
    harness.reactor.advance(0.6)
    error = failed(sending)
    assert isinstance(error, HeartbeatTimeout)
    assert "sent nothing for" in str(error)
    assert harness.transport.aborted()


# -- disconnecting -------------------------------------------------------------------------


def test_disconnect_waits_for_its_receipt_then_closes() -> None:
    harness = Harness()
    harness.connected()
    closing = harness.protocol.disconnect()
    [frame] = harness.sent()
    assert isinstance(frame, Disconnect) and frame.receipt is not None
    assert not harness.transport.closing()
    harness.serve(Receipt(receipt_id=frame.receipt))
    assert harness.transport.closing()
    assert pending(closing)  # until the socket is closed
    closed = harness.protocol.when_closed()
    assert pending(closed)
    harness.lose()
    assert fired(closing) is None
    assert fired(closed) is None
    assert isinstance(harness.protocol.failure, Closed)
    assert harness.factory.failure is None  # ended on purpose


def test_disconnect_without_a_receipt_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    harness = Harness()
    harness.connected()
    closing = harness.protocol.disconnect(timeout=2.0)
    harness.reactor.advance(2.1)
    assert harness.transport.closing()
    assert "no receipt for DISCONNECT" in caplog.text
    assert not harness.transport.aborted()
    harness.reactor.advance(1.0)  # the broker does not close its end either: cut it
    assert harness.transport.aborted()
    harness.lose()
    assert fired(closing) is None


def test_factory_close_disconnects_and_ends_the_subscriptions() -> None:
    harness = Harness(reconnect=True)
    harness.connected()
    subscription = harness.subscribe()
    closing = harness.factory.close()
    [frame] = harness.sent()
    assert isinstance(frame, Disconnect) and frame.receipt is not None
    harness.serve(Receipt(receipt_id=frame.receipt))
    harness.lose()
    assert fired(closing) is None
    assert harness.events == ["connected", "closed"]
    assert isinstance(failed(subscription.get()), Closed)
    assert isinstance(failed(subscription.ack(harness.message(subscription))), ConnectionLost)
    assert harness.reactor.getDelayedCalls() == []  # no reconnect after a close
    assert harness.factory.failure is None


def test_close_while_connecting_stops_the_attempt() -> None:
    harness = Harness(accept=False)
    assert fired(harness.factory.close()) is None
    assert harness.reactor.connectors[0].stoppedConnecting
    assert isinstance(failed(harness.ready), Closed)
    assert harness.events == ["closed"]


# -- reconnecting --------------------------------------------------------------------------


def test_a_reconnect_renews_subscriptions_and_never_replays_a_transaction() -> None:
    harness = Harness(reconnect=BACKOFF)
    harness.connected()
    got: list[Message] = []
    subscription = harness.subscribe(ack="client", headers={"x-prio": "9"}, callback=got.append)
    old = harness.protocol
    beginning = old.begin(receipt=False)
    transaction = fired(beginning)
    harness.sent()
    harness.lose()
    assert harness.events == ["connected", "lost"]
    assert isinstance(failed(old.commit(transaction)), ConnectionLost)
    returning = harness.factory.when_connected()
    harness.reactor.advance(BACKOFF.initial - 0.01)
    assert len(harness.reactor.tcpClients) == 1  # not before the backoff's delay
    harness.reactor.advance(0.02)
    assert len(harness.reactor.tcpClients) == 2

    new = harness.accept()
    harness.sent()
    harness.serve(Connected(version="1.2"))
    [renewed] = harness.sent()  # the SUBSCRIBE again, and no BEGIN
    assert isinstance(renewed, Subscribe)
    assert (renewed.id, renewed.destination, renewed.ack) == ("sub-1", "/queue/a", "client")
    assert renewed.headers == {"x-prio": "9", **dict.fromkeys(PREFETCH_HEADERS, "1000")}
    assert pending(returning)  # until the broker confirms the subscription
    assert renewed.receipt is not None
    harness.serve(Receipt(receipt_id=renewed.receipt))
    assert fired(returning) is new
    assert harness.events == ["connected", "lost", "reconnected"]
    assert isinstance(failed(new.commit(transaction)), LocalProtocolError)  # not open here
    message = harness.message(subscription)
    harness.serve(message)
    assert got == [message]


def test_a_message_from_before_a_reconnect_is_not_acknowledged_on_the_new_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="stompmodels.twisted")
    harness = Harness(reconnect=BACKOFF)
    harness.connected()
    subscription = harness.subscribe(ack="client-individual", receipt=False)
    harness.serve(harness.message(subscription, number=1))
    before = fired(subscription.get())
    harness.lose()
    harness.reactor.advance(BACKOFF.maximum)
    harness.accept()
    harness.sent()
    harness.serve(Connected(version="1.2"))
    [renewed] = harness.sent()
    assert isinstance(renewed, Subscribe) and renewed.receipt is not None
    harness.serve(Receipt(receipt_id=renewed.receipt))
    # The broker delivers the message again, with a new ack id of the new session.
    harness.serve(harness.message(subscription, number=7))
    again = fired(subscription.get())

    assert fired(subscription.ack(before)) is None
    assert fired(subscription.nack(before)) is None
    assert harness.sent() == []  # its old ack id would settle another delivery on RabbitMQ
    assert "ACK of message m-1 not sent" in caplog.text
    fired(subscription.ack(again))
    [ack] = harness.sent()
    assert isinstance(ack, Ack) and ack.id == "ack-7"


def test_reconnecting_gives_up_after_the_backoff_s_attempts() -> None:
    harness = Harness(reconnect=Backoff(initial=1.0, maximum=1.0, jitter=0.0, attempts=2))
    harness.connected()
    subscription = harness.subscribe()
    harness.lose()
    for attempt in (1, 2):
        harness.reactor.advance(1.0)
        assert len(harness.reactor.tcpClients) == 1 + attempt
        assert pending(harness.factory.when_connected())
        harness.factory.clientConnectionFailed(harness.connector(), refused())
    error = failed(harness.factory.when_connected())
    assert "gave up reconnecting" in str(error)
    assert failed(subscription.get()) is error
    assert harness.factory.failure is error
    assert harness.reactor.getDelayedCalls() == []


def test_without_reconnect_a_lost_connection_ends_the_client() -> None:
    harness = Harness()
    harness.connected()
    harness.lose(refused().value)
    assert harness.reactor.getDelayedCalls() == []
    assert isinstance(harness.factory.failure, ConnectionLost)
    assert harness.events == ["connected"]


# -- the options every client shares -------------------------------------------------------


def test_a_connect_fails_over_to_the_next_broker_and_a_reconnect_goes_on_in_turn() -> None:
    urls = "failover:(stomp://guest:pw@broker-a:61613/,stomp://guest:pw@broker-b:61614/)"
    harness = Harness(urls, accept=False, reconnect=BACKOFF)
    assert [url.host for url in harness.factory.urls] == ["broker-a", "broker-b"]
    assert harness.reactor.tcpClients[0][:2] == ("broker-a", 61613)
    harness.factory.clientConnectionFailed(harness.connector(), refused())
    assert harness.reactor.tcpClients[1][:2] == ("broker-b", 61614)  # at once: no backoff
    assert pending(harness.ready)
    harness.accept()
    protocol = harness.connected()
    assert fired(harness.ready) is protocol
    assert harness.factory.url.host == "broker-b"
    harness.lose()
    harness.reactor.advance(BACKOFF.maximum)
    assert harness.reactor.tcpClients[2][:2] == ("broker-a", 61613)  # the one after the lost
    assert harness.factory.url.host == "broker-a"  # the next one, while none is open


def test_a_connect_fails_once_every_broker_was_tried() -> None:
    harness = Harness(["stomp://broker-a:1/", "stomp://broker-b:2/"], accept=False)
    harness.factory.clientConnectionFailed(harness.connector(), refused())
    assert pending(harness.ready)
    harness.factory.clientConnectionFailed(harness.connector(), refused())
    error = failed(harness.ready)
    assert "cannot reach stomp://broker-b:2" in str(error)
    assert len(harness.reactor.tcpClients) == 2  # each broker once
    assert harness.reactor.getDelayedCalls() == []


def test_the_credentials_hook_gives_the_url_of_every_dial() -> None:
    given: list[BrokerURL] = []

    def fresh(url: BrokerURL) -> BrokerURL:
        given.append(url)
        return replace(url, login=f"user-{len(given)}", passcode=SecretStr(f"token-{len(given)}"))

    harness = Harness(credentials=fresh, reconnect=BACKOFF)
    [connect] = harness.sent()
    assert isinstance(connect, Connect) and connect.passcode is not None
    assert (connect.login, connect.passcode.get_secret_value()) == ("user-1", "token-1")
    harness.connected()
    harness.lose()
    harness.reactor.advance(BACKOFF.maximum)
    harness.accept()
    [again] = harness.sent()
    assert isinstance(again, Connect)
    assert again.login == "user-2"
    assert [url.login for url in given] == ["guest", "guest"]  # always the URL as given


def test_a_credentials_hook_that_raises_fails_the_connect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(url: BrokerURL) -> BrokerURL:
        raise RuntimeError("vault sealed")

    harness = Harness(credentials=broken, accept=False)
    error = failed(harness.ready)
    assert isinstance(error, ConnectionLost)
    assert "vault sealed" in str(error)
    assert harness.reactor.tcpClients == []
    assert "the credentials hook failed" in caplog.text


def test_a_router_included_on_the_factory_handles_frames() -> None:
    router = Router()
    harness = Harness()
    protocol = harness.connected()

    @router.on(Message, destination="/queue/r")
    def take(message: Message) -> Ack | None:
        return protocol.engine.ack(message)

    harness.factory.include(router)
    subscription = harness.subscribe("/queue/r", ack="client", receipt=False)
    harness.serve(harness.message(subscription))
    assert harness.transport.value() == b"ACK\nid:ack-1\n\n\x00"


def test_a_failing_handler_is_logged_its_message_nacked_and_reading_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    harness = Harness()
    harness.connected()
    handled: list[str] = []

    @harness.factory.on(Message)
    def picky(message: Message) -> Ack | None:
        if message.message_id == "m-1":
            raise ValueError("the user's bug")
        handled.append(message.message_id)
        return harness.protocol.engine.ack(message)

    subscription = harness.subscribe(ack="client-individual")
    sending = harness.protocol.send("/queue/a", "x", receipt=True)
    [send] = harness.sent()
    assert isinstance(send, Send) and send.receipt is not None
    first, second = (harness.message(subscription, number=n) for n in (1, 2))
    harness.serve(first, second, Receipt(receipt_id=send.receipt))
    nack, ack = harness.sent()
    assert isinstance(nack, Nack) and nack.id == "ack-1"  # the broker may redeliver it now
    assert isinstance(ack, Ack) and ack.id == "ack-2"
    assert handled == ["m-2"]
    assert fired(sending) == Receipt(receipt_id=send.receipt)
    assert harness.protocol.failure is None
    assert not harness.transport.closing()
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.name == "stompmodels.twisted"
    assert record.getMessage().startswith("handler ")
    assert record.getMessage().endswith("picky failed on MESSAGE")
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)


def test_a_paused_reader_is_never_declared_dead() -> None:
    """A full queue stops reading; the broker's heart-beats wait unread in the socket, which
    must not look like a silent broker. The deadline restarts when reading does."""
    harness = Harness(queue_size=1, heart_beat=(0, 1000))
    harness.connected(heart_beat="1000,0")
    subscription = harness.subscribe()
    harness.serve(harness.message(subscription))
    assert harness.transport.paused()
    harness.reactor.advance(30.0)
    assert harness.protocol.failure is None
    assert not harness.transport.aborted()
    fired(subscription.get())
    assert not harness.transport.paused()
    harness.reactor.advance(2.4)
    assert harness.protocol.failure is None
    harness.reactor.advance(0.6)
    assert isinstance(harness.protocol.failure, HeartbeatTimeout)


@pytest.mark.parametrize("level", [logging.DEBUG, logging.WARNING])
def test_frames_without_receipt_are_the_same_whatever_the_log_level(
    level: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(level, logger="stompmodels")
    harness = Harness()
    harness.connected()
    subscription = harness.subscribe(ack="client-individual", receipt=False)
    fired(harness.protocol.send("/queue/a", "hi", headers={"k": "v"}))
    fired(harness.protocol.ack(harness.message(subscription)))
    assert harness.transport.value() == (
        b"SEND\ndestination:/queue/a\ncontent-type:text/plain;charset=utf-8\n"
        b"content-length:2\nk:v\n\nhi\x00ACK\nid:ack-1\n\n\x00"
    )
    assert ("sent Send(" in caplog.text) is (level == logging.DEBUG)


# -- TLS -----------------------------------------------------------------------------------


def test_a_stomp_ssl_url_connects_through_tls_to_the_default_port() -> None:
    from twisted.protocols.tls import TLSMemoryBIOFactory

    harness = Harness("stomp+ssl://guest:guest@localhost/", accept=False)
    host, port, wrapper, _, _ = harness.reactor.tcpClients[0]
    assert (host, port) == ("localhost", 61614)
    assert isinstance(wrapper, TLSMemoryBIOFactory)
    assert wrapper.wrappedFactory is harness.factory


class FakeBroker(Protocol):
    """The server end: `tests.fake_server.FakeServer` answers what the client sends."""

    def __init__(self) -> None:
        self.server = FakeServer()

    def dataReceived(self, data: bytes) -> None:
        out = cast(Transport, self.transport)
        for answer in self.server.receive(data):
            out.write(answer)


# Twisted's CertificateOptions (the in-memory broker's side) still hands pyOpenSSL objects over.
IGNORE_PYOPENSSL_DEPRECATIONS: Final = pytest.mark.filterwarnings(
    "ignore:Passing pyOpenSSL:DeprecationWarning"
)


def tls_session(certificate: Certificate, trusted: bool) -> Harness:
    """A client over TLS to an in-memory broker, the handshake pumped to its end."""
    from twisted.internet.ssl import Certificate as TwistedCertificate
    from twisted.internet.ssl import PrivateCertificate, optionsForClientTLS
    from twisted.protocols.tls import TLSMemoryBIOFactory
    from twisted.test.iosim import FakeTransport, connect

    cert, key = certificate.cert.read_bytes(), certificate.key.read_bytes()
    trust = TwistedCertificate.loadPEM(cert) if trusted else None
    harness = Harness(accept=False, ssl=optionsForClientTLS("127.0.0.1", trustRoot=trust))
    client_factory = harness.reactor.tcpClients[0][2]
    server_options = PrivateCertificate.loadPEM(cert + key).options()  # type: ignore[no-untyped-call]
    brokers = cast(IProtocolFactory, Factory.forProtocol(FakeBroker))
    clock = cast(IReactorTime, harness.reactor)
    server_factory = TLSMemoryBIOFactory(server_options, False, brokers, clock)
    client = client_factory.buildProtocol(None)
    server = server_factory.buildProtocol(None)
    pump = connect(
        server,
        FakeTransport(server, isServer=True),  # type: ignore[no-untyped-call]  # iosim
        client,
        FakeTransport(client, isServer=False),  # type: ignore[no-untyped-call]  # iosim
        greet=False,
        clock=harness.reactor,  # TLS flushes its writes on the next tick of this clock
    )
    for _ in range(20):  # a bounded number of round trips
        pump.pump()
    return harness


@IGNORE_PYOPENSSL_DEPRECATIONS
def test_tls_with_a_trusted_certificate(certificate: Certificate) -> None:
    harness = tls_session(certificate, trusted=True)
    protocol = fired(harness.ready)
    assert protocol.engine.server == "FakeMQ/1.0"


@IGNORE_PYOPENSSL_DEPRECATIONS
def test_tls_refuses_an_untrusted_certificate(certificate: Certificate) -> None:
    harness = tls_session(certificate, trusted=False)
    error = failed(harness.ready)
    assert isinstance(error, ConnectionLost)
    assert "certificate verify failed" in str(error)
