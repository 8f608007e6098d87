"""The private ActiveMQ of the TLS and restart tests: started once per pytest session, shared.

A fixture imported into several test modules would be one fixture per module, and so one JVM
per module; instead each module defines a thin session fixture that calls `private_activemq`,
which starts the broker on first use and hands the same one to every later caller. It is
stopped (by its pid) when the session ends, whether the tests passed or not. Like the shared
brokers' gate, a broker that cannot start skips its tests, or fails them under ``CI=true``.
"""

from __future__ import annotations

import atexit
import os
import subprocess
from dataclasses import dataclass

import pytest

from ._brokers import ACTIVEMQ, BrokerGate
from ._private_activemq import PrivateActiveMQ, unavailable
from ._tls_certs import Certificates, make_pki, openssl_missing


@dataclass(frozen=True, slots=True)
class PrivateBroker:
    """The running private broker and the PKI its TLS connector uses."""

    broker: PrivateActiveMQ
    pki: Certificates


_shared: PrivateBroker | None = None
_problem: str | None = None


def _give_up(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _stop_shared() -> None:
    if _shared is not None:
        _shared.broker.stop()


def _start(brokers: BrokerGate, factory: pytest.TempPathFactory) -> PrivateBroker:
    if openssl_missing():
        raise RuntimeError("the openssl command is not installed")
    if unavailable() is not None:
        brokers.require(ACTIVEMQ)  # its script installs Debian's activemq package
    why = unavailable()
    if why is not None:
        raise RuntimeError(why)
    folder = factory.mktemp("private-activemq")
    pki = make_pki(folder / "pki")
    broker = PrivateActiveMQ(folder / "broker", pki.keystore, pki.keystore_password)
    atexit.register(broker.stop)  # a backstop: the session's finalizer stops it first
    broker.start()
    return PrivateBroker(broker, pki)


def private_activemq(
    request: pytest.FixtureRequest, brokers: BrokerGate, factory: pytest.TempPathFactory
) -> PrivateBroker:
    """The session's private broker, started on first call; call it from a session fixture."""
    global _shared, _problem  # noqa: PLW0603  # one broker per process, whoever asks first
    if _problem is not None:
        _give_up(_problem)
    if _shared is None:
        try:
            _shared = _start(brokers, factory)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            _problem = f"the private ActiveMQ did not start: {exc}"
            _give_up(_problem)
    assert _shared is not None
    if _shared.broker.pid is None:  # a failed restart test left it down: bring it back
        _shared.broker.start()
    request.addfinalizer(_stop_shared)  # session scope: runs once all tests are done
    return _shared
