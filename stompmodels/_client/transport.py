"""What every transport shares: the CONNECT it sends, SUBSCRIBE headers, TLS set-up."""

from __future__ import annotations

import ssl as ssl_module
from collections.abc import Mapping
from typing import Final

from stompmodels._engine import Engine
from stompmodels._frames import Connect, Stomp
from stompmodels._headers import AckMode, HeartBeat
from stompmodels._spec import Version

from .url import BrokerURL


def connect_frame(
    engine: Engine, url: BrokerURL, heart_beat: HeartBeat, versions: tuple[Version, ...]
) -> Connect | Stomp:
    """The CONNECT a transport sends for `url`."""
    return engine.connect(
        login=url.login,
        passcode=url.passcode,
        host=url.vhost,
        versions=versions,
        heart_beat=heart_beat,
    )


# How many unacknowledged messages a broker may send ahead: RabbitMQ reads `prefetch-count`,
# ActiveMQ `activemq.prefetchSize`; each ignores the other's header.
PREFETCH_HEADERS: Final = ("prefetch-count", "activemq.prefetchSize")


def subscribe_headers(
    headers: Mapping[str, str] | None, ack: AckMode, prefetch: int | None, queue_size: int
) -> dict[str, str]:
    """A SUBSCRIBE's custom headers with the brokers' prefetch headers added.

    The broker may send at most `prefetch` messages before they are acknowledged; by default,
    when messages are acknowledged, as many as the client's queue holds, so that a slow consumer
    holds the broker back instead of filling memory. Headers given explicitly win.
    """
    if prefetch is not None and prefetch < 1:
        raise ValueError("prefetch must be at least 1")
    merged = dict(headers or {})
    window = prefetch if prefetch is not None else (None if ack == "auto" else queue_size)
    if window is not None:
        for name in PREFETCH_HEADERS:
            merged.setdefault(name, str(window))
    return merged


def ssl_context_for(
    url: BrokerURL, ssl: ssl_module.SSLContext | bool | None
) -> ssl_module.SSLContext | None:
    """The TLS context to use: the one given, or a default one that verifies certificates."""
    if isinstance(ssl, ssl_module.SSLContext):
        return ssl
    if ssl or (ssl is None and url.tls):
        return ssl_module.create_default_context()
    return None
