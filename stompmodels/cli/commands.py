"""What the three commands of the command line do: send, listen and decode.

Each takes typed options and returns an exit status; failures are raised (as ConnectionLost,
BrokerError, TimeoutError, ProtocolError, UsageError, ...) and turned into one line by `cli`.
"""

from __future__ import annotations

import asyncio
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from pydantic import ValidationError

from stompmodels._client.url import BrokerURL
from stompmodels._decoder import FrameDecoder
from stompmodels._errors import ProtocolError
from stompmodels._frames import Connected, Frame, Message, Send, Subscribe
from stompmodels._headers import AckMode
from stompmodels._spec import VERSIONS, Version
from stompmodels.aio.client import Client

from .format import Progress, frame_json, frame_text
from .stats import Stats, report

RECEIPT_WINDOW: Final = 1000
"""Without --receipt, the first message, every this many, and the last wait for a RECEIPT: that
bounds what is in flight, and an ERROR from the broker is always seen before the command ends.
Confirming the first one also means a refused destination gets one ERROR, not one per
pipelined SEND (several ERRORs in one read lose the first; see the CLI's notes)."""


class UsageError(Exception):
    """The command line asks for something impossible (exit status 2)."""


class CommandFailed(Exception):
    """The command ran but did not get what it was for (exit status 1); the message says why."""


@dataclass(frozen=True)
class SendOptions:
    """What `stompmodels send` was asked to do."""

    url: BrokerURL | str = field(repr=False)
    """One broker, or the text of several (``failover:(URL,URL)``) as the client takes it."""
    destination: str
    body: bytes | str
    """A str (from the command line) goes as UTF-8 text/plain unless --content-type says else;
    bytes (from stdin) go with no content-type."""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None
    count: int = 1
    receipt: bool = False
    tls: ssl.SSLContext | None = None  # None: verify with the system's CAs (stomp+ssl://)
    versions: tuple[Version, ...] = VERSIONS
    """The STOMP versions to offer."""


@dataclass(frozen=True)
class ListenOptions:
    """What `stompmodels listen` was asked to do."""

    url: BrokerURL | str = field(repr=False)
    """One broker, or the text of several (``failover:(URL,URL)``) as the client takes it."""
    destination: str
    headers: Mapping[str, str] = field(default_factory=dict)
    count: int | None = None
    ack: AckMode = "auto"
    timeout: float | None = None
    json: bool = False
    tls: ssl.SSLContext | None = None  # None: verify with the system's CAs (stomp+ssl://)
    versions: tuple[Version, ...] = VERSIONS
    """The STOMP versions to offer."""
    stats: bool = False
    """Print counts and rates on stderr once a second (and once at the end)."""


def _one_line(error: ValidationError) -> str:
    """The first problem pydantic found, without the input (it is the user's own text)."""
    first = error.errors(include_url=False, include_input=False)[0]
    return str(first["msg"]).removeprefix("Value error, ")


def check_send(options: SendOptions) -> None:
    """Refuse, before connecting, a SEND the models would refuse (UsageError)."""
    try:
        frame = Send(
            destination=options.destination,
            body=options.body,
            content_type=options.content_type,
            headers=dict(options.headers),
        )
        frame.to_wire("1.2")
    except ValidationError as exc:
        raise UsageError(f"cannot send that: {_one_line(exc)}") from None
    except ValueError as exc:
        raise UsageError(f"cannot send that: {exc}") from None


def check_listen(options: ListenOptions) -> None:
    """Refuse, before connecting, a SUBSCRIBE the models would refuse (UsageError)."""
    try:
        Subscribe(
            destination=options.destination, id="0", ack=options.ack, headers=dict(options.headers)
        ).to_wire("1.2")
    except ValidationError as exc:
        raise UsageError(f"cannot subscribe like that: {_one_line(exc)}") from None
    except ValueError as exc:
        raise UsageError(f"cannot subscribe like that: {exc}") from None


async def send(options: SendOptions) -> int:
    """Send the body `count` times; confirm by RECEIPT each one (--receipt) or some of them."""
    check_send(options)
    progress = Progress(options.count)
    async with Client(options.url, ssl=options.tls, versions=options.versions) as client:
        try:
            for number in range(1, options.count + 1):
                confirm = options.receipt or _confirms(number, options.count)
                await client.send(
                    options.destination,
                    options.body,
                    content_type=options.content_type,
                    headers=options.headers,
                    receipt=confirm,
                )
                progress.update(number)
        finally:
            progress.finish()
    return 0


