"""The session's transition table, cell by cell, and random walks through it.

Every (state, input) pair of the product of all States and all 15 frame types plus the Event
members is driven on a fresh engine brought into that state by real frames; the result must
be the table's cell, or LocalProtocolError (our frame) / ProtocolError (the server's frame)
where the table has no cell. A hypothesis state machine then walks random sequences of
client and server steps against a model of the session.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, assume, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from stompmodels import (
    VERSIONS,
    Abort,
    Ack,
    AckMode,
    Begin,
    ClientFrame,
    Commit,
    Connect,
    Connected,
    Disconnect,
    Engine,
    Error,
    LocalProtocolError,
    Message,
    Nack,
    ProtocolError,
    Receipt,
    Send,
    State,
    Stomp,
    Subscribe,
    Unsubscribe,
    Version,
)
from stompmodels._state import TRANSITIONS, Event, Input

CLIENT_KINDS: tuple[type[ClientFrame], ...] = (
    Connect,
    Stomp,
    Send,
    Subscribe,
    Unsubscribe,
    Ack,
    Nack,
    Begin,
    Commit,
    Abort,
    Disconnect,
)
SERVER_KINDS = (Connected, Message, Receipt, Error)
INPUTS: tuple[Input, ...] = (*CLIENT_KINDS, *SERVER_KINDS, *Event)

# How a session gets into each state; CLOSED has three ways in.
PATHS: dict[str, State] = {
    "idle": State.IDLE,
    "connecting": State.CONNECTING,
    "connected": State.CONNECTED,
    "disconnecting": State.DISCONNECTING,
    "closed-by-receipt": State.CLOSED,
    "closed-by-error": State.CLOSED,
    "closed-by-loss": State.CLOSED,
}

SUB = "sub-c"  # a client-ack subscription, made on the way to CONNECTED
TX = "tx-open"  # a transaction begun on the way to CONNECTED
PENDING = "r-open"  # a receipt asked for on the way to CONNECTED
BYE = "r-bye"  # the DISCONNECT's receipt


def drive(path: str, version: Version) -> Engine:
    """A fresh engine brought along `path` with real frames, negotiating `version`."""
    engine = Engine()
    if path == "idle":
        return engine
    engine.encode(engine.connect())
    if path == "connecting":
        return engine
    engine.react(Connected(version=version, session="s").to_wire(version))
    engine.encode(engine.subscribe("/queue/c", ack="client", id=SUB))
    engine.encode(engine.begin(TX))
    engine.encode(engine.send("/queue/c", receipt=PENDING))
    if path == "closed-by-error":
        engine.react(Error(message="boom").to_wire(version))
    elif path == "closed-by-loss":
        engine.connection_lost()
    elif path != "connected":
        engine.encode(engine.disconnect(receipt=BYE))
        if path == "closed-by-receipt":
            engine.react(Receipt(receipt_id=BYE).to_wire(version))
    assert engine.state is PATHS[path]
    return engine


def client_frame(kind: type[ClientFrame], version: Version) -> ClientFrame:
    """A frame of `kind` that breaks no rule but the table's in a session from `drive`."""
    builders: dict[type[ClientFrame], Callable[[], ClientFrame]] = {
        Connect: lambda: Connect(accept_version=VERSIONS, host="/"),
        Stomp: lambda: Stomp(accept_version=("1.1", "1.2"), host="/"),
        Send: lambda: Send(destination="/queue/c", body=b"x"),
        Subscribe: lambda: Subscribe(destination="/queue/d", id="sub-new"),
        Unsubscribe: lambda: Unsubscribe(id=SUB),
        Ack: lambda: Ack(**ack_form(version)),
        Nack: lambda: Nack(**ack_form("1.2" if version == "1.0" else version)),
        Begin: lambda: Begin(transaction="tx-new"),
        Commit: lambda: Commit(transaction=TX),
        Abort: lambda: Abort(transaction=TX),
        Disconnect: lambda: Disconnect(receipt="r-other"),
    }
    return builders[kind]()


def ack_form(version: Version) -> dict[str, str]:
    if version == "1.2":
        return {"id": "ack-1"}
    if version == "1.1":
        return {"message_id": "m-1", "subscription": SUB}
    return {"message_id": "m-1"}


def server_bytes(kind: Input, version: Version) -> bytes:
    """The server's frame for `kind` (the disconnect receipt for the event) in `version`."""
    if kind is Connected:
        return Connected(version=version).to_wire(version)
    if kind is Message:
        ack = "ack-1" if version == "1.2" else None
        frame = Message(destination="/queue/c", message_id="m-1", subscription=SUB, ack=ack)
        return frame.to_wire(version)
    if kind is Receipt:
        return Receipt(receipt_id=PENDING).to_wire(version)
    if kind is Error:
        return Error(message="no").to_wire(version)
    assert kind is Event.DISCONNECT_RECEIPT
    return Receipt(receipt_id=BYE).to_wire(version)


