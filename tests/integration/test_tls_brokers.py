"""``stomp+ssl://`` against a real broker: the private ActiveMQ's TLS connector and a test CA.

The broker's certificate names ``localhost`` only and is signed by a CA made for this session.
A client that trusts that CA gets a full session (asyncio, blocking, and the CLI); verification
is on by default, so the system's CAs refuse it; connecting to ``127.0.0.1`` is a host name
mismatch; and a self-signed certificate (served by a TLS relay in front of the same broker) is
refused, while a client that trusts exactly that certificate gets through the same relay.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from base64 import b64decode
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stompmodels import aio, blocking
from stompmodels.aio import ConnectionLost
from tests.test_cli import run_cli

from ._brokers import BrokerGate
from ._tls_relay import TlsRelay
from .conftest_private import PrivateBroker, private_activemq

TIMEOUT = 10.0
BODY = b"over TLS \x00 with a NUL"
# What OpenSSL says when the chain ends in a CA nobody here trusts.
UNTRUSTED = "CERTIFICATE_VERIFY_FAILED.*(self.signed certificate in certificate chain|local issuer)"
SELF_SIGNED = "CERTIFICATE_VERIFY_FAILED.*self.signed certificate(?! in certificate chain)"


@pytest.fixture(scope="session")
def private(
    request: pytest.FixtureRequest, brokers: BrokerGate, tmp_path_factory: pytest.TempPathFactory
) -> PrivateBroker:
    return private_activemq(request, brokers, tmp_path_factory)


def queue() -> str:
    return f"/queue/stompmodels-tls-{uuid.uuid4().hex[:12]}"


def trusting(ca: Path) -> ssl.SSLContext:
    """A default (verifying) context that also trusts `ca`."""
    return ssl.create_default_context(cafile=str(ca))


# -- sessions over TLS ----------------------------------------------------------------------


async def aio_session(url: str, context: ssl.SSLContext | None) -> tuple[str | None, bytes]:
    """Connect, subscribe, send with receipt, receive, ack, disconnect; (server, body)."""
    destination = queue()
    client = aio.Client(url, ssl=context, timeout=TIMEOUT, heart_beat=(0, 0))
    async with client:
        subscription = await client.subscribe(destination, ack="client-individual")
        await client.send(destination, BODY, receipt=True)
        message = await subscription.get(TIMEOUT)
        await subscription.ack(message)
        server = client.engine.server
    return server, message.body


def blocking_session(url: str, context: ssl.SSLContext | None) -> tuple[str | None, bytes]:
    """The same session as `aio_session`, with the blocking client."""
    destination = queue()
    with blocking.Client(url, ssl=context, timeout=TIMEOUT, heart_beat=(0, 0)) as client:
        subscription = client.subscribe(destination, ack="client-individual")
        client.send(destination, BODY, receipt=True)
        message = subscription.get(TIMEOUT)
        subscription.ack(message, receipt=True)
        server = client.engine.server
    return server, message.body


Session = Callable[[str, ssl.SSLContext | None], tuple[str | None, bytes]]
SESSIONS: dict[str, Session] = {
    "aio": lambda url, context: asyncio.run(aio_session(url, context)),
    "blocking": blocking_session,
}


@pytest.fixture(params=sorted(SESSIONS))
def session(request: pytest.FixtureRequest) -> Session:
    """A full session with each client in turn."""
    return SESSIONS[request.param]


def test_a_full_session_with_a_context_that_trusts_the_test_ca(
    private: PrivateBroker, session: Session
) -> None:
    server, body = session(private.broker.ssl_url(), trusting(private.pki.ca))
    assert server is not None and server.startswith("ActiveMQ/")
    assert body == BODY


def test_the_cli_sends_and_listens_over_tls_with_the_ca_from_ssl_cert_file(
    private: PrivateBroker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The CLI has no option for a CA: its default context reads OpenSSL's SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(private.pki.ca))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    url, destination = private.broker.ssl_url(), queue()
    sent = run_cli(capsys, "send", "--url", url, destination, "hello over TLS", "--receipt")
    assert (sent.status, sent.err) == (0, "")
    heard = run_cli(capsys, "listen", "--url", url, destination, "--count", "1", "--json")
    assert (heard.status, heard.err) == (0, "")
    assert [b64decode(record["body"]) for record in heard.json_lines()] == [b"hello over TLS"]


def test_the_cli_trusts_the_ca_given_with_cafile(
    private: PrivateBroker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    url, destination, ca = private.broker.ssl_url(), queue(), str(private.pki.ca)
    sent = run_cli(capsys, "send", "--url", url, "--cafile", ca, destination, "hi", "--receipt")
    assert (sent.status, sent.err) == (0, "")
    heard = run_cli(
        capsys, "listen", "--url", url, "--cafile", ca, destination, "--count", "1", "--json"
    )
    assert (heard.status, heard.err) == (0, "")
    assert [b64decode(record["body"]) for record in heard.json_lines()] == [b"hi"]


def test_a_missing_cafile_is_a_usage_error(
    private: PrivateBroker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-such-ca.pem")
    run = run_cli(capsys, "send", "--url", private.broker.ssl_url(), "--cafile", missing, "/q", "x")
    assert run.status == 2
    assert run.err.startswith("stompmodels: error: cannot load --cafile")


def test_the_cli_refuses_the_broker_without_the_ca(
    private: PrivateBroker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    run = run_cli(capsys, "send", "--url", private.broker.ssl_url(), queue(), "never sent")
    assert run.status == 1
    assert run.err.startswith("stompmodels: error: cannot reach stomp+ssl://")
    assert "certificate verify failed" in run.err
    assert "Traceback" not in run.err


# -- refusals --------------------------------------------------------------------------------


def connect_aio(url: str, context: ssl.SSLContext | None) -> None:
    async def attempt() -> None:
        await aio.Client(url, ssl=context, timeout=TIMEOUT, heart_beat=(0, 0)).connect()

    asyncio.run(attempt())


def connect_blocking(url: str, context: ssl.SSLContext | None) -> None:
    blocking.Client(url, ssl=context, timeout=TIMEOUT, heart_beat=(0, 0)).connect()


Connect = Callable[[str, ssl.SSLContext | None], None]
CONNECTS: dict[str, Connect] = {"aio": connect_aio, "blocking": connect_blocking}


@pytest.fixture(params=sorted(CONNECTS))
def connect(request: pytest.FixtureRequest) -> Connect:
    """Only the connect, with each client in turn (it must fail in the TLS handshake)."""
    return CONNECTS[request.param]


def test_verification_is_on_by_default(private: PrivateBroker, connect: Connect) -> None:
    # No context given: stomp+ssl:// verifies with the system's CAs, which know not our CA.
    with pytest.raises(ConnectionLost, match=UNTRUSTED):
        connect(private.broker.ssl_url(), None)


def test_a_certificate_for_another_host_name_is_refused(
    private: PrivateBroker, connect: Connect
) -> None:
    # The CA is trusted, but the certificate names localhost, not the address 127.0.0.1.
    with pytest.raises(ConnectionLost, match="mismatch.*not valid for '127.0.0.1'"):
        connect(private.broker.ssl_url("127.0.0.1"), trusting(private.pki.ca))


@pytest.fixture(scope="module")
def self_signed_port(private: PrivateBroker) -> Iterator[int]:
    """A TLS port in front of the private broker, serving the self-signed certificate."""
    pki = private.pki
    with TlsRelay(pki.self_signed_cert, pki.self_signed_key, private.broker.plain_port) as port:
        yield port


def test_a_self_signed_certificate_is_refused(
    private: PrivateBroker, self_signed_port: int, connect: Connect
) -> None:
    url = f"stomp+ssl://guest:guest@localhost:{self_signed_port}/"
    for context in (None, trusting(private.pki.ca)):
        with pytest.raises(ConnectionLost, match=SELF_SIGNED):
            connect(url, context)


def test_the_self_signed_relay_works_for_a_client_that_trusts_that_certificate(
    private: PrivateBroker, self_signed_port: int
) -> None:
    # The control for the test above: the refusal is the certificate's doing, not the relay's.
    url = f"stomp+ssl://guest:guest@localhost:{self_signed_port}/"
    server, body = SESSIONS["aio"](url, trusting(private.pki.self_signed_cert))
    assert server is not None and server.startswith("ActiveMQ/")
    assert body == BODY
