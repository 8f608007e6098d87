"""Header injection through the transports: hostile header values reach a consumer intact.

A SEND whose custom header value carries a line break and a header line ("x\\ninjected:yes"),
or a second `destination`, goes through `stompmodels.aio.Client` and
`stompmodels.blocking.Client` to RabbitMQ and ActiveMQ, and comes back in the MESSAGE with the
value unchanged and no `injected` header. Where a version cannot carry a value (a CR in 1.1,
any line break in 1.0) the client refuses it before writing anything, and the connection goes
on working. A capturing loopback server shows the exact bytes each client wrote.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Final, Literal

import pytest

from stompmodels import LocalProtocolError, Message, Send, Version, aio, blocking
from tests.fake_server import FakeServer

from ._brokers import Broker

Transport = Literal["aio", "blocking"]
TRANSPORTS: Final[tuple[Transport, ...]] = ("aio", "blocking")
TIMEOUT: Final = 5.0  # every wait of a client, and of the capturing server
SESSION_LIMIT: Final = 20.0  # one whole session, whatever happens
PROBE: Final = "x-probe"
CLEAN: Final = "clean"
# RabbitMQ deletes a queue made with this argument 5 minutes after its last use.
QUEUE_HEADERS: Final = {"x-expires": "300000"}

# name: (value, its exact 1.1/1.2 wire form)
HOSTILE: Final[dict[str, tuple[str, bytes]]] = {
    "lf": ("x\ninjected:yes", b"x\\ninjected\\cyes"),
    "second-destination": ("x\ndestination:/queue/evil", b"x\\ndestination\\c/queue/evil"),
    "colon": ("a:b", b"a\\cb"),
    "colon-backslash": ("a:b\\c", b"a\\cb\\\\c"),
    "crlf": ("x\r\ninjected:yes", b"x\\r\\ninjected\\cyes"),
    "cr": ("x\rinjected:yes", b"x\\rinjected\\cyes"),
}
LINE_BREAKS: Final = ("lf", "second-destination", "crlf", "cr")

Outcome = Message | LocalProtocolError
"""What became of one SEND: the MESSAGE it turned into, or the client's refusal to write it."""


def url_of(port: int) -> str:
    return f"stomp://guest:guest@127.0.0.1:{port}/"


def hostile_for(version: Version) -> dict[str, tuple[str, bytes]]:
    """HOSTILE, less backslashes in 1.0 (test_10_backslash_sequence_does_not_inject)."""
    return {n: v for n, v in HOSTILE.items() if version != "1.0" or "\\" not in v[0]}


def can_carry(version: Version, value: str) -> bool:
    """Whether `version` can carry `value` in a SEND header (1.0: no line breaks; 1.1: no CR)."""
    if version == "1.0":
        return "\n" not in value and "\r" not in value
    return version == "1.2" or "\r" not in value


# -- sessions: send each value (the body is its number), then a clean one; each MESSAGE is taken
# right after its SEND


async def _aio_session(
    url: str, version: Version, values: list[str], consume: bool
) -> list[Outcome]:
    queue = f"/queue/stompmodels-inject-{uuid.uuid4().hex[:12]}"
    outcomes: list[Outcome] = []
    async with aio.Client(url, versions=(version,), heart_beat=(0, 0), timeout=TIMEOUT) as client:
        subscription = await client.subscribe(queue, headers=QUEUE_HEADERS) if consume else None
        for number, value in enumerate([*values, CLEAN]):
            try:
                await client.send(queue, str(number), headers={PROBE: value}, receipt=True)
            except LocalProtocolError as refusal:
                outcomes.append(refusal)
                continue
            if subscription is not None:
                outcomes.append(await subscription.get(timeout=TIMEOUT))
    return outcomes


def aio_session(url: str, version: Version, values: list[str], consume: bool) -> list[Outcome]:
    async def bounded() -> list[Outcome]:
        async with asyncio.timeout(SESSION_LIMIT):
            return await _aio_session(url, version, values, consume)

    return asyncio.run(bounded())


def blocking_session(url: str, version: Version, values: list[str], consume: bool) -> list[Outcome]:
    queue = f"/queue/stompmodels-inject-{uuid.uuid4().hex[:12]}"
    outcomes: list[Outcome] = []
    with blocking.Client(url, versions=(version,), heart_beat=(0, 0), timeout=TIMEOUT) as client:
        subscription = client.subscribe(queue, headers=QUEUE_HEADERS) if consume else None
        for number, value in enumerate([*values, CLEAN]):
            try:
                client.send(queue, str(number), headers={PROBE: value}, receipt=True)
            except LocalProtocolError as refusal:
                outcomes.append(refusal)
                continue
            if subscription is not None:
                outcomes.append(subscription.get(timeout=TIMEOUT))
    return outcomes


SESSIONS: Final[dict[Transport, Callable[[str, Version, list[str], bool], list[Outcome]]]] = {
    "aio": aio_session,
    "blocking": blocking_session,
}


