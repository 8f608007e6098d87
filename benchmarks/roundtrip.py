"""Round-trip benchmark: messages per second through real brokers, against a raw-socket ceiling.

Run ``python benchmarks/roundtrip.py``; options ``--broker
rabbitmq|activemq|embedded|both|all`` (default all; both: RabbitMQ and ActiveMQ), ``--count N``
(default 10,000), ``--quick`` (2,000), ``--repeats`` (8), ``--timeout`` (seconds per run, 120),
``--prefetch`` (1000) and ``--only raw,stompmodels,...,typed`` (``--only typed``: the typed
workload alone; ``--only raw``: the ceiling alone, which is what compares the brokers).

The embedded broker (``stompmodels.broker``) runs beside RabbitMQ and ActiveMQ: the script
starts it in a process of its own (``python -m stompmodels broker --host 127.0.0.1 --port P``
on a free port P), so that its CPU is measured apart from the clients', as
the other brokers' is, and stops it at the end. A table then sets the brokers side by side on
the raw ceiling (msgs/s and the broker's CPU per message, median runs) with the embedded
broker's ratio to RabbitMQ, and its target: at least ``EMBEDDED_VS_RABBITMQ_TARGET`` (0.5x)
RabbitMQ's msgs/s in each ack mode.

Every run publishes N messages with 1 KiB bodies to a queue and consumes them from the same
queue: one publisher connection and one consumer connection, working concurrently. The
subscription is confirmed (RECEIPT) before the clock starts; the clock runs from the first SEND
to the moment the consumer holds the N-th MESSAGE (and, in client-individual mode, has issued
its ACK). Each implementation runs in two ack modes, client-individual (one ACK per message)
and auto, side by side in the same run:

* raw socket (the ceiling): two plain sockets in one thread, multiplexed with ``selectors``.
  The publisher writes the same pre-encoded SEND frames, byte for byte what stompmodels encodes;
  the consumer only finds frame ends (content-length, else the NUL) and, in client-individual
  mode, copies each ``ack`` header into a pre-encoded ACK frame. No client logic.
* stompmodels: two ``stompmodels.aio.Client``; ``send()`` without receipt, the subscription's
  async iterator, ``Subscription.ack`` per message.
* stomp.py: two ``stomp.Connection12`` (threaded; a listener counts and ACKs in
  ``on_message``; ``auto_decode`` off, so bodies stay bytes); the publisher runs in a thread.
* stompman: two ``stompman.Client``; ``send()``, ``subscribe_with_manual_ack`` with
  ``await frame.ack()`` in client-individual mode, ``subscribe(ack="auto")`` in auto mode.

The typed workload runs beside them (client-individual only): N pydantic ``Order`` models
whose JSON is 1 KiB, through the raw ceiling (the same SEND frames, with
``content-type:application/json``), ``subscribe()`` with a manual ``ack`` (``send()`` of the
same JSON bytes, no validation), and the typed path: ``publish(order)`` and an
``@client.subscriber`` whose handler takes ``order: Order`` (the client validates each body and
ACKs after the handler returns), with ``max_concurrent`` 1 and 16. Its report adds what
pydantic alone costs per message (``TypeAdapter(Order).validate_json`` on the same body, and
``to_json``, in tight loops), the typed layer's extra client CPU per message (typed minus
manual minus validate_json) and the issue's targets for it: at most 5 us beyond validate_json,
and at least 0.8x the raw ceiling on RabbitMQ.

Every SUBSCRIBE carries the same prefetch (RabbitMQ ``prefetch-count``, ActiveMQ
``activemq.prefetchSize``). Each cell runs ``--repeats`` times, the implementations taking
turns so that a busy spell of the machine hits them alike, in an order that changes from round
to round so that each follows each other one as often (a run through a JVM broker depends on
the run before it). The table gives the median run and the best one: the targets are judged
on the medians, because a run of 10,000 messages through ActiveMQ lasts about 0.1 s and a pause
of the broker's JVM swings it by up to 2x, so the best of a few runs mostly measures luck, most
of all for the raw ceiling, whose runs vary the most. Beside messages per second the table
shows the CPU time per message (median run) of the client process (all threads, user and
system) and of the broker's process (found by its listening port; Linux only). Then each
target of the issue is printed with PASS or FAIL and the measured ratio of the medians (and of
the best runs).

Every run is bounded by the run timeout (connect to close); a run that fails or times out is
reported as FAILED and the script exits 1 (missed targets do not change the exit status). Queue
names carry a uuid; the repeats of one implementation and ack mode share a queue, which each
run leaves empty, and after the runs every queue is checked to be empty (a leftover fails the
run). RabbitMQ makes the queues durable, so they are deleted at the end with
``rabbitmqctl delete_queue`` (found on PATH or in /usr/sbin); ActiveMQ's stay, empty.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import math
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final, Literal, cast

import stomp
import stomp.utils
import stompman
from broker_process import broker_clock
from pydantic import BaseModel, TypeAdapter
from pydantic_core import to_json
from report import format_table, machine_line
from stompman.connection import Connection as StompmanConnection
from stompman.frames import AnyClientFrame, ConnectFrame

# Run from a checkout without installing: measure the working tree's package.
_ROOT: Final = Path(__file__).resolve().parent.parent
if (_ROOT / "stompmodels" / "__init__.py").is_file() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from stompmodels import Send  # noqa: E402
from stompmodels.aio import Client  # noqa: E402

KIB: Final = 1024
BODY: Final = (b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_" * 16)[:KIB]
DEFAULT_COUNT: Final = 10_000
QUICK_COUNT: Final = 2_000
REPEATS: Final = 8  # two rounds of each order of the four implementations (see turn_order)
PREFETCH: Final = 1000
RUN_TIMEOUT: Final = 120.0
SETUP_TIMEOUT: Final = 10.0
"""Bound of each step outside the timed part (connect, subscribe, close), within a run."""
HEART_BEAT: Final = (10_000, 10_000)
"""The clients' heart-beats (stompman busy-loops with 0); the raw sockets ask for none."""
LOGIN: Final = "guest"
PASSCODE: Final = "guest"
VHOST: Final = "/"
READ_SIZE: Final = 64 * KIB
DRAIN_QUIET: Final = 0.3

# Targets from the issue.
VS_RAW_TARGET: Final = 0.85
EMBEDDED_VS_RABBITMQ_TARGET: Final = 0.5
"""The embedded broker's raw-ceiling msgs/s against RabbitMQ's, at least (median runs)."""
EMBEDDED_START_TIMEOUT: Final = 15.0
"""Seconds for the embedded broker's process to start listening."""

AckName = Literal["client-individual", "auto"]
ACK_MODES: Final[tuple[AckName, ...]] = ("client-individual", "auto")


@dataclass(frozen=True, slots=True)
class Broker:
    """A broker on loopback and the SUBSCRIBE header that sets its prefetch."""

    key: str
    name: str
    host: str
    port: int
    prefetch_header: str


BROKERS: Final = {
    "rabbitmq": Broker("rabbitmq", "RabbitMQ", "127.0.0.1", 61613, "prefetch-count"),
    "activemq": Broker("activemq", "ActiveMQ", "127.0.0.1", 61614, "activemq.prefetchSize"),
    # Its port is a free one, chosen when its process starts (see embedded_broker).
    "embedded": Broker("embedded", "Embedded", "127.0.0.1", 0, "prefetch-count"),
}
BROKER_CHOICES: Final = {
    "rabbitmq": ("rabbitmq",),
    "activemq": ("activemq",),
    "embedded": ("embedded",),
    "both": ("rabbitmq", "activemq"),
    "all": ("rabbitmq", "activemq", "embedded"),
}
"""--broker: the brokers each choice measures."""


class BenchmarkError(Exception):
    """A run could not complete: the message says what happened."""


