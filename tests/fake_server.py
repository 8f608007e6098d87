"""An in-memory STOMP broker for the engine tests: no sockets, no clock.

`FakeServer.receive` takes the client's bytes (decoded with `stompmodels.FrameDecoder`, so a
frame split anyhow is fine) and returns the server's answer, one `bytes` per frame, as a broker
would give it: CONNECTED (version and heart-beat chosen by the test), MESSAGEs for SENDs to a
subscribed destination (with the `ack` header in 1.2 when the subscription needs acks),
RECEIPTs for every `receipt` header, and ERROR (closing the session) for anything a broker
refuses: an unknown subscription, transaction or message, a version the client did not offer.

`Conversation` wires an `Engine` to a `FakeServer` and relays bytes both ways until both are
quiet, feeding the server's frames to the engine whole, byte by byte, or with heart-beat EOLs
between them (`FeedMode`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, get_args

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
    Frame,
    FrameDecoder,
    HeartBeat,
    Message,
    Nack,
    Receipt,
    Send,
    Stomp,
    Subscribe,
    Unsubscribe,
    Version,
)

FeedMode = Literal["whole", "bytewise", "heartbeats"]
"""How server bytes reach the engine: in one call, one byte per call, or EOLs between frames."""
FEED_MODES: tuple[FeedMode, ...] = get_args(FeedMode)
NO_HEART_BEAT: Final = HeartBeat(0, 0)


class ClientMisbehaved(AssertionError):
    """The client sent something no client may send now (e.g. a frame after DISCONNECT)."""


@dataclass
class ServerSubscription:
    """A subscription as the broker sees it; `key` is its id (its destination for a 1.0 one)."""

    key: str
    id: str | None
    destination: str
    ack: AckMode


@dataclass
class Delivery:
    """A MESSAGE the broker sent: what a client must name to acknowledge it."""

    message_id: str
    ack_id: str
    subscription: ServerSubscription
    body: bytes


@dataclass
class FakeServer:
    """A broker in memory. Configure it, then feed it the engine's bytes with `receive`."""

    supports: tuple[Version, ...] = VERSIONS
    """Versions the broker speaks; it picks the highest one the client offers."""
    announce_version: bool = True
    """False: a 1.0 broker that writes no `version` header in CONNECTED."""
    heart_beat: HeartBeat = NO_HEART_BEAT
    session: str = "session-7"
    server_name: str = "FakeMQ/1.0"
    ack_header_on_auto: bool = False
    """Also put an `ack` header on 1.2 MESSAGEs of auto subscriptions (RabbitMQ-like)."""
    hold_receipts: bool = False
    """Keep receipts in `held_receipts` instead of answering them at once."""
    credentials: tuple[str, str] | None = None
    """When set, CONNECT must carry this (login, passcode), else ERROR."""

    version: Version | None = None
    """The version in force once CONNECT was answered."""
    connected: bool = False
    closed: bool = False
    received: list[Frame] = field(default_factory=list)
    subscriptions: dict[str, ServerSubscription] = field(default_factory=dict)
    unacked: list[Delivery] = field(default_factory=list)
    acked: list[Delivery] = field(default_factory=list)
    nacked: list[Delivery] = field(default_factory=list)
    transactions: dict[str, list[ClientFrame]] = field(default_factory=dict)
    committed: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    published: list[Send] = field(default_factory=list)
    """SENDs that took effect (outside a transaction, or when their transaction committed)."""
    held_receipts: list[str] = field(default_factory=list)
    errors: list[Error] = field(default_factory=list)
    decoder: FrameDecoder = field(default_factory=lambda: FrameDecoder("1.2"))

    def __post_init__(self) -> None:
        self._counter = itertools.count(1)

    # -- what the broker says on its own ----------------------------------------------------

    @property
    def wire_version(self) -> Version:
        """The version the broker encodes in: the negotiated one, 1.2 before that."""
        return self.version or "1.2"

    def message(
        self,
        key: str,
        body: bytes = b"",
        *,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        """A MESSAGE to the subscription `key`, with the headers its version wants."""
        sub = self.subscriptions[key]
        number = next(self._counter)
        delivery = Delivery(f"m-{number}", f"ack-{number}", sub, body)
        explicit = sub.ack != "auto"
        if explicit:
            self.unacked.append(delivery)
        with_ack = self.wire_version == "1.2" and (explicit or self.ack_header_on_auto)
        frame = Message(
            destination=sub.destination,
            message_id=delivery.message_id,
            subscription=sub.id,
            ack=delivery.ack_id if with_ack else None,
            content_type=content_type,
            body=body,
            headers=dict(headers or {}),
        )
        return frame.to_wire(self.wire_version)

    def publish(self, destination: str, body: bytes = b"") -> list[bytes]:
        """MESSAGEs of `body` to every subscription on `destination`."""
        return [
            self.message(sub.key, body)
            for sub in list(self.subscriptions.values())
            if sub.destination == destination
        ]

    def error(
        self, message: str = "malformed frame received", *, receipt_id: str | None = None
    ) -> bytes:
        """An ERROR, after which the broker closes the session."""
        frame = Error(
            message=message,
            receipt_id=receipt_id,
            content_type="text/plain",
            body=message.encode(),
        )
        self.errors.append(frame)
        self.closed = True
        return frame.to_wire(self.wire_version)

    def receipt(self, receipt_id: str) -> bytes:
        """A RECEIPT for `receipt_id`."""
        return Receipt(receipt_id=receipt_id).to_wire(self.wire_version)

    def release_receipts(self) -> list[bytes]:
        """The RECEIPTs held back (see `hold_receipts`), in order."""
        held, self.held_receipts = self.held_receipts, []
        return [self.receipt(receipt_id) for receipt_id in held]

    # -- what the broker says back ----------------------------------------------------------

    def receive(self, data: bytes) -> list[bytes]:
        """Take the client's bytes; return the broker's answer, one `bytes` per frame."""
        out: list[bytes] = []
        for frame in self.decoder.feed(data):
            if self.closed:
                raise ClientMisbehaved(f"the client sent {frame.command} after the session ended")
            self.received.append(frame)
            out.extend(self._answer(frame))
        return out

    def _answer(self, frame: Frame) -> list[bytes]:
        if isinstance(frame, Connect | Stomp):
            return self._connect(frame)
        if not self.connected:
            return [self.error(f"{frame.command} before CONNECT")]
        receipt = getattr(frame, "receipt", None)
        problem, out = self._apply(frame)
        if problem is not None:
            return [self.error(problem, receipt_id=receipt)]
        if receipt is not None:
            if self.hold_receipts:
                self.held_receipts.append(receipt)
            else:
                out.append(self.receipt(receipt))
        if isinstance(frame, Disconnect):
            self.closed = True
        return out

    def _connect(self, frame: Connect | Stomp) -> list[bytes]:
        if self.connected:
            return [self.error("already connected")]
        offered = frame.accept_version or ("1.0",)
        common = [version for version in self.supports if version in offered]
        if not common:
            supported = ",".join(self.supports)
            error = Error(
                message="Supported protocol versions are " + " ".join(self.supports),
                headers={"version": supported},
            )
            self.errors.append(error)
            self.closed = True
            return [error.to_wire("1.2")]
        version = max(common)
        if self.credentials is not None:
            login, passcode = self.credentials
            given = frame.passcode.get_secret_value() if frame.passcode else None
            if frame.login != login or given != passcode:
                self.version = version
                return [self.error("bad credentials")]
        self.version = version
        self.connected = True
        self.decoder.version = version
        announced = self.announce_version or version != "1.0"
        connected = Connected(
            version=version if announced else None,
            session=self.session,
            server=self.server_name,
            heart_beat=self.heart_beat,
        )
        return [connected.to_wire(version)]

    def _apply(self, frame: Frame) -> tuple[str | None, list[bytes]]:
        """Carry out a frame of an open session: (why it is refused, or None; MESSAGEs)."""
        match frame:
            case Subscribe(id=id, destination=destination, ack=ack):
                key = id or destination
                if key in self.subscriptions:
                    return f"subscription {key!r} already exists", []
                self.subscriptions[key] = ServerSubscription(key, id, destination, ack)
            case Unsubscribe(id=id, destination=destination):
                if self.subscriptions.pop(id or destination or "", None) is None:
                    return f"no subscription {id or destination!r}", []
            case Send(transaction=str(tx)) | Ack(transaction=str(tx)) | Nack(transaction=str(tx)):
                if tx not in self.transactions:
                    return f"no transaction {tx!r}", []
                if isinstance(frame, Ack | Nack) and self._find(frame) is None:
                    return f"{frame.command} of a message that is not pending", []
                self.transactions[tx].append(frame)
            case Send():
                self.published.append(frame)
                return None, self.publish(frame.destination, frame.body)
            case Ack() | Nack():
                return self._settle(frame), []
            case Begin(transaction=tx):
                if tx in self.transactions:
                    return f"transaction {tx!r} already begun", []
                self.transactions[tx] = []
            case Commit(transaction=tx):
                if tx not in self.transactions:
                    return f"no transaction {tx!r}", []
                out: list[bytes] = []
                for pending in self.transactions.pop(tx):
                    if isinstance(pending, Send):
                        self.published.append(pending)
                        out.extend(self.publish(pending.destination, pending.body))
                    elif isinstance(pending, Ack | Nack):
                        problem = self._settle(pending)
                        if problem is not None:
                            return problem, []
                self.committed.append(tx)
                return None, out
            case Abort(transaction=tx):
                if self.transactions.pop(tx, None) is None:
                    return f"no transaction {tx!r}", []
                self.aborted.append(tx)
            case Disconnect():
                pass
            case _:
                return f"a client does not send {frame.command}", []
        return None, []

    def _find(self, frame: Ack | Nack) -> Delivery | None:
        """The pending delivery `frame` names, in the form of the version in force."""
        for delivery in self.unacked:
            match self.version:
                case "1.2":
                    hit = frame.id == delivery.ack_id
                case "1.1":
                    hit = (
                        frame.message_id == delivery.message_id
                        and frame.subscription == delivery.subscription.id
                    )
                case _:
                    hit = frame.message_id == delivery.message_id
            if hit:
                return delivery
        return None

    def _settle(self, frame: Ack | Nack) -> str | None:
        delivery = self._find(frame)
        if delivery is None:
            return f"{frame.command} of a message that is not pending"
        sub = delivery.subscription
        if sub.ack == "client":
            # Cumulative: every earlier message of the subscription goes with it.
            index = self.unacked.index(delivery)
            settled = [d for d in self.unacked[: index + 1] if d.subscription is sub]
        else:
            settled = [delivery]
        for done in settled:
            self.unacked.remove(done)
        (self.acked if isinstance(frame, Ack) else self.nacked).extend(settled)
        return None


def feed(engine: Engine, frames: Sequence[bytes], mode: FeedMode, *, eol: bytes = b"\n") -> bytes:
    """Give the server's `frames` to `engine` as `mode` says; return all the engine's replies."""
    data = b"".join(frames)
    if mode == "whole":
        return engine.react(data)
    if mode == "bytewise":
        return b"".join(engine.react(data[i : i + 1]) for i in range(len(data)))
    if not frames:
        return engine.react(eol)
    return engine.react(eol + eol.join(frames) + eol * 2)


@dataclass
class Conversation:
    """An engine talking to a fake server; every byte the client sent is kept, per frame."""

    engine: Engine
    server: FakeServer
    mode: FeedMode = "whole"
    sent: list[bytes] = field(default_factory=list)
    """What the client put on the wire: each encoded frame, and each non-empty reply."""
    replies: list[bytes] = field(default_factory=list)
    """Only the engine's non-empty replies to the server's frames, in order."""

    def send(self, frame: ClientFrame) -> bytes:
        """Encode `frame` on the engine, send it, and relay until both sides are quiet."""
        data = self.engine.encode(frame)
        self.sent.append(data)
        self.pump(self.server.receive(data))
        return data

    def pump(self, frames: list[bytes]) -> None:
        """Feed server frames to the engine and its replies to the server, until quiet."""
        while frames:
            reply = feed(self.engine, frames, self.mode)
            frames = []
            if reply:
                self.sent.append(reply)
                self.replies.append(reply)
                frames = self.server.receive(reply)
