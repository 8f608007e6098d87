"""A small synchronous raw-socket STOMP client for the conformance scenarios.

Everything is bounded: every read has a deadline, every loop a count. Frames are written with
the library's models (`frame.to_wire(version)`) or as raw bytes when a scenario needs malformed
input, and read with `stompmodels.FrameDecoder`. A broken expectation raises AssertionError
with what the broker did instead, so pytest shows it as a failure.
"""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from collections import deque
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final, Protocol, Self, TypeVar

from stompmodels import (
    VERSIONS,
    Abort,
    Ack,
    AckMode,
    Begin,
    Connect,
    Connected,
    Disconnect,
    Error,
    Frame,
    FrameDecoder,
    Message,
    Nack,
    ProtocolError,
    Receipt,
    Send,
    Stomp,
    Subscribe,
    Version,
)

TIMEOUT: Final = 3.0
"""Seconds a frame the broker owes may take (ActiveMQ and RabbitMQ answer in milliseconds)."""
QUIET: Final = 0.25
"""Seconds of silence that count as "the broker sent nothing" (after a receipt barrier)."""
MAX_READS: Final = 10_000
"""Socket reads any single wait may make (a count bound on top of the deadline)."""
CHUNK: Final = 65536

F = TypeVar("F", Connected, Message, Receipt, Error)


