"""The driver-neutral harness: a scenario talks to a `Driver`, its `StompClient`s and `Broker`s,
and never to a driver's own API, so it is written once and runs against every driver.

- `Broker`: one broker address. Every connection it accepts gets a fresh `RecordingServer` (the
  sans-IO `tests.fake_server.FakeServer`, keeping the raw bytes it received) in `servers`; it
  can push bytes (one write, so one read on the client's side where the driver reads in-memory),
  hang up, refuse further connections, and heart-beat on its own (`beat_every`).
- `StompClient`: one client of the driver, through its public API only: the frame-level calls
  (`subscribe`, `send`, `ack`, ...) and the typed layer (`subscriber`, `publish`, `request`).
  A scenario's typed handler is a plain function ``(payload, message) -> result``; each adapter
  wraps it in the kind of handler its driver takes (an `async def` for asyncio, a plain function
  for blocking, a plain function, an `async def` or one returning a Deferred for Twisted), with
  the payload type as a real annotation, as the client reads it from the handler's signature.
- `Gate`: where typed handlers wait until the scenario opens it (each driver waits its own way);
  it counts the handlers under way, so a scenario sees how many run at once.
- `Pending`: a call under way (a request, a close) while the scenario goes on acting.
- `Driver`: makes brokers, clients and gates, and lets time pass: a fake clock where the driver
  has one (Twisted), bounded real time otherwise (asyncio, blocking threads).

The adapters: `aio_adapter` (a `MockStream` per connection), `blocking_adapter` (loopback TCP
on 127.0.0.1), `twisted_adapter` (an in-memory reactor with a fake clock).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, Generic, Literal, TypedDict, TypeVar

from stompmodels import AckMode, Frame, HeartBeat, Message, Router, parse_frame
from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import ConnectionEvent, ConnectionLost
from stompmodels._client.url import BrokerURL
from tests.fake_server import NO_HEART_BEAT, FakeServer

DriverName = Literal["aio", "blocking", "twisted"]
DRIVERS: Final[tuple[DriverName, ...]] = ("aio", "blocking", "twisted")

LOGIN: Final = "guest"
PASSCODE: Final = "s3cret-pw"
WAIT: Final = 2.0
"""The longest any single wait of a scenario lasts (seconds, on the driver's clock)."""

FAKE_SERVER: Final = "FakeMQ/1.0"
"""The `server` header of the fake broker's CONNECTED, unless a scenario names another."""

CredentialsHook = Callable[[BrokerURL], BrokerURL]
T = TypeVar("T")


class ClientKeywords(TypedDict):
    """The options a scenario gives a client: the same keywords for every driver's client."""

    heart_beat: tuple[int, int]
    queue_size: int
    timeout: float
    reconnect: Backoff | bool
    credentials: CredentialsHook | None


MessageHandler = Callable[[Message], None]
TypedHandler = Callable[[Any, Message], object]
"""A scenario's typed handler: the payload (of the type it was registered with) and the
MESSAGE, to what it returns (a reply to `reply-to`, or None)."""
Style = Literal["plain", "async", "deferred"]
"""A kind of typed handler: a plain function, an `async def`, a function returning a Deferred."""


H = TypeVar("H", bound=Callable[..., object])


def typed(wrapper: H, payload: object, handler: TypedHandler) -> H:
    """`wrapper` (whose parameters are `payload` and `message`) annotated as a typed subscriber
    of `payload` taking the Message: real annotation objects, as the client reads them with
    `typing.get_type_hints`. Named after `handler`, for the client's log lines."""
    wrapper.__annotations__ = {"payload": payload, "message": Message, "return": object}
    name = getattr(handler, "__name__", "handler")
    wrapper.__name__ = name
    wrapper.__qualname__ = getattr(handler, "__qualname__", name)
    return wrapper


def broker_url(host: str, port: int) -> str:
    return f"stomp://{LOGIN}:{PASSCODE}@{host}:{port}/"


@dataclass
class RecordingServer(FakeServer):
    """A FakeServer that also keeps every byte the client sent it, in order."""

    wire: bytearray = field(default_factory=bytearray)

    def receive(self, data: bytes) -> list[bytes]:
        self.wire += data
        return super().receive(data)


_pushed = itertools.count(1)


def frames_of(wire: bytes | bytearray) -> list[bytes]:
    """The client's frames in `wire`, each with its NUL (heart-beat EOLs dropped); for frames
    whose bodies hold no NUL."""
    return [chunk.lstrip(b"\r\n") + b"\x00" for chunk in bytes(wire).split(b"\x00")[:-1]]


class Broker(ABC):
    """A broker at `url`: a fresh `RecordingServer` per connection it accepts."""

    url: str

    def __init__(
        self, heart_beat: HeartBeat = NO_HEART_BEAT, server_name: str = FAKE_SERVER
    ) -> None:
        self.heart_beat = heart_beat
        self.server_name = server_name
        """The `server` header of CONNECTED (the client's reply route depends on it)."""
        self.servers: list[RecordingServer] = []
        """The server side of every connection accepted, oldest first."""
        self.dials = 0
        """Connection attempts that reached this address (accepted or refused)."""
        self.refusing = False
        self.failures: list[BaseException] = []
        """What went wrong on the broker's side (a client that misbehaved); none at the end."""

    @property
    def server(self) -> RecordingServer:
        """The server side of the latest connection."""
        assert self.servers, "no connection reached the broker"
        return self.servers[-1]

    def new_server(self) -> RecordingServer:
        server = RecordingServer(heart_beat=self.heart_beat, server_name=self.server_name)
        self.servers.append(server)
        return server

    def frames(self) -> list[Frame]:
        """Every frame the client sent on the latest connection, in order (a copy)."""
        with self.guard():
            return list(self.server.received)

    def refuse(self) -> None:
        """Refuse every later connection attempt (each is still counted in `dials`)."""
        self.refusing = True

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Hold while touching `server` from the test (a broker thread may be using it)."""
        yield

    def publish(self, destination: str, *bodies: bytes) -> None:
        """A MESSAGE of each body to every subscription on `destination`, in one write."""
        with self.guard():
            frames = [f for body in bodies for f in self.server.publish(destination, body)]
        assert frames, f"nobody subscribed to {destination} on the broker"
        self.push(b"".join(frames))

    def deliver_messages(
        self,
        destination: str,
        *bodies: bytes,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> list[Message]:
        """A MESSAGE of each body, with `content_type` and custom `headers`, to every
        subscription on `destination`, in one write; the MESSAGEs (their ids, ack ids)."""
        with self.guard():
            server = self.server
            keys = [s.key for s in server.subscriptions.values() if s.destination == destination]
            frames = [
                server.message(key, body, content_type=content_type, headers=headers)
                for body in bodies
                for key in keys
            ]
            version = server.wire_version
        assert frames, f"nobody subscribed to {destination} on the broker"
        self.push(b"".join(frames))
        messages = [parse_frame(frame, version) for frame in frames]
        return [message for message in messages if isinstance(message, Message)]

    def push_message(
        self,
        destination: str,
        body: bytes,
        *,
        subscription: str,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Message:
        """A MESSAGE naming `subscription`, which the client never asked for on this connection
        (RabbitMQ's replies on a temp queue name the queue as their subscription)."""
        frame = Message(
            destination=destination,
            message_id=f"pushed-{next(_pushed)}",
            subscription=subscription,
            content_type=content_type,
            headers=dict(headers or {}),
            body=body,
        )
        with self.guard():
            version = self.server.wire_version
        self.push(frame.to_wire(version))
        return frame

    def release_receipts(self) -> None:
        """Stop holding receipts; send the ones held."""
        with self.guard():
            self.server.hold_receipts = False
            held = self.server.release_receipts()
        if held:
            self.push(b"".join(held))

    def hold_receipts(self) -> None:
        with self.guard():
            self.server.hold_receipts = True

    @abstractmethod
    def push(self, data: bytes) -> None:
        """Write `data` to the live connection, in one write."""

    @abstractmethod
    def hang_up(self) -> None:
        """Close the live connection from the broker's side."""


class Mailbox(ABC):
    """The messages of one subscription."""

    id: str

    @abstractmethod
    def get(self, timeout: float = WAIT) -> Message:
        """The next message (TimeoutError if none comes within `timeout` s)."""


class Gate(ABC):
    """Where typed handlers wait until the scenario opens it, each driver its own way; a
    handler that waits too long (`WAIT`) fails with TimeoutError.

    It counts the handlers under way (from the wrapper's entry to its return), so a scenario
    sees how many run at once. Once open, it stays open.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the blocking client's handlers run on threads
        self.running = 0
        """Handlers under way now."""
        self.peak = 0
        """The most handlers ever under way at once."""
        self.entered = 0
        self.finished = 0

    def enter(self) -> None:
        with self._lock:
            self.entered += 1
            self.running += 1
            self.peak = max(self.peak, self.running)

    def leave(self) -> None:
        with self._lock:
            self.running -= 1
            self.finished += 1

    @abstractmethod
    def open(self) -> None:
        """Let every handler waiting here (and every later one) go on."""


class Pending(ABC, Generic[T]):
    """A call under way while the scenario goes on acting (it runs as the driver lets time
    pass: `Driver.until(pending.done, ...)`)."""

    @abstractmethod
    def done(self) -> bool: ...

    @abstractmethod
    def result(self) -> T:
        """What the call returned, or raise what it raised (once `done`)."""


class StompClient(ABC):
    """One client of a driver, through its public API."""

    styles: ClassVar[tuple[Style, ...]]
    """The kinds of typed handler the driver takes; the first is what `subscriber` uses
    unless told otherwise."""

    def __init__(self) -> None:
        self.events: list[ConnectionEvent] = []
        """What the client told its `on_state` callback."""

    def on_state(self, event: ConnectionEvent, url: BrokerURL) -> None:
        self.events.append(event)

    @abstractmethod
    def connect(self) -> None: ...

    @abstractmethod
    def on_message(self, handler: MessageHandler) -> None:
        """Register `handler` with the client's `on(Message)` (it takes every MESSAGE)."""

    @abstractmethod
    def include(self, router: Router) -> None: ...

    @abstractmethod
    def subscribe(self, destination: str, *, ack: AckMode = "auto") -> Mailbox: ...

    @abstractmethod
    def send(self, destination: str, body: bytes | str = b"", *, receipt: bool = False) -> None:
        """Send; with `receipt`, return once the broker confirmed."""

    @abstractmethod
    def ack(self, message: Message, *, receipt: bool = False) -> None: ...

    @abstractmethod
    def nack(self, message: Message, *, receipt: bool = False) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def start_close(self) -> Pending[None]:
        """Begin `close` (a graceful one); it goes on as the driver lets time pass."""

    # -- the typed layer -------------------------------------------------------------------

    @abstractmethod
    def subscriber(
        self,
        destination: str,
        payload: object,
        handler: TypedHandler,
        *,
        ack: AckMode = "client-individual",
        max_concurrent: int = 1,
        dead_letter: str | None = None,
        prefetch: int | None = None,
        gate: Gate | None = None,
        style: Style | None = None,
    ) -> None:
        """Register `handler` with the client's `subscriber`, wrapped in a handler of the
        driver's kind taking a `payload` (the type) and the Message. With `gate`, the wrapper
        waits there before it calls `handler`. `style` is honoured where the driver takes that
        kind (Twisted takes all three); a driver with one kind uses its own. A plain function
        cannot wait on the reactor: a gate on Twisted needs "async" or "deferred"."""

    @abstractmethod
    def publish(
        self,
        destination: str,
        payload: object,
        *,
        receipt: bool = False,
        headers: Mapping[str, str] | None = None,
        reply_to: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        """The client's `publish`; with `receipt`, return once the broker confirmed."""

    @abstractmethod
    def request(
        self, destination: str, payload: object, *, response: type[T], timeout: float | None = None
    ) -> T:
        """The client's `request`: the reply, decoded as `response`."""

    @abstractmethod
    def start_request(
        self, destination: str, payload: object, *, response: type[T], timeout: float | None = None
    ) -> Pending[T]:
        """Begin a `request`; it goes on (and waits for its reply) as the driver lets time pass."""

    @property
    @abstractmethod
    def failure(self) -> ConnectionLost | None:
        """Why the client stopped, if it failed."""


class Driver(ABC):
    """Makes brokers and clients of one driver, and lets time pass for them."""

    name: DriverName
    logger: str
    """The client's logger."""
    package: str
    """The driver's package, as users import it."""

    @abstractmethod
    def broker(
        self,
        heart_beat: HeartBeat = NO_HEART_BEAT,
        *,
        beat_every: float | None = None,
        server_name: str = FAKE_SERVER,
    ) -> Broker:
        """A broker; `heart_beat` is what its CONNECTED offers, `beat_every` (seconds) makes it
        write an EOL that often on its live connection, `server_name` is its CONNECTED's
        `server` header."""

    @abstractmethod
    def gate(self) -> Gate:
        """A closed gate for this driver's handlers."""

    @abstractmethod
    def refused_url(self) -> str:
        """The URL of an address where nobody listens."""

    def client(
        self,
        url: str | list[str],
        *,
        heart_beat: tuple[int, int] = (0, 0),
        queue_size: int = 100,
        timeout: float = WAIT,
        reconnect: Backoff | None = None,
        credentials: CredentialsHook | None = None,
    ) -> StompClient:
        """A client (not connected yet), closed by `close`."""
        keywords: ClientKeywords = {
            "heart_beat": heart_beat,
            "queue_size": queue_size,
            "timeout": timeout,
            "reconnect": reconnect or False,
            "credentials": credentials,
        }
        return self.make_client(url, keywords)

    @abstractmethod
    def make_client(self, url: str | list[str], keywords: ClientKeywords) -> StompClient:
        """The driver's client for `url` with `keywords` (it keeps it, to close it)."""

    @abstractmethod
    def wait(self, seconds: float) -> None:
        """Let `seconds` pass, the client and the brokers running meanwhile."""

    @abstractmethod
    def until(self, condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
        """Let time pass until `condition()` holds; AssertionError naming `what` if it does not
        within `timeout` s."""

    @abstractmethod
    def close(self) -> None:
        """Close every client and broker made (the fixture's teardown)."""
