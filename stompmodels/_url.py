"""Broker addresses from URLs: `stomp://user:pass@host:61613/vhost`, `stomp+ssl://`, failover."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

# RabbitMQ's documented STOMP ports: 61613 plain, 61614 TLS.
DEFAULT_PORTS: Final = {"stomp": 61613, "stomp+ssl": 61614, "stomp+tls": 61614}


@dataclass(frozen=True, slots=True)
class BrokerURL:
    """Where and how to connect to one broker; the passcode never shows in a repr."""

    host: str
    port: int = 61613
    login: str | None = None
    passcode: SecretStr | None = field(default=None, repr=False)
    vhost: str = "/"
    tls: bool = False

    def __str__(self) -> str:
        scheme = "stomp+ssl" if self.tls else "stomp"
        user = f"{self.login}@" if self.login else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_url(url: str) -> BrokerURL:
    """One broker from a ``stomp://`` or ``stomp+ssl://`` URL; ValueError names what is wrong."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"unsupported URL scheme {scheme!r}: use stomp:// or stomp+ssl://")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("the URL's port is not a number from 0 to 65535") from None
    path = unquote(parts.path)
    return BrokerURL(
        host=parts.hostname,
        port=port,
        login=unquote(parts.username) if parts.username else None,
        passcode=SecretStr(unquote(parts.password)) if parts.password is not None else None,
        vhost=path[1:] if len(path) > 1 else "/",
        tls=scheme != "stomp",
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
