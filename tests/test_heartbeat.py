"""Heart-beats: negotiation per STOMP 1.2 "Heart-beating", the pure time functions, and the
engine's use of them (it never reads a clock)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stompmodels import (
    Connected,
    Engine,
    HeartBeat,
    State,
    negotiate_heart_beat,
    next_heart_beat_at,
    peer_deadline,
    peer_overdue,
)
from tests.fake_server import Conversation, FakeServer

intervals = st.integers(min_value=0, max_value=10**7)
heart_beats = st.builds(HeartBeat, intervals, intervals)
times = st.floats(min_value=0, max_value=1e9, allow_nan=False)


@pytest.mark.parametrize(
    ("client", "server", "expected"),
    [
        ((0, 0), (0, 0), (0, 0)),
        ((1000, 2000), (3000, 500), (1000, 3000)),  # max(cx, sy), max(sx, cy)
        ((4000, 6000), (5000, 10000), (10000, 6000)),
        ((0, 2000), (3000, 500), (0, 3000)),  # the client cannot send: no outgoing beats
        ((1000, 0), (3000, 500), (1000, 0)),  # the client does not want any
        ((1000, 2000), (0, 500), (1000, 0)),  # the server cannot send
        ((1000, 2000), (3000, 0), (0, 3000)),  # the server does not want any
        ((1000, 2000), (0, 0), (0, 0)),  # no heart-beat header from the server
        ((1, 1), (1, 1), (1, 1)),
    ],
)
def test_negotiation_follows_the_spec(
    client: tuple[int, int], server: tuple[int, int], expected: tuple[int, int]
) -> None:
    got = negotiate_heart_beat(HeartBeat(*client), HeartBeat(*server))
    assert got == HeartBeat(*expected)
    assert isinstance(got, HeartBeat)


@given(heart_beats, heart_beats)
def test_negotiation_seen_from_both_sides_agrees(client: HeartBeat, server: HeartBeat) -> None:
    ours = negotiate_heart_beat(client, server)
    theirs = negotiate_heart_beat(server, client)
    # What we send every n ms, they expect every n ms, and the other way round.
    assert theirs == HeartBeat(ours.receive_ms, ours.send_ms)


@given(heart_beats, heart_beats)
def test_negotiated_intervals_are_zero_or_the_larger_wish(
    client: HeartBeat, server: HeartBeat
) -> None:
    send, receive = negotiate_heart_beat(client, server)
    if client.send_ms == 0 or server.receive_ms == 0:
        assert send == 0
    else:
        assert send == max(client.send_ms, server.receive_ms)
    if server.send_ms == 0 or client.receive_ms == 0:
        assert receive == 0
    else:
        assert receive == max(server.send_ms, client.receive_ms)


def test_next_heart_beat_is_one_interval_after_the_last_send() -> None:
    assert next_heart_beat_at(100.0, 10_000) == 110.0
    assert next_heart_beat_at(100.0, 250) == 100.25
    assert next_heart_beat_at(100.0, 0) is None


@given(times, intervals)
def test_next_heart_beat_is_never_before_the_last_send(last_sent: float, send_ms: int) -> None:
    due = next_heart_beat_at(last_sent, send_ms)
    if send_ms == 0:
        assert due is None
    else:
        assert due is not None
        assert due == pytest.approx(last_sent + send_ms / 1000)
        assert due > last_sent


def test_peer_deadline_allows_a_grace_factor() -> None:
    assert peer_deadline(100.0, 6000) == 115.0  # default grace: two and a half intervals
    assert peer_deadline(100.0, 6000, grace=1.5) == 109.0
    assert peer_deadline(100.0, 6000, grace=1.0) == 106.0
    assert peer_deadline(100.0, 0) is None


def test_peer_overdue_only_after_the_deadline() -> None:
    assert not peer_overdue(114.9, 100.0, 6000)
    assert not peer_overdue(115.0, 100.0, 6000)  # on the deadline (2.5 intervals): not yet
    assert peer_overdue(115.001, 100.0, 6000)
    assert peer_overdue(109.5, 100.0, 6000, grace=1.5)
    assert not peer_overdue(108.5, 100.0, 6000, grace=1.5)
    assert not peer_overdue(1e9, 100.0, 0)  # no heart-beats expected: never overdue


@given(times, times, intervals, st.floats(min_value=1.0, max_value=10.0))
def test_peer_overdue_agrees_with_the_deadline(
    now: float, last: float, receive_ms: int, grace: float
) -> None:
    deadline = peer_deadline(last, receive_ms, grace)
    assert peer_overdue(now, last, receive_ms, grace) == (deadline is not None and now > deadline)
    if receive_ms and now <= last:
        assert not peer_overdue(now, last, receive_ms, grace)


# -- the engine --------------------------------------------------------------------------------


def test_the_engine_negotiates_from_connect_and_connected() -> None:
    engine = Engine()
    assert engine.heart_beat == HeartBeat(0, 0)
    engine.encode(engine.connect(heart_beat=(1000, 2000)))
    assert engine.heart_beat == HeartBeat(0, 0)  # nothing agreed before CONNECTED
    engine.react(b"CONNECTED\nversion:1.2\nheart-beat:3000,500\n\n\0")
    assert engine.heart_beat == HeartBeat(1000, 3000)


def test_no_heart_beat_header_means_none() -> None:
    engine = Engine()
    engine.encode(engine.connect(heart_beat=(1000, 2000)))
    engine.react(b"CONNECTED\nversion:1.2\n\n\0")
    assert engine.heart_beat == HeartBeat(0, 0)


def test_a_client_asking_for_none_gets_none() -> None:
    engine = Engine()
    engine.encode(engine.connect())
    engine.react(Connected(version="1.1", heart_beat=(5000, 5000)).to_wire("1.1"))
    assert engine.heart_beat == HeartBeat(0, 0)


def test_the_engines_heart_beat_is_an_eol_that_the_server_skips() -> None:
    engine = Engine()
    server = FakeServer(heart_beat=HeartBeat(5000, 10000))
    chat = Conversation(engine, server)
    chat.send(engine.connect(heart_beat=(4000, 6000)))
    assert engine.heart_beat == HeartBeat(10000, 6000)
    assert engine.heartbeat() == b"\n"
    assert server.receive(engine.heartbeat() * 3) == []
    assert server.decoder.heartbeats_received == 3


def test_server_heart_beats_are_counted_by_the_engines_decoder() -> None:
    engine = Engine()
    engine.encode(engine.connect(heart_beat=(0, 1000)))
    engine.react(b"CONNECTED\nversion:1.2\nheart-beat:1000,0\n\n\0")
    before = engine.decoder.bytes_received
    assert engine.react(b"\n") == b""
    assert engine.react(b"\r\n\n") == b""
    assert engine.decoder.heartbeats_received == 3
    assert engine.decoder.bytes_received == before + 4
    assert engine.state is State.CONNECTED


def test_a_timeline_driven_by_the_callers_clock() -> None:
    # The caller owns the clock: it passes times in, the functions say what is due.
    engine = Engine()
    chat = Conversation(engine, FakeServer(heart_beat=HeartBeat(5000, 10000)))
    chat.send(engine.connect(heart_beat=(4000, 6000)))
    send_ms, receive_ms = engine.heart_beat
    t0 = 1000.0
    assert next_heart_beat_at(t0, send_ms) == 1010.0
    assert peer_deadline(t0, receive_ms) == 1015.0
    assert not peer_overdue(1014.0, t0, receive_ms)
    assert engine.react(b"\n") == b""  # the server's beat arrives at t = 1014: reset
    assert not peer_overdue(1028.0, 1014.0, receive_ms)
    assert peer_overdue(1029.5, 1014.0, receive_ms)


def test_the_engine_never_reads_a_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_clock(*args: object) -> float:
        raise AssertionError("the engine read a clock")

    for name in ("time", "monotonic", "perf_counter", "process_time", "thread_time"):
        monkeypatch.setattr(time, name, no_clock)
        monkeypatch.setattr(time, name + "_ns", no_clock)
    engine = Engine()
    chat = Conversation(engine, FakeServer(heart_beat=HeartBeat(1000, 1000)), mode="heartbeats")
    chat.send(engine.connect(heart_beat=(1000, 1000)))
    sub = engine.subscribe("/q", ack="client")
    chat.send(sub)
    chat.send(engine.send("/q", "x"))
    engine.react(engine.heartbeat())
    chat.send(engine.disconnect())
    assert engine.state is State.CLOSED
    assert len(chat.replies) == 1
    with pytest.raises(AssertionError, match="clock"):
        time.monotonic()  # the trap is set
