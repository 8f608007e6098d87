"""The TLS set-up the asyncio and blocking clients share (the one `_client` module that is not
pure: it builds an `ssl` context)."""

from __future__ import annotations

import ssl as ssl_module

from stompmodels._client.url import BrokerURL


def ssl_context_for(
    url: BrokerURL, ssl: ssl_module.SSLContext | bool | None
) -> ssl_module.SSLContext | None:
    """The TLS context to use: the one given, or a default one that verifies certificates."""
    if isinstance(ssl, ssl_module.SSLContext):
        return ssl
    if ssl or (ssl is None and url.tls):
        return ssl_module.create_default_context()
    return None