def _confirms(number: int, count: int) -> bool:
    """Whether message `number` (from 1) of `count` waits for its RECEIPT without --receipt."""
    return number in (1, count) or number % RECEIPT_WINDOW == 0


def subscribe_plan(
    options: ListenOptions, version: Version | None = None
) -> tuple[AckMode, dict[str, str]]:
    """The ack mode and headers of the SUBSCRIBE, in the negotiated `version`.

    With --count, `auto` would let the broker push (and forget) more messages than are printed,
    so the CLI then subscribes in client-individual mode (client in STOMP 1.0, which has no
    other: the CLI ACKs in order, so the two agree) and ACKs each printed message itself;
    messages it did not print stay on the queue. A prefetch of `count` (RabbitMQ's
    prefetch-count, ActiveMQ's activemq.prefetchSize) keeps the rest from being marked
    redelivered; headers given with --header win.
    """
    headers = dict(options.headers)
    if options.count is None:
        return options.ack, headers
    prefetch = str(options.count)
    plan = {"prefetch-count": prefetch, "activemq.prefetchSize": prefetch}
    plan.update(headers)
    explicit: AckMode = "client" if version == "1.0" else "client-individual"
    return (explicit if options.ack == "auto" else options.ack), plan


def show_message(message: Message, as_json: bool) -> None:
    """Print one message, as a JSON line or a readable block, and flush."""
    print(frame_json(message) if as_json else frame_text(message), flush=True)


async def listen(options: ListenOptions) -> int:
    """Print messages until `count` of them, `timeout` seconds of silence, or an interrupt.

    Exit status 0 if the count was reached or at least one message arrived; 1 (with the
    CommandFailed message) when --timeout passed before any message arrived.
    """
    check_listen(options)
    received = 0
    stats = Stats()
    reporter = asyncio.create_task(report(stats)) if options.stats else None
    try:
        async with Client(options.url, ssl=options.tls, versions=options.versions) as client:
            ack, headers = subscribe_plan(options, client.engine.version)
            subscription = await client.subscribe(options.destination, ack=ack, headers=headers)
            while options.count is None or received < options.count:
                try:
                    if options.timeout is None:
                        message = await anext(subscription)
                    else:
                        message = await subscription.get(options.timeout)
                except (TimeoutError, StopAsyncIteration):
                    break
                show_message(message, options.json)
                received += 1
                if ack != "auto":
                    await subscription.ack(message)
                stats.took(message, acked=ack != "auto")
    finally:
        if reporter is not None:
            reporter.cancel()
            print(stats.line(), file=sys.stderr, flush=True)
    if received == 0 and options.timeout is not None:
        raise CommandFailed(f"no message on {options.destination} within {options.timeout:g} s")
    return 0


def _frame_start(data: bytes, end: int) -> int:
    """Where the next frame starts after `end`: past the heart-beat EOLs between frames."""
    while True:
        if data.startswith(b"\n", end):
            end += 1
        elif data.startswith(b"\r\n", end):
            end += 2
        else:
            return end


def decode(data: bytes, version: Version, as_json: bool) -> int:
    """Print the frames in captured bytes, each with the byte offset where it starts.

    A CONNECTED switches the decoder to the version it names, as a client would. A protocol
    error or a truncated last frame is raised as ProtocolError, after the frames before it.
    """
    if version not in VERSIONS:
        raise UsageError(f"unknown STOMP version {version!r}")
    decoder = FrameDecoder(version)
    decoder.receive(data)
    start = _frame_start(data, 0)
    while True:
        frame = decoder.next_frame()  # a ProtocolError carries its absolute offset
        if frame is None:
            break
        _show_frame(frame, start, as_json)
        if isinstance(frame, Connected) and frame.version in VERSIONS:
            decoder.version = frame.version
        start = _frame_start(data, len(data) - decoder.buffered)
    if decoder.buffered and start < len(data):
        raise ProtocolError(
            f"the input ends inside a frame ({len(data) - start} bytes after its start)",
            offset=start,
        )
    return 0


def _show_frame(frame: Frame, offset: int, as_json: bool) -> None:
    if as_json:
        print(frame_json(frame, offset=offset))
    else:
        print(frame_text(frame, where=f"  [byte {offset}]"))


def input_is_piped() -> bool:
    """Whether standard input is there, readable, and not a terminal (a pipe or a file)."""
    try:
        return sys.stdin is not None and sys.stdin.readable() and not sys.stdin.isatty()
    except (OSError, ValueError):  # closed, or not a real stream
        return False


def read_input(path: str) -> bytes:
    """The bytes of `path`, or of standard input for ``-``."""
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as file:
        return file.read()
