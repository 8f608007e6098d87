"""The `stompmodels` command line against the real brokers (RabbitMQ above all).

`main([...])` runs in-process (in a daemon thread, bounded by `run_cli`) and `python -m
stompmodels` in a subprocess (bounded by its `timeout`). Every queue is new (a uuid in its name);
on RabbitMQ it is made with `x-expires` so that it disappears a few minutes after the test, and
every listen has --timeout.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import IO, Final

import pytest

from tests.test_cli import Run, run_cli

from ._brokers import Broker

PROCESS_TIMEOUT: Final = 60.0  # seconds for one `python -m stompmodels`
SECRET: Final = "wrong-passcode-never-printed"
# RabbitMQ makes a queue with the arguments of the first frame that names it, and a later frame
# must carry the same ones; ActiveMQ ignores the header.
QUEUE_ARGS: Final = ("-H", "x-expires=300000")


def run_process(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """`python -m stompmodels argv`, bounded by PROCESS_TIMEOUT."""
    return subprocess.run(
        [sys.executable, "-m", "stompmodels", *argv],
        input=stdin,
        capture_output=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )


def new_queue() -> str:
    return f"/queue/stompmodels-cli-{uuid.uuid4().hex}"


def listen_args(broker: Broker, destination: str, *extra: str) -> list[str]:
    return ["listen", "--url", broker.url, destination, "--timeout", "5", *QUEUE_ARGS, *extra]


# -- round trips --------------------------------------------------------------------------------


def test_send_then_listen_json_in_process(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = new_queue()
    sent = run_cli(
        capsys, "send", "--url", broker.url, destination, "héllo", "--count", "3", *QUEUE_ARGS
    )
    assert (sent.status, sent.out, sent.err) == (0, "", "")
    run = run_cli(capsys, *listen_args(broker, destination, "--json", "--count", "3"))
    assert (run.status, run.err) == (0, "")
    records = run.json_lines()
    # Bodies are base64 as in `model_dump_json`.
    assert [(r["body"], r["body_encoding"]) for r in records] == [("aMOpbGxv", "base64")] * 3
    assert {r["destination"] for r in records} == {destination}
    assert all(r["command"] == "MESSAGE" and r["message_id"] for r in records)


def test_send_then_listen_readable_in_process(
    rabbitmq: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = new_queue()
    argv = ["send", "--url", rabbitmq.url, destination, "hi there", "-H", "x-trace=abc"]
    assert run_cli(capsys, *argv, "--receipt", *QUEUE_ARGS).status == 0
    run = run_cli(capsys, *listen_args(rabbitmq, destination, "--count", "1"))
    assert run.status == 0
    lines = run.out.splitlines()
    assert lines[0] == f"MESSAGE {destination}"
    assert "  x-trace: abc" in lines
    assert lines[-1] == '  body (8 bytes): "hi there"'


def test_listen_stats_prints_counts_and_rates_on_stderr(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = new_queue()
    sent = run_cli(
        capsys, "send", "--url", broker.url, destination, "abcd", "--count", "40", *QUEUE_ARGS
    )
    assert sent.status == 0
    # The last --timeout wins: 1.5 s of silence ends the listen.
    argv = listen_args(broker, destination, "--ack", "client-individual", "--stats")
    run = run_cli(capsys, *argv, "--timeout", "1.5")
    assert run.status == 0
    assert len(run.out.splitlines()) >= 40  # the messages themselves, on stdout
    lines = run.err.splitlines()
    # One line a second while listening (the wait after the last message takes 1.5 s), and one
    # at the end, with the totals.
    assert len(lines) >= 2
    assert all(line.startswith("stats ") for line in lines)
    assert lines[-1].endswith(
        ": 40 messages (0/s), 160 body bytes (0 B/s), 40 acked, 0 redelivered"
    )


def test_round_trip_with_python_dash_m(rabbitmq: Broker) -> None:
    destination = new_queue()
    payload = b"\x00\xffbinary\x00"
    sent = run_process("send", "--url", rabbitmq.url, destination, "-", *QUEUE_ARGS, stdin=payload)
    assert (sent.returncode, sent.stdout, sent.stderr) == (0, b"", b"")
    got = run_process(*listen_args(rabbitmq, destination, "--json", "--count", "1"))
    assert (got.returncode, got.stderr) == (0, b"")
    (record,) = [json.loads(line) for line in got.stdout.splitlines()]
    assert record["body_encoding"] == "base64"
    assert base64.b64decode(record["body"]) == payload
    assert record["content_length"] == len(payload)


def test_stomp_url_from_the_environment(rabbitmq: Broker) -> None:
    destination = new_queue()
    env = {**os.environ, "STOMP_URL": rabbitmq.url}
    argv = [sys.executable, "-m", "stompmodels", "send", destination, "env", *QUEUE_ARGS]
    done = subprocess.run(argv, env=env, capture_output=True, timeout=PROCESS_TIMEOUT, check=False)
    assert (done.returncode, done.stderr) == (0, b"")
    got = run_process(*listen_args(rabbitmq, destination, "--json", "--count", "1"))
    assert base64.b64decode(json.loads(got.stdout)["body"]) == b"env"


# -- counts and acknowledgements ----------------------------------------------------------------


def send_each(
    capsys: pytest.CaptureFixture[str], broker: Broker, destination: str, *bodies: str
) -> None:
    for body in bodies:
        run = run_cli(capsys, "send", "--url", broker.url, destination, body, *QUEUE_ARGS)
        assert run.status == 0, run.err


def bodies_of(run: Run) -> list[str]:
    """The bodies of the JSON records, as text (the records carry them in base64)."""
    records = run.json_lines()
    assert all(record["body_encoding"] == "base64" for record in records)
    return [base64.b64decode(record["body"]).decode() for record in records]


def assert_drained(capsys: pytest.CaptureFixture[str], broker: Broker, destination: str) -> None:
    argv = ["listen", "--url", broker.url, destination, "--timeout", "0.5", *QUEUE_ARGS]
    run = run_cli(capsys, *argv)
    assert (run.status, run.out) == (1, "")
    assert run.err_lines == [f"stompmodels: error: no message on {destination} within 0.5 s"]


def test_count_in_auto_mode_leaves_the_rest_on_the_queue(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = new_queue()
    send_each(capsys, broker, destination, "a", "b", "c")
    first = run_cli(capsys, *listen_args(broker, destination, "--json", "--count", "1"))
    assert (first.status, bodies_of(first)) == (0, ["a"])
    rest = run_cli(capsys, *listen_args(broker, destination, "--json", "--count", "2"))
    assert (rest.status, bodies_of(rest)) == (0, ["b", "c"])
    assert_drained(capsys, broker, destination)


def test_ack_client_individual_consumes_what_was_printed(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = new_queue()
    send_each(capsys, broker, destination, "one", "two")
    ack = ("--ack", "client-individual", "--json", "--count", "1")
    first = run_cli(capsys, *listen_args(broker, destination, *ack))
    assert bodies_of(first) == ["one"]
    second = run_cli(capsys, *listen_args(broker, destination, *ack))
    assert bodies_of(second) == ["two"]  # "one" was ACKed: not delivered again
    assert_drained(capsys, broker, destination)


def test_timeout_ends_listening_after_what_arrived(
    rabbitmq: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = new_queue()
    send_each(capsys, rabbitmq, destination, "only")
    argv = ["listen", "--url", rabbitmq.url, destination, "--json", "--timeout", "0.5"]
    started = time.monotonic()
    run = run_cli(capsys, *argv, *QUEUE_ARGS)
    assert (run.status, bodies_of(run), run.err) == (0, ["only"], "")
    assert time.monotonic() - started < 5


def test_progress_line_on_a_terminal(rabbitmq: Broker) -> None:
    destination = new_queue()
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "stompmodels", "send", "--url", rabbitmq.url, destination, "x",
         "--count", "2500", *QUEUE_ARGS],
        stdout=follower,
        stderr=subprocess.PIPE,
    ) as process:  # fmt: skip
        os.close(follower)
        shown = read_all(leader)
        assert process.wait(PROCESS_TIMEOUT) == 0
    assert shown.endswith("\rsent 2500/2500\r\n")  # the pty turns the final LF into CRLF
    got = run_process(*listen_args(rabbitmq, destination, "--count", "2500", "--json"))
    assert got.returncode == 0 and len(got.stdout.splitlines()) == 2500


def read_all(fd: int) -> str:
    """Everything written to a pty until its writer closes it."""
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


# -- errors ---------------------------------------------------------------------------------------


def test_refused_login_is_one_line(broker: Broker, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"stomp://guest:{SECRET}@{broker.host}:{broker.port}/"
    run = run_cli(capsys, "send", "--url", url, new_queue(), "hi")
    assert run.status == 1
    (line,) = run.err_lines
    assert line.startswith("stompmodels: error: the broker sent ERROR: ")
    if broker.name == "rabbitmq":
        assert line.endswith("Bad CONNECT (Access refused for user 'guest')")
    assert SECRET not in run.out + run.err


def test_refused_login_in_a_subprocess(rabbitmq: Broker) -> None:
    url = f"stomp://guest:{SECRET}@{rabbitmq.host}:{rabbitmq.port}/"
    done = run_process("-v", "listen", "--url", url, new_queue(), "--timeout", "1")
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        b"stompmodels: error: the broker sent ERROR: Bad CONNECT (Access refused for user 'guest')"
    )
    assert SECRET.encode() not in done.stdout + done.stderr


@pytest.mark.parametrize("count", ["1", "5"])
def test_error_frame_on_send(
    rabbitmq: Broker, capsys: pytest.CaptureFixture[str], count: str
) -> None:
    run = run_cli(capsys, "send", "--url", rabbitmq.url, "/invalid/x", "hi", "--count", count)
    assert run.status == 1
    assert run.err_lines == [
        "stompmodels: error: the broker sent ERROR: Unknown destination "
        "('/invalid/x' is not a valid destination.)"
    ]


def test_error_frame_on_listen(rabbitmq: Broker) -> None:
    done = run_process("listen", "--url", rabbitmq.url, "/invalid/x", "--timeout", "1")
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [
        "stompmodels: error: the broker sent ERROR: Unknown destination "
        "('/invalid/x' is not a valid destination.)"
    ]


def test_interrupt_exits_130_quietly(rabbitmq: Broker) -> None:
    destination = new_queue()
    with subprocess.Popen(
        [sys.executable, "-m", "stompmodels", "-v", "listen", "--url", rabbitmq.url, destination,
         *QUEUE_ARGS],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as process:  # fmt: skip
        assert process.stderr is not None
        lines = LineReader(process.stderr)
        lines.wait_for(b"received Receipt")  # the SUBSCRIBE is confirmed: it is listening
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(PROCESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave the test (or CI) waiting on it
            raise
        assert code == 130
        after = lines.rest()
        assert process.stdout is not None and process.stdout.read() == b""
    assert b"Traceback" not in after and b"error" not in after


class LineReader:
    """Lines of a pipe, read by a thread, waited for with a deadline."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe: IO[bytes]) -> None:
        for line in pipe:
            self._lines.put(line)
        self._lines.put(b"")

    def wait_for(self, text: bytes, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if text in line:
                return
            assert line, f"the pipe closed before {text!r}"
        pytest.fail(f"no line with {text!r} within {timeout} s")

    def rest(self) -> bytes:
        self._thread.join(10)
        lines: list[bytes] = []
        while not self._lines.empty():
            lines.append(self._lines.get())
        return b"".join(lines)


# -- escaped headers, failover, a piped body, --version, --stomp-version ------------------------

HOSTILE: Final = "\x1b[2J\x1b[Hgone\nfake: line\x9b31m"
HOSTILE_SHOWN: Final = "\\u001b[2J\\u001b[Hgone\\nfake: line\\u009b31m"


def test_received_headers_are_escaped_but_exact_in_json(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = new_queue()
    argv = ["send", "--url", broker.url, destination, "a\x1b[2Jb", "-H", f"x-evil={HOSTILE}"]
    assert run_cli(capsys, *argv, "--count", "2", *QUEUE_ARGS).status == 0
    readable = run_cli(capsys, *listen_args(broker, destination, "--count", "1"))
    assert (readable.status, readable.err) == (0, "")
    assert "\x1b" not in readable.out and "\x9b" not in readable.out
    lines = readable.out.splitlines()
    assert f"  x-evil: {HOSTILE_SHOWN}" in lines
    assert lines[-1] == '  body (6 bytes): "a\\u001b[2Jb"'
    assert not any(line.startswith("fake:") for line in lines)
    exact = run_cli(capsys, *listen_args(broker, destination, "--count", "1", "--json"))
    (record,) = exact.json_lines()
    assert record["headers"]["x-evil"] == HOSTILE
    assert base64.b64decode(record["body"]) == b"a\x1b[2Jb"


def test_failover_url_reaches_the_broker_that_answers(
    broker: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    destination = new_queue()
    url = f"failover:(stomp://guest:{SECRET}@127.0.0.1:1/,{broker.url})"
    sent = run_cli(capsys, "-v", "send", "--url", url, destination, "via failover", *QUEUE_ARGS)
    assert sent.status == 0, sent.err
    assert f"connected to stomp://guest@{broker.host}:{broker.port}" in sent.err
    assert SECRET not in sent.out + sent.err
    argv = ["listen", "--url", url, destination, "--timeout", "5", "--json", "--count", "1"]
    got = run_cli(capsys, *argv, *QUEUE_ARGS)
    assert (got.status, bodies_of(got)) == (0, ["via failover"])


def test_send_reads_a_piped_body_without_dash(rabbitmq: Broker) -> None:
    destination = new_queue()
    payload = b"piped \xff\x00 body"
    sent = run_process("send", "--url", rabbitmq.url, destination, *QUEUE_ARGS, stdin=payload)
    assert (sent.returncode, sent.stdout, sent.stderr) == (0, b"", b"")
    got = run_process(*listen_args(rabbitmq, destination, "--json", "--count", "1"))
    (record,) = [json.loads(line) for line in got.stdout.splitlines()]
    assert base64.b64decode(record["body"]) == payload and record["content_type"] is None


def test_version_in_a_subprocess() -> None:
    from importlib.metadata import version

    done = run_process("--version")
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.decode() == f"stompmodels {version('stompmodels')}\n"


@pytest.mark.parametrize("offered", ["1.0", "1.1"])
def test_stomp_version_is_what_the_session_speaks(
    broker: Broker, capsys: pytest.CaptureFixture[str], offered: str
) -> None:
    destination = new_queue()
    chosen = ("--stomp-version", offered)
    sent = run_cli(
        capsys, "-v", "send", "--url", broker.url, destination, "x", *chosen, *QUEUE_ARGS
    )
    assert sent.status == 0, sent.err
    assert f": STOMP {offered}, session " in sent.err
    # --count ACKs what it printed: in client mode on 1.0, which has no client-individual.
    got = run_cli(
        capsys, "-v", *listen_args(broker, destination, "--json", "--count", "1", *chosen)
    )
    assert (got.status, bodies_of(got)) == (0, ["x"]), got.err
    assert f": STOMP {offered}, session " in got.err
    assert_drained(capsys, broker, destination)
