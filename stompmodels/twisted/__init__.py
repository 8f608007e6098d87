"""A Twisted STOMP client: a client factory that owns the `ClientSession` every stompmodels
client runs, and a Protocol per connection that drives it.

    factory = StompClientFactory("stomp://guest:guest@127.0.0.1:61613/", reconnect=Backoff())
    stomp = await factory.connect()            # a Deferred: fires once CONNECTED came
    await stomp.send("/queue/a", "hello", receipt=True)

Needs Twisted (``pip install 'stompmodels[twisted]'``); the rest of stompmodels never imports it.
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
)
from stompmodels._client.url import BrokerURL

from .factory import StompClientFactory
from .interfaces import Clock, Connector, DelayedCall, Reactor
from .protocol import StompProtocol
from .subscription import MessageCallback, Subscription

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
    "HeartbeatTimeout",
    "MessageCallback",
    "Reactor",
    "StompClientFactory",
    "StompProtocol",
    "Subscription",
]
