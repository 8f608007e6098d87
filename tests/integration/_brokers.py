"""The two real brokers the integration tests use, and how to make sure they are up.

Both listen on loopback only. `ensure` is called once per broker per session (by the
`brokers` fixture in conftest.py): it tries a TCP connect, runs the idempotent start script
from ``shared/brokers`` if that fails, and says what is wrong if the broker is still away.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import quote

import pytest

LOOPBACK: Final = "127.0.0.1"
CONNECT_TIMEOUT: Final = 1.0  # seconds for the reachability probe
START_TIMEOUT: Final = 240.0  # seconds for a start script (it installs on a fresh machine)


@dataclass(frozen=True, slots=True)
class Broker:
    """One broker: where it listens and what it calls itself in CONNECTED's `server`."""

    name: str
    port: int
    product: str
    host: str = LOOPBACK
    login: str = "guest"
    passcode: str = "guest"
    websocket_path: str | None = None  # STOMP over WebSocket at this path, else over TCP

    @property
    def url(self) -> str:
        return self.url_for(self.login, self.passcode)

    def url_for(self, login: str | None, passcode: str | None, vhost: str = "/") -> str:
        """A client URL for this broker with these credentials (percent-encode them first)."""
        user = f"{login or ''}:{passcode or ''}@" if login or passcode else ""
        if self.websocket_path is None:
            return f"stomp://{user}{self.host}:{self.port}/{quote(vhost, safe='')}"
        query = f"?vhost={quote(vhost, safe='')}" if vhost != "/" else ""
        return f"ws://{user}{self.host}:{self.port}{self.websocket_path}{query}"


RABBITMQ: Final = Broker("rabbitmq", 61613, "RabbitMQ")
ACTIVEMQ: Final = Broker("activemq", 61614, "ActiveMQ")
BROKERS: Final = {broker.name: broker for broker in (RABBITMQ, ACTIVEMQ)}
# RabbitMQ's Web-STOMP plugin: the same broker (and name) behind a WebSocket.
RABBITMQ_WS: Final = Broker("rabbitmq", 15674, "RabbitMQ", websocket_path="/ws")


def shared_dir() -> Path:
    """``shared/`` beside the checkout if it is there, else /work/shared."""
    beside = Path(__file__).resolve().parents[3] / "shared"
    return beside if beside.is_dir() else Path("/work/shared")


def reachable(broker: Broker) -> bool:
    """Whether something accepts TCP connections on the broker's loopback port."""
    try:
        with socket.create_connection((broker.host, broker.port), timeout=CONNECT_TIMEOUT):
            return True
    except OSError:
        return False


def ensure(broker: Broker) -> str | None:
    """Start `broker` if it is not reachable; None when it is up, else why it is not."""
    if reachable(broker):
        return None
    script = shared_dir() / "brokers" / broker.name
    if not script.is_file():
        return f"nothing listens on {broker.host}:{broker.port} and {script} does not exist"
    try:
        done = subprocess.run(
            ["bash", str(script)],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
            env={**os.environ, "BROKER_WAIT_SECONDS": str(int(START_TIMEOUT) - 30)},
        )
    except subprocess.TimeoutExpired:
        return f"`bash {script}` did not finish within {START_TIMEOUT:.0f} s"
    if reachable(broker):
        return None
    output = (done.stdout + done.stderr).strip().splitlines()
    tail = " | ".join(output[-5:]) or "(no output)"
    return f"`bash {script}` exited {done.returncode} and {broker.port} is still closed: {tail}"


def rabbitmqctl(*arguments: str) -> int:
    """Run RabbitMQ's control tool (bounded in time); its exit status."""
    tool = shutil.which("rabbitmqctl")
    assert tool is not None, "rabbitmqctl is needed to manage the test vhost"
    command = [tool, *arguments]
    return subprocess.run(command, capture_output=True, timeout=60, check=False).returncode


def prepare_vhost(vhost: str) -> None:
    """A RabbitMQ vhost of the tests' own, open to guest, so cutting its connections leaves
    every other client alone."""
    rabbitmqctl("add_vhost", vhost)  # fails harmlessly when it exists
    assert rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*") == 0


def cut_vhost_connections(vhost: str) -> None:
    """Make RabbitMQ drop every connection to `vhost` (as a broker restart would)."""
    assert rabbitmqctl("close_all_connections", "--vhost", vhost, "cut by a reconnect test") == 0


class BrokerGate:
    """Checks (and starts) each broker once per session, and remembers what went wrong: a
    broker that stays down skips its tests, or fails them when the environment says
    ``CI=true``."""

    def __init__(self) -> None:
        self._problems: dict[Broker, str | None] = {}

    def require(self, broker: Broker) -> Broker:
        """`broker`, once it answers (else the test is skipped or failed)."""
        if broker not in self._problems:
            self._problems[broker] = ensure(broker)
        problem = self._problems[broker]
        if problem is not None:
            reason = f"{broker.name} is not available on {broker.host}:{broker.port}: {problem}"
            if os.environ.get("CI", "").strip().lower() == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        return broker
