"""A real broker restart in the middle of a stream: nothing confirmed is lost.

The private ActiveMQ (the shared brokers are never restarted) is stopped cleanly and started
again twice while a publisher sends numbered persistent messages with receipts and a consumer
takes them with ``client-individual`` ack, both with `reconnect` (asyncio clients, then blocking
ones). `_fault_stream` runs the
stream; this file only supplies the restarts and checks the counts: every confirmed message is
delivered at least once, and duplicates (delivered before a restart, ACK lost with it) are
counted, not forbidden.
"""

from __future__ import annotations

from typing import Final

import pytest

from ._brokers import BrokerGate
from ._fault_stream import (
    ClientKind,
    StreamProgress,
    StreamResult,
    act_in_stages,
    run_stream,
    subscribe_headers,
)
from .conftest_private import PrivateBroker, private_activemq

COUNT = 2000
# One unacknowledged message at a time: the consumer lags behind the publisher, so the queue
# holds a backlog at each restart, which only persistence keeps (non-persistent, it is lost).
PREFETCH = 1
RESTART_AT = (0.3, 0.6)  # shares of COUNT confirmed when the broker is restarted
WAIT_FOR_SHARE = 30.0  # seconds the restarter waits for each share
DEADLINE = 90.0  # seconds for the whole stream, restarts included

ROLES: Final = ("publisher", "consumer")


@pytest.fixture(scope="session")
def private(
    request: pytest.FixtureRequest, brokers: BrokerGate, tmp_path_factory: pytest.TempPathFactory
) -> PrivateBroker:
    return private_activemq(request, brokers, tmp_path_factory)


def summary(result: StreamResult, backlogs: list[int], starts: list[float]) -> str:
    """One line of figures for docs/reliability.md (shown with ``pytest -s`` or ``-rP``)."""
    recoveries = ", ".join(f"{seconds:.2f}" for seconds in result.recoveries)
    return (
        f"broker restart ({result.client}): {result.count} messages, sent {result.sent}, "
        f"confirmed {result.confirmed}, delivered {result.delivered}, lost {result.lost}, "
        f"duplicated {result.duplicated}; backlog at the restarts {backlogs}; "
        f"broker start {', '.join(f'{s:.2f}' for s in starts)} s; "
        f"recoveries {recoveries} s; {result.elapsed:.1f} s in all"
    )


@pytest.mark.parametrize("client", ["aio", "blocking"])
def test_nothing_confirmed_is_lost_across_two_broker_restarts(
    private: PrivateBroker, client: ClientKind
) -> None:
    broker = private.broker
    backlogs: list[int] = []  # confirmed but not yet delivered, when the broker went down
    starts: list[float] = []

    holds = [int(share * COUNT) for share in RESTART_AT]

    def restart_twice(progress: StreamProgress) -> None:
        def restart() -> None:
            backlogs.append(progress.confirmed - progress.delivered)
            starts.append(broker.restart())

        # The publisher waits at each hold until both clients are back from the last restart:
        # however fast the stream, each restart comes mid-stream and finds both connected.
        act_in_stages(progress, holds, restart, WAIT_FOR_SHARE)

    result = run_stream(
        broker.plain_url,
        broker.plain_url,
        COUNT,
        restart_twice,
        client=client,
        subscribe_headers=subscribe_headers("ActiveMQ", PREFETCH),
        persistent=True,  # ActiveMQ keeps them in KahaDB across the restart
        deadline=DEADLINE,
        hold_at=holds[0],
    )
    print(summary(result, backlogs, starts))
    assert result.failure is None
    assert len(starts) == len(RESTART_AT), "the broker was not restarted mid-stream"
    assert all(backlog > 0 for backlog in backlogs), "no backlog for the restart to keep"
    assert result.confirmed == COUNT
    assert result.lost == 0
    for role in ROLES:
        events = [event.event for event in result.events if event.role == role]
        assert events.count("reconnected") >= len(RESTART_AT), (role, events)
