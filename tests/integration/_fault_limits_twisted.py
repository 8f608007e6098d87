"""Hostile limits on the Twisted transport: `_fault_limits`' cases, fed through Twisted's
in-memory reactor and transport.

Twisted's global reactor cannot be restarted, so instead of a socket the fake broker is the
test itself: it answers CONNECT, lets the client send a SEND with a receipt, then feeds the
case's bytes to the protocol's `dataReceived` in 64 KiB reads (as a TCP transport would) until
the client aborts the connection or the case's bytes run out.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import ITransport
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure

from stompmodels.twisted import StompClientFactory, StompProtocol

from ._fault_limits import CHUNK, CONNECTED, TIMEOUT, Hostile, HostileOutcome


def _error(deferred: Deferred[object]) -> BaseException | None:
    """The error `deferred` failed with, None if it succeeded or has not fired."""
    outcomes: list[object] = []
    deferred.addBoth(outcomes.append)
    outcome = outcomes[0] if outcomes else None
    return outcome.value if isinstance(outcome, Failure) else None


def play_twisted(case: Hostile) -> HostileOutcome:
    """Run `case` against a `StompProtocol` on an in-memory transport."""
    reactor = MemoryReactorClock()  # type: ignore[no-untyped-call]  # Twisted is not annotated
    factory = StompClientFactory(
        "stomp://127.0.0.1:61613/",
        reactor=reactor,
        limits=case.limits,
        timeout=TIMEOUT,
        heart_beat=(0, 0),
    )
    factory.connect()
    protocol = reactor.tcpClients[-1][2].buildProtocol(None)
    assert isinstance(protocol, StompProtocol)
    wire = StringTransport()  # type: ignore[no-untyped-call]  # idem
    protocol.makeConnection(cast(ITransport, wire))  # type: ignore[no-untyped-call]  # idem
    protocol.dataReceived(CONNECTED)
    waiting = cast(Deferred[object], protocol.send("/queue/a", "probe", receipt=True))
    tracemalloc.start()
    try:
        started = time.monotonic()
        protocol.dataReceived(case.data)
        sent = len(case.data)
        chunk = b"x" * CHUNK
        while sent < case.streamed and not wire.disconnecting:
            protocol.dataReceived(chunk)
            sent += len(chunk)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    closed = bool(wire.disconnecting)
    return HostileOutcome(
        "twisted", case.name, case.limit, _error(waiting), closed, sent, peak, elapsed
    )