CELLS = list(itertools.product(PATHS, INPUTS))


def test_the_product_covers_every_cell_of_the_table() -> None:
    assert len(INPUTS) == 11 + 4 + len(Event) == 17
    product = {(PATHS[path], kind) for path, kind in CELLS}
    assert len(product) == len(State) * len(INPUTS)
    assert set(TRANSITIONS) <= product
    assert set(TRANSITIONS.values()) <= set(State)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("path", "kind"),
    CELLS,
    ids=[f"{path}-{getattr(kind, '__name__', kind)}" for path, kind in CELLS],
)
def test_every_cell(path: str, kind: Input, version: Version) -> None:
    engine = drive(path, version)
    state = engine.state
    expected = TRANSITIONS.get((state, kind))
    if kind in CLIENT_KINDS:
        frame = client_frame(kind, version)
        if expected is None or (version == "1.0" and kind is Nack):
            with pytest.raises(LocalProtocolError):
                engine.encode(frame)
            assert engine.state is state  # a refused frame changes nothing
        else:
            data = engine.encode(frame)
            assert data.startswith(frame.command.encode() + b"\n")
            assert engine.state is expected
    elif kind is Event.CONNECTION_LOST:
        engine.connection_lost()
        assert engine.state is expected is State.CLOSED
    else:
        data = server_bytes(kind, engine.version or "1.2")
        if expected is None:
            with pytest.raises(ProtocolError):
                engine.react(data)
            assert engine.state is State.CLOSED
            with pytest.raises(ProtocolError):  # and the engine stays unusable
                engine.react(b"\n")
        else:
            engine.react(data)
            assert engine.state is expected


def test_the_table_says_what_the_spec_says() -> None:
    client = set(CLIENT_KINDS)
    server = set(SERVER_KINDS)
    # Only CONNECT/STOMP open a session; nothing but them may be sent before CONNECTED.
    assert {k for (s, k) in TRANSITIONS if s is State.IDLE and k in client} == {Connect, Stomp}
    for state in (State.CONNECTING, State.DISCONNECTING, State.CLOSED):
        assert not {k for (s, k) in TRANSITIONS if s is state and k in client}, state
    # The server says nothing before it was asked to connect. After the session ended, its
    # stragglers (brokers go on sending after an ERROR) are ignored; CONNECTED never is.
    assert not {k for (s, k) in TRANSITIONS if s is State.IDLE and k in server}
    closed = {k for (s, k) in TRANSITIONS if s is State.CLOSED and k is not Event.CONNECTION_LOST}
    assert closed == {Error, Message, Receipt, Event.DISCONNECT_RECEIPT}
    # ERROR and a lost connection end the session wherever they are legal; CONNECTED once.
    for (state, kind), target in TRANSITIONS.items():
        if kind in (Error, Event.CONNECTION_LOST, Event.DISCONNECT_RECEIPT):
            assert target is State.CLOSED, (state, kind)
    assert {s for (s, k) in TRANSITIONS if k is Connected} == {State.CONNECTING}
    assert {s for (s, k) in TRANSITIONS if k is Event.CONNECTION_LOST} == set(State)
    assert TRANSITIONS[(State.CONNECTED, Disconnect)] is State.DISCONNECTING
    # STOMP 1.2 DISCONNECT: MESSAGEs and RECEIPTs may come until the DISCONNECT's receipt.
    assert TRANSITIONS[(State.DISCONNECTING, Message)] is State.DISCONNECTING
    assert TRANSITIONS[(State.DISCONNECTING, Receipt)] is State.DISCONNECTING


# -- random walks ------------------------------------------------------------------------------


@dataclass
class Model:
    """What the session should be, kept apart from the engine."""

    state: State = State.IDLE
    version: Version | None = None
    subscriptions: dict[str, AckMode] = field(default_factory=dict)
    transactions: set[str] = field(default_factory=set)
    receipts: set[str] = field(default_factory=set)
    disconnect_receipt: str | None = None
    poisoned: bool = False


OPEN = (State.CONNECTED, State.DISCONNECTING)  # where MESSAGE and RECEIPT are legal


