"""The examples run standalone (as `python examples/x.py`), exit 0 and print what they promise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration._brokers import BROKERS, ensure, rabbitmqctl

pytestmark = pytest.mark.slow  # each example runs in a fresh interpreter

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str) -> str:
    """Run an example in a fresh interpreter; return its stdout, failing on a non-zero exit."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=EXAMPLES.parent,
    )
    assert result.returncode == 0, f"{name} exited {result.returncode}:\n{result.stderr}"
    assert result.stderr == ""
    return result.stdout


@pytest.fixture(scope="module")
def stomper_usage() -> str:
    return run("stomper_usage.py")


def test_stomper_usage_passes_its_own_checks(stomper_usage: str) -> None:
    assert stomper_usage.rstrip().endswith("all checks passed")


@pytest.mark.parametrize(
    "line",
    [
        # 1. CONNECT as bob, passcode hidden from the model's repr but on the wire.
        r"     b'CONNECT\naccept-version:1.0\nhost:/\nlogin:bob\npasscode:1234\n\n\x00'",
        # 2. CONNECTED: no reply, the session id kept.
        "  reply: b'' (stomper: NO_RESPONSE_NEEDED)",
        "  engine.session = 'ID:snorky.local-49191-1185461799654-3:18' (stomper: engine.sessionId)",
        "  engine.version = '1.0', engine.state = CONNECTED",
        # 3. SUBSCRIBE with ack=client.
        r"     b'SUBSCRIBE\ndestination:/queue/a\nid:sub-1\nack:client\n\n\x00'",
        # 4. the MESSAGE is answered with the 1.0 ACK.
        r"  reply: b'ACK\nmessage-id:some-message-id\n\n\x00'",
        # 5. Pong's handler ran.
        "  Pong got a message: 'hello queue a'",
        # 6. decorated handlers: SUBSCRIBE on CONNECTED, nothing on an auto MESSAGE.
        r"  reply to CONNECTED: b'SUBSCRIBE\ndestination:/topic/inbox\nid:sub-1\nack:auto\n\n\x00'",
        "  reply to MESSAGE: b''",
        # 7-8. SEND, then with a custom header.
        r"     b'SEND\ndestination:/queue/inbox\ncontent-type:text/plain;charset=utf-8\n"
        r"content-length:11\n\nhello there\x00'",
        r"     b'SEND\ndestination:/queue/a\ncontent-length:13\ncustom-header:1234\n\n"
        r"hello queue a\x00'",
        # 9. DISCONNECT settled by its RECEIPT.
        "  engine.state = CLOSED",
    ],
)
def test_stomper_usage_prints(stomper_usage: str, line: str) -> None:
    assert line in stomper_usage.splitlines()


def test_stomper_usage_hides_the_passcode_in_models(stomper_usage: str) -> None:
    model_lines = [line for line in stomper_usage.splitlines() if "Connect(" in line]
    assert model_lines
    assert all("passcode=SecretStr('**********')" in line for line in model_lines)
    assert not any("1234" in line for line in model_lines)


def test_stomper_usage_pong_acks_once(stomper_usage: str) -> None:
    assert stomper_usage.count("Pong got a message:") == 1


def test_codec_tour() -> None:
    out = run("codec_tour.py")
    lines = out.splitlines()
    assert "client -> server (STOMP 1.0)" in lines
    assert "server -> client (STOMP 1.0)" in lines
    assert r"    b'CONNECT\nlogin:bob\npasscode:1234\n\n\x00'" in lines
    assert "    text body: 'hello queue a'" in lines
    assert "137 bytes, 2 heart-beat EOLs" in lines
    assert any("session='ID:snorky.local-49191-1185461799654-3:18'" in line for line in lines)
    escaped = (
        r"  b'SEND\ndestination:/queue/a\ncontent-length:13\nx-trace:demo\\c1\n\nhello queue a\x00'"
    )
    assert escaped in lines


@pytest.mark.brokers
@pytest.mark.parametrize("broker_name", ["rabbitmq", "activemq"])
def test_orders_service(broker_name: str) -> None:
    """The typed service example, on each real broker: its orders are invoiced, the invalid
    body is dead-lettered with the reason, the requests get typed replies, and it exits 0."""
    broker = BROKERS[broker_name]
    problem = ensure(broker)
    if problem is not None:
        reason = f"{broker.name} is not available on {broker.host}:{broker.port}: {problem}"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "orders_service.py"), broker.url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=EXAMPLES.parent,
    )
    queues = re.findall(r"/queue/(stompmodels-example-[0-9a-f]{12}[.a-z]*)", result.stdout)
    if broker.name == "rabbitmq":  # it keeps the queues (durable): delete them
        for queue in set(queues):
            rabbitmqctl("delete_queue", queue)
    assert result.returncode == 0, f"exited {result.returncode}:\n{result.stderr}"
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    [base] = {queue.partition(".")[0] for queue in queues}
    assert lines[:2] == [
        f"orders on /queue/{base}.orders, dead letters on /queue/{base}.orders.dead",
        f"prices on /queue/{base}.prices",
    ]
    results = [line for line in lines if not line.startswith(("published", "log:"))][2:]
    assert results == [
        "invoice: Invoice(order_id=1, item='widget', total=10.0)",
        "invoice: Invoice(order_id=2, item='gadget', total=9.75)",
        "invoice: Invoice(order_id=3, item='gizmo', total=5.0)",
        'dead letter: {"id": 4, "item": "widget", "quantity": 0, "unit_price": 2.5} because '
        "not a valid Order: quantity: Input should be greater than 0",
        "price: Price(item='widget', quantity=3, total=7.5)",
        "price: Price(item='gadget', quantity=2, total=19.5)",
        "price: Price(item='gizmo', quantity=100, total=50.0)",
        "done: 3 invoices, 1 dead letter, 3 prices",
    ]
    assert [line for line in lines if line.startswith("published")] == [
        "published Order(id=1, item='widget', quantity=4, unit_price=2.5)",
        "published Order(id=2, item='gadget', quantity=1, unit_price=9.75)",
        "published Order(id=3, item='gizmo', quantity=10, unit_price=0.5)",
        'published an invalid order: {"id": 4, "item": "widget", "quantity": 0, "unit_price": 2.5}',
    ]
    [refused] = [line for line in lines if line.startswith("log:")]  # the only log line
    assert refused.startswith("log: ERROR subscriber build_service.<locals>.take_order refused")
    assert refused.endswith(
        f"from /queue/{base}.orders: not a valid Order: quantity: Input should be greater than 0"
    )
