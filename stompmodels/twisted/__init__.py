"""A Twisted STOMP client: a client factory that owns the `ClientSession` every stompmodels
client runs, and a Protocol per connection that drives it.

    factory = StompClientFactory("stomp://guest:guest@127.0.0.1:61613/", reconnect=Backoff())
    stomp = await factory.connect()            # a Deferred: fires once CONNECTED came
    await stomp.send("/queue/a", "hello", receipt=True)

Needs Twisted (``pip install 'stompmodels[twisted]'``; without it, importing this package raises
a ModuleNotFoundError that says so); the rest of stompmodels never imports it.
"""

from __future__ import annotations

import logging

from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import (
    BrokerError,
    Closed,
    ConnectionEvent,
    ConnectionLost,
    HeartbeatTimeout,
    MissingExtra,
)
from stompmodels._client.health import Health
from stompmodels._client.url import BrokerURL

try:
    from .factory import StompClientFactory
    from .interfaces import Clock, Connector, DelayedCall, Reactor
    from .protocol import StompProtocol
    from .subscription import MessageCallback, Subscription
except ModuleNotFoundError as exc:
    if not MissingExtra.is_missing(exc, "twisted"):
        raise
    raise MissingExtra("stompmodels.twisted needs", "twisted", "twisted") from exc

logging.getLogger("stompmodels").addHandler(logging.NullHandler())  # the application decides

__all__ = [
    "Backoff",
    "BrokerError",
    "BrokerURL",
    "Clock",
    "Closed",
    "ConnectionEvent",
    "ConnectionLost",
    "Connector",
    "DelayedCall",
    "Health",
    "HeartbeatTimeout",
    "MessageCallback",
    "Reactor",
    "StompClientFactory",
    "StompProtocol",
    "Subscription",
]
