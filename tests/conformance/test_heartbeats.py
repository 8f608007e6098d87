"""Heart-beating (STOMP 1.2 "Heart-beating"). Waits are bounded: a few seconds at most."""

from __future__ import annotations

import itertools
import time

import pytest

from .conftest import Target
from .wire import connect

SLICE = 0.25
"""Seconds between the lively client's heart-beats (and between looks at the silent one)."""


def test_connected_heart_beat_answer(target: Target) -> None:
    """CONNECTED's heart-beat answers the client's ``0,500`` (the client sends none and wants
    one every 500 ms). RabbitMQ answers ``1000,0`` (1000 ms is its minimum), ActiveMQ
    ``500,0`` (it echoes the request); the embedded broker, configured with (1000, 1000),
    states its own capabilities ``1000,1000`` as the spec's negotiation has it."""
    with connect(target, "1.2", heart_beat=(0, 500)) as session:
        assert session.connected is not None
        assert session.connected.heart_beat == target.heart_beat_answer
        session.disconnect()


@pytest.mark.slow  # real waits: about as long as the broker gives a silent client (2-4 s)
def test_heart_beats(target: Target) -> None:
    """Two clients side by side, for a little longer than a silent client is given.

    The silent one promised ``heart-beat:500,0`` and sends nothing: the server may consider it
    dead after some tolerance past the negotiated interval max(500, sy), and closes its socket
    (RabbitMQ after about 3 s, ActiveMQ about 1.5 s, both with no ERROR; the embedded broker
    after 2.5 times the interval, 2.5 s), not before one interval has passed.

    The lively one asked for ``heart-beat:500,500`` and sends an EOL every 250 ms: the server
    sends it EOLs at least every max(sx, 500) ms (sx from CONNECTED; slack allowed, ActiveMQ's
    first gap is 750 ms for 500), sends no frame, and keeps it open all along.

    A third, quiet one sent no heart-beat header (``0,0``): it wants no heart-beats (cy = 0),
    so the server sends it no EOL, whatever its CONNECTED says, and keeps it open although it
    sends nothing.
    """
    with (
        connect(target, "1.2", heart_beat=(500, 0)) as silent,
        connect(target, "1.2", heart_beat=(500, 500)) as lively,
        connect(target, "1.2") as quiet,
    ):
        start = time.monotonic()
        quiet_eols = quiet.decoder.heartbeats_received  # an EOL may follow CONNECTED's NUL
        assert silent.connected is not None and lively.connected is not None
        silent_interval = max(500, silent.connected.heart_beat.receive_ms) / 1000
        assert silent.connected.heart_beat.receive_ms > 0, "the server wants no heart-beats"
        server_sends = lively.connected.heart_beat.send_ms
        assert server_sends > 0, "the server offered no heart-beats"
        lively_interval = max(server_sends, 500) / 1000

        window = target.silent_drop_seconds + 0.75
        beats: list[float] = []
        silent_closed_at: float | None = None
        for _ in range(int(window / SLICE) + 1):
            beats += lively.watch(SLICE, beat_every=SLICE)
            if silent_closed_at is None and silent.poll():
                silent_closed_at = time.monotonic() - start
            assert not quiet.poll(), "the quiet client (no heart-beat asked) was dropped"
            assert not quiet.pending, quiet.pending
            if time.monotonic() - start >= window:
                break
        end = time.monotonic()

        assert silent_closed_at is not None, f"the silent client was kept {window:.2f} s"
        assert silent_closed_at >= silent_interval, silent_closed_at
        assert all(frame.command == "ERROR" for frame in silent.pending), silent.pending

        times = [start, *beats, end]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert len(beats) >= 2, (beats, lively_interval)
        assert max(gaps) <= 2 * lively_interval + 0.15, (gaps, lively_interval)
        lively.barrier()
        lively.disconnect()

        assert quiet.decoder.heartbeats_received == quiet_eols, (
            "EOLs to a client that asked for none"
        )
        quiet.barrier()
        quiet.disconnect()
