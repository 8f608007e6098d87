"""Heart-beat arithmetic (STOMP 1.2 "Heart-beating"), as pure functions of the time given."""

from __future__ import annotations

from typing import Final

from ._headers import HeartBeat

DEFAULT_GRACE: Final = 2.5
"""How many receive intervals may pass in silence before the peer counts as dead.

ActiveMQ sends its first heart-beat about two intervals after the frame before it, so two
intervals exactly is too tight; RabbitMQ gives clients about three."""

EOL: Final = b"\n"
"""A heart-beat, as sent between frames."""


def negotiate_heart_beat(client: HeartBeat, server: HeartBeat) -> HeartBeat:
    """The intervals in force, from the client's side: (client sends every, client expects every).

    STOMP 1.2: the client sends every max(cx, sy) ms unless cx or sy is 0, and expects the
    server every max(sx, cy) ms unless sx or cy is 0.
    """
    send = max(client.send_ms, server.receive_ms) if client.send_ms and server.receive_ms else 0
    receive = max(server.send_ms, client.receive_ms) if server.send_ms and client.receive_ms else 0
    return HeartBeat(send, receive)


def next_heart_beat_at(last_sent: float, send_ms: int) -> float | None:
    """When a heart-beat is due (seconds, same clock as `last_sent`); None if none are sent."""
    return last_sent + send_ms / 1000 if send_ms else None


def peer_deadline(
    last_received: float, receive_ms: int, grace: float = DEFAULT_GRACE
) -> float | None:
    """The time after which a silent peer is overdue; None when no heart-beats are expected."""
    return last_received + grace * receive_ms / 1000 if receive_ms else None


def peer_overdue(
    now: float, last_received: float, receive_ms: int, grace: float = DEFAULT_GRACE
) -> bool:
    """Whether nothing at all (frame or heart-beat) has arrived for longer than allowed."""
    deadline = peer_deadline(last_received, receive_ms, grace)
    return deadline is not None and now > deadline
