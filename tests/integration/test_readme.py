"""Every Python snippet of the README runs, as a user would run it, against the real brokers.

Each snippet runs alone in a fresh interpreter and must exit 0. Two snippets lean on names a
real program would have (the bytes of a capture, an open socket): a short prelude gives them
those, and nothing else. The snippet of pytest tests (`PYTEST_SNIPPETS`) runs under pytest, as
a test file of the user's would, and each of its tests must pass.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

from stompmodels.blocking import Client

from ._brokers import Broker

README: Final = Path(__file__).resolve().parents[2] / "README.md"
SNIPPET_TIMEOUT: Final = 60.0
PRELUDES: Final = {
    # The bytes a program would read from a capture or a socket.
    "Decoding a stream": (
        "chunks = [b'MESSAGE\\ndestination:/queue/a\\nmessage-id:1\\nsubscription:0\\n\\nhi\\x00',"
        " b'\\n']\n"
        "handle = print\n"
    ),
    # An open socket to the local RabbitMQ, as the snippet's first line assumes.
    "The engine: a STOMP session without I/O": (
        "import socket\nsock = socket.create_connection(('127.0.0.1', 61613), timeout=30)\n"
    ),
}
PYTEST_SNIPPETS: Final = {"Testing your code"}


def snippets() -> dict[str, str]:
    """The README's Python snippets, by the `###` heading they stand under."""
    found: dict[str, str] = {}
    title = ""
    code: list[str] | None = None
    for line in README.read_text().splitlines(keepends=True):
        if code is not None:
            if line.startswith("```"):
                found[title] = "".join(code)
                code = None
            else:
                code.append(line)
        elif line.startswith("### "):
            title = line[4:].strip()
        elif line.startswith("```python"):
            code = []
    return found


def test_every_snippet_is_found() -> None:
    found = snippets()
    assert len(found) == README.read_text().count("```python")
    assert set(PRELUDES) <= set(found)


@pytest.mark.parametrize("title", sorted(snippets()))
def test_the_snippet_runs(title: str, rabbitmq: Broker, activemq: Broker, tmp_path: Path) -> None:
    code = snippets()[title]
    if title.startswith("The engine"):
        # Its last read waits for a MESSAGE on /queue/a: one is there before it subscribes.
        with Client(rabbitmq.url, heart_beat=(0, 0)) as client:
            client.send("/queue/a", "for the README's engine", receipt=True)
    command = [sys.executable, "-c", PRELUDES.get(title, "") + code]
    if title in PYTEST_SNIPPETS:
        tests = code.count("\ndef test_")
        (tmp_path / "test_snippet.py").write_text(code)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=SNIPPET_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{title}:\n{done.stdout}\n{done.stderr}"
    if title in PYTEST_SNIPPETS:
        assert f"{tests} passed" in done.stdout
