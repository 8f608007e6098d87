"""Broker: the server side of STOMP, without I/O. Bytes in per connection, bytes out per
connection, time passed in as `now`."""

from __future__ import annotations

import hmac
import itertools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from stompmodels._client.options import PREFETCH_HEADERS
from stompmodels._errors import ProtocolError
from stompmodels._frames import (
    Abort,
    Ack,
    Begin,
    Commit,
    Connect,
    Disconnect,
    Frame,
    Nack,
    Send,
    Stomp,
    Subscribe,
    Unsubscribe,
)
from stompmodels._headers import HeartBeat
from stompmodels._heartbeat import DEFAULT_GRACE, EOL, negotiate_heart_beat
from stompmodels._limits import Limits
from stompmodels._spec import VERSIONS, Version
from stompmodels.broker import wire
from stompmodels.broker.connection import Connection, Phase, Transacted
from stompmodels.broker.destinations import (
    Delivery,
    Queue,
    Stored,
    Subscription,
    kind_of,
    message_ids,
)
from stompmodels.broker.views import ConnectionInfo, HeldMessage, SubscriptionInfo

_PREFETCH_DIGITS: Final = 9
_FIRST_LINE_MAX: Final = 64  # bytes before CONNECT's command line must have ended
_NO_WRITES: Final[Mapping[int, bytes]] = {}


class Refused(Exception):
    """A frame the broker answers with ERROR, after which it closes the connection."""


@dataclass(frozen=True, slots=True)
class Output:
    """What the transport must do after a call: write these bytes to these connections, then
    close the connections in `close` (after writing theirs)."""

    writes: Mapping[int, bytes] = field(default_factory=lambda: _NO_WRITES)
    close: frozenset[int] = frozenset()
    notes: tuple[tuple[int, str], ...] = ()
    """What happened to connections, worth a log line: (connection, what)."""


