"""The driver-neutral harness: a scenario talks to a `Driver`, its `StompClient`s and `Broker`s,
and never to a driver's own API, so it is written once and runs against every driver.

- `Broker`: one broker address. Every connection it accepts gets a fresh `RecordingServer` (the
  sans-IO `tests.fake_server.FakeServer`, keeping the raw bytes it received) in `servers`; it
  can push bytes (one write, so one read on the client's side where the driver reads in-memory),
  hang up, refuse further connections, and heart-beat on its own (`beat_every`).
- `StompClient`: one client of the driver, through its public API only.
- `Driver`: makes brokers and clients, and lets time pass: a fake clock where the driver has one
  (Twisted), bounded real time otherwise (asyncio, blocking threads).

The adapters: `aio_adapter` (a `MockStream` per connection), `blocking_adapter` (loopback TCP
on 127.0.0.1), `twisted_adapter` (an in-memory reactor with a fake clock).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, Literal, TypedDict

from stompmodels import AckMode, HeartBeat, Message, Router
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

CredentialsHook = Callable[[BrokerURL], BrokerURL]


class ClientKeywords(TypedDict):
    """The options a scenario gives a client: the same keywords for every driver's client."""

    heart_beat: tuple[int, int]
    queue_size: int
    timeout: float
    reconnect: Backoff | bool
    credentials: CredentialsHook | None


MessageHandler = Callable[[Message], None]


def broker_url(host: str, port: int) -> str:
    return f"stomp://{LOGIN}:{PASSCODE}@{host}:{port}/"


@dataclass
class RecordingServer(FakeServer):
    """A FakeServer that also keeps every byte the client sent it, in order."""

    wire: bytearray = field(default_factory=bytearray)

    def receive(self, data: bytes) -> list[bytes]:
        self.wire += data
        return super().receive(data)


def frames_of(wire: bytes | bytearray) -> list[bytes]:
    """The client's frames in `wire`, each with its NUL (heart-beat EOLs dropped); for frames
    whose bodies hold no NUL."""
    return [chunk.lstrip(b"\r\n") + b"\x00" for chunk in bytes(wire).split(b"\x00")[:-1]]


class Broker(ABC):
    """A broker at `url`: a fresh `RecordingServer` per connection it accepts."""

    url: str

    def __init__(self, heart_beat: HeartBeat = NO_HEART_BEAT) -> None:
        self.heart_beat = heart_beat
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
        server = RecordingServer(heart_beat=self.heart_beat)
        self.servers.append(server)
        return server

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


class StompClient(ABC):
    """One client of a driver, through its public API."""

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
        self, heart_beat: HeartBeat = NO_HEART_BEAT, *, beat_every: float | None = None
    ) -> Broker:
        """A broker; `heart_beat` is what its CONNECTED offers, `beat_every` (seconds) makes it
        write an EOL that often on its live connection."""

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
