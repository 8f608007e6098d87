"""The asyncio client over TLS, against an in-process fake broker with a test CA's certificate."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from stompmodels.aio import Client, ConnectionLost
from tests.conftest import Certificate
from tests.fake_server import FakeServer


async def serve_stomp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A fake broker per connection: whatever the client sends, FakeServer answers."""
    server = FakeServer()
    try:
        while data := await reader.read(65536):
            for answer in server.receive(data):
                writer.write(answer)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def tls_server(certificate: Certificate) -> tuple[asyncio.Server, int]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    server = await asyncio.start_server(serve_stomp, "127.0.0.1", 0, ssl=context)
    return server, server.sockets[0].getsockname()[1]


def test_a_session_over_tls_with_a_trusted_certificate(certificate: Certificate) -> None:
    async def scenario() -> str | None:
        server, port = await tls_server(certificate)
        trusted = ssl.create_default_context(cafile=str(certificate.cert))
        async with server, Client(port=port, ssl=trusted, heart_beat=(0, 0), timeout=10) as c:
            await c.send("/queue/a", b"over \x00 TLS", receipt=True)
            return c.engine.version

    assert asyncio.run(scenario()) == "1.2"


def test_a_self_signed_certificate_is_refused_by_default(certificate: Certificate) -> None:
    async def scenario() -> None:
        server, port = await tls_server(certificate)
        async with server:
            # stomp+ssl:// verifies certificates and host names with the system's CAs.
            client = Client(f"stomp+ssl://guest:guest@127.0.0.1:{port}/", timeout=10)
            await client.connect()

    with pytest.raises(ConnectionLost, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(scenario())


def test_a_certificate_for_another_host_name_is_refused(certificate: Certificate) -> None:
    async def scenario() -> None:
        server, port = await tls_server(certificate)
        trusted = ssl.create_default_context(cafile=str(certificate.cert))
        async with server:
            # "localhost" resolves to the server, but the certificate names only 127.0.0.1.
            await Client(host="localhost", port=port, ssl=trusted, timeout=10).connect()

    with pytest.raises(ConnectionLost, match="match|mismatch|not valid for"):
        asyncio.run(scenario())