class Broker:
    """An in-memory STOMP 1.0/1.1/1.2 broker for development, tests and demos; not production.

    `open` a connection when a client connects, feed what it sends to `receive`, tell the
    broker when the transport is gone with `closed`, and call `tick` by `next_deadline` for
    heart-beats and timeouts. Each returns an `Output`: the bytes to write per connection.
    """

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        heart_beat: HeartBeat | tuple[int, int] = (1000, 1000),
        limits: Limits | None = None,
        handshake_timeout: float = 10.0,
        grace: float = DEFAULT_GRACE,
        dead_letter: str | None = None,
    ) -> None:
        """`users` maps logins to passcodes (None: any login, or none, is accepted);
        `heart_beat` is what CONNECTED offers (can send every, wants every, in ms);
        `dead_letter` is where NACK with `requeue:false` puts a message (None: dropped)."""
        if dead_letter is not None and kind_of(dead_letter) != "queue":
            raise ValueError(f"the dead-letter destination must be a /queue/, not {dead_letter!r}")
        self._users = dict(users) if users is not None else None
        self.heart_beat = HeartBeat(*heart_beat)
        self.limits = limits or Limits()
        self.handshake_timeout = handshake_timeout
        self.grace = grace
        self.dead_letter = dead_letter
        self.refuse_logins = False
        """While True, every CONNECT is refused (fault injection for tests)."""
        self._connections: dict[int, Connection] = {}
        self._ids = itertools.count(1)
        self._queues: dict[str, Queue] = {}
        self._topics: dict[str, list[Subscription]] = {}
        self._writes: dict[int, list[bytes]] = {}
        self._closing: set[int] = set()
        self._notes: list[tuple[int, str]] = []
        self._handlers: dict[type, Callable[[Connection, Frame], None]] = {
            Send: self._on_send,
            Subscribe: self._on_subscribe,
            Unsubscribe: self._on_unsubscribe,
            Ack: self._on_settle,
            Nack: self._on_settle,
            Begin: self._on_begin,
            Commit: self._on_commit,
            Abort: self._on_abort,
            Disconnect: self._on_disconnect,
        }

    # The transport's side.

    def open(self, now: float, peer: str = "") -> int:
        """A client connected (from `peer`, for logs): the id to pass to the other calls."""
        ident = next(self._ids)
        self._connections[ident] = Connection(ident, peer, now, self.limits)
        return ident

    def receive(self, connection: int, data: bytes, now: float) -> Output:
        """Take bytes from a connection; bytes after its ERROR or DISCONNECT are ignored."""
        conn = self._connections.get(connection)
        if conn is None or conn.phase is Phase.CLOSING or not data:
            return Output()
        conn.last_read = now
        decoder = conn.decoder
        try:
            if conn.first_line is not None:
                data = self._first_line(conn, conn.first_line + data)
            decoder.receive(data)
            while conn.accepts_frames() and (frame := decoder.next_frame()):
                self._handle(conn, frame)
        except ProtocolError as exc:
            self._refuse(conn, str(exc), exc.receipt)
        return self._flush(now)

    def closed(self, connection: int, now: float) -> Output:
        """The transport of a connection is gone: what it held goes back to the queues."""
        conn = self._connections.get(connection)
        if conn is not None:
            self._drop(conn)
        self._closing.discard(connection)
        self._writes.pop(connection, None)
        return self._flush(now)

    def hold_back(self, connection: int) -> None:
        """The transport of a connection is full: deliver it nothing until `go_on`, so a
        client that reads slowly makes messages wait in their queues, not in its buffer."""
        conn = self._connections.get(connection)
        if conn is not None:
            conn.held_back = True
            for subscription in conn.subscriptions.values():
                subscription.held_back = True

    def go_on(self, connection: int, now: float) -> Output:
        """The transport of a connection has room again: deliver what waits for it."""
        conn = self._connections.get(connection)
        if conn is not None and conn.held_back:
            conn.held_back = False
            for subscription in list(conn.subscriptions.values()):
                subscription.held_back = False
                self._dispatch(subscription.queue)
        return self._flush(now)

    def tick(self, now: float) -> Output:
        """Heart-beats that are due, and connections that are overdue or never connected."""
        for conn in list(self._connections.values()):
            if conn.phase is Phase.HANDSHAKE:
                if now - conn.opened_at >= self.handshake_timeout:
                    self._refuse(conn, f"no CONNECT within {self.handshake_timeout:g} s", None)
                continue
            if conn.phase is not Phase.OPEN:
                continue
            sends, expects = conn.heart_beat
            if expects and now - conn.last_read >= self.grace * expects / 1000:
                silent = now - conn.last_read
                self._refuse(conn, f"no heart-beat from the client for {silent:.1f} s", None)
            elif sends and now - conn.last_write >= sends / 1000:
                self._write(conn.id, EOL)
        return self._flush(now)

    def next_deadline(self) -> float | None:
        """When `tick` has something to do next (the same clock as `now`), or None."""
        deadlines: list[float] = []
        for conn in self._connections.values():
            if conn.phase is Phase.HANDSHAKE:
                deadlines.append(conn.opened_at + self.handshake_timeout)
                continue
            sends, expects = conn.heart_beat
            if sends:
                deadlines.append(conn.last_write + sends / 1000)
            if expects:
                deadlines.append(conn.last_read + self.grace * expects / 1000)
        return min(deadlines, default=None)

    # What tests and tools may look at.

    def connections(self) -> tuple[ConnectionInfo, ...]:
        """Every connection the broker has, oldest first."""
        return tuple(self._info(conn) for conn in self._connections.values())

    def connection(self, connection: int) -> ConnectionInfo | None:
        """One connection, or None when it is gone."""
        conn = self._connections.get(connection)
        return None if conn is None else self._info(conn)

    def held(self, destination: str) -> tuple[HeldMessage, ...]:
        """The messages waiting in a queue for a consumer (a topic holds none)."""
        queue = self._queues.get(destination)
        if queue is None:
            return ()
        return tuple(
            HeldMessage(m.destination, m.message_id, dict(m.headers), m.body, m.redelivered)
            for m in queue.messages
        )

    def destinations(self) -> dict[str, int]:
        """Every queue the broker has, with how many messages wait in it."""
        return {name: len(queue.messages) for name, queue in self._queues.items()}

    # Frames.

    def _handle(self, conn: Connection, frame: Frame) -> None:
        receipt: str | None = getattr(frame, "receipt", None)
        if receipt is not None and not wire.carries(("receipt-id", receipt), conn.version):
            reason = f"a receipt id STOMP {conn.version} cannot carry back in a RECEIPT"
            self._refuse(conn, reason, None)
            return
        try:
            if conn.phase is Phase.HANDSHAKE:
                if not isinstance(frame, Connect | Stomp):
                    raise Refused(f"expected CONNECT or STOMP, not {frame.command}")
                self._on_connect(conn, frame)
                return
            handler = self._handlers.get(type(frame))
            if handler is None:
                raise Refused(f"a client cannot send {frame.command} here")
            handler(conn, frame)
        except Refused as refusal:
            self._refuse(conn, str(refusal), receipt)
            return
        if receipt is not None:
            self._write(conn.id, wire.receipt(receipt, conn.version))
        if isinstance(frame, Disconnect):
            self._close(conn)

    def _first_line(self, conn: Connection, seen: bytes) -> bytes:
        """The bytes to decode once the first command line has ended (until then, none).

        Before CONNECT, frames are read as STOMP 1.0, whose CONNECT requires no header. A
        STOMP frame (1.1's name for CONNECT) is read as the CONNECT it is: RabbitMQ and
        ActiveMQ accept one without `host` (as stomp.py sends it), and so does this broker.
        """
        start = len(seen) - len(seen.lstrip(b"\r\n"))
        end = seen.find(b"\n", start, start + _FIRST_LINE_MAX)
        if end < 0:
            if len(seen) - start >= _FIRST_LINE_MAX:
                raise ProtocolError("no STOMP command line at the start of the stream")
            conn.first_line = seen
            return b""
        conn.first_line = None
        if seen[start:end].rstrip(b"\r") == b"STOMP":
            return b"CONNECT" + seen[start + 5 :]
        return seen

    def _on_connect(self, conn: Connection, frame: Connect | Stomp) -> None:
        offered = frame.accept_version or ("1.0",)
        common = [v for v in VERSIONS if v in offered]
        if not common:
            supported = ",".join(VERSIONS)
            raise Refused(f"no common STOMP version: the broker speaks {supported}")
        version: Version = common[-1]
        if self.refuse_logins:
            raise Refused("login refused: the broker refuses every login for now")
        if self._users is not None:
            secret = frame.passcode.get_secret_value() if frame.passcode else ""
            known = self._users.get(frame.login or "")
            if frame.login is None or known is None or not hmac.compare_digest(known, secret):
                raise Refused(f"login refused for {frame.login or 'no login'!r}")
        conn.version = version
        conn.decoder.version = version
        conn.login = frame.login
        conn.session = f"session-{conn.id}-{secrets.token_hex(4)}"
        if version != "1.0":
            agreed = negotiate_heart_beat(frame.heart_beat, self.heart_beat)
            conn.heart_beat = HeartBeat(agreed.receive_ms, agreed.send_ms)
        conn.phase = Phase.OPEN
        who = repr(frame.login) if frame.login is not None else "no login"
        self._notes.append((conn.id, f"connected: STOMP {version}, {who}"))
        self._write(conn.id, wire.connected(version, conn.session, self.heart_beat))

    def _on_send(self, conn: Connection, frame: Frame) -> None:
        assert isinstance(frame, Send)
        if frame.transaction is not None:
            self._hold(conn, frame.transaction, frame)
        else:
            self._publish(frame)

    def _publish(self, frame: Send) -> None:
        destination = frame.destination
        kind = kind_of(destination)
        if kind is None:
            raise Refused(_unknown(destination))
        headers = [(n, v) for n, v in frame.headers.items() if n not in wire.MESSAGE_OWN]
        if frame.content_type is not None:
            headers.insert(0, ("content-type", frame.content_type))
        stored = Stored(destination, f"msg-{next(message_ids)}", tuple(headers), frame.body)
        if kind == "topic":
            for subscription in self._topics.get(destination, ()):
                own = subscription.queue
                own.messages.append(
                    Stored(destination, stored.message_id, stored.headers, stored.body)
                )
                self._dispatch(own)
            return
        queue = self._queues.get(destination)
        if queue is None:
            if kind == "temp-queue":
                return  # its connection is gone (or never was): dropped, as RabbitMQ does
            queue = self._new_queue(destination, None)
        queue.messages.append(stored)
        self._dispatch(queue)

    def _new_queue(self, destination: str, subscriber: int | None) -> Queue:
        """A queue made on first use; a temp queue is owned by the connection subscribing."""
        kind = kind_of(destination)
        assert kind is not None and kind != "topic"
        owner = subscriber if kind == "temp-queue" else None
        queue = self._queues[destination] = Queue(destination, kind, owner)
        return queue

    def _on_subscribe(self, conn: Connection, frame: Frame) -> None:
        assert isinstance(frame, Subscribe)
        destination = frame.destination
        kind = kind_of(destination)
        if kind is None:
            raise Refused(_unknown(destination))
        ident = frame.id if frame.id is not None else destination
        for header in (("destination", destination), ("subscription", ident)):
            if not wire.carries(header, conn.version):
                raise Refused(f"a {header[0]} STOMP {conn.version} cannot carry in a MESSAGE")
        if ident in conn.subscriptions:
            raise Refused(f"subscription id {ident!r} is already in use on this connection")
        prefetch = _prefetch(frame)
        if kind == "topic":
            queue = Queue(destination, kind)
        else:
            queue = self._queues.get(destination) or self._new_queue(destination, conn.id)
            if kind == "temp-queue" and queue.owner != conn.id:
                raise Refused(f"{destination} belongs to another connection")
        subscription = Subscription(
            conn.id, ident, destination, frame.ack, prefetch, frame.id is not None, queue
        )
        subscription.held_back = conn.held_back
        conn.subscriptions[ident] = subscription
        queue.subscribers.append(subscription)
        if kind == "topic":
            self._topics.setdefault(destination, []).append(subscription)
        self._dispatch(queue)

    def _on_unsubscribe(self, conn: Connection, frame: Frame) -> None:
        assert isinstance(frame, Unsubscribe)
        ident = frame.id if frame.id is not None else frame.destination
        subscription = conn.subscriptions.get(ident or "")
        if subscription is None:
            raise Refused(f"no subscription {ident!r} on this connection")
        self._end(conn, subscription)

    def _end(self, conn: Connection, subscription: Subscription) -> None:
        """Remove a subscription; what it was given and did not settle goes back to its queue."""
        del conn.subscriptions[subscription.id]
        queue = subscription.queue
        queue.subscribers.remove(subscription)
        if queue.kind == "topic":
            self._topics[queue.name].remove(subscription)
            if not self._topics[queue.name]:
                del self._topics[queue.name]
        taken = list(subscription.unacked.values())
        for delivery in taken:
            conn.settle(delivery)
        if queue.kind != "topic":
            queue.requeue([delivery.stored for delivery in taken])
            self._dispatch(queue)

    def _on_settle(self, conn: Connection, frame: Frame) -> None:
        assert isinstance(frame, Ack | Nack)
        if frame.transaction is not None:
            self._hold(conn, frame.transaction, frame)
        else:
            self._settle(conn, frame)

    def _settle(self, conn: Connection, frame: Ack | Nack) -> None:
        delivery = conn.find_delivery(frame)
        if delivery is None:
            named = frame.id if conn.version == "1.2" else frame.message_id
            raise Refused(f"{frame.command} of {named!r}: no such message awaits settlement")
        subscription = delivery.subscription
        if subscription.ack == "client":  # cumulative: this one and every one before it
            settled: list[Delivery] = []
            for earlier in subscription.unacked.values():
                settled.append(earlier)
                if earlier is delivery:
                    break
        else:
            settled = [delivery]
        for each in settled:
            conn.settle(each)
        queue = subscription.queue
        if isinstance(frame, Nack):
            stored = [each.stored for each in settled]
            if frame.headers.get("requeue", "true") != "false":
                queue.requeue(stored)
            elif self.dead_letter is not None:
                self._dead_letter(stored)
        self._dispatch(queue)

    def _dead_letter(self, messages: list[Stored]) -> None:
        target = self.dead_letter
        assert target is not None
        queue = self._queues.get(target) or self._new_queue(target, None)
        for each in messages:
            headers = (*each.headers, ("x-original-destination", each.destination))
            queue.messages.append(Stored(target, each.message_id, headers, each.body))
        self._dispatch(queue)

    def _on_begin(self, conn: Connection, frame: Frame) -> None:
        assert isinstance(frame, Begin)
        if frame.transaction in conn.transactions:
            raise Refused(f"transaction {frame.transaction!r} has already begun")
        conn.transactions[frame.transaction] = []

    def _on_commit(self, conn: Connection, frame: Frame) -> None:
        assert isinstance(frame, Commit)
        for held in self._transaction(conn, frame.transaction):
            if isinstance(held, Send):
                self._publish(held)
            else:
                self._settle(conn, held)

    def _on_abort(self, conn: Connection, frame: Frame) -> None:
        assert isinstance(frame, Abort)
        self._transaction(conn, frame.transaction)

    def _transaction(self, conn: Connection, name: str) -> list[Transacted]:
        held = conn.transactions.pop(name, None)
        if held is None:
            raise Refused(f"no transaction {name!r} has begun")
        return held

    def _hold(self, conn: Connection, name: str, frame: Transacted) -> None:
        held = conn.transactions.get(name)
        if held is None:
            raise Refused(f"{frame.command} in transaction {name!r}, which has not begun")
        held.append(frame)

    def _on_disconnect(self, conn: Connection, frame: Frame) -> None:
        pass  # its RECEIPT is written, then the connection closes (`_handle`)

    # Deliveries and the end of connections.

    def _dispatch(self, queue: Queue) -> None:
        """Hand waiting messages to the subscribers with room, in turn."""
        messages = queue.messages
        connections = self._connections
        while messages and queue.subscribers:
            subscription = queue.next_taker()
            if subscription is None:
                return
            stored = messages.popleft()
            conn = connections[subscription.connection]
            if subscription.ack == "auto":
                delivery = Delivery(stored, subscription, "")
            else:
                delivery = Delivery(stored, subscription, str(next(conn.tags)))
                conn.add(delivery)
            self._write(conn.id, wire.message(delivery, conn.version))

    def _refuse(self, conn: Connection, reason: str, receipt: str | None) -> None:
        """ERROR naming `reason`, then close (STOMP 1.2 "ERROR")."""
        self._notes.append((conn.id, f"refused: {reason}"))
        self._write(conn.id, wire.error(reason, conn.version, receipt))
        self._close(conn)

    def _close(self, conn: Connection) -> None:
        conn.phase = Phase.CLOSING
        self._closing.add(conn.id)
        self._drop(conn)

    def _drop(self, conn: Connection) -> None:
        """Forget a connection: its deliveries go back to their queues, its transactions are
        aborted, its temp queues go away."""
        if self._connections.pop(conn.id, None) is None:
            return
        for subscription in list(conn.subscriptions.values()):
            self._end(conn, subscription)
        conn.transactions.clear()
        owned = [name for name, queue in self._queues.items() if queue.owner == conn.id]
        for name in owned:
            del self._queues[name]

    def _write(self, connection: int, data: bytes) -> None:
        pending = self._writes.get(connection)
        if pending is None:
            self._writes[connection] = [data]
        else:
            pending.append(data)

    def _flush(self, now: float) -> Output:
        if not self._writes and not self._closing and not self._notes:
            return Output()
        writes: dict[int, bytes] = {}
        for ident, chunks in self._writes.items():
            writes[ident] = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            conn = self._connections.get(ident)
            if conn is not None:
                conn.last_write = now
        self._writes = {}
        closing = frozenset(self._closing)
        self._closing = set()
        notes = tuple(self._notes)
        self._notes.clear()
        return Output(writes, closing, notes)

    def _info(self, conn: Connection) -> ConnectionInfo:
        open_ = conn.phase is not Phase.HANDSHAKE
        subscriptions = tuple(
            SubscriptionInfo(s.id, s.destination, s.ack, len(s.unacked))
            for s in conn.subscriptions.values()
        )
        return ConnectionInfo(
            conn.id,
            conn.peer,
            open_,
            conn.login,
            conn.version if open_ else None,
            conn.session if open_ else None,
            subscriptions,
            tuple(conn.transactions),
        )


def _unknown(destination: str) -> str:
    return f"unknown destination {destination!r}: use /queue/, /topic/ or /temp-queue/"


def _prefetch(frame: Subscribe) -> int | None:
    for name in PREFETCH_HEADERS:
        text = frame.headers.get(name)
        if text is None:
            continue
        if not (text.isascii() and text.isdigit() and len(text) <= _PREFETCH_DIGITS):
            raise Refused(f"{name} must be a whole number below 10^{_PREFETCH_DIGITS}")
        return int(text) or None  # 0: no bound, as RabbitMQ reads it
    return None
