"""The options every client takes, as one frozen value: the same for every driver."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from pydantic import SecretStr

from stompmodels._client.backoff import Backoff
from stompmodels._client.errors import ConnectionEvent
from stompmodels._client.url import BrokerURL, brokers_for
from stompmodels._headers import AckMode, HeartBeat
from stompmodels._limits import Limits
from stompmodels._spec import VERSIONS, Version

# How many unacknowledged messages a broker may send ahead: RabbitMQ reads `prefetch-count`,
# ActiveMQ `activemq.prefetchSize`; each ignores the other's header.
PREFETCH_HEADERS: Final = ("prefetch-count", "activemq.prefetchSize")

DEFAULT_HEART_BEAT: Final = HeartBeat(10000, 10000)
"""Every 10 s each way: what a client offers unless told otherwise."""

StateCallback = Callable[[ConnectionEvent, BrokerURL], None]
"""Told "connected", "lost", "reconnected" and "closed", with the broker's URL."""

CredentialsHook = Callable[[BrokerURL], BrokerURL]
"""Called with each broker's URL before every connect; returns the URL to use."""


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """What a client was given: brokers (in failover order), session and reconnect settings.

    Every driver (asyncio, blocking, Twisted) builds one from its constructor's keywords with
    `ClientOptions.build`, so the options mean the same everywhere.
    """

    urls: tuple[BrokerURL, ...]
    heart_beat: HeartBeat = DEFAULT_HEART_BEAT
    versions: tuple[Version, ...] = VERSIONS
    timeout: float = 10.0
    limits: Limits | None = None
    queue_size: int = 1000
    backoff: Backoff | None = None
    credentials: CredentialsHook | None = None
    on_state: StateCallback | None = None
    telemetry: bool = False
    """Whether OpenTelemetry spans and metrics are recorded (the `otel` extra)."""

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError("a client needs at least one broker URL")
        if self.queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        if not self.timeout > 0:
            raise ValueError("timeout must be positive")
        if not self.versions:
            raise ValueError("versions must offer at least one STOMP version")

    @classmethod
    def build(
        cls,
        url: str | list[str] | BrokerURL | None,
        *,
        host: str,
        port: int,
        login: str | None,
        passcode: str | SecretStr | None,
        vhost: str,
        tls: bool,
        heart_beat: HeartBeat | tuple[int, int],
        versions: tuple[Version, ...],
        timeout: float,
        limits: Limits | None,
        queue_size: int,
        reconnect: Backoff | bool,
        credentials: CredentialsHook | None,
        on_state: StateCallback | None,
        telemetry: bool = False,
    ) -> ClientOptions:
        """The options of a client constructor's keywords (`reconnect=True`: `Backoff()`)."""
        urls = brokers_for(
            url, host=host, port=port, login=login, passcode=passcode, vhost=vhost, tls=tls
        )
        return cls(
            urls=tuple(urls),
            heart_beat=HeartBeat(*heart_beat),
            versions=versions,
            timeout=timeout,
            limits=limits,
            queue_size=queue_size,
            backoff=Backoff() if reconnect is True else reconnect or None,
            credentials=credentials,
            on_state=on_state,
            telemetry=telemetry,
        )

    def subscribe_headers(
        self, headers: Mapping[str, str] | None, ack: AckMode, prefetch: int | None
    ) -> dict[str, str]:
        """A SUBSCRIBE's custom headers with the brokers' prefetch headers added.

        The broker may send at most `prefetch` messages before they are acknowledged; by
        default, when messages are acknowledged, as many as the client's queue holds, so that a
        slow consumer holds the broker back instead of filling memory. Headers given win.
        """
        if prefetch is not None and prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        merged = dict(headers or {})
        window = prefetch if prefetch is not None else (None if ack == "auto" else self.queue_size)
        if window is not None:
            for name in PREFETCH_HEADERS:
                merged.setdefault(name, str(window))
        return merged
