"""Hostile limits on every transport: a fake broker breaks a limit, the client fails cleanly.

Each case (a frame head that never ends, too many headers, a header line too long, a body
declared or streamed over `max_frame_size`) must end the connection with ConnectionLost
naming the limit, the client must hang up, and its memory must stay bounded: with the default
limits, a 1 GiB body streamed at it costs about `max_frame_size`, never the gigabyte.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import pytest

from stompmodels import Limits
from stompmodels.aio import ConnectionLost

from ._fault_limits import GIB_STREAM, HOSTILE, MIB, Hostile, HostileOutcome, play
from ._fault_limits_twisted import play_twisted
from ._fault_limits_ws import play_websocket

SMALL_PEAK: Final = 4 * MIB  # bytes the client may allocate against the small limits
GIB_PEAK: Final = 256 * MIB  # a quarter of the 1 GiB streamed at it

Play = Callable[[Hostile], HostileOutcome]
TRANSPORTS: Final[dict[str, Play]] = {
    "aio": lambda case: play(case, "aio"),
    "blocking": lambda case: play(case, "blocking"),
    "twisted": play_twisted,  # in memory: Twisted's global reactor cannot be restarted
    "ws": play_websocket,
}


def names_the_limit(outcome: HostileOutcome, case: Hostile) -> bool:
    said = str(outcome.error)
    if case.limit in said:
        return True
    # Over WebSocket a message over max_frame_size is refused by the WebSocket layer (close
    # code 1009, "message too big"), which names the limit's value instead of its name.
    size = (case.limits or Limits()).max_frame_size
    return outcome.client == "ws" and f"exceeds limit of {size} bytes" in said


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_a_broken_limit_ends_the_connection_cleanly(case: Hostile, transport: str) -> None:
    outcome = TRANSPORTS[transport](case)
    assert isinstance(outcome.error, ConnectionLost), outcome
    assert names_the_limit(outcome, case), outcome
    assert outcome.client_closed
    assert outcome.peak < SMALL_PEAK


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_a_gigabyte_body_costs_at_most_the_frame_limit(transport: str) -> None:
    outcome = TRANSPORTS[transport](GIB_STREAM)
    print(f"{transport}: peak {outcome.peak / MIB:.0f} MiB while {outcome.sent / MIB:.0f} MiB came")
    assert isinstance(outcome.error, ConnectionLost), outcome
    assert names_the_limit(outcome, GIB_STREAM), outcome
    assert outcome.client_closed
    if transport != "ws":  # over WebSocket the closing handshake reads (and drops) the rest
        assert outcome.sent < GIB_STREAM.streamed  # the broker was cut off before the end
    assert outcome.peak < GIB_PEAK