@dataclass(slots=True)
class Meter:
    """The clock of one run: wall and process CPU time from the first SEND (``start``) to the
    N-th MESSAGE (``stop``), and how many messages the consumer has taken so far."""

    deadline: float
    """time.monotonic() by which the run must be over (connect to close)."""
    broker_clock: Callable[[], float] | None = None
    """Reads the broker process's CPU seconds (None: not measured)."""
    received: int = 0
    started: float = 0.0
    stopped: float = 0.0
    cpu_started: float = 0.0
    cpu_stopped: float = 0.0
    broker_started: float = 0.0
    broker_stopped: float = 0.0

    def check(self) -> None:
        """Raise TimeoutError once the deadline has passed (publish loops call it per SEND:
        a loop that never yields to its event loop cannot be cancelled by asyncio.timeout)."""
        if time.monotonic() > self.deadline:
            raise TimeoutError

    def start(self) -> None:
        """Just before the first SEND."""
        if self.broker_clock is not None:
            self.broker_started = self.broker_clock()
        self.cpu_started = time.process_time()
        self.started = time.perf_counter()

    def stop(self) -> None:
        """When the consumer holds the N-th MESSAGE (and has issued its ACK)."""
        self.stopped = time.perf_counter()
        self.cpu_stopped = time.process_time()
        if self.broker_clock is not None:
            self.broker_stopped = self.broker_clock()

    @property
    def seconds(self) -> float:
        """Wall-clock seconds between start and stop."""
        return self.stopped - self.started

    @property
    def cpu(self) -> float:
        """CPU seconds of this process (every thread) between start and stop."""
        return self.cpu_stopped - self.cpu_started

    @property
    def broker_cpu(self) -> float | None:
        """CPU seconds of the broker's process between start and stop, if measured."""
        if self.broker_clock is None:
            return None
        return self.broker_stopped - self.broker_started


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One timed run: where, how many, which ack mode, and its time bound."""

    broker: Broker
    queue: str
    count: int
    ack: AckName
    prefetch: int
    timeout: float
    body: bytes = BODY
    content_type: str | None = None
    """The content-type header of every SEND (None: none, as for the bytes workload)."""

    @property
    def destination(self) -> str:
        """The STOMP destination of the queue."""
        return f"/queue/{self.queue}"

    @property
    def manual(self) -> bool:
        """Whether the consumer ACKs every message."""
        return self.ack == "client-individual"

    @property
    def subscribe_headers(self) -> dict[str, str]:
        """The prefetch header every implementation puts on its SUBSCRIBE."""
        return {self.broker.prefetch_header: str(self.prefetch)}


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline`` (time.monotonic); raises once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def check_body(body: bytes | str | None, sent: bytes = BODY) -> None:
    """The last message must carry the body that was sent."""
    if body != sent:
        raise BenchmarkError(f"the last message's body differs from what was sent: {body!r:.60}")


# --------------------------------------------------------------------------------------------
# Raw sockets: the ceiling


def send_frame(destination: str, body: bytes = BODY, content_type: str | None = None) -> bytes:
    """The pre-encoded SEND every raw publisher writes (checked equal to stompmodels')."""
    kind = f"content-type:{content_type}\n" if content_type is not None else ""
    head = f"SEND\ndestination:{destination}\n{kind}content-length:{len(body)}\n\n"
    return head.encode() + body + b"\x00"


_ACK_HEAD: Final = b"ACK\nid:"
_ACK_TAIL: Final = b"\n\n\x00"
_CONTENT_LENGTH: Final = b"\ncontent-length:"
_ACK_HEADER: Final = b"\nack:"


def parse_head(frame: bytes) -> tuple[str, dict[str, str]]:
    """Command and headers of a setup frame (CONNECTED, RECEIPT, ERROR); untimed."""
    head = frame.partition(b"\n\n")[0].decode("utf-8", "replace")
    command, _, rest = head.partition("\n")
    headers: dict[str, str] = {}
    for line in rest.split("\n") if rest else ():
        name, _, value = line.partition(":")
        headers.setdefault(name, value)
    return command, headers


def read_frame(sock: socket.socket, buf: bytes, deadline: float) -> tuple[bytes, bytes]:
    """Block until ``buf`` plus what arrives holds a whole frame: (frame, the bytes after it)."""
    for _ in range(100_000):
        buf = buf.lstrip(b"\r\n")
        end = buf.find(b"\x00")
        if end >= 0:
            return buf[:end], buf[end + 1 :]
        sock.settimeout(remaining(deadline))
        data = sock.recv(READ_SIZE)
        if not data:
            raise BenchmarkError("the broker closed the connection")
        buf += data
    raise BenchmarkError("no frame in 100,000 reads")


def expect(
    sock: socket.socket, buf: bytes, command: str, deadline: float
) -> tuple[dict[str, str], bytes]:
    """Read one frame and insist it is ``command``; an ERROR becomes a BenchmarkError."""
    frame, rest = read_frame(sock, buf, deadline)
    got, headers = parse_head(frame)
    if got != command:
        detail = headers.get("message") or frame[:200].decode("utf-8", "replace")
        raise BenchmarkError(f"expected {command}, the broker sent {got}: {detail}")
    return headers, rest


def await_receipt(sock: socket.socket, buf: bytes, deadline: float) -> tuple[int, bytes]:
    """Read frames until a RECEIPT: (MESSAGE frames passed on the way, bytes after it)."""
    for messages in range(1_000_000):  # the deadline bounds it first
        frame, buf = read_frame(sock, buf, deadline)
        command, headers = parse_head(frame)
        if command == "RECEIPT":
            return messages, buf
        if command != "MESSAGE":
            raise BenchmarkError(f"the broker sent {command}: {headers.get('message', '')}")
    raise BenchmarkError("no RECEIPT in 1,000,000 frames")


def raw_open(broker: Broker, deadline: float) -> tuple[socket.socket, dict[str, str], bytes]:
    """A socket with a STOMP 1.2 session: (socket, CONNECTED headers, bytes read beyond it)."""
    sock = socket.create_connection((broker.host, broker.port), timeout=remaining(deadline))
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio does
        connect = (
            f"CONNECT\naccept-version:1.2\nhost:{VHOST}\nlogin:{LOGIN}\npasscode:{PASSCODE}\n"
            "heart-beat:0,0\n\n\x00"
        )
        sock.sendall(connect.encode())
        headers, rest = expect(sock, b"", "CONNECTED", deadline)
    except BaseException:
        sock.close()
        raise
    return sock, headers, rest


def raw_close(sock: socket.socket, buf: bytes, deadline: float) -> None:
    """DISCONNECT with a receipt, wait for it (bounded), close."""
    try:
        sock.setblocking(True)
        sock.settimeout(remaining(deadline))
        sock.sendall(b"DISCONNECT\nreceipt:bye\n\n\x00")
        await_receipt(sock, buf, deadline)
    finally:
        sock.close()


def leftover(broker: Broker, queue: str) -> int:
    """Subscribe (auto ack) to a queue after its runs and count what still arrives within a
    quiet spell of DRAIN_QUIET seconds: every run must have consumed (and ACKed) all it sent."""
    deadline = time.monotonic() + SETUP_TIMEOUT
    sock, _, buf = raw_open(broker, deadline)
    try:
        subscribe = f"SUBSCRIBE\nid:0\ndestination:/queue/{queue}\nack:auto\nreceipt:s\n\n\x00"
        sock.sendall(subscribe.encode())
        found, buf = await_receipt(sock, buf, deadline)
        while True:  # each read waits at most DRAIN_QUIET; the deadline bounds the loop
            used, count, _ = raw_scan(buf, manual=False)
            buf = buf[used:]
            found += count
            sock.settimeout(min(DRAIN_QUIET, remaining(deadline)))
            try:
                data = sock.recv(READ_SIZE)
            except TimeoutError:
                break
            if not data:
                raise BenchmarkError("the broker closed the connection")
            buf += data
        raw_close(sock, buf, deadline)
    finally:
        sock.close()
    return found


def raw_scan(buf: bytes, manual: bool) -> tuple[int, int, bytes]:
    """Find whole MESSAGE frames in ``buf``: (bytes consumed, messages, ACK frames to send).

    The least parsing there is: the head's end, content-length (else the NUL) for the body's
    end, and in client-individual mode the ``ack`` header, copied as-is (still escaped) into a
    pre-encoded ACK frame.
    """
    pos = 0
    count = 0
    size = len(buf)
    acks: list[bytes] = []
    while True:
        while pos < size and buf[pos] in b"\r\n":  # heart-beats and EOLs after frames
            pos += 1
        head_end = buf.find(b"\n\n", pos)
        if head_end < 0:
            break
        length_at = buf.find(_CONTENT_LENGTH, pos, head_end)
        if length_at >= 0:
            value_at = length_at + len(_CONTENT_LENGTH)
            end = head_end + 2 + int(buf[value_at : buf.find(b"\n", value_at, head_end + 1)])
            if end >= size:
                break
            if buf[end] != 0:
                raise BenchmarkError("a frame does not end where its content-length says")
        else:
            end = buf.find(b"\x00", head_end + 2)
            if end < 0:
                break
        if not buf.startswith(b"MESSAGE\n", pos):
            command, headers = parse_head(buf[pos:end])
            raise BenchmarkError(f"the broker sent {command}: {headers.get('message', '')}")
        if manual:
            ack_at = buf.find(_ACK_HEADER, pos, head_end)
            if ack_at < 0:
                raise BenchmarkError("a MESSAGE without an ack header")
            value_at = ack_at + len(_ACK_HEADER)
            acks.append(_ACK_HEAD + buf[value_at : buf.find(b"\n", value_at, head_end + 1)])
            acks.append(_ACK_TAIL)
        count += 1
        pos = end + 1
    return pos, count, b"".join(acks)


def run_raw(spec: RunSpec, meter: Meter) -> None:
    """Two raw sockets in one selector loop, from the first SEND to the N-th MESSAGE."""
    deadline = meter.deadline
    frame = send_frame(spec.destination, spec.body, spec.content_type)
    payload = frame * spec.count  # pre-encoded before the clock starts
    consumer, _, buf = raw_open(spec.broker, deadline)
    try:
        publisher, _, publisher_buf = raw_open(spec.broker, deadline)
    except BaseException:
        consumer.close()
        raise
    try:
        prefetch = "".join(f"{name}:{value}\n" for name, value in spec.subscribe_headers.items())
        subscribe = (
            f"SUBSCRIBE\nid:0\ndestination:{spec.destination}\nack:{spec.ack}\n{prefetch}"
            "receipt:subscribed\n\n\x00"
        )
        consumer.sendall(subscribe.encode())
        _, buf = expect(consumer, buf, "RECEIPT", deadline)
        buf, acks = _raw_pump(
            publisher, consumer, payload, buf=buf, spec=spec, meter=meter, deadline=deadline
        )
        consumer.setblocking(True)
        consumer.settimeout(remaining(deadline))
        consumer.sendall(acks)
        raw_close(consumer, buf, deadline)
        raw_close(publisher, publisher_buf, deadline)
    finally:
        consumer.close()
        publisher.close()


def _raw_pump(
    publisher: socket.socket,
    consumer: socket.socket,
    payload: bytes,
    *,
    buf: bytes,
    spec: RunSpec,
    meter: Meter,
    deadline: float,
) -> tuple[bytes, bytes]:
    """The timed part: write ``payload`` and read MESSAGE frames (ACKing them) until N arrived.

    Returns the bytes read beyond the last frame and the ACKs not yet written.
    """
    consumer.setblocking(False)
    publisher.setblocking(False)
    view = memoryview(payload)
    sent = received = 0
    acks = b""
    writing_acks = False
    with selectors.DefaultSelector() as selector:
        selector.register(publisher, selectors.EVENT_WRITE)
        selector.register(consumer, selectors.EVENT_READ)
        meter.start()
        while received < spec.count:  # each pass waits at most 1 s; the deadline bounds it
            for key, _ in selector.select(min(1.0, remaining(deadline))):
                if key.fileobj is publisher:
                    with contextlib.suppress(BlockingIOError):
                        sent += publisher.send(view[sent:])
                    if sent >= len(view):
                        selector.unregister(publisher)
                    continue
                with contextlib.suppress(BlockingIOError):
                    data = consumer.recv(READ_SIZE)
                    if not data:
                        raise BenchmarkError("the broker closed the consumer's connection")
                    buf = buf + data if buf else data
                    used, count, new_acks = raw_scan(buf, spec.manual)
                    buf = buf[used:]
                    received += count
                    meter.received = received
                    acks += new_acks
                if acks:
                    with contextlib.suppress(BlockingIOError):
                        acks = acks[consumer.send(acks) :]
                if bool(acks) != writing_acks:
                    writing_acks = bool(acks)
                    events = selectors.EVENT_READ | (selectors.EVENT_WRITE * writing_acks)
                    selector.modify(consumer, events)
        meter.stop()
    if received != spec.count:
        raise BenchmarkError(f"received {received} messages, {spec.count} were sent")
    return buf, acks


# --------------------------------------------------------------------------------------------
# stompmodels.aio


def run_stompmodels(spec: RunSpec, meter: Meter) -> None:
    """One publisher and one consumer ``stompmodels.aio.Client`` in one event loop."""
    asyncio.run(_stompmodels(spec, meter))


def stompmodels_client(spec: RunSpec) -> Client:
    """A ``stompmodels.aio.Client`` for one side of a run (not yet connected)."""
    return Client(
        host=spec.broker.host,
        port=spec.broker.port,
        login=LOGIN,
        passcode=PASSCODE,
        vhost=VHOST,
        heart_beat=HEART_BEAT,
        timeout=SETUP_TIMEOUT,
    )


async def _stompmodels(spec: RunSpec, meter: Meter) -> None:
    consumer, publisher = stompmodels_client(spec), stompmodels_client(spec)
    async with asyncio.timeout(spec.timeout), consumer, publisher:
        subscription = await consumer.subscribe(
            spec.destination, ack=spec.ack, headers=spec.subscribe_headers
        )

        async def consume() -> None:
            async for message in subscription:  # ends when the client closes
                if spec.manual:
                    await subscription.ack(message)
                meter.received += 1
                if meter.received == spec.count:
                    meter.stop()
                    check_body(message.body, spec.body)
                    return
            raise BenchmarkError(f"the subscription ended after {meter.received} messages")

        consumer_task = asyncio.create_task(consume())
        body, content_type = spec.body, spec.content_type
        try:
            meter.start()
            for _ in range(spec.count):
                meter.check()
                await publisher.send(spec.destination, body, content_type=content_type)
            await consumer_task
        finally:
            consumer_task.cancel()


# --------------------------------------------------------------------------------------------
# stompmodels.aio, typed: publish() and @client.subscriber


class Order(BaseModel):
    """The typed workload's payload: an order padded (by its lines and note) to 1 KiB of
    JSON."""

    id: int
    customer: str
    amount: float
    currency: str
    lines: list[str]
    note: str


def _order(size: int) -> Order:
    """An Order whose JSON (pydantic_core.to_json, as `publish` encodes it) is `size` bytes."""
    lines = [f"sku-{n:04d} x{n % 7 + 1} widget, blue, boxed" for n in range(16)]
    order = Order(
        id=123456, customer="ACME Corp.", amount=1234.5, currency="EUR", lines=lines, note=""
    )
    missing = size - len(to_json(order))
    if missing < 0:
        raise ValueError(f"an Order is {size - missing} bytes of JSON before its note")
    return order.model_copy(update={"note": "n" * missing})


ORDER: Final = _order(KIB)
ORDER_JSON: Final = to_json(ORDER)
JSON: Final = "application/json"
"""The content-type `publish` gives a model's JSON."""
VALIDATE_LOOPS: Final = 20_000
"""Iterations of each timing of TypeAdapter(Order).validate_json (and of to_json)."""
VALIDATE_TIMINGS: Final = 5
TYPED_VS_RAW_TARGET: Final = 0.8
TYPED_EXTRA_CPU_TARGET: Final = 5.0
"""Microseconds of client CPU per message the typed layer may add beyond validate_json."""


def run_typed(max_concurrent: int) -> Callable[[RunSpec, Meter], None]:
    """A run of the typed path with `max_concurrent` handlers at most."""

    def run(spec: RunSpec, meter: Meter) -> None:
        asyncio.run(_typed(spec, meter, max_concurrent))

    return run


async def _typed(spec: RunSpec, meter: Meter, max_concurrent: int) -> None:
    """One publisher ``publish``ing the Order, one consumer with an ``@subscriber(Order)``
    (its prefetch set as every SUBSCRIBE's, not its default of `max_concurrent`). The clock
    stops once the N-th handler has returned and its ACK is written."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    last: list[Order] = []
    consumer, publisher = stompmodels_client(spec), stompmodels_client(spec)

    def finish() -> None:
        meter.stop()
        if not done.done():
            done.set_result(None)

    @consumer.subscriber(
        spec.destination, ack=spec.ack, max_concurrent=max_concurrent, prefetch=spec.prefetch
    )
    async def take(order: Order) -> None:
        meter.received += 1
        if meter.received == spec.count:
            last.append(order)
            # Runs once this handler's task yields: after its ACK is written.
            loop.call_soon(finish)

    async with asyncio.timeout(spec.timeout), consumer, publisher:  # subscribed on connect
        meter.start()
        for _ in range(spec.count):
            meter.check()
            await publisher.publish(spec.destination, ORDER)
        await done
    if last != [ORDER]:
        raise BenchmarkError(f"the last order differs from what was sent: {last!r:.60}")


def pydantic_costs() -> tuple[list[float], list[float]]:
    """Microseconds per call of ``TypeAdapter(Order).validate_json`` on the workload's body
    and of ``to_json`` on its Order (what `publish` calls), each timed VALIDATE_TIMINGS times
    over VALIDATE_LOOPS calls (process CPU time, as the runs are measured)."""
    adapter = TypeAdapter(Order)
    body = ORDER_JSON
    validate: list[float] = []
    encode: list[float] = []
    for _ in range(VALIDATE_TIMINGS):
        gc.collect()
        started = time.process_time()
        for _ in range(VALIDATE_LOOPS):
            adapter.validate_json(body)
        validate.append((time.process_time() - started) / VALIDATE_LOOPS * 1e6)
        started = time.process_time()
        for _ in range(VALIDATE_LOOPS):
            to_json(ORDER)
        encode.append((time.process_time() - started) / VALIDATE_LOOPS * 1e6)
    if adapter.validate_json(body) != ORDER:
        raise BenchmarkError("validate_json does not give back the Order")
    return validate, encode


# --------------------------------------------------------------------------------------------
# stompman


@dataclasses.dataclass(kw_only=True, slots=True)
class _VhostConnection(StompmanConnection):
    """stompman puts the TCP host into CONNECT's ``host`` header, which RabbitMQ reads as the
    vhost ("Virtual host '127.0.0.1' access denied"); this sends the real vhost instead.
    Only CONNECT is touched: every other frame goes through stompman's own code."""

    async def write_frame(self, frame: AnyClientFrame) -> None:
        if isinstance(frame, ConnectFrame):
            headers = frame.headers.copy()
            headers["host"] = VHOST
            frame = ConnectFrame(headers=headers)
        await StompmanConnection.write_frame(self, frame)


def run_stompman(spec: RunSpec, meter: Meter) -> None:
    """One publisher and one consumer ``stompman.Client`` in one event loop."""
    asyncio.run(_stompman(spec, meter))


async def _stompman(spec: RunSpec, meter: Meter) -> None:
    done = asyncio.Event()
    failures: list[str] = []
    last_body: list[bytes] = []

    def finished(body: bytes) -> None:
        meter.stop()
        last_body.append(body)  # checked below: stompman logs and swallows handler exceptions
        done.set()

    async def on_manual(frame: stompman.AckableMessageFrame) -> None:
        await frame.ack()
        meter.received += 1
        if meter.received == spec.count:
            finished(frame.body)

    async def on_auto(frame: stompman.MessageFrame) -> None:
        meter.received += 1
        if meter.received == spec.count:
            finished(frame.body)

    def on_exception(error: Exception, frame: stompman.MessageFrame) -> None:
        failures.append(f"{type(error).__name__}: {error}")
        done.set()

    def client() -> stompman.Client:
        return stompman.Client(
            [stompman.ConnectionParameters(spec.broker.host, spec.broker.port, LOGIN, PASSCODE)],
            heartbeat=stompman.Heartbeat(*HEART_BEAT),
            connect_retry_attempts=1,
            connect_timeout=int(SETUP_TIMEOUT),
            connection_confirmation_timeout=int(SETUP_TIMEOUT),
            disconnect_confirmation_timeout=int(SETUP_TIMEOUT),
            connection_class=_VhostConnection,
        )

    async with asyncio.timeout(spec.timeout), client() as consumer, client() as publisher:
        subscription: stompman.ManualAckSubscription | stompman.AutoAckSubscription
        if spec.manual:
            subscription = await consumer.subscribe_with_manual_ack(
                spec.destination,
                on_manual,
                ack="client-individual",
                headers=spec.subscribe_headers,
                receipt_timeout=SETUP_TIMEOUT,
            )
        else:
            subscription = await consumer.subscribe(
                spec.destination,
                on_auto,
                ack="auto",
                headers=spec.subscribe_headers,
                on_suppressed_exception=on_exception,
                receipt_timeout=SETUP_TIMEOUT,
            )
        meter.start()
        for _ in range(spec.count):
            meter.check()
            await publisher.send(BODY, spec.destination)
        await done.wait()
        await subscription.unsubscribe()  # stompman's exit waits until no subscription is left
    if failures:
        raise BenchmarkError(f"a handler failed: {failures[0]}")
    check_body(last_body[0] if last_body else None)


# --------------------------------------------------------------------------------------------
# stomp.py


class _StompPyListener(stomp.ConnectionListener):
    """Counts (and in client-individual mode ACKs) messages on stomp.py's receiver thread."""

    def __init__(self, meter: Meter, count: int, ack: Callable[[str], None] | None = None) -> None:
        self.meter = meter
        self.count = count
        self.ack = ack
        self.connected = threading.Event()
        self.receipt = threading.Event()
        self.done = threading.Event()
        self.error: str | None = None
        self.last_body: bytes | str | None = None

    def failure(self) -> str | None:
        """What went wrong on the receiver thread, if anything (a call: it changes under us)."""
        return self.error

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason
        for event in (self.connected, self.receipt, self.done):
            event.set()

    def on_connected(self, frame: stomp.utils.Frame) -> None:
        self.connected.set()

    def on_receipt(self, frame: stomp.utils.Frame) -> None:
        self.receipt.set()

    def on_error(self, frame: stomp.utils.Frame) -> None:
        self._fail(f"the broker sent ERROR: {frame.headers.get('message', '')}")

    def on_disconnected(self) -> None:
        if not self.done.is_set():
            self._fail("the connection closed")

    def on_message(self, frame: stomp.utils.Frame) -> None:
        if self.ack is not None:
            self.ack(frame.headers["ack"])
        self.meter.received += 1
        if self.meter.received == self.count:
            self.meter.stop()
            self.last_body = frame.body
            self.done.set()


def _stomppy_open(spec: RunSpec, listener: _StompPyListener, deadline: float) -> stomp.Connection12:
    connection = stomp.Connection12(
        [(spec.broker.host, spec.broker.port)],
        heartbeats=HEART_BEAT,
        vhost=VHOST,
        auto_decode=False,
        timeout=SETUP_TIMEOUT,
        reconnect_attempts_max=1,
    )
    connection.set_listener("benchmark", listener)
    connection.connect(LOGIN, PASSCODE, wait=False)  # wait=True would wait without a bound
    if not listener.connected.wait(min(SETUP_TIMEOUT, remaining(deadline))):
        _stomppy_close(connection)
        raise BenchmarkError("stomp.py: no CONNECTED in time")
    failure = listener.failure()
    if failure is not None:
        _stomppy_close(connection)
        raise BenchmarkError(f"stomp.py: {failure}")
    return connection


def _stomppy_close(connection: stomp.Connection12) -> None:
    """DISCONNECT with a receipt; stomp.py waits for its receiver thread without a bound, so
    this runs in a daemon thread that is given SETUP_TIMEOUT seconds."""
    closer = threading.Thread(
        target=lambda: connection.disconnect(receipt=str(uuid.uuid4())), daemon=True
    )
    closer.start()
    closer.join(SETUP_TIMEOUT)
    if closer.is_alive():
        progress_note(f"stomp.py: DISCONNECT did not finish within {SETUP_TIMEOUT:.0f} s")


def run_stomppy(spec: RunSpec, meter: Meter) -> None:
    """Two ``stomp.Connection12``: a publisher thread, and the consumer's receiver thread."""
    deadline = meter.deadline
    consumer_listener = _StompPyListener(meter, spec.count)
    consumer = _stomppy_open(spec, consumer_listener, deadline)
    if spec.manual:
        consumer_listener.ack = consumer.ack
    publisher_listener = _StompPyListener(Meter(deadline), 0)
    try:
        publisher = _stomppy_open(spec, publisher_listener, deadline)
    except BaseException:
        _stomppy_close(consumer)
        raise
    try:
        consumer.subscribe(
            spec.destination,
            id="0",
            ack=spec.ack,
            headers={**spec.subscribe_headers, "receipt": "subscribed"},
        )
        if not consumer_listener.receipt.wait(min(SETUP_TIMEOUT, remaining(deadline))):
            raise BenchmarkError("stomp.py: no RECEIPT for SUBSCRIBE in time")
        failure = consumer_listener.failure()
        if failure is not None:
            raise BenchmarkError(f"stomp.py: {failure}")

        publish_errors: list[BaseException] = []

        def publish() -> None:
            try:
                meter.start()
                for _ in range(spec.count):
                    meter.check()
                    publisher.send(spec.destination, BODY)
            except BaseException as exc:  # reported by the main thread
                publish_errors.append(exc)
                consumer_listener.done.set()

        publisher_thread = threading.Thread(target=publish, name="stomp.py publisher", daemon=True)
        publisher_thread.start()
        if not consumer_listener.done.wait(remaining(deadline)):
            raise TimeoutError
        publisher_thread.join(remaining(deadline))
        if publish_errors:
            error = publish_errors[0]
            if isinstance(error, TimeoutError):
                raise error
            raise BenchmarkError(f"stomp.py publisher: {type(error).__name__}: {error}")
        failure = consumer_listener.failure()
        if failure is not None and meter.received < spec.count:
            raise BenchmarkError(f"stomp.py: {failure}")
        check_body(consumer_listener.last_body)
    finally:
        _stomppy_close(publisher)
        _stomppy_close(consumer)


# --------------------------------------------------------------------------------------------
# Measuring


@dataclass(frozen=True, slots=True)
class Implementation:
    """One client library (or the raw ceiling) and how to run it once."""

    key: str
    label: str
    run: Callable[[RunSpec, Meter], None]


IMPLEMENTATIONS: Final = (
    Implementation("raw", "raw socket (ceiling)", run_raw),
    Implementation("stompmodels", "stompmodels.aio", run_stompmodels),
    Implementation("stomp.py", "stomp.py (threads)", run_stomppy),
    Implementation("stompman", "stompman", run_stompman),
)
TYPED_IMPLEMENTATIONS: Final = (
    Implementation("raw", "raw socket (ceiling)", run_raw),
    Implementation("stompmodels", "stompmodels.aio subscribe() + ack", run_stompmodels),
    Implementation("typed-1", "stompmodels.aio @subscriber, max_concurrent 1", run_typed(1)),
    Implementation("typed-16", "stompmodels.aio @subscriber, max_concurrent 16", run_typed(16)),
)
"""The typed workload (1 KiB JSON Orders, client-individual): the ceiling, the untyped
subscription with a manual ACK, and the typed path (publish and @client.subscriber)."""
TYPED: Final = "typed"
"""The name of the typed workload in --only."""


@dataclass(frozen=True, slots=True)
class Workload:
    """What every run of a group of cells sends, and in which ack modes it runs."""

    key: str
    """Its name in queue names and progress notes ("": the 1 KiB bytes workload)."""
    implementations: Sequence[Implementation]
    acks: tuple[AckName, ...]
    body: bytes = BODY
    content_type: str | None = None


TYPED_WORKLOAD: Final = Workload(
    TYPED, TYPED_IMPLEMENTATIONS, ("client-individual",), ORDER_JSON, JSON
)


@dataclass(slots=True)
class Cell:
    """Every run of one implementation in one ack mode on one broker."""

    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    broker_cpu: list[float] = field(default_factory=list)
    failure: str | None = None

    def best(self) -> float | None:
        """The fastest run, if no run failed."""
        return min(self.seconds) if self.seconds and self.failure is None else None

    def median(self) -> float | None:
        """The median run's seconds, if no run failed."""
        return statistics.median(self.seconds) if self.seconds and self.failure is None else None


@dataclass(slots=True)
class Queues:
    """Queue names: one per broker, implementation and ack mode, reused by the repeats of a
    cell (each run leaves its queue empty); a failed run's queue is set aside for a new one."""

    prefix: str
    used: dict[str, list[str]] = field(default_factory=dict)
    current: dict[tuple[str, str, str], str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)

    def name(self, broker: Broker, impl: Implementation, ack: AckName, workload: str = "") -> str:
        """The queue for this cell's next run."""
        key = (broker.key, f"{workload}/{impl.key}", ack)
        if key not in self.current:
            tag = (f"{workload}-" if workload else "") + impl.key.replace(".", "")
            name = f"{self.prefix}-{tag}-{ack}-{uuid.uuid4().hex[:8]}"
            self.current[key] = name
            self.used.setdefault(broker.key, []).append(name)
        return self.current[key]

    def discard(
        self, broker: Broker, impl: Implementation, ack: AckName, workload: str = ""
    ) -> None:
        """Never reuse this cell's queue: a failed run may have left messages in it."""
        name = self.current.pop((broker.key, f"{workload}/{impl.key}", ack), None)
        if name is not None:
            self.failed.add(name)


def run_once(
    impl: Implementation, spec: RunSpec, broker_cpu: Callable[[], float] | None = None
) -> Meter:
    """One run's meter (with the broker's CPU if `broker_cpu` reads it); any failure becomes a
    BenchmarkError that says what happened."""
    gc.collect()
    meter = Meter(time.monotonic() + spec.timeout, broker_cpu)
    try:
        impl.run(spec, meter)
    except BenchmarkError:
        raise
    except TimeoutError:
        raise BenchmarkError(
            f"not finished within {spec.timeout:g} s "
            f"({meter.received:,} of {spec.count:,} messages received)"
        ) from None
    except Exception as exc:
        raise BenchmarkError(f"{type(exc).__name__}: {exc}") from exc
    if meter.received != spec.count:
        raise BenchmarkError(f"received {meter.received:,} of {spec.count:,} messages")
    if not meter.stopped > meter.started > 0:
        raise BenchmarkError("the run's clock was not started and stopped")
    return meter


@dataclass(frozen=True, slots=True)
class Settings:
    """What the command line chose."""

    brokers: list[Broker]
    implementations: list[Implementation]
    typed: bool
    """Whether the typed workload runs too."""
    count: int
    repeats: int
    prefetch: int
    timeout: float
    profile_embedded: Path | None = None
    """Run the embedded broker under cProfile and write its stats here (None: no profile)."""


def turn_order(count: int, round_: int) -> list[int]:
    """The order of `count` implementations in a round: the rows of a balanced Latin square
    (Williams), so that over the rounds each one runs right after each other one as often."""
    first = [0]
    low, high = 1, count - 1
    while len(first) < count:
        if len(first) % 2:
            first.append(low)
            low += 1
        else:
            first.append(high)
            high -= 1
    rows = [[(position + shift) % count for position in first] for shift in range(count)]
    if count % 2:
        rows += [row[::-1] for row in rows]
    return rows[round_ % len(rows)]


def measure(
    settings: Settings, broker: Broker, queues: Queues, workload: Workload
) -> dict[tuple[str, AckName], Cell]:
    """Every implementation of `workload` in each of its ack modes on one broker, ``repeats``
    times, in turns.

    The order of the turns changes from round to round so that each implementation follows
    each other one equally often: a run through a JVM broker is slowed or sped by the one
    before it (the garbage it left, what was compiled meanwhile), so a fixed order (or a
    rotation, which keeps who follows whom) favours whichever implementation follows the
    slowest.
    """
    impls, acks, tag = workload.implementations, workload.acks, workload.key
    cells = {(impl.key, ack): Cell() for impl in impls for ack in acks}
    clock = broker_clock(broker.port)
    for round_ in range(1, settings.repeats + 1):
        order = [impls[index] for index in turn_order(len(impls), round_ - 1)]
        for ack in acks:
            for impl in order:
                cell = cells[(impl.key, ack)]
                if cell.failure is not None:
                    continue
                spec = RunSpec(
                    broker,
                    queues.name(broker, impl, ack, tag),
                    settings.count,
                    ack,
                    settings.prefetch,
                    settings.timeout,
                    workload.body,
                    workload.content_type,
                )
                what = f"{tag} workload: " if tag else ""
                progress_note(
                    f"{broker.name}, run {round_}/{settings.repeats}: {what}{impl.label}, {ack}"
                )
                try:
                    meter = run_once(impl, spec, clock)
                    cell.seconds.append(meter.seconds)
                    cell.cpu.append(meter.cpu)
                    if meter.broker_cpu is not None:
                        cell.broker_cpu.append(meter.broker_cpu)
                except BenchmarkError as exc:
                    cell.failure = str(exc)
                    queues.discard(broker, impl, ack, tag)
                    progress_note(f"FAILED: {exc}")
    return cells


def progress_note(message: str) -> None:
    """Tell the impatient reader what is running (stderr, so the report stays clean)."""
    print(f"... {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The embedded broker, in a process of its own


def free_port(host: str) -> int:
    """A TCP port nothing listens on now (the kernel's choice)."""
    with socket.socket() as probe_socket:
        probe_socket.bind((host, 0))
        return int(probe_socket.getsockname()[1])


def embedded_command(host: str, port: int, profile: Path | None) -> list[str]:
    """The command that runs the embedded broker from this checkout (``python -m stompmodels
    broker``), under cProfile writing its stats to `profile` if one is asked for (the command
    stops cleanly on SIGTERM, so they are written)."""
    python = [sys.executable]
    if profile is not None:
        python += ["-m", "cProfile", "-o", str(profile)]
    return [*python, "-m", "stompmodels", "broker", "--host", host, "--port", str(port)]


def wait_listening(process: subprocess.Popen[bytes], host: str, port: int, log: IO[bytes]) -> None:
    """Return once `port` accepts connections; BenchmarkError if the process exits first or
    EMBEDDED_START_TIMEOUT passes."""
    pause = 0.05
    deadline = time.monotonic() + EMBEDDED_START_TIMEOUT
    for _ in range(math.ceil(EMBEDDED_START_TIMEOUT / pause) + 1):
        if process.poll() is not None:
            log.seek(0)
            said = log.read().decode("utf-8", "replace").strip().splitlines()
            raise BenchmarkError(
                f"the embedded broker exited with status {process.returncode} before it "
                f"listened: {said[-1] if said else 'no output'}"
            )
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(pause)
    raise BenchmarkError(
        f"the embedded broker did not listen on {host}:{port} within {EMBEDDED_START_TIMEOUT:g} s"
    )


@contextlib.contextmanager
def embedded_broker(broker: Broker, profile: Path | None) -> Iterator[tuple[Broker, str]]:
    """The embedded broker, running in a process of its own on a free port for the `with`
    block, so that its CPU is measured apart from the clients' (as RabbitMQ's and ActiveMQ's
    is): (the broker with its port, the command). Stopped after: SIGTERM, then SIGKILL."""
    port = free_port(broker.host)
    command = embedded_command(broker.host, port, profile)
    with tempfile.TemporaryFile() as log:  # its log: a line per connection
        process = subprocess.Popen(
            command, cwd=_ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_listening(process, broker.host, port, log)
            shown = " ".join(
                Path(part).name if part == sys.executable else part for part in command
            )
            yield dataclasses.replace(broker, port=port), f"{shown} (pid {process.pid})"
        finally:
            process.terminate()
            try:
                process.wait(SETUP_TIMEOUT)
            except subprocess.TimeoutExpired:
                progress_note(f"the embedded broker ignored SIGTERM for {SETUP_TIMEOUT:g} s")
                process.kill()
                process.wait(SETUP_TIMEOUT)


def start_embedded(
    settings: Settings, processes: contextlib.ExitStack, failures: list[str]
) -> tuple[Settings, list[str]]:
    """Start the embedded broker if it is one of the brokers (it stops when `processes`
    closes): the settings with its port, and what was started (for the report)."""
    brokers: list[Broker] = []
    started: list[str] = []
    for broker in settings.brokers:
        if broker.key != "embedded":
            brokers.append(broker)
            continue
        progress_note("starting the embedded broker in a process of its own")
        try:
            running, command = processes.enter_context(
                embedded_broker(broker, settings.profile_embedded)
            )
        except BenchmarkError as exc:
            failures.append(str(exc))
            progress_note(str(exc))
            continue
        brokers.append(running)
        started.append(command)
    return dataclasses.replace(settings, brokers=brokers), started


# --------------------------------------------------------------------------------------------
# Brokers: versions and clean-up


def probe(broker: Broker) -> str:
    """The ``server`` header of the broker's CONNECTED, or a BenchmarkError if it is down."""
    deadline = time.monotonic() + SETUP_TIMEOUT
    try:
        sock, headers, rest = raw_open(broker, deadline)
        raw_close(sock, rest, deadline)
    except (OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise BenchmarkError(
            f"{broker.name} is not answering STOMP on {broker.host}:{broker.port}: {reason}"
        ) from None
    return headers.get("server", f"{broker.name} (no server header)")


def rabbitmqctl() -> str | None:
    """The rabbitmqctl command, if this machine has one (it is often in /usr/sbin)."""
    found = shutil.which("rabbitmqctl")
    if found is None and os.access("/usr/sbin/rabbitmqctl", os.X_OK):
        found = "/usr/sbin/rabbitmqctl"
    return found


def check_and_clean_up(queues: Queues, brokers: Sequence[Broker]) -> tuple[list[str], list[str]]:
    """Check that every queue was left empty, then delete the durable RabbitMQ ones.

    Returns the report lines and the failures (a queue that held messages after its runs).
    """
    lines: list[str] = []
    failures: list[str] = []
    for broker in brokers:
        names = queues.used.get(broker.key, [])
        if not names:
            continue
        progress_note(f"checking that {broker.name}'s {len(names)} queues are empty")
        dirty: list[str] = []
        drained = 0
        for name in names:
            try:
                found = leftover(broker, name)
            except (BenchmarkError, OSError, TimeoutError) as exc:
                failures.append(f"{broker.name} queue {name}: could not check: {exc}")
                continue
            if name in queues.failed:
                drained += found  # a failed run's queue: expected to hold messages
            elif found:
                dirty.append(f"{name} ({found})")
        if dirty:
            failures.append(
                f"{broker.name}: messages left after successful runs (their figures are "
                f"suspect): {', '.join(dirty)}"
            )
        good = [name for name in names if name not in queues.failed]
        checked = f"{len(good) - len(dirty)} of {len(good)} {broker.name} queues empty"
        note = f"; drained {drained:,} messages left by failed runs" if drained else ""
        lines.append(f"after the runs: {checked} (subscribed to each, {DRAIN_QUIET} s quiet){note}")
    names = queues.used.get("rabbitmq", [])
    if names:
        progress_note(f"deleting {len(names)} RabbitMQ queues")
        tool = rabbitmqctl()
        failed: list[str] = []
        for name in names:
            try:
                result = subprocess.run(
                    [tool or "rabbitmqctl", "-q", "delete_queue", "--vhost", VHOST, name],
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
                if result.returncode != 0:
                    failed.append(name)
            except (OSError, subprocess.TimeoutExpired):
                failed.append(name)
        deleted = len(names) - len(failed)
        lines.append(f"clean-up: deleted {deleted} of {len(names)} RabbitMQ queues (rabbitmqctl)")
        if failed:
            lines.append(f"  not deleted (run rabbitmqctl delete_queue NAME): {', '.join(failed)}")
    if queues.used.get("activemq"):
        lines.append(
            f"clean-up: ActiveMQ's {len(queues.used['activemq'])} queues stay, empty (STOMP "
            "cannot delete a destination; no message was persistent)"
        )
    if queues.used.get("embedded"):
        lines.append(
            f"clean-up: the embedded broker's {len(queues.used['embedded'])} queues go with "
            "its process, stopped at the end"
        )
    return lines, failures


# --------------------------------------------------------------------------------------------
# Report


Results = dict[str, dict[tuple[str, AckName], Cell]]
"""Broker key -> (implementation key, ack mode) -> runs."""


def rate(cell: Cell | None, count: int, *, best: bool = False) -> float | None:
    """Messages per second of the median run (or the best), None if the cell failed or did
    not run."""
    seconds = None if cell is None else cell.best() if best else cell.median()
    return count / seconds if seconds else None


def per_message(values: list[float], count: int) -> str:
    """The median of `values` (seconds per run) in microseconds per message, or "-"."""
    return f"{statistics.median(values) / count * 1e6:,.1f}" if values else "-"


def table_lines(settings: Settings, results: Results) -> list[str]:
    """The results table: one row per broker, implementation and ack mode."""
    header = (
        "broker",
        "implementation",
        "ack mode",
        "msgs/s",
        "ratio vs raw",
        "best msgs/s",
        "best ratio",
        "CPU us/msg",
        "broker us/msg",
        "all runs, msgs/s",
    )
    rows: list[tuple[str, ...]] = []
    for broker in settings.brokers:
        cells = results.get(broker.key)
        if cells is None:
            continue
        for ack in ACK_MODES:
            ceiling = rate(cells.get(("raw", ack)), settings.count)
            best_ceiling = rate(cells.get(("raw", ack)), settings.count, best=True)
            for impl in settings.implementations:
                cell = cells[(impl.key, ack)]
                value = rate(cell, settings.count)
                best = rate(cell, settings.count, best=True)
                runs = " ".join(f"{settings.count / s:,.0f}" for s in cell.seconds)
                if value is None or best is None:
                    failure = cell.failure or "no run"
                    rows.append((broker.name, impl.label, ack, "FAILED", *["-"] * 6, failure))
                    continue
                rows.append(
                    (
                        broker.name,
                        impl.label,
                        ack,
                        f"{value:,.0f}",
                        f"{value / ceiling:.2f}x" if ceiling else "-",
                        f"{best:,.0f}",
                        f"{best / best_ceiling:.2f}x" if best_ceiling else "-",
                        per_message(cell.cpu, settings.count),
                        per_message(cell.broker_cpu, settings.count),
                        runs,
                    )
                )
    return format_table(header, rows, left=3)


def target_lines(settings: Settings, results: Results) -> list[str]:
    """Each target of the issue, per broker and ack mode, with PASS/FAIL and the measured ratio.

    The issue set the clients' targets on RabbitMQ and ActiveMQ; the embedded broker has its
    own (`embedded_target_lines`): its ceiling is so high that the client process is what a
    client's run measures there, so its client figures are in the table for information only.
    """
    checks: list[tuple[str, str, str]] = []
    keys = {impl.key for impl in settings.implementations}
    note: list[str] = []
    for broker in settings.brokers:
        if broker.key == "embedded":
            note = [
                "  (the clients' targets are the issue's, on RabbitMQ and ActiveMQ; on the "
                "embedded broker the table's ratios are for information)"
            ]
            continue
        cells = results.get(broker.key)
        if cells is None:
            checks.append((f"{broker.name}: not measured", "FAIL", "broker unavailable"))
            continue
        for ack in ACK_MODES:
            ours = rate(cells.get(("stompmodels", ack)), settings.count)
            ours_best = rate(cells.get(("stompmodels", ack)), settings.count, best=True)
            for other, wanted, label in (
                ("raw", VS_RAW_TARGET, f">= {VS_RAW_TARGET:.2f}x the raw ceiling"),
                ("stomp.py", 1.0, "ahead of stomp.py"),
                ("stompman", 1.0, "ahead of stompman"),
            ):
                if other not in keys or "stompmodels" not in keys:
                    continue
                theirs = rate(cells.get((other, ack)), settings.count)
                name = f"{broker.name}, {ack}: stompmodels {label}"
                theirs_best = rate(cells.get((other, ack)), settings.count, best=True)
                if ours is None or theirs is None or ours_best is None or theirs_best is None:
                    checks.append((name, "FAIL", "a run failed"))
                    continue
                ratio = ours / theirs
                ok = ratio >= wanted if other == "raw" else ratio > wanted
                measured = f"{ratio:.3f}x {other}; best runs {ours_best / theirs_best:.3f}x"
                checks.append((name, "PASS" if ok else "FAIL", measured))
    if not checks:
        return ["  (stompmodels or the others were not measured)", *note]
    width = max(len(name) for name, _, _ in checks)
    lines = [f"  {name.ljust(width)}  {status}  ({measured})" for name, status, measured in checks]
    return lines + note


def broker_lines(settings: Settings, results: Results) -> list[str]:
    """The brokers side by side on the raw ceiling, per ack mode: msgs/s of the median and the
    best run, each against RabbitMQ's, and the broker's CPU per message (median run)."""
    header = (
        "ack mode",
        "broker",
        "msgs/s",
        "x RabbitMQ",
        "best msgs/s",
        "best x RabbitMQ",
        "broker us/msg",
        "all runs, msgs/s",
    )
    rows: list[tuple[str, ...]] = []
    count = settings.count
    for ack in ACK_MODES:
        rabbitmq = results.get("rabbitmq", {}).get(("raw", ack))
        base, base_best = rate(rabbitmq, count), rate(rabbitmq, count, best=True)
        for broker in settings.brokers:
            cell = results.get(broker.key, {}).get(("raw", ack))
            if cell is None:
                continue
            value, best = rate(cell, count), rate(cell, count, best=True)
            if value is None or best is None:
                rows.append((ack, broker.name, "FAILED", *["-"] * 4, cell.failure or "no run"))
                continue
            rows.append(
                (
                    ack,
                    broker.name,
                    f"{value:,.0f}",
                    f"{value / base:.2f}x" if base else "-",
                    f"{best:,.0f}",
                    f"{best / base_best:.2f}x" if base_best else "-",
                    per_message(cell.broker_cpu, count),
                    " ".join(f"{count / s:,.0f}" for s in cell.seconds),
                )
            )
    return format_table(header, rows, left=2)


def embedded_target_lines(settings: Settings, results: Results) -> list[str]:
    """The embedded broker's target per ack mode: its raw ceiling at least
    EMBEDDED_VS_RABBITMQ_TARGET times RabbitMQ's (median runs), with PASS/FAIL."""
    checks: list[tuple[str, str, str]] = []
    for ack in ACK_MODES:
        name = f"Embedded, {ack}: raw ceiling >= {EMBEDDED_VS_RABBITMQ_TARGET:.2f}x RabbitMQ's"
        ours = results.get("embedded", {}).get(("raw", ack))
        theirs = results.get("rabbitmq", {}).get(("raw", ack))
        if ours is None or theirs is None:
            checks.append((name, "FAIL", "not measured: both brokers are needed"))
            continue
        value, value_best = rate(ours, settings.count), rate(ours, settings.count, best=True)
        base, base_best = rate(theirs, settings.count), rate(theirs, settings.count, best=True)
        if value is None or value_best is None or base is None or base_best is None:
            checks.append((name, "FAIL", "a run failed"))
            continue
        ratio = value / base
        measured = f"{ratio:.3f}x RabbitMQ; best runs {value_best / base_best:.3f}x"
        checks.append((name, "PASS" if ratio >= EMBEDDED_VS_RABBITMQ_TARGET else "FAIL", measured))
    width = max(len(name) for name, _, _ in checks)
    return [f"  {name.ljust(width)}  {status}  ({measured})" for name, status, measured in checks]


def cpu_per_message(cell: Cell | None, count: int) -> float | None:
    """The client CPU of the median-CPU run of `cell`, in microseconds per message."""
    if cell is None or cell.failure is not None or not cell.cpu:
        return None
    return statistics.median(cell.cpu) / count * 1e6


def typed_table_lines(settings: Settings, results: Results) -> list[str]:
    """The typed workload's table: one row per broker and implementation."""
    header = (
        "broker",
        "implementation",
        "msgs/s",
        "ratio vs raw",
        "best msgs/s",
        "best ratio",
        "CPU us/msg",
        "broker us/msg",
        "all runs, msgs/s",
    )
    rows: list[tuple[str, ...]] = []
    for broker in settings.brokers:
        cells = results.get(broker.key)
        if cells is None:
            continue
        for ack in TYPED_WORKLOAD.acks:
            ceiling = rate(cells.get(("raw", ack)), settings.count)
            best_ceiling = rate(cells.get(("raw", ack)), settings.count, best=True)
            for impl in TYPED_WORKLOAD.implementations:
                cell = cells[(impl.key, ack)]
                value = rate(cell, settings.count)
                best = rate(cell, settings.count, best=True)
                if value is None or best is None:
                    failure = cell.failure or "no run"
                    rows.append((broker.name, impl.label, "FAILED", *["-"] * 5, failure))
                    continue
                rows.append(
                    (
                        broker.name,
                        impl.label,
                        f"{value:,.0f}",
                        f"{value / ceiling:.2f}x" if ceiling else "-",
                        f"{best:,.0f}",
                        f"{best / best_ceiling:.2f}x" if best_ceiling else "-",
                        per_message(cell.cpu, settings.count),
                        per_message(cell.broker_cpu, settings.count),
                        " ".join(f"{settings.count / s:,.0f}" for s in cell.seconds),
                    )
                )
    return format_table(header, rows, left=2)


def typed_cost_lines(
    settings: Settings, results: Results, validate: list[float], encode: list[float]
) -> list[str]:
    """pydantic's own cost per message, the typed layer's extra CPU per message beyond it,
    and the issue's two targets for the typed path, with PASS/FAIL (never the exit status)."""
    validate_us = statistics.median(validate)
    encode_us = statistics.median(encode)
    lines = [
        f"pydantic alone, on the same {len(ORDER_JSON):,}-byte body ({VALIDATE_TIMINGS} timings "
        f"of {VALIDATE_LOOPS:,} calls each, process CPU; median, best):",
        f"  TypeAdapter(Order).validate_json(body)  {validate_us:6.2f} us/msg  "
        f"(best {min(validate):.2f})",
        f"  to_json(order), as publish encodes      {encode_us:6.2f} us/msg  "
        f"(best {min(encode):.2f})",
        "",
        "typed layer's extra client CPU per message = typed CPU/msg - subscribe()+ack CPU/msg "
        "- validate_json (median runs; the difference of two noisy medians: a few us either way"
        " is noise; the publisher's to_json is part of the extra):",
    ]
    checks: list[tuple[str, str, str]] = []
    for broker in settings.brokers:
        cells = results.get(broker.key)
        if cells is None:
            continue
        ack: AckName = "client-individual"
        manual = cpu_per_message(cells.get(("stompmodels", ack)), settings.count)
        ceiling = rate(cells.get(("raw", ack)), settings.count)
        best_ceiling = rate(cells.get(("raw", ack)), settings.count, best=True)
        for impl in TYPED_WORKLOAD.implementations[2:]:
            cell = cells.get((impl.key, ack))
            typed = cpu_per_message(cell, settings.count)
            name = f"{broker.name}, {impl.label}"
            target = f"{name}: extra CPU <= {TYPED_EXTRA_CPU_TARGET:g} us/msg beyond validate_json"
            if typed is None or manual is None:
                lines.append(f"  {name}: - (a run failed)")
                checks.append((target, "FAIL", "a run failed"))
            else:
                extra = typed - manual - validate_us
                lines.append(
                    f"  {name}: {extra:+.1f} us (typed {typed:.1f} - manual {manual:.1f} - "
                    f"validate_json {validate_us:.1f}); without the publisher's to_json: "
                    f"{extra - encode_us:+.1f} us"
                )
                ok = extra <= TYPED_EXTRA_CPU_TARGET
                checks.append((target, "PASS" if ok else "FAIL", f"{extra:+.1f} us"))
            if broker.key != "rabbitmq":
                continue  # the throughput target is RabbitMQ's
            ours = rate(cell, settings.count)
            ours_best = rate(cell, settings.count, best=True)
            label = f"{name}: >= {TYPED_VS_RAW_TARGET:.2f}x the raw ceiling"
            if ours is None or ceiling is None or ours_best is None or best_ceiling is None:
                checks.append((label, "FAIL", "a run failed"))
                continue
            ratio = ours / ceiling
            measured = f"{ratio:.3f}x raw; best runs {ours_best / best_ceiling:.3f}x"
            checks.append((label, "PASS" if ratio >= TYPED_VS_RAW_TARGET else "FAIL", measured))
    width = max((len(name) for name, _, _ in checks), default=0)
    lines += ["", "targets (typed workload):"]
    lines += [f"  {name.ljust(width)}  {status}  ({measured})" for name, status, measured in checks]
    return lines


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None) -> Settings:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--broker",
        choices=tuple(BROKER_CHOICES),
        default="all",
        help="(all: RabbitMQ, ActiveMQ and the embedded broker; both: the first two)",
    )
    parser.add_argument(
        "--count", type=int, default=None, help=f"messages per run ({DEFAULT_COUNT:,})"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_COUNT:,} messages per run")
    parser.add_argument("--repeats", type=int, default=REPEATS, help=f"runs per cell ({REPEATS})")
    parser.add_argument(
        "--timeout", type=float, default=RUN_TIMEOUT, help=f"seconds per run ({RUN_TIMEOUT:.0f})"
    )
    parser.add_argument(
        "--prefetch", type=int, default=PREFETCH, help=f"prefetch on every SUBSCRIBE ({PREFETCH})"
    )
    parser.add_argument(
        "--profile-embedded",
        type=Path,
        metavar="PATH",
        help="run the embedded broker under cProfile and write its stats to PATH (pstats "
        "format; the profiler slows the broker, so its figures are not comparable then)",
    )
    parser.add_argument(
        "--only",
        default=",".join([*(impl.key for impl in IMPLEMENTATIONS), TYPED]),
        help=f"comma-separated implementations to run, and {TYPED!r} for the typed workload "
        f"(default: all); --only {TYPED} runs the typed workload alone",
    )
    args = parser.parse_args(argv)
    count = cast(int | None, args.count) or (QUICK_COUNT if args.quick else DEFAULT_COUNT)
    repeats = cast(int, args.repeats)
    timeout = cast(float, args.timeout)
    prefetch = cast(int, args.prefetch)
    wanted = [key.strip() for key in cast(str, args.only).split(",") if key.strip()]
    known = [*(impl.key for impl in IMPLEMENTATIONS), TYPED]
    unknown = [key for key in wanted if key not in known]
    if unknown:
        parser.error(f"unknown implementation(s) {unknown}; choose from {known}")
    if count < 1 or repeats < 1 or prefetch < 1 or not math.isfinite(timeout) or timeout <= 0:
        parser.error("--count, --repeats, --prefetch and --timeout must be positive")
    choice = cast(str, args.broker)
    brokers = [BROKERS[key] for key in BROKER_CHOICES[choice]]
    return Settings(
        brokers=brokers,
        implementations=[impl for impl in IMPLEMENTATIONS if impl.key in wanted],
        typed=TYPED in wanted,
        count=count,
        repeats=repeats,
        prefetch=prefetch,
        timeout=timeout,
        profile_embedded=cast(Path | None, args.profile_embedded),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run everything and print the report; exit 1 if a broker or a run failed."""
    settings = parse_args(argv)
    failures: list[str] = []
    with contextlib.ExitStack() as processes:  # the embedded broker's, stopped on the way out
        settings, started = start_embedded(settings, processes, failures)
        return run_and_report(settings, failures, started)


def run_and_report(settings: Settings, failures: list[str], started: Sequence[str]) -> int:
    """Measure the brokers that answer, print the report; exit status 1 on any failure."""
    servers: list[str] = []
    available: list[Broker] = []
    for broker in settings.brokers:
        try:
            servers.append(f"{probe(broker)} on :{broker.port}")
            available.append(broker)
        except BenchmarkError as exc:
            failures.append(str(exc))
            progress_note(str(exc))

    same_frame = Send(destination="/queue/x", body=BODY).to_wire("1.2") == send_frame("/queue/x")
    prefetch_headers = ", ".join(
        f"{broker.prefetch_header}:{settings.prefetch} ({broker.name})"
        for broker in BROKERS.values()
    )
    workload = (
        f"{settings.count:,} messages with {len(BODY):,}-byte bodies per run (STOMP 1.2 SEND "
        "with content-length)"
        if settings.implementations
        else "the typed one alone (below)"
    )
    preamble = [
        machine_line(f"brokers {', '.join(servers) or 'none'}"),
        f"workload: {workload}; one publisher and one consumer connection working "
        "concurrently; wall time from the first SEND to the last MESSAGE received (and ACKed);"
        f" {settings.repeats} runs per cell, implementations taking turns in an order that changes"
        " each round (a balanced Latin square): msgs/s and ratios of "
        f"the median run (targets) and of the best; each run bounded by {settings.timeout:g} s",
        f"prefetch: {prefetch_headers} on every SUBSCRIBE, in both ack modes (RabbitMQ applies "
        "it to client-individual only: auto-ack consumers are not limited)",
        f"heart-beats: {HEART_BEAT[0]},{HEART_BEAT[1]} for the clients, none for the raw "
        "sockets; stomp.py uses Connection12 (stomp.Connection is its 1.1 class) with "
        "auto_decode off; stompman gets CONNECT host:/ (its own would name the TCP host)",
        "CPU us/msg: this process's CPU time (every thread, user and system) from the first "
        "SEND to the last MESSAGE, per message, median run; broker us/msg: the same for the "
        "broker's process, read in clock ticks of "
        f'{1000 // os.sysconf("SC_CLK_TCK")} ms ("-": not measured)',
        "raw SEND frame byte-identical to stompmodels' Send(...).to_wire('1.2'): "
        f"{'yes' if same_frame else 'NO'}",
        *(
            f"embedded broker: {command}, in a process of its own started by this script "
            "(its CPU read from /proc like the others')"
            for command in started
        ),
        "",
    ]
    if settings.typed:
        typed_frame = send_frame("/queue/x", ORDER_JSON, JSON)
        same_typed = typed_frame == Send(
            destination="/queue/x", content_type=JSON, body=ORDER_JSON
        ).to_wire("1.2")
        preamble[-1:-1] = [
            f"typed workload: {settings.count:,} Orders per run, {len(ORDER_JSON):,} bytes of "
            f"JSON each (content-type:{JSON}), client-individual only, the same turns and "
            "clock; raw: the same SEND frames; subscribe() + ack: send() of the same JSON "
            "bytes, subscription iterator, Subscription.ack; @subscriber: publish(order), a "
            "handler typed `order: Order` (validate_json by the client, the ACK after it "
            "returns; the clock stops once the N-th ACK is written), prefetch as above "
            "(not its default of max_concurrent)",
            "raw typed SEND frame byte-identical to Send(content_type=...).to_wire('1.2'): "
            f"{'yes' if same_typed else 'NO'}",
        ]
    queues = Queues(prefix=f"stompmodels-bench-{uuid.uuid4().hex[:12]}")
    bytes_workload = Workload("", settings.implementations, ACK_MODES)
    results: Results = {}
    typed_results: Results = {}
    try:
        for broker in available:
            if settings.implementations:
                results[broker.key] = measure(settings, broker, queues, bytes_workload)
            if settings.typed:
                typed_results[broker.key] = measure(settings, broker, queues, TYPED_WORKLOAD)
    finally:
        cleanup, leftovers = check_and_clean_up(queues, available)
    failures += leftovers
    for label, outcome in (("", results), (f"{TYPED} ", typed_results)):
        for broker_key, cells in outcome.items():
            for (impl_key, ack), cell in cells.items():
                if cell.failure is not None:
                    name = BROKERS[broker_key].name
                    failures.append(f"{name} {label}{impl_key} {ack}: {cell.failure}")

    report = list(preamble)
    if settings.implementations:
        report += [
            *table_lines(settings, results),
            "",
            "targets:",
            *target_lines(settings, results),
            "",
        ]
        if any(impl.key == "raw" for impl in settings.implementations) and any(
            broker.key == "embedded" for broker in settings.brokers
        ):
            report += [
                "brokers side by side on the raw socket ceiling (x RabbitMQ: msgs/s against "
                "RabbitMQ's in the same ack mode; broker us/msg: the broker process's CPU per "
                "message, median run):",
                *broker_lines(settings, results),
                "",
                "target (embedded broker):",
                *embedded_target_lines(settings, results),
                "",
            ]
    if settings.typed:
        progress_note(f"timing validate_json and to_json ({VALIDATE_TIMINGS} x {VALIDATE_LOOPS:,})")
        validate, encode = pydantic_costs()
        report += [
            "typed workload:",
            *typed_table_lines(settings, typed_results),
            "",
            *typed_cost_lines(settings, typed_results, validate, encode),
            "",
        ]
    report += cleanup
    if failures:
        report += ["", "failures:", *(f"  {failure}" for failure in failures)]
    print("\n".join(report))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
