"""Broker addresses from URLs: `stomp://user:pass@host:61613/vhost`, `stomp+ssl://`, failover,
and STOMP over WebSocket: `ws://user:pass@host:15674/ws?vhost=name`, `wss://`."""

from __future__ import annotations

import re
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
        return f"{self.scheme}://{self._host}:{self.port}{path}"

    @property
    def _host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def __str__(self) -> str:
        user = f"{self.login}@" if self.login else ""
        path = self.websocket_path or ""
        return f"{self.scheme}://{user}{self._host}:{self.port}{path}"


def parse_url(url: str) -> BrokerURL:
    """One broker from a ``stomp://``, ``stomp+ssl://``, ``ws://`` or ``wss://`` URL.

    For STOMP over TCP the path is the virtual host; for WebSocket it is the endpoint's path,
    and the virtual host goes in the query (``?vhost=name``). The login and passcode end at the
    URL's last ``@``, so a passcode may hold ``/``, ``?``, ``#`` or ``@`` as they are (an ``@``
    in the vhost or query is written ``%40``); both are percent-decoded. ValueError names what
    is wrong, and neither it nor the `BrokerURL`'s str or repr ever shows the passcode.
    """
    scheme, userinfo, rest = _split(url.strip())
    if scheme not in DEFAULT_PORTS:
        shown = repr(scheme) if scheme else "(none)"
        raise ValueError(
            f"unsupported URL scheme {shown}: use stomp://, stomp+ssl://, ws:// or wss://"
        )
    # What is left holds no credentials, so nothing urllib says about it can show them.
    parts = urlsplit(f"{scheme}://{rest}")
    if not parts.hostname:
        raise ValueError("the URL names no host")
    if _NOT_IN_HOSTS.search(parts.hostname):
        raise ValueError("the URL's host is not a host name or address")
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
    login, colon, passcode = (userinfo or "").partition(":")
    return BrokerURL(
        host=parts.hostname,
        port=port,
        login=unquote(login) if login else None,
        passcode=SecretStr(unquote(passcode)) if colon else None,
        vhost=vhost,
        tls=scheme not in ("stomp", "ws"),
        websocket_path=websocket_path,
    )


_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_NOT_IN_HOSTS: Final = re.compile(r"[\s,()]")
_NEXT_URL: Final = re.compile(r",\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def _split(url: str) -> tuple[str, str | None, str]:
    """The scheme (lower case), the userinfo (None if no ``@``) and the rest of `url`.

    The userinfo runs from ``//`` to the last ``@``: the host, port, path and query that
    follow hold none unencoded, while a passcode may hold ``/``, ``?``, ``#`` and ``@``.
    """
    match = _SCHEME.match(url)
    if match is None:
        return "", None, url
    scheme, rest = match[1].lower(), url[match.end() :]
    if not rest.startswith("//"):
        return scheme, None, ""  # no authority, so no host
    userinfo, at, rest = rest[2:].rpartition("@")
    return scheme, (userinfo if at else None), rest


def parse_urls(urls: str | list[str]) -> list[BrokerURL]:
    """Brokers to try in turn: a list, a comma list, or ``failover:(url,url)``.

    A comma starts a new URL only where a scheme (``name://``) follows it, so a passcode may
    hold commas and parentheses.
    """
    if isinstance(urls, str):
        text = urls.strip()
        if text.startswith("failover:"):
            text = text.removeprefix("failover:").strip()
            if not (text.startswith("(") and text.endswith(")")):
                raise ValueError("a failover URL looks like failover:(stomp://a,stomp://b)")
            text = text[1:-1]
        urls = [item for item in _NEXT_URL.split(text) if item.strip()]
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
