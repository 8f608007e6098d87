"""An embedded STOMP broker: in memory, one process, for development, tests and demos.

`Broker` is the sans-IO core (bytes in and out per connection, time passed in); `serve` runs
it as an asyncio server over TCP, and over WebSocket with the `ws` extra.
"""

from stompmodels.broker.core import Broker, Output
from stompmodels.broker.server import BrokerServer, serve
from stompmodels.broker.views import ConnectionInfo, HeldMessage, SubscriptionInfo

__all__ = [
    "Broker",
    "BrokerServer",
    "ConnectionInfo",
    "HeldMessage",
    "Output",
    "SubscriptionInfo",
    "serve",
]
