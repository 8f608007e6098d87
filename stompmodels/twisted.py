"""A Twisted STOMP client: a Protocol and a client factory around the sans-IO Engine.

    factory = StompClientFactory("stomp://guest:guest@127.0.0.1:61613/", reconnect=True)
    stomp = await factory.connect()            # a Deferred: fires once CONNECTED came
    await stomp.send("/queue/a", "hello", receipt=True)

Needs Twisted (``pip install 'stompmodels[twisted]'``); the rest of stompmodels never imports it.
"""

from __future__ import annotations

import logging

from ._transport import BrokerError, ConnectionLost, HeartbeatTimeout
from ._twisted_commands import Closed
from ._twisted_factory import ConnectionEvent, StompClientFactory
from ._twisted_protocol import StompProtocol
from ._twisted_subscription import MessageCallback, Subscription
from ._twisted_types import Clock, DelayedCall, Reactor
from ._url import BrokerURL

logging.getLogger("stompmodels").addHandler(logging.NullHandler())  # the application decides

__all__ = [
    "BrokerError",
    "BrokerURL",
    "Clock",
    "Closed",
    "ConnectionEvent",
    "ConnectionLost",
    "DelayedCall",
    "HeartbeatTimeout",
    "MessageCallback",
    "Reactor",
    "StompClientFactory",
    "StompProtocol",
    "Subscription",
]
