"""Drive the sans-IO `Broker` as clients would: frames in, decoded frames out, time explicit.

A `World` holds one broker and the time (`now`, moved by hand); `World.open` and
`World.connect` give `Client`s. A client encodes frames in its session's version, feeds them
to `Broker.receive`, and every `Output` is handed out: the bytes written to each client are
decoded by that client's own `FrameDecoder` (STOMP 1.0 until its CONNECTED names a version),
the connections in `Output.close` are marked closed, and everything written and noted is kept
for checks that look at all of it (the passcode never appears).
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from stompmodels import (
    Connect,
    Connected,
    Error,
    Frame,
    FrameDecoder,
    HeartBeat,
    Message,
    Stomp,
    Version,
)
from stompmodels.broker import Broker, Output

T = TypeVar("T")


class Wire(Protocol):
    """Anything a client can put on the wire: a frame model."""

    def to_wire(self, version: Version) -> bytes: ...


Sendable = Wire | bytes


class Client:
    """One connection to the broker, as its client sees it."""

    def __init__(self, world: World, ident: int, version: Version) -> None:
        self.world = world
        self.id = ident
        self.version: Version = version
        """The version frames are encoded in (the session's, once CONNECTED names it)."""
        self.decoder = FrameDecoder("1.0")
        self.inbox: list[Frame] = []
        self.writes: list[bytes] = []
        """Each chunk the broker wrote to this connection, as written."""
        self.closed = False
        """Whether the broker asked the transport to close this connection."""

    def __repr__(self) -> str:
        return f"Client({self.id}, {self.version})"

    # Sending.

    def send(self, *frames: Sendable, now: float | None = None) -> list[Frame]:
        """Send `frames` in one chunk; the frames this client got meanwhile (they stay in
        `inbox` too, for `take` and the others)."""
        data = b"".join(f if isinstance(f, bytes) else f.to_wire(self.version) for f in frames)
        before = len(self.inbox)
        self.raw(data, now)
        return self.inbox[before:]

    def raw(self, data: bytes, now: float | None = None) -> Output:
        """Feed bytes as they are; the broker's Output (also handed out to every client)."""
        when = self.world.now if now is None else now
        return self.world.absorb(self.world.broker.receive(self.id, data, when))

    def close(self, now: float | None = None) -> Output:
        """The transport is gone (`Broker.closed`)."""
        when = self.world.now if now is None else now
        self.closed = True
        return self.world.absorb(self.world.broker.closed(self.id, when))

    # Receiving.

    def deliver(self, data: bytes) -> None:
        """Bytes the broker wrote to this connection."""
        self.writes.append(data)
        self.decoder.receive(data)
        while (frame := self.decoder.next_frame()) is not None:
            if isinstance(frame, Connected):
                self.version = self.decoder.version = _session_version(frame)
            self.inbox.append(frame)

    def take(self) -> list[Frame]:
        """Every frame received since the last take."""
        frames, self.inbox = self.inbox, []
        return frames

    def messages(self) -> list[Message]:
        """The frames received since the last take, which must all be MESSAGEs."""
        return only(self.take(), Message)

    def bodies(self) -> list[bytes]:
        """The bodies of `messages()`."""
        return [m.body for m in self.messages()]

    def error(self) -> Error:
        """The ERROR that must be the last frame received, after which the broker closed."""
        frames = self.take()
        assert frames, "no frame at all: expected ERROR"
        last = frames[-1]
        assert isinstance(last, Error), f"expected ERROR, got {frames!r}"
        assert self.closed, "the broker did not close the connection after its ERROR"
        assert self.id not in {c.id for c in self.world.broker.connections()}
        return last


class World:
    """One broker, its clients and the time."""

    def __init__(self, broker: Broker | None = None, *, now: float = 0.0) -> None:
        self.broker = broker or Broker(heart_beat=(0, 0))
        self.now = now
        self.clients: dict[int, Client] = {}
        self.outputs: list[Output] = []

    def open(self, version: Version = "1.2", peer: str = "test") -> Client:
        """A new connection that has sent nothing yet; it encodes frames in `version`."""
        ident = self.broker.open(self.now, peer)
        client = self.clients[ident] = Client(self, ident, version)
        return client

    def connect(
        self,
        version: Version = "1.2",
        *,
        accept: str | None = None,
        login: str | None = None,
        passcode: str | None = None,
        heart_beat: HeartBeat | tuple[int, int] = (0, 0),
        stomp: bool = False,
    ) -> Client:
        """A connection with a session of `version` (CONNECTED checked)."""
        client = self.open(version)
        frames = client.send(
            connect_frame(
                version,
                accept=accept,
                login=login,
                passcode=passcode,
                heart_beat=heart_beat,
                stomp=stomp,
            )
        )
        assert len(frames) == 1 and isinstance(frames[0], Connected), frames
        assert client.version == version, (client.version, version)
        client.take()
        return client

    def absorb(self, output: Output) -> Output:
        """Hand the bytes of `output` to their clients and mark the closed ones."""
        self.outputs.append(output)
        for ident, data in output.writes.items():
            assert ident in self.clients, f"bytes written to unknown connection {ident}"
            self.clients[ident].deliver(data)
        for ident in output.close:
            self.clients[ident].closed = True
        return output

    def tick(self, now: float) -> Output:
        """`Broker.tick` at `now` (the world's time moves there)."""
        self.now = now
        return self.absorb(self.broker.tick(now))

    def everything(self) -> bytes:
        """All bytes written and all notes, for checks that something never appears."""
        parts: list[bytes] = []
        for output in self.outputs:
            parts.extend(output.writes.values())
            parts.extend(note.encode() for _, note in output.notes)
        return b"\n".join(parts)

    def notes(self) -> list[str]:
        """Every note so far."""
        return [note for output in self.outputs for _, note in output.notes]

    def held(self, destination: str) -> list[bytes]:
        """The bodies a queue holds, in order."""
        return [m.body for m in self.broker.held(destination)]

    def unacked(self, client: Client) -> dict[str, int]:
        """Unsettled deliveries per subscription id of a live connection."""
        info = self.broker.connection(client.id)
        assert info is not None, f"{client} is gone"
        return {s.id: s.unacked for s in info.subscriptions}


def connect_frame(
    version: Version,
    *,
    accept: str | None = None,
    login: str | None = None,
    passcode: str | None = None,
    heart_beat: HeartBeat | tuple[int, int] = (0, 0),
    stomp: bool = False,
) -> Connect | Stomp:
    """CONNECT (or STOMP) asking for `version` (1.0: no accept-version, unless `accept`)."""
    offered = accept if accept is not None else (None if version == "1.0" else version)
    host = None if offered is None else "localhost"
    kind = Stomp if stomp else Connect
    return kind(
        accept_version=offered,
        host=host,
        login=login,
        passcode=passcode,
        heart_beat=heart_beat,
    )


def only(frames: list[Frame], kind: type[T]) -> list[T]:
    """`frames`, which must all be of `kind`."""
    out: list[T] = []
    for frame in frames:
        assert isinstance(frame, kind), f"expected {kind.__name__}, got {frame!r}"
        out.append(frame)
    return out


def header_order(data: bytes) -> list[str]:
    """The header names of the first frame in `data`, in wire order (raw, unescaped names)."""
    head = data.split(b"\n\n", 1)[0]
    return [line.split(b":", 1)[0].decode() for line in head.split(b"\n")[1:]]


def _session_version(frame: Connected) -> Version:
    version = frame.version or "1.0"
    assert version in ("1.0", "1.1", "1.2"), version
    return version  # type: ignore[return-value]
