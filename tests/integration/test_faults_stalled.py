"""Every wait under a stalled connection times out, with an error that says what it waited for.

The bound above is generous (a loaded machine), the bound below is the timeout itself: these
check that each wait is bounded by the client's `timeout`, never how fast anything is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import pytest

from stompmodels.aio import ConnectionLost

from ._brokers import Broker
from ._fault_stall import WAITS, StalledWait, stalled_waits_aio, stalled_waits_blocking

SLACK: Final = 2.0  # seconds past the timeout that a wait may take on a loaded machine

# What each wait's error (for DISCONNECT: the warning `close` logs) must say.
EXPECTED: Final = {
    "connect": (ConnectionLost, r"no (answer|CONNECTED) from stomp://\S+ within 0\.5 s"),
    "send": (TimeoutError, r"no RECEIPT for SEND( \(receipt-\d+\))? within 0\.5 s"),
    "subscribe": (TimeoutError, r"no RECEIPT for SUBSCRIBE( \(receipt-\d+\))? within 0\.5 s"),
    "disconnect": (type(None), r"no receipt for DISCONNECT from stomp://\S+.*; closing anyway"),
}


@pytest.mark.parametrize(
    "scenario", [stalled_waits_aio, stalled_waits_blocking], ids=["aio", "blocking"]
)
def test_every_wait_under_a_stall_ends_at_its_timeout(
    broker: Broker, scenario: Callable[[str, int], list[StalledWait]]
) -> None:
    results = scenario(broker.url, broker.port)
    assert [result.wait for result in results] == list(WAITS)
    for result in results:
        kind, pattern = EXPECTED[result.wait]
        assert isinstance(result.error, kind), result
        said = str(result.error) if result.error is not None else " ".join(result.warnings)
        assert re.search(pattern, said), result
        assert result.timeout <= result.elapsed <= result.timeout + SLACK, result