class SessionWalk(RuleBasedStateMachine):
    """Random client and server steps; each is checked against the table and a model.

    Server steps are legal ones, except `end_session`, whose ways of ending a session
    (connection lost, ERROR, a frame out of turn, an unknown receipt) are one rule so that
    walks live long enough to do something. Client steps are anything, anytime: refusals
    are checked too.
    """

    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine()
        self.model = Model()
        self.server_version: Version = "1.2"
        self.numbers = itertools.count(1)

    @initialize(version=st.sampled_from(VERSIONS), open_first=st.booleans())
    def start(self, version: Version, open_first: bool) -> None:
        self.server_version = version
        if open_first:
            self.connect(stomp=False)
            self.connected()

    # -- helpers ----------------------------------------------------------------------------

    def allowed(self, kind: Input) -> State | None:
        return TRANSITIONS.get((self.model.state, kind))

    def send(self, frame: ClientFrame, problem: bool = False) -> bytes | None:
        """Encode; expect LocalProtocolError if the table or a known rule forbids it."""
        next_state = self.allowed(type(frame))
        if next_state is None or problem:
            before = self.model.state
            event(f"refused {frame.command} while {before.name}")
            try:
                self.engine.encode(frame)
            except LocalProtocolError:
                assert self.engine.state is before
                return None
            raise AssertionError(f"{frame.command} in {before} was not refused")
        event(f"sent {frame.command} while {self.model.state.name}")
        data = self.engine.encode(frame)
        self.model.state = next_state
        receipt = getattr(frame, "receipt", None)
        if receipt is not None:
            self.model.receipts.add(receipt)
        return data

    def hear(self, data: bytes, step: Input, problem: bool = False) -> bytes | None:
        """Feed server bytes; expect ProtocolError if the table or a known rule forbids them."""
        next_state = self.allowed(step)
        if self.model.poisoned or next_state is None or problem:
            try:
                self.engine.react(data)
            except ProtocolError:
                self.model.poisoned = True
                self.model.state = State.CLOSED
                return None
            raise AssertionError(f"{step} in {self.model.state} was not refused")
        reply = self.engine.react(b"\n" + data)
        self.model.state = next_state
        return reply

    def wire_version(self) -> Version:
        return self.model.version or "1.2"

    def message(self, sub_id: str) -> Message:
        number = next(self.numbers)
        return Message(
            destination="/queue/x",
            message_id=f"m-{number}",
            subscription=sub_id,
            ack=f"a-{number}" if self.wire_version() == "1.2" else None,
        )

    # -- client steps -----------------------------------------------------------------------

    @rule(stomp=st.booleans())
    def connect(self, stomp: bool) -> None:
        self.send(self.engine.connect(stomp_command=stomp))

    @rule(ack=st.sampled_from(["auto", "client", "client-individual"]), receipt=st.booleans())
    def subscribe(self, ack: AckMode, receipt: bool) -> None:
        frame = self.engine.subscribe(f"/queue/{ack}", ack=ack, receipt=receipt)
        assert frame.id is not None
        assert frame.id not in self.model.subscriptions
        # STOMP 1.0 has no client-individual mode (issue #12): the engine refuses it.
        problem = ack == "client-individual" and self.wire_version() == "1.0"
        if self.send(frame, problem=problem) is not None:
            self.model.subscriptions[frame.id] = ack

    @rule(data=st.data())
    def unsubscribe(self, data: st.DataObject) -> None:
        known = sorted(self.model.subscriptions)
        sub_id = data.draw(st.sampled_from([*known, "sub-unknown"]))
        if self.send(self.engine.unsubscribe(sub_id), problem=sub_id not in known) is not None:
            del self.model.subscriptions[sub_id]

    @rule(data=st.data(), receipt=st.booleans())
    def send_message(self, data: st.DataObject, receipt: bool) -> None:
        tx = data.draw(st.sampled_from([None, "tx-unknown", *sorted(self.model.transactions)]))
        frame = self.engine.send("/queue/x", "body", transaction=tx, receipt=receipt)
        self.send(frame, problem=tx == "tx-unknown")

    @rule()
    def begin(self) -> None:
        frame = self.engine.begin()
        if self.send(frame) is not None:
            self.model.transactions.add(frame.transaction)

    @rule(data=st.data(), commit=st.booleans())
    def finish(self, data: st.DataObject, commit: bool) -> None:
        tx = data.draw(st.sampled_from(["tx-unknown", *sorted(self.model.transactions)]))
        frame = self.engine.commit(tx) if commit else self.engine.abort(tx)
        if self.send(frame, problem=tx == "tx-unknown") is not None:
            self.model.transactions.discard(tx)

    @precondition(lambda self: self.model.version is not None)
    @rule(data=st.data(), nack=st.booleans())
    def acknowledge(self, data: st.DataObject, nack: bool) -> None:
        assume(not (nack and self.model.version == "1.0"))  # NACK has its own 1.0 test
        sub_id = data.draw(st.sampled_from([*sorted(self.model.subscriptions), "sub-gone"]))
        message = self.message(sub_id)
        build = self.engine.nack if nack else self.engine.ack
        if self.model.subscriptions.get(sub_id) == "auto":
            with pytest.raises(LocalProtocolError, match="auto"):
                build(message)
            return
        self.send(build(message))

    @rule(receipt=st.booleans())
    def disconnect(self, receipt: bool) -> None:
        frame = self.engine.disconnect(receipt=receipt)
        if self.send(frame) is not None:
            self.model.disconnect_receipt = frame.receipt

    # -- server steps -----------------------------------------------------------------------

    @precondition(lambda self: self.model.state is State.CONNECTING)
    @rule()
    def connected(self) -> None:
        version = self.server_version
        data = Connected(version=version, session="s").to_wire(version)
        assert self.hear(data, Connected) == b""
        self.model.version = version
        assert self.engine.version == version

    @precondition(lambda self: self.model.state in OPEN)
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        sub_id = data.draw(st.sampled_from([*sorted(self.model.subscriptions), "sub-gone"]))
        before = self.model.state
        reply = self.hear(self.message(sub_id).to_wire(self.wire_version()), Message)
        wants_ack = self.model.subscriptions.get(sub_id, "client") != "auto"
        event(f"MESSAGE while {before.name}, ack wanted: {wants_ack}")
        if before is State.CONNECTED and wants_ack:
            assert reply is not None
            assert reply.startswith(b"ACK\n"), reply
        else:
            assert reply == b""

    @precondition(
        lambda self: (
            self.model.state in OPEN and self.model.receipts - {self.model.disconnect_receipt}
        )
    )
    @rule(data=st.data())
    def receipt(self, data: st.DataObject) -> None:
        pending = sorted(self.model.receipts - {self.model.disconnect_receipt or ""})
        receipt_id = data.draw(st.sampled_from(pending))
        frame = Receipt(receipt_id=receipt_id).to_wire(self.wire_version())
        assert self.hear(frame, Receipt) == b""
        self.model.receipts.discard(receipt_id)

    @precondition(
        lambda self: (
            self.model.state is State.DISCONNECTING and self.model.disconnect_receipt is not None
        )
    )
    @rule()
    def disconnect_receipt(self) -> None:
        receipt_id = self.model.disconnect_receipt
        assert receipt_id is not None
        frame = Receipt(receipt_id=receipt_id).to_wire(self.wire_version())
        assert self.hear(frame, Event.DISCONNECT_RECEIPT) == b""
        self.model.receipts.discard(receipt_id)
        assert self.engine.state is State.CLOSED

    @rule(
        how=st.sampled_from(["lost", "error", "connected", "message", "unknown-receipt"]),
        data=st.data(),
    )
    def end_session(self, how: str, data: st.DataObject) -> None:
        """The ways a session ends abruptly, or breaks, wherever the walk is."""
        version = self.wire_version()
        event(f"end by {how} while {self.model.state.name}")
        if how == "lost":
            self.engine.connection_lost()
            self.model.state = State.CLOSED
        elif how == "error":
            receipt_id = data.draw(st.sampled_from([None, *sorted(self.model.receipts)]))
            frame = Error(message="no", receipt_id=receipt_id).to_wire(version)
            was_closed = self.model.state is State.CLOSED
            if self.hear(frame, Error) is not None and not was_closed:  # stragglers: ignored
                self.model.receipts.discard(receipt_id or "")
                assert self.engine.error is not None
        elif how == "connected":
            if self.hear(Connected(version=version).to_wire(version), Connected) is not None:
                self.model.version = version
        elif how == "message":
            self.hear(self.message("sub-x").to_wire(version), Message)
        else:
            frame = Receipt(receipt_id="r-never").to_wire(version)
            self.hear(frame, Receipt, problem=self.model.state is not State.CLOSED)

    # -- what must always hold --------------------------------------------------------------

    @invariant()
    def engine_matches_model(self) -> None:
        assert self.engine.state is self.model.state
        assert self.engine.version == self.model.version
        assert {k: v.ack for k, v in self.engine.subscriptions.items()} == (
            self.model.subscriptions
        )
        assert self.engine.transactions == self.model.transactions
        assert set(self.engine.pending_receipts) == self.model.receipts


SessionWalk.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much],
)
TestSessionWalk = pytest.mark.slow(SessionWalk.TestCase)
