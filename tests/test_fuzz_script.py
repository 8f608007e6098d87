"""The long fuzz script (fuzz/fuzz_stomp.py) runs, counts, and reports crashes.

A short run must try inputs and find nothing; a run with a planted bug (a target that raises a
non-ProtocolError on any decoded SEND) must report the crash, save its input and fail. The
inputs the fuzzer found in the library are replayed through the same target, so each stays
fixed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

from fuzz.seeds import seed_inputs
from fuzz.target import PLANTED_BUG_ENV, PlantedBug, check

ROOT: Final = Path(__file__).resolve().parents[1]
SCRIPT: Final = ROOT / "fuzz" / "fuzz_stomp.py"
SECONDS: Final = 8
LIMIT: Final = SECONDS + 90  # start-up and seed loading on a busy machine


def run_script(
    tmp_path: Path, *arguments: str, planted: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != PLANTED_BUG_ENV}
    if planted:
        env[PLANTED_BUG_ENV] = "1"
    command = [sys.executable, str(SCRIPT), "--corpus", str(tmp_path / "corpus")]
    command += ["--artifacts", str(tmp_path / "artifacts"), *arguments]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=LIMIT, env=env, check=False
    )


def figure(output: str, label: str) -> int:
    found = re.search(rf"^{label}:\s+(\d+)", output, re.MULTILINE)
    assert found, f"no {label!r} line in:\n{output}"
    return int(found.group(1))


@pytest.mark.slow
def test_a_short_run_tries_inputs_and_finds_no_crash(tmp_path: Path) -> None:
    done = run_script(tmp_path, "--seconds", str(SECONDS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert figure(done.stdout, "inputs tried") > len(seed_inputs())
    assert figure(done.stdout, "inputs per second") > 0
    assert figure(done.stdout, "crashes") == 0
    assert re.search(r"^coverage:\s+\d+ edges, \d+ features", done.stdout, re.MULTILINE)
    seeds = list((tmp_path / "corpus").iterdir())
    assert len(seeds) >= len(seed_inputs())  # the spec vectors, and whatever was found
    assert not list((tmp_path / "artifacts").glob("crash-*"))


@pytest.mark.slow
def test_a_planted_bug_is_reported_as_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = run_script(tmp_path, "--seconds", str(SECONDS), planted=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert figure(done.stdout, "crashes") == 1
    assert "PlantedBug: planted bug: a SEND to" in done.stdout
    found = re.search(r"^crash input:\s+(\S+)", done.stdout, re.MULTILINE)
    assert found, done.stdout
    crash = Path(found.group(1))
    assert crash.parent == tmp_path / "artifacts"
    # The saved input reproduces the failure, and passes once the bug is gone.
    with monkeypatch.context() as patch:
        patch.setenv(PLANTED_BUG_ENV, "1")
        with pytest.raises(PlantedBug):
            check(crash.read_bytes())
    check(crash.read_bytes())


@pytest.mark.slow
def test_replay_runs_saved_inputs(tmp_path: Path) -> None:
    saved = tmp_path / "input"
    saved.write_bytes(seed_inputs()[0])
    done = run_script(tmp_path, "--replay", str(saved))
    assert done.returncode == 0, done.stderr
    assert f"{saved}: passes" in done.stdout


def test_every_seed_passes_the_target() -> None:
    for seed in seed_inputs():
        check(seed)


# -- inputs the fuzzer found (control bytes, then the peer's stream; see fuzz/target.py) -------


def test_found_a_long_header_line_is_refused_however_the_stream_is_split() -> None:
    """STOMP 1.2, Limits(max_header_line=48), fed byte by byte: a 60-byte line followed by a
    line break and more bytes. Fed in pieces, the decoder refuses the long line at once; fed
    whole it waited for more (it only measured the last, unfinished line)."""
    check(bytes([2, 1, 1]) + b"V" * 60 + b"\nab")


@pytest.mark.parametrize("version", [b"1.1", b""], ids=["1.1", "1.0"])
def test_found_a_message_id_the_engine_cannot_acknowledge(version: bytes) -> None:
    """An Engine with a `client` subscription: the server's MESSAGE carries a raw CR in its
    message-id, which a 1.0 or 1.1 ACK cannot carry. `receive` raised LocalProtocolError (as if
    the caller were at fault) and left the session open, instead of ProtocolError."""
    connected = b"CONNECTED\n" + (b"version:" + version + b"\n" if version else b"") + b"\n\0"
    message = b"MESSAGE\ndestination:/queue/fuzz\nmessage-id:a\rb\nsubscription:sub-1\n\nx\0"
    control = bytes([3 + (1 if version else 0), 0x20, 0])  # an Engine; ack mode `client`
    check(control + connected + message)
