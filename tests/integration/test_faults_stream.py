"""Connection loss during a stream: nothing confirmed is lost, duplicates are counted.

10,000 numbered messages, each sent with a receipt (and sent again after a reconnect when the
receipt did not come), go through the fault proxy to a consumer with `client-individual` ack;
the proxy cuts every connection three times, once at once and twice mid-frame (one way each).
Both clients reconnect; every confirmed message must reach the consumer at least once.
"""

from __future__ import annotations

from typing import Final

from ._brokers import Broker
from ._fault_cuts import CutStream, stream_with_cuts

MESSAGES: Final = 10_000
CUTS: Final = 3
DEADLINE: Final = 60.0  # seconds for one stream, whatever happens


def check(run: CutStream) -> None:
    stream = run.stream
    print(  # the duplicates are reported, not bounded: at-least-once allows any number
        f"{stream.client}: {stream.confirmed} confirmed, {stream.delivered} delivered, "
        f"{stream.duplicated} duplicated, {stream.sent - stream.count} sent again, "
        f"{stream.reconnects} reconnects, {stream.elapsed:.1f} s"
    )
    assert stream.failure is None
    assert (stream.confirmed, stream.lost) == (MESSAGES, 0)
    assert stream.delivered == MESSAGES  # every message, confirmed or not, came
    assert len(run.cuts) == CUTS
    assert all(cut.connections == 2 for cut in run.cuts)  # publisher and consumer, each time
    assert {cut.kind for cut in run.cuts} >= {"at once", "mid-frame up (after 7 B)"}
    assert stream.reconnects >= 2 * CUTS  # both clients came back after each cut
    assert len(run.detections()) >= CUTS  # each cut was noticed


def test_cuts_during_a_stream_lose_nothing_confirmed(broker: Broker) -> None:
    run = stream_with_cuts(
        broker.url, broker.port, broker.product, MESSAGES, cuts=CUTS, deadline=DEADLINE
    )
    check(run)


def test_cuts_during_a_stream_lose_nothing_confirmed_with_the_blocking_client(
    rabbitmq: Broker,
) -> None:
    run = stream_with_cuts(
        rabbitmq.url,
        rabbitmq.port,
        rabbitmq.product,
        MESSAGES,
        cuts=CUTS,
        client="blocking",
        deadline=DEADLINE,
    )
    check(run)
