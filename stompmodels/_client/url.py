"""Broker addresses from URLs: `stomp://user:pass@host:61613/vhost`, `stomp+ssl://`, failover,
and STOMP over WebSocket: `ws://user:pass@host:15674/ws?vhost=name`, `wss://`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import SecretStr

# RabbitMQ's documented ports: STOMP 61613 plain, 61614 TLS; Web-STOMP 15674 plain, 15673 TLS.
DEFAULT_PORTS: Final = {
    "stomp": 61613,
    "stomp+ssl": 61614,
    "stomp+tls": 61614,
    "ws": 15674,
    "wss": 15673,
}
_WEBSOCKET_SCHEMES: Final = ("ws", "wss")


@dataclass(frozen=True, slots=True)
class BrokerURL:
    """Where and how to connect to one broker; the passcode never shows in a repr.

    `websocket_path` is None for STOMP over TCP, else the HTTP path of a WebSocket endpoint.
    """

    host: str
    port: int = 61613
    login: str | None = None
    passcode: SecretStr | None = field(default=None, repr=False)
    vhost: str = "/"
    tls: bool = False
    websocket_path: str | None = None

    @property
    def scheme(self) -> str:
        """``stomp``, ``stomp+ssl``, ``ws`` or ``wss``."""
        if self.websocket_path is not None:
            return "wss" if self.tls else "ws"
        return "stomp+ssl" if self.tls else "stomp"

    @property
    def websocket_uri(self) -> str:
        """The WebSocket address to open, without credentials (they go in CONNECT)."""
        path = self.websocket_path if self.websocket_path is not None else "/"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"

    def __str__(self) -> str:
        user = f"{self.login}@" if self.login else ""
        path = self.websocket_path or ""
        return f"{self.scheme}://{user}{self.host}:{self.port}{path}"


def parse_url(url: str) -> BrokerURL:
    """One broker from a ``stomp://``, ``stomp+ssl://``, ``ws://`` or ``wss://`` URL.

    For STOMP over TCP the path is the virtual host; for WebSocket it is the endpoint's path,
    and the virtual host goes in the query (``?vhost=name``). ValueError names what is wrong.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(
            f"unsupported URL scheme {scheme!r}: use stomp://, stomp+ssl://, ws:// or wss://"
        )
    if not parts.hostname:
        raise ValueError("the URL names no host")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("the URL's port is not a number from 0 to 65535") from None
    path = unquote(parts.path)
    websocket = scheme in _WEBSOCKET_SCHEMES
    if websocket:
        vhosts = parse_qs(parts.query).get("vhost", ["/"])
        vhost, websocket_path = vhosts[-1], parts.path or "/"
    else:
        vhost, websocket_path = (path[1:] if len(path) > 1 else "/"), None
    return BrokerURL(
        host=parts.hostname,
        port=port,
        login=unquote(parts.username) if parts.username else None,
        passcode=SecretStr(unquote(parts.password)) if parts.password is not None else None,
        vhost=vhost,
        tls=scheme not in ("stomp", "ws"),
        websocket_path=websocket_path,
    )


def parse_urls(urls: str | list[str]) -> list[BrokerURL]:
    """Brokers to try in turn: a list, a comma list, or ``failover:(url,url)``."""
    if isinstance(urls, str):
        text = urls.strip()
        if text.startswith("failover:"):
            text = text.removeprefix("failover:").strip()
            if not (text.startswith("(") and text.endswith(")")):
                raise ValueError("a failover URL looks like failover:(stomp://a,stomp://b)")
            text = text[1:-1]
        urls = [item for item in text.split(",") if item.strip()]
    if not urls:
        raise ValueError("no broker URL given")
    return [parse_url(url) for url in urls]


def brokers_for(
    url: str | list[str] | BrokerURL | None,
    *,
    host: str,
    port: int,
    login: str | None,
    passcode: str | SecretStr | None,
    vhost: str,
    tls: bool,
) -> list[BrokerURL]:
    """The brokers a client was given: URL(s) if any, else the keyword arguments."""
    if isinstance(url, BrokerURL):
        return [url]
    if url is not None:
        return parse_urls(url)
    secret = SecretStr(passcode) if isinstance(passcode, str) else passcode
    return [BrokerURL(host, port, login, secret, vhost, tls=tls)]


def require_tcp(urls: list[BrokerURL], client: str) -> None:
    """Refuse WebSocket URLs for a client that speaks STOMP over TCP only."""
    for broker in urls:
        if broker.websocket_path is not None:
            raise ValueError(
                f"{broker.scheme}:// is STOMP over WebSocket, which {client} does not speak: "
                "use stompmodels.ws.Client (asyncio)"
            )
