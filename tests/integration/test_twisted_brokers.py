"""The Twisted client against real RabbitMQ 3.10 and ActiveMQ 5.17, and its two examples.

Twisted's global reactor cannot be restarted within one process, so each broker's scenarios
run in a subprocess of their own (``_twisted_scenarios.py``: concurrently on one reactor, each
bounded in time), once per broker, and report what they observed as JSON; the tests below
check those observations against each broker's documented behaviour
(shared/brokers/README.md). The examples run as the user would run them.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Final

import pytest

from stompmodels import VERSIONS

from ._brokers import Broker, rabbitmqctl

ROOT: Final = Path(__file__).resolve().parents[2]
SCENARIOS_LIMIT: Final = 90.0  # seconds for one broker's scenarios (each is bounded at 20 s)
EXAMPLE_LIMIT: Final = 30.0  # seconds for one run of an example
QUEUE_PREFIX: Final = "/queue/"

_observed: dict[str, dict[str, Any]] = {}


def run_scenarios(broker: Broker) -> dict[str, Any]:
    """Every scenario on `broker`, in one subprocess: scenario -> {"ok": ...} | {"error": ...}."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration._twisted_scenarios", "--broker", broker.name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SCENARIOS_LIMIT,
        check=False,
    )
    assert done.returncode == 0, f"the scenarios exited {done.returncode}:\n{done.stderr}"
    results: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def observed(broker: Broker, scenario: str) -> dict[str, Any]:
    """What `scenario` observed on `broker` (the scenarios run once per broker)."""
    if broker.name not in _observed:
        _observed[broker.name] = run_scenarios(broker)
    outcome: dict[str, Any] = _observed[broker.name][scenario]
    if "error" in outcome:
        pytest.fail(f"{scenario} on {broker.name}: {outcome['error']}")
    result: dict[str, Any] = outcome["ok"]
    return result


# -- the scenarios -------------------------------------------------------------------------


def test_each_version_offered_alone_is_negotiated(broker: Broker) -> None:
    seen = observed(broker, "versions")
    for version in VERSIONS:
        assert seen[version]["version"] == version
        assert seen[version]["frame_version"] == version
        assert seen[version]["server"].startswith(f"{broker.product}/")
        assert seen[version]["session"] is True
        assert seen[version]["state_after_close"] == "closed"
    assert seen["all"] == "1.2"


def test_text_and_binary_bodies_round_trip(broker: Broker) -> None:
    seen = observed(broker, "bodies")
    assert seen["received"] == seen["sent"]
    assert seen["lengths"] == [1, 11, 1024, 300 * 1024 + 1]
    assert seen["texts"] == [seen["text"]] * 2
    size = len(seen["text"].encode())
    # ActiveMQ takes a SEND without content-length as text, and sends it back without one.
    assert seen["text_lengths"] == [size, None if broker.name == "activemq" else size]


def test_each_receipt_fires_with_its_own_frame(broker: Broker) -> None:
    seen = observed(broker, "receipts")
    assert len(seen["asked"]) == 5
    assert seen["confirmed"] == seen["asked"]
    assert seen["without"] is None
    assert seen["pending"] == {}


def test_ack_and_nack_follow_each_brokers_rules(broker: Broker) -> None:
    """RabbitMQ requeues a NACKed message and redelivers it; ActiveMQ moves a persistent one
    to its dead-letter queue. The ACKed one never comes back."""
    seen = observed(broker, "ack_and_nack")
    assert seen["first"] == ["kept", "rejected"]
    assert seen["first_redelivered"] == "false"
    assert seen["later"] == "rejected"
    assert seen["later_tag"] is not None
    if broker.name == "rabbitmq":
        assert seen["later_redelivered"] == "true"
    else:
        assert seen["later_origin"] == seen["queue"]
    assert seen["nothing_else"] is True


def test_a_transaction_delivers_on_commit_and_not_after_abort(broker: Broker) -> None:
    seen = observed(broker, "transaction")
    assert seen["quiet_before_commit"] is True
    assert seen["committed"] == ["one", "two"]
    assert seen["abort_left_nothing"] is True
    assert seen["open_after"] == []


def test_heart_beats_keep_an_idle_connection_alive(broker: Broker) -> None:
    """Both brokers drop a client that promised 1 s heart-beats and sent none after about
    3 s; this one stays connected through 3.5 s in which it sends no frame."""
    seen = observed(broker, "heartbeats")
    assert seen["negotiated"] == [1000, 1000]
    assert seen["state"] == "connected"
    assert seen["text"] == "still here"
    assert seen["beats"] >= 2, "the broker's heart-beats were not seen"
    assert seen["failure"] == "None"


def test_close_is_graceful(broker: Broker) -> None:
    seen = observed(broker, "disconnect")
    assert seen["state"] == "closed"
    assert seen["pending_receipts"] == {}  # the DISCONNECT's receipt came back
    assert seen["protocol_failure"] == "Closed"
    assert seen["factory_failure"] == "None"
    assert seen["late_send"] == "Closed"
    assert seen["get_after_close"] == "Closed"


def test_an_error_fails_what_waits_with_broker_error(broker: Broker) -> None:
    seen = observed(broker, "error_after_a_bad_ack")
    assert seen["send"] == "BrokerError"
    expected = "Invalid header" if broker.name == "rabbitmq" else "Unexpected ACK received"
    assert expected in seen["message"]
    assert seen["state"] == "closed"
    assert seen["protocol_failure"] == "BrokerError"
    assert seen["factory_failure"] == "BrokerError"
    assert seen["engine_error"] is True


