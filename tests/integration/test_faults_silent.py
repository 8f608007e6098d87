"""A silent peer: missed heart-beats are detected in time, and the client comes back.

The bound is the one the client promises: nothing received for the negotiated interval times
DEFAULT_GRACE, noticed within half an interval (the heart-beat timer's tick), plus a margin
for a loaded machine. The lower bound shows the verdict is not premature: the last byte before
the black hole came at most one interval before it.
"""

from __future__ import annotations

from typing import Final

from stompmodels._heartbeat import DEFAULT_GRACE
from stompmodels.aio import HeartbeatTimeout

from ._brokers import Broker
from ._fault_silent import SilentPeer, silent_peer_aio, silent_peer_blocking

MARGIN: Final = 0.75  # seconds of scheduling slack on a shared machine
RECOVERY_BOUND: Final = 5.0  # seconds from the heal to "reconnected" (the backoff is 0.05-0.5)


def check(run: SilentPeer) -> None:
    interval = run.receive_ms / 1000
    print(
        f"{run.client}: heart-beat {run.receive_ms} ms, detected after {run.detected_after:.2f} s,"
        f" recovered {run.recovered_after:.2f} s after the heal"
    )
    assert run.receive_ms == 1000  # both brokers accept 1000 ms
    assert isinstance(run.error, HeartbeatTimeout)
    assert "sent nothing for" in str(run.error)
    assert (DEFAULT_GRACE - 1) * interval - 0.05 <= run.detected_after
    assert run.detected_after <= DEFAULT_GRACE * interval + interval / 2 + MARGIN
    assert run.recovered_after <= RECOVERY_BOUND


def test_a_silent_broker_is_detected_and_the_aio_client_comes_back(broker: Broker) -> None:
    check(silent_peer_aio(broker.url, broker.port))


def test_a_silent_broker_is_detected_and_the_blocking_client_comes_back(
    activemq: Broker,
) -> None:
    check(silent_peer_blocking(activemq.url, activemq.port))
