"""The three brokers the conformance scenarios run against, and what each is known to do.

Every scenario takes the `target` fixture, parametrized over the embedded broker
(`stompmodels.testing.running_broker`, one per test session), RabbitMQ 3.10 and ActiveMQ 5.17
(started with the scripts in ``shared/brokers``; marked `brokers`). Where the brokers differ,
the difference is a field of `Target`, measured on the real brokers with the raw-socket client
in `wire.py`; the embedded broker's fields say which of them it follows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Final, Literal

import pytest

from stompmodels import HeartBeat
from stompmodels.testing import running_broker
from tests.integration._brokers import ACTIVEMQ, RABBITMQ, Broker, BrokerGate

NO_HEART_BEAT: Final = HeartBeat(0, 0)

ErrorCase = Literal[
    "unknown-command",
    "before-connect",
    "no-destination",
    "bad-header-line",
    "unknown-transaction",
    "unknown-destination",
    "version-mismatch",
]
"""The protocol errors the suite provokes (the names `Target.error_closes` lists)."""

ALL_ERRORS: Final[frozenset[ErrorCase]] = frozenset(
    {
        "unknown-command",
        "before-connect",
        "no-destination",
        "bad-header-line",
        "unknown-transaction",
        "unknown-destination",
        "version-mismatch",
    }
)


@dataclass(frozen=True, slots=True)
class Target:
    """A broker under test: where it is, and the behaviours on which the brokers differ."""

    name: str
    host: str
    port: int
    login: str = "guest"
    passcode: str = "guest"
    product: str = ""
    """What CONNECTED's `server` header starts with."""

    anonymous_login: bool = True
    """A CONNECT without login is accepted (RabbitMQ logs it in as guest; ActiveMQ takes
    anonymous users). False: ERROR, as when users are configured."""
    refused_login_closes: bool = True
    """After the ERROR for a refused login the broker closes the socket at once. RabbitMQ
    keeps it open about 10 s, answering every further frame with ERROR."""

    heart_beat_answer: HeartBeat = NO_HEART_BEAT
    """CONNECTED's heart-beat for a CONNECT with ``heart-beat:0,500``."""
    silent_drop_seconds: float = 3.0
    """About when a client that promised a heart-beat every 500 ms and sends nothing is dropped."""

    nack_redelivers: bool = True
    """NACK requeues the message and it comes again with ``redelivered:true`` (RabbitMQ).
    False: ActiveMQ's NACK drops a non-persistent message (or dead-letters a persistent one)."""
    prefetch_headers: frozenset[str] = frozenset({"prefetch-count"})
    """SUBSCRIBE headers that cap the unacknowledged messages of a subscription."""

    content_length: Literal["always", "when-sent"] = "always"
    """MESSAGE has content-length for every non-empty body (RabbitMQ), or only when the SEND
    had one (ActiveMQ: a bytes message)."""
    escapes_10_headers: bool = False
    """RabbitMQ escapes ``:`` as ``\\c`` in MESSAGE headers of a 1.0 session as well."""

    unknown_prefix_is_error: bool = True
    """A destination that is not /queue/, /topic/, /temp-queue/ ... gets ERROR (RabbitMQ).
    False: ActiveMQ takes any string as the name of a queue."""
    subscribe_temp_queue: bool = True
    """A connection may SUBSCRIBE to /temp-queue/N (ActiveMQ). False: RabbitMQ answers ERROR
    and subscribes the sender of a SEND with ``reply-to:/temp-queue/N`` itself."""
    send_to_closed_temp_queue: Literal["error", "receipt"] = "error"
    """A SEND to the reply-to of a temp queue whose connection has closed: ActiveMQ answers
    ERROR (the destination does not exist); RabbitMQ takes it (RECEIPT) and drops it."""

    error_closes: frozenset[ErrorCase] = ALL_ERRORS
    """The errors after whose ERROR the broker closes the connection (as STOMP 1.2 "ERROR"
    says it MUST). RabbitMQ closes after none of them; ActiveMQ only after an unknown
    command or version; others keep the session open and working."""
    error_receipt_id: bool = True
    """ERROR carries the ``receipt-id`` of the frame that caused it when that frame asked
    for a receipt (ActiveMQ). RabbitMQ's ERROR never has one."""
    unreadable_receipt_id: bool = True
    """ERROR carries the receipt-id even for a frame whose head could not be read (an
    unknown command, a header line without ``:``): ActiveMQ, and the embedded broker."""
    bad_header_line: Literal["error", "close", "ignored"] = "error"
    """A header line without ``:``: ERROR then close; close with no ERROR (RabbitMQ); or the
    line is skipped and the frame accepted (ActiveMQ)."""
    transactional_send_receipt: Literal["at-once", "at-commit"] = "at-once"
    """When the RECEIPT of a SEND inside a transaction comes: RabbitMQ holds it until COMMIT."""
    duplicate_begin_is_error: bool = True
    """A second BEGIN of an open transaction gets ERROR (ActiveMQ); RabbitMQ accepts it."""