def check_outcomes(version: Version, values: list[str], outcomes: list[Outcome]) -> None:
    """Each value arrived intact and alone, or was refused naming the header; CLEAN came last.

    A refused SEND that was written anyway would shift every later MESSAGE by one."""
    assert len(outcomes) == len(values) + 1
    for number, (value, outcome) in enumerate(zip([*values, CLEAN], outcomes, strict=True)):
        if not can_carry(version, value):
            assert isinstance(outcome, LocalProtocolError), (value, outcome)
            assert repr(PROBE) in str(outcome)
            continue
        assert isinstance(outcome, Message), (value, outcome)
        assert outcome.text == str(number), "a MESSAGE for another SEND arrived"
        assert outcome.headers.get(PROBE) == value
        assert "injected" not in outcome.headers
        assert outcome.destination.startswith("/queue/stompmodels-inject-")


# -- real brokers ------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_hostile_values_arrive_intact(
    broker: Broker, transport: Transport, version: Version
) -> None:
    values = [value for value, _ in hostile_for(version).values()]
    outcomes = SESSIONS[transport](url_of(broker.port), version, values, True)
    check_outcomes(version, values, outcomes)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_10_refuses_line_breaks_and_stays_usable(broker: Broker, transport: Transport) -> None:
    values = [HOSTILE[name][0] for name in LINE_BREAKS]
    outcomes = SESSIONS[transport](url_of(broker.port), "1.0", values, True)
    check_outcomes("1.0", values, outcomes)
    assert all(isinstance(outcome, LocalProtocolError) for outcome in outcomes[:-1])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_10_backslash_sequence_does_not_inject(broker: Broker, transport: Transport) -> None:
    """Both brokers unescape STOMP 1.0 frames although 1.0 has no escapes: ActiveMQ hands a
    1.0 consumer "x\\ninjected:yes" as a real line break (a header `injected`), and RabbitMQ
    hands it back re-escaped. The value must be refused, or arrive intact and alone."""
    value = "x\\ninjected:yes"
    outcome, clean = SESSIONS[transport](url_of(broker.port), "1.0", [value], True)
    assert isinstance(clean, Message)
    assert clean.headers.get(PROBE) == CLEAN
    if isinstance(outcome, LocalProtocolError):
        assert repr(PROBE) in str(outcome)
        return
    assert "injected" not in outcome.headers, f"{broker.name} delivered {outcome.headers}"
    assert outcome.headers.get(PROBE) == value, f"{broker.name} delivered {outcome.headers}"


# -- the exact bytes a client writes -----------------------------------------------------------


class CapturingServer:
    """One loopback connection answered by `tests.fake_server.FakeServer` (CONNECTED in the
    given version, a RECEIPT per receipt header); every byte the client wrote is kept."""

    def __init__(self, version: Version) -> None:
        self.server = FakeServer(supports=(version,))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.written = bytearray()
        self.failures: list[BaseException] = []
        self.thread = threading.Thread(target=self._serve, name="capturing-server", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.listener.settimeout(TIMEOUT)
            connection, _ = self.listener.accept()
            with connection:
                connection.settimeout(0.05)
                deadline = time.monotonic() + SESSION_LIMIT
                while time.monotonic() < deadline and not self.server.closed:
                    try:
                        data = connection.recv(65536)
                    except TimeoutError:
                        continue
                    if not data:
                        return
                    self.written += data
                    for reply in self.server.receive(data):
                        connection.sendall(reply)
        except Exception as exc:  # reported by `stop`
            self.failures.append(exc)

    def stop(self) -> bytes:
        """Wait for the session to end; every byte the client wrote."""
        self.thread.join(SESSION_LIMIT)
        self.listener.close()
        assert not self.thread.is_alive(), "the session did not end"
        assert not self.failures, self.failures
        return bytes(self.written)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_the_bytes_written(transport: Transport, version: Version) -> None:
    hostile = hostile_for(version)
    values = [value for value, _ in hostile.values()]
    capture = CapturingServer(version)
    outcomes = SESSIONS[transport](url_of(capture.port), version, values, False)
    written = capture.stop()
    carried = [value for value in values if can_carry(version, value)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, LocalProtocolError)]
    assert len(refused) == len(values) - len(carried)
    sends = [frame for frame in capture.server.received if isinstance(frame, Send)]
    assert [send.headers for send in sends] == [{PROBE: value} for value in [*carried, CLEAN]]
    for send in sends:
        assert send.to_wire(version) in written  # the frame as to_wire spells it, unchanged
    for name, (value, escaped) in hostile.items():
        text = value.encode() if version == "1.0" else escaped
        line = b"\n" + PROBE.encode() + b":" + text + b"\n"
        assert (line in written) == (value in carried), name
    assert b"\ninjected:" not in written
    assert b"\ndestination:/queue/evil" not in written
    assert b"\r" not in written
