"""A throw-away PKI for the TLS tests, made with the `openssl` command.

A test CA signs a server certificate for the DNS name ``localhost`` only (so connecting to
``127.0.0.1`` is a host name mismatch); the server's key, certificate and the CA go in a PKCS12
keystore for ActiveMQ. A separate self-signed certificate for ``localhost`` is for refusals.
Keys are EC P-256: quick to make, and both Java's and Python's TLS take them.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final

OPENSSL_TIMEOUT: Final = 30.0  # seconds for one openssl command
SERVER_NAME: Final = "localhost"
_EC_KEY: Final = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


@dataclass(frozen=True, slots=True)
class Certificates:
    """The files of one throw-away PKI."""

    ca: Path  # the test CA's certificate: what a client trusts
    server_cert: Path  # for `SERVER_NAME`, signed by the CA
    server_key: Path
    keystore: Path  # PKCS12: server key, server certificate, CA
    keystore_password: str
    self_signed_cert: Path  # for `SERVER_NAME`, signed by its own key
    self_signed_key: Path


def openssl_missing() -> bool:
    """Whether the openssl command is absent."""
    return shutil.which("openssl") is None


def openssl(*arguments: str | Path) -> None:
    """Run one openssl command (bounded in time); raise with its stderr if it fails."""
    done = subprocess.run(
        ["openssl", *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=OPENSSL_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"openssl {arguments[0]} failed: {done.stderr.strip()[-500:]}")


def make_pki(folder: Path) -> Certificates:
    """Make the CA, the server certificate, its keystore and a self-signed one in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    openssl(
        *("req", "-x509", *_EC_KEY, "-days", "2", "-keyout", ca_key, "-out", ca),
        *("-subj", "/CN=stompmodels test CA"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    )
    server_cert, server_key, request = folder / "server.pem", folder / "server.key", folder / "csr"
    openssl("req", *_EC_KEY, "-keyout", server_key, "-out", request, "-subj", f"/CN={SERVER_NAME}")
    extensions = folder / "server.ext"
    extensions.write_text(
        f"subjectAltName=DNS:{SERVER_NAME}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    openssl(
        *("x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial"),
        *("-days", "2", "-extfile", extensions, "-out", server_cert),
    )
    password = secrets.token_hex(12)
    keystore = folder / "broker.p12"
    openssl(
        *("pkcs12", "-export", "-in", server_cert, "-inkey", server_key, "-certfile", ca),
        *("-name", "broker", "-out", keystore, "-passout", f"pass:{password}"),
    )
    self_signed_cert, self_signed_key = folder / "self-signed.pem", folder / "self-signed.key"
    openssl(
        *("req", "-x509", *_EC_KEY, "-days", "2", "-keyout", self_signed_key),
        *("-out", self_signed_cert, "-subj", f"/CN={SERVER_NAME}"),
        *("-addext", f"subjectAltName=DNS:{SERVER_NAME}"),
    )
    return Certificates(
        ca, server_cert, server_key, keystore, password, self_signed_cert, self_signed_key
    )