RABBITMQ_TARGET: Final = Target(
    name="rabbitmq",
    host=RABBITMQ.host,
    port=RABBITMQ.port,
    login=RABBITMQ.login,
    passcode=RABBITMQ.passcode,
    product="RabbitMQ/",
    anonymous_login=True,
    refused_login_closes=False,
    heart_beat_answer=HeartBeat(1000, 0),
    silent_drop_seconds=3.0,
    nack_redelivers=True,
    prefetch_headers=frozenset({"prefetch-count"}),
    content_length="always",
    escapes_10_headers=True,
    unknown_prefix_is_error=True,
    subscribe_temp_queue=False,
    send_to_closed_temp_queue="receipt",
    error_closes=frozenset(),
    error_receipt_id=False,
    bad_header_line="close",
    transactional_send_receipt="at-commit",
    duplicate_begin_is_error=False,
)

ACTIVEMQ_TARGET: Final = Target(
    name="activemq",
    host=ACTIVEMQ.host,
    port=ACTIVEMQ.port,
    login=ACTIVEMQ.login,
    passcode=ACTIVEMQ.passcode,
    product="ActiveMQ/",
    anonymous_login=True,
    refused_login_closes=True,
    heart_beat_answer=HeartBeat(500, 0),
    silent_drop_seconds=1.5,
    nack_redelivers=False,
    prefetch_headers=frozenset({"activemq.prefetchSize"}),
    content_length="when-sent",
    escapes_10_headers=False,
    unknown_prefix_is_error=False,
    subscribe_temp_queue=True,
    send_to_closed_temp_queue="error",
    error_closes=frozenset({"unknown-command", "version-mismatch"}),
    error_receipt_id=True,
    bad_header_line="ignored",
    transactional_send_receipt="at-once",
    duplicate_begin_is_error=True,
)

EMBEDDED_HEART_BEAT: Final = (1000, 1000)
EMBEDDED_USERS: Final = {"guest": "guest"}

# The embedded broker follows RabbitMQ where the two differ, except: subscribing to a temp queue
# (ActiveMQ's; a SEND to one whose connection is gone is dropped, as RabbitMQ does), ERROR
# frames (receipt-id as ActiveMQ; every protocol error closes, as the spec says), prefetch
# (both headers), login (users are configured, so no anonymous login), a transactional SEND's
# RECEIPT (at once) and a second BEGIN (ERROR), both as ActiveMQ.
EMBEDDED_TARGET: Final = Target(
    name="embedded",
    host="127.0.0.1",
    port=0,  # the running broker's port, set by the fixture
    login="guest",
    passcode="guest",
    product="stompmodels/",
    anonymous_login=False,
    refused_login_closes=True,
    heart_beat_answer=HeartBeat(*EMBEDDED_HEART_BEAT),
    silent_drop_seconds=2.5,
    nack_redelivers=True,
    prefetch_headers=frozenset({"prefetch-count", "activemq.prefetchSize"}),
    content_length="always",
    escapes_10_headers=False,
    unknown_prefix_is_error=True,
    subscribe_temp_queue=True,
    send_to_closed_temp_queue="receipt",
    error_closes=ALL_ERRORS,
    error_receipt_id=True,
    bad_header_line="error",
    transactional_send_receipt="at-once",
    duplicate_begin_is_error=True,
)

REAL: Final[dict[str, tuple[Broker, Target]]] = {
    "rabbitmq": (RABBITMQ, RABBITMQ_TARGET),
    "activemq": (ACTIVEMQ, ACTIVEMQ_TARGET),
}


@pytest.fixture(scope="session")
def conformance_gate() -> BrokerGate:
    return BrokerGate()


@pytest.fixture(scope="package")
def embedded_broker() -> Iterator[Target]:
    """The embedded broker, one for the suite (stopped when it ends), as a Target."""
    with running_broker(users=EMBEDDED_USERS, heart_beat=EMBEDDED_HEART_BEAT) as running:
        yield replace(EMBEDDED_TARGET, host=running.host, port=running.port)


@pytest.fixture(
    params=[
        pytest.param("embedded"),
        pytest.param("rabbitmq", marks=pytest.mark.brokers),
        pytest.param("activemq", marks=pytest.mark.brokers),
    ]
)
def target(request: pytest.FixtureRequest, conformance_gate: BrokerGate) -> Target:
    """Each broker in turn: embedded, rabbitmq, activemq."""
    name: str = request.param
    if name == "embedded":
        embedded: Target = request.getfixturevalue("embedded_broker")
        assert embedded.host == "127.0.0.1", f"the embedded broker listens on {embedded.host}"
        return embedded
    broker, known = REAL[name]
    conformance_gate.require(broker)
    return known
