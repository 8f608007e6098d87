# Partial stubs for stomp.connect (stomp.py 9): only what the tests and benchmarks use.
from typing import Any

from stomp.listener import ConnectionListener
from stomp.protocol import Protocol12
from stomp.transport import BaseTransport

_Headers = dict[str, Any]

class BaseConnection:
    def __init__(self, transport: BaseTransport) -> None: ...
    def set_listener(self, name: str, listener: ConnectionListener) -> None: ...

class StompConnection12(BaseConnection, Protocol12):
    def __init__(
        self,
        host_and_ports: list[tuple[str, int]] | None = None,
        prefer_localhost: bool = True,
        try_loopback_connect: bool = True,
        reconnect_sleep_initial: float = 0.1,
        reconnect_sleep_increase: float = 0.5,
        reconnect_sleep_jitter: float = 0.1,
        reconnect_sleep_max: float = 60.0,
        reconnect_attempts_max: int = 3,
        timeout: float | None = None,
        heartbeats: tuple[int, int] = (0, 0),
        keepalive: bool | tuple[Any, ...] | None = None,
        vhost: str | None = None,
        auto_decode: bool = True,
        encoding: str = "utf-8",
        auto_content_length: bool = True,
        heart_beat_receive_scale: float = 1.5,
        bind_host_port: tuple[str, int] | None = None,
    ) -> None: ...
    def disconnect(
        self, receipt: str | None = None, headers: _Headers | None = None, **keyword_headers: Any
    ) -> None: ...
