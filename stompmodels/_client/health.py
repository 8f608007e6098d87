"""`Health`: what a client can say of itself, and whether all of it is well."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Health:
    """A client's state at one moment (`client.health()`). `ok` is true only while it is
    connected, its reader and every subscriber are running, and the broker is not overdue
    (silent past the agreed heart-beat deadline); `problems` says what is not well."""

    ok: bool
    connected: bool
    broker: str
    """The broker's URL (the passcode never shows)."""
    server: str | None
    """The broker's self-description from CONNECTED, e.g. ``RabbitMQ/3.10.8``."""
    version: str | None
    """The negotiated STOMP version; None while not connected."""
    since_last_byte: float | None
    """Seconds since the broker last sent anything (None before the first connection)."""
    reader_running: bool
    subscribers_running: bool
    """Whether every typed subscriber can still handle messages (true when there are none)."""
    in_flight: int
    """Messages whose handlers are running now."""
    problems: tuple[str, ...] = ()