def test_a_refused_login_fails_the_connect(broker: Broker) -> None:
    seen = observed(broker, "refused_login")
    assert seen["connected"] is False
    if broker.name == "rabbitmq":
        assert seen["message"] == "Bad CONNECT"
        assert "Access refused for user 'guest'" in seen["text"]
    else:
        assert seen["message"] == "User name [guest] or password is invalid."
    assert seen["passcode_shown"] is False


def test_a_cut_connection_is_renewed_with_its_subscription(rabbitmq: Broker) -> None:
    """RabbitMQ drops every connection to a vhost of the test's own; the factory reconnects,
    subscribes again, and the transaction begun before the cut is not replayed."""
    seen = observed(rabbitmq, "reconnect")
    assert seen["events"] == ["connected", "lost", "reconnected", "closed"]
    assert seen["texts"] == ["before", "after"]
    assert seen["new_protocol"] is True
    assert seen["old_commit"] == "ConnectionLost"
    assert seen["new_transactions"] == []


def test_a_failover_list_and_the_credentials_hook(broker: Broker) -> None:
    """The first broker refuses the connection; the second is dialed with the passcode the
    hook gives, each URL passed to the hook as given."""
    seen = observed(broker, "failover_and_credentials")
    assert seen["dialed"] == [f"{broker.host}:1", f"{broker.host}:{broker.port}"]
    assert seen["text"] == "via the second broker"
    assert seen["port"] == broker.port


# -- the examples --------------------------------------------------------------------------


def example(name: str, *arguments: str) -> list[str]:
    return [sys.executable, str(ROOT / "examples" / name), *arguments]


class Lines:
    """The stdout of a running process, line by line, read by a thread of its own (so that
    waiting for a line is bounded in time, whatever the pipe's buffering)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self._stream = process.stdout
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def until(self, wanted: str | None, limit: float) -> list[str]:
        """Lines up to `wanted` (None: the end of the output), within `limit` seconds."""
        deadline = time.monotonic() + limit
        while not self.seen or self.seen[-1] != wanted:
            remaining = deadline - time.monotonic()
            try:
                line = self._lines.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                raise AssertionError(f"no {wanted!r} within {limit} s: {self.seen}") from None
            if line is None:
                assert wanted is None, f"the output ended before {wanted!r}: {self.seen}"
                return self.seen
            self.seen.append(line)
        return self.seen


def forget_queue(broker: Broker, destination: str) -> None:
    """RabbitMQ keeps a queue the examples made (durable): delete it."""
    if broker.name == "rabbitmq":
        rabbitmqctl("delete_queue", destination.removeprefix(QUEUE_PREFIX))


def test_the_examples_send_and_receive(broker: Broker) -> None:
    destination = f"{QUEUE_PREFIX}stompmodels-twisted-example-{uuid.uuid4().hex[:12]}"
    common = ("--url", broker.url, "--destination", destination, "--count", "4")
    receiver = subprocess.Popen(
        example("twisted_receiver.py", *common, "--timeout", "20"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output = Lines(receiver)
    try:
        output.until("receiver ready", EXAMPLE_LIMIT)
        sender = subprocess.run(
            example("twisted_sender.py", *common),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=EXAMPLE_LIMIT,
            check=False,
        )
        lines = output.until(None, EXAMPLE_LIMIT)
        receiver.wait(timeout=EXAMPLE_LIMIT)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
        forget_queue(broker, destination)
    assert receiver.stderr is not None
    errors = receiver.stderr.read()
    assert sender.returncode == 0, sender.stderr
    assert sender.stderr == ""
    sent = sender.stdout.splitlines()
    assert sent[0].startswith("sender connected: Connected(command='CONNECTED', version='1.2'")
    assert f"server='{broker.product}/" in sent[0]
    for number in range(1, 5):
        assert sent[number].startswith(f"sender sent #{number}: Receipt(command='RECEIPT'")
    assert sent[-1] == "sender done: 4 messages confirmed"

    assert receiver.returncode == 0, "\n".join([*lines, errors])
    assert errors == ""
    assert lines[0].startswith("receiver connected: Connected(command='CONNECTED'")
    got = [line for line in lines if line.startswith("receiver got")]
    assert got == [f"receiver got #{n}: 'hello #{n}'" for n in range(1, 5)]
    frames = [line for line in lines if line.startswith("  Message(command='MESSAGE'")]
    assert len(frames) == 4
    assert all(f"destination='{destination}'" in line for line in frames)
    assert lines[-1] == "receiver done: 4 messages"


def test_the_receiver_stops_after_its_timeout(broker: Broker) -> None:
    destination = f"{QUEUE_PREFIX}stompmodels-twisted-empty-{uuid.uuid4().hex[:12]}"
    try:
        done = subprocess.run(
            example(
                "twisted_receiver.py",
                *("--url", broker.url, "--destination", destination),
                *("--count", "1", "--timeout", "1"),
            ),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=EXAMPLE_LIMIT,
            check=False,
        )
    finally:
        forget_queue(broker, destination)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[-1] == "receiver timed out after 1.0 s with 0 of 1 messages"
    assert done.stderr == ""
