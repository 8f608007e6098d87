"""`stompmodels broker`: the embedded broker from the command line, as a user runs it.

The broker runs as a subprocess on a free port (`--port 0`, read back from its first log line);
the CLI's own `send` and `listen` talk to it. Every wait is bounded.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

SECRET = "hunter2-do-not-print"
_LISTENING = re.compile(r"stompmodels broker on stomp://127\.0\.0\.1:(\d+)/")


@dataclass
class BrokerProcess:
    process: subprocess.Popen[str]
    port: int

    def url(self, login: str = "", passcode: str = "") -> str:
        user = f"{login}:{passcode}@" if login else ""
        return f"stomp://{user}127.0.0.1:{self.port}/"

    def stop(self) -> str:
        """SIGTERM, then its log (stderr)."""
        self.process.send_signal(signal.SIGTERM)
        _, log = self.process.communicate(timeout=10)
        return log


def cli(*argv: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stompmodels", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(*options: str) -> BrokerProcess:
    process = subprocess.Popen(
        [sys.executable, "-m", "stompmodels", "broker", "--port", "0", *options],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 15
    line = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        found = _LISTENING.search(line)
        if found:
            return BrokerProcess(process, int(found.group(1)))
        if not line and process.poll() is not None:
            break
    process.kill()
    pytest.fail(f"the broker did not say where it listens: {line!r}")


@pytest.fixture
def broker_process() -> Iterator[BrokerProcess]:
    running = start("--user", f"app:{SECRET}")
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(10)


@pytest.mark.slow
def test_send_and_listen_through_the_cli_broker(broker_process: BrokerProcess) -> None:
    url = broker_process.url("app", SECRET)
    sent = cli("--url", url, "send", "/queue/cli", "hello broker", "--receipt")
    assert sent.returncode == 0, sent.stderr
    heard = cli("--url", url, "listen", "/queue/cli", "--count", "1", "--timeout", "5")
    assert heard.returncode == 0, heard.stderr
    assert "hello broker" in heard.stdout
    log = broker_process.stop()
    assert broker_process.process.returncode == 0
    # A line per connection: opened, connected (version and login), closed.
    assert len(re.findall(r"connection \d+ from 127\.0\.0\.1:\d+", log)) == 2
    assert len(re.findall(r"connection \d+ connected: STOMP 1\.2, 'app'", log)) == 2
    assert len(re.findall(r"connection \d+ closed", log)) == 2
    assert SECRET not in log


@pytest.mark.slow
def test_a_wrong_passcode_is_refused_and_logged_without_it(broker_process: BrokerProcess) -> None:
    wrong = "not-the-" + SECRET
    sent = cli("--url", broker_process.url("app", wrong), "send", "/queue/cli", "x")
    assert sent.returncode == 1
    assert "login refused for 'app'" in sent.stderr
    log = broker_process.stop()
    assert "refused: login refused for 'app'" in log
    assert SECRET not in log and wrong not in log


@pytest.mark.parametrize(
    ("option", "value", "complaint"),
    [("--user", "nocolon", "expected NAME:PASS"), ("--port", "70000", "not a port number")],
)
def test_bad_options_are_usage_errors(option: str, value: str, complaint: str) -> None:
    done = cli("broker", option, value)
    assert done.returncode == 2
    assert complaint in done.stderr


@pytest.mark.slow
def test_a_port_in_use_fails_in_one_line(broker_process: BrokerProcess) -> None:
    done = cli("broker", "--port", str(broker_process.port))
    assert done.returncode == 1
    assert done.stderr.startswith("stompmodels: error: ")
    assert "Traceback" not in done.stderr