class Endpoint(Protocol):
    """Where a broker listens and whom to log in as (conftest's Target is one)."""

    @property
    def name(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def login(self) -> str: ...
    @property
    def passcode(self) -> str: ...


class Wire(Protocol):
    """Anything that has wire bytes per version: every frame model."""

    def to_wire(self, version: Version = ...) -> bytes: ...


def unique(kind: str = "queue") -> str:
    """A destination no other test (or run) uses: /queue/conformance-<hex>."""
    return f"/{kind}/conformance-{uuid.uuid4().hex[:16]}"


def token(prefix: str = "r") -> str:
    """A fresh receipt or transaction id."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def describe(frame: Frame) -> str:
    """A frame in one line, for failure messages (an ERROR's body is cut short)."""
    headers = dict(frame.wire_headers())
    body = getattr(frame, "body", b"")
    return f"{frame.command} {headers} body={body[:200]!r}"


class Session:
    """One TCP connection to a broker, with the frames read from it and not yet taken."""

    def __init__(self, sock: socket.socket, endpoint: Endpoint, version: Version = "1.0") -> None:
        self.sock = sock
        self.endpoint = endpoint
        self.version: Version = version
        # Until CONNECTED names the version, decode as 1.0: no unescaping, so any header the
        # broker writes before the session is agreed (an ERROR) reads as sent.
        self.decoder = FrameDecoder("1.0")
        self.pending: deque[Frame] = deque()
        self.received = bytearray()  # every byte the broker sent, for failure messages
        self.closed = False  # the broker closed (or reset) the connection
        self.connected: Connected | None = None

    # -- writing -------------------------------------------------------------------------------

    def send(self, frame: Wire) -> None:
        """Write a frame in this session's version."""
        self.send_raw(frame.to_wire(self.version))

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (malformed frames, heart-beat EOLs)."""
        self.sock.sendall(data)

    def beat(self) -> None:
        """Send one heart-beat EOL."""
        self.send_raw(b"\n")

    # -- reading -------------------------------------------------------------------------------

    def _read_once(self, deadline: float) -> bool:
        """One bounded read into the decoder; False when the deadline passed or the socket
        closed (then `closed` is set)."""
        if self.closed:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(CHUNK)
        except TimeoutError:
            return False
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            data = b""
        if not data:
            self.closed = True
            return False
        self.received += data
        try:
            self.pending.extend(self.decoder.feed(data))
        except ProtocolError as exc:
            self.pending.extend(exc.frames)
            tail = bytes(self.received[-400:])
            raise AssertionError(
                f"{self.endpoint.name} sent bytes that do not decode: {exc}; last bytes {tail!r}"
            ) from None
        return True

    def receive(self, timeout: float = TIMEOUT) -> Frame | None:
        """The next frame, or None if none came within `timeout` or the socket closed."""
        deadline = time.monotonic() + timeout
        for _ in range(MAX_READS):
            if self.pending:
                return self.pending.popleft()
            if not self._read_once(deadline):
                return self.pending.popleft() if self.pending else None
        raise AssertionError("too many reads for one frame")

    def expect(self, kind: type[F], timeout: float = TIMEOUT, *, strict: bool = False) -> F:
        """The first frame of `kind` (a model class: Message, Receipt, Error, Connected).

        Frames of other kinds that come first stay pending, in order (ActiveMQ may send a
        RECEIPT before the MESSAGE it caused), unless `strict`: then the next frame must be
        of `kind`. An ERROR when something else is expected fails at once, with its message.
        """
        deadline = time.monotonic() + timeout
        for _ in range(MAX_READS):
            for index, frame in enumerate(self.pending):
                if isinstance(frame, kind):
                    del self.pending[index]
                    return frame
                if isinstance(frame, Error):
                    raise AssertionError(
                        f"{self.endpoint.name}: expected {kind.__name__}, got {describe(frame)}"
                    )
                if strict:
                    raise AssertionError(
                        f"{self.endpoint.name}: expected {kind.__name__} next, "
                        f"got {describe(frame)}"
                    )
            if not self._read_once(deadline):
                what = (
                    "closed the connection" if self.closed else f"sent nothing in {timeout:.1f} s"
                )
                seen = (
                    "; pending: " + ", ".join(map(describe, self.pending)) if self.pending else ""
                )
                raise AssertionError(
                    f"{self.endpoint.name}: expected {kind.__name__}, the broker {what}{seen}"
                )
        raise AssertionError("too many reads waiting for one frame")

    def expect_receipt(self, receipt: str, timeout: float = TIMEOUT) -> Receipt:
        """The RECEIPT for `receipt` (another RECEIPT first is a failure)."""
        frame = self.expect(Receipt, timeout)
        assert frame.receipt_id == receipt, f"RECEIPT for {frame.receipt_id!r}, not {receipt!r}"
        return frame

    def messages(self, count: int, timeout: float = TIMEOUT) -> list[Message]:
        """`count` MESSAGE frames, in the order they came."""
        deadline = time.monotonic() + timeout
        return [self.expect(Message, max(0.0, deadline - time.monotonic())) for _ in range(count)]

    def nothing_for(self, seconds: float = QUIET) -> None:
        """Assert that no frame comes for `seconds` (heart-beat EOLs are allowed) and the
        connection stays open."""
        assert not self.pending, f"{self.endpoint.name} sent {describe(self.pending[0])}"
        deadline = time.monotonic() + seconds
        for _ in range(MAX_READS):
            if not self._read_once(deadline):
                break
            assert not self.pending, f"{self.endpoint.name} sent {describe(self.pending[0])}"
        assert not self.closed, f"{self.endpoint.name} closed the connection"

    def poll(self) -> bool:
        """Take whatever the broker has sent, without waiting; whether it closed the socket."""
        for _ in range(MAX_READS):
            if not self._read_once(time.monotonic() + 0.001):
                break
        return self.closed

    def closed_within(self, seconds: float) -> list[Frame]:
        """Assert that the broker closes the connection within `seconds`; the frames it sent
        before closing (pending ones included)."""
        deadline = time.monotonic() + seconds
        for _ in range(MAX_READS):
            if not self._read_once(deadline):
                break
        frames = list(self.pending)
        self.pending.clear()
        if not self.closed:
            seen = ", ".join(map(describe, frames)) or "no frame"
            raise AssertionError(
                f"{self.endpoint.name} kept the connection open for {seconds} s (sent {seen})"
            )
        return frames

    def watch(self, seconds: float, *, beat_every: float | None = None) -> list[float]:
        """Read for `seconds`, sending a heart-beat EOL every `beat_every` seconds if given;
        assert that no frame comes and the connection stays open. When (`time.monotonic()`)
        each of the broker's heart-beat EOLs came."""
        assert not self.pending, f"{self.endpoint.name} sent {describe(self.pending[0])}"
        start = time.monotonic()
        deadline = start + seconds
        next_beat = start if beat_every is not None else deadline
        seen = self.decoder.heartbeats_received
        beats: list[float] = []
        for _ in range(MAX_READS):
            now = time.monotonic()
            if now >= deadline:
                break
            if beat_every is not None and now >= next_beat:
                self.beat()
                next_beat += beat_every
            if not self._read_once(min(deadline, next_beat)) and self.closed:
                break
            assert not self.pending, f"{self.endpoint.name} sent {describe(self.pending[0])}"
            count = self.decoder.heartbeats_received
            beats.extend([time.monotonic()] * (count - seen))
            seen = count
        assert not self.closed, (
            f"{self.endpoint.name} closed the connection after {time.monotonic() - start:.2f} s"
        )
        return beats

    # -- session helpers -----------------------------------------------------------------------

    def subscribe(
        self,
        destination: str,
        *,
        id: str | None = None,
        ack: AckMode = "auto",
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """SUBSCRIBE (with a receipt, waited for); the subscription's id."""
        sub_id = id or token("sub")
        receipt = token("sub")
        self.send(
            Subscribe(
                destination=destination,
                id=sub_id,
                ack=ack,
                receipt=receipt,
                headers=dict(headers or {}),
            )
        )
        self.expect_receipt(receipt)
        return sub_id

    def publish(
        self, destination: str, body: bytes = b"", *, headers: Mapping[str, str] | None = None
    ) -> None:
        """SEND with a receipt, waited for (so the message is in the broker)."""
        receipt = token("send")
        self.send(
            Send(destination=destination, body=body, receipt=receipt, headers=dict(headers or {}))
        )
        self.expect_receipt(receipt)

    def ack(
        self,
        message: Message,
        *,
        nack: bool = False,
        transaction: str | None = None,
        receipt: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """ACK (or NACK) `message` in the form of this session's version (1.2: `id` = the
        MESSAGE's `ack`; 1.1: `message-id` and `subscription`; 1.0: `message-id`)."""
        kind = Nack if nack else Ack
        extra: dict[str, Any] = {
            "transaction": transaction,
            "receipt": receipt,
            "headers": dict(headers or {}),
        }
        if self.version == "1.2":
            assert message.ack is not None, f"a 1.2 MESSAGE without ack: {describe(message)}"
            self.send(kind(id=message.ack, **extra))
        elif self.version == "1.1":
            self.send(
                kind(message_id=message.message_id, subscription=message.subscription, **extra)
            )
        else:
            self.send(kind(message_id=message.message_id, **extra))
        if receipt is not None:
            self.expect_receipt(receipt)

    def drain(self, timeout: float = QUIET) -> list[Message]:
        """Every MESSAGE that comes until `timeout` seconds pass without one (bounded)."""
        drained: list[Message] = []
        for _ in range(MAX_READS):
            frame = self.receive(timeout)
            if frame is None:
                break
            assert isinstance(frame, Message), f"{self.endpoint.name} sent {describe(frame)}"
            drained.append(frame)
        return drained

    def barrier(self, timeout: float = TIMEOUT) -> None:
        """Wait until the broker has handled everything written so far: an empty transaction
        with a receipt (BEGIN, then ABORT asking for a RECEIPT)."""
        transaction = token("barrier")
        receipt = token("barrier")
        self.send(Begin(transaction=transaction))
        self.send(Abort(transaction=transaction, receipt=receipt))
        self.expect_receipt(receipt, timeout)

    def disconnect(self, timeout: float = TIMEOUT) -> None:
        """DISCONNECT with a receipt, wait for it, close the socket."""
        receipt = token("bye")
        with contextlib.suppress(OSError):
            self.send(Disconnect(receipt=receipt))
            self.expect_receipt(receipt, timeout)
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        self.closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_socket(endpoint: Endpoint, timeout: float = TIMEOUT) -> Session:
    """A TCP connection with nothing sent yet."""
    sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return Session(sock, endpoint)


VERSION_OF: Final[dict[str, Version]] = {version: version for version in VERSIONS}
ACCEPT: Final[dict[Version, str | None]] = {"1.0": None, "1.1": "1.1", "1.2": "1.2"}


def connect_frame(
    endpoint: Endpoint,
    version: Version,
    *,
    heart_beat: tuple[int, int] = (0, 0),
    login: str | None = "",
    passcode: str | None = "",
    stomp: bool = False,
    accept_version: str | None = "",
) -> Connect | Stomp:
    """The CONNECT (or STOMP) frame asking for `version` ("" means: the endpoint's own
    credentials, and accept-version for `version` alone; None leaves a header out)."""
    offer = ACCEPT[version] if accept_version == "" else accept_version
    host = None if offer is None else "/"
    user = endpoint.login if login == "" else login
    secret = endpoint.passcode if passcode == "" else passcode
    if stomp:
        return Stomp(
            accept_version=offer, host=host, login=user, passcode=secret, heart_beat=heart_beat
        )
    return Connect(
        accept_version=offer, host=host, login=user, passcode=secret, heart_beat=heart_beat
    )


def connect(
    endpoint: Endpoint,
    version: Version = "1.2",
    *,
    heart_beat: tuple[int, int] = (0, 0),
    stomp: bool = False,
    accept_version: str | None = "",
) -> Session:
    """A session in `version`: CONNECT sent, CONNECTED read, the decoder switched to it."""
    session = open_socket(endpoint)
    try:
        frame = connect_frame(
            endpoint, version, heart_beat=heart_beat, stomp=stomp, accept_version=accept_version
        )
        session.send_raw(frame.to_wire("1.2" if stomp else "1.0"))
        connected = session.expect(Connected, strict=True)
        agreed = VERSION_OF.get(connected.version or "1.0")
        assert agreed is not None, f"CONNECTED names version {connected.version!r}"
        session.version = session.decoder.version = agreed
        session.connected = connected
    except BaseException:
        session.close()
        raise
    return session
