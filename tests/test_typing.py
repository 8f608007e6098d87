"""mypy checks handler registration: a handler whose parameter does not match the model it is
registered for is rejected, and the right shapes are accepted.

mypy runs in a subprocess on each file of tests/typing/ alone (a file named on the command
line is checked even when mypy.ini's `exclude` hides it from the normal run). Each line of a
reject_ file marked `# E: <code> <words...>` must get exactly that error code, with a message
containing the words; no other line may get an error.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # mypy in a subprocess (a cold cache takes many seconds)

ROOT = Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"
ACCEPT = sorted(TYPING.glob("accept_*.py"))
REJECT = sorted(TYPING.glob("reject_*.py"))
# A cache of its own, so the test neither races nor disturbs the project's .mypy_cache.
CACHE = Path(tempfile.gettempdir()) / "stompmodels-test-typing-mypy-cache"

_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+): (?P<level>error|note): (?P<text>.*)$")
_CODE = re.compile(r"^(?P<message>.*?)  \[(?P<code>[a-z0-9-]+)\]$")
_MARK = re.compile(r"#\s*E:\s*(?P<spec>.*)$")


@dataclass(frozen=True)
class Diagnostic:
    line: int
    code: str
    message: str


@dataclass(frozen=True)
class Report:
    returncode: int
    output: str
    errors: list[Diagnostic]


def run_mypy(path: Path) -> Report:
    """mypy with the project's config on `path` only."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            "mypy.ini",
            "--cache-dir",
            str(CACHE),
            "--no-pretty",
            "--show-error-codes",
            "--no-error-summary",
            str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors: list[Diagnostic] = []
    for raw in proc.stdout.splitlines():
        found = _LINE.match(raw)
        if found is None or found["level"] != "error":
            continue
        assert Path(found["path"]).name == path.name, raw  # errors in other files: a bad setup
        coded = _CODE.match(found["text"])
        assert coded is not None, f"error without a code: {raw}"
        errors.append(Diagnostic(int(found["line"]), coded["code"], coded["message"]))
    return Report(proc.returncode, proc.stdout + proc.stderr, errors)


def expected_errors(path: Path) -> dict[int, tuple[str, list[str]]]:
    """line -> (error code, words its message must contain), from the `# E:` marks."""
    marks: dict[int, tuple[str, list[str]]] = {}
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        found = _MARK.search(text)
        if found is not None:
            code, *words = shlex.split(found["spec"])
            marks[number] = (code, words)
    return marks


def test_the_typing_files_exist() -> None:
    assert [p.name for p in ACCEPT] == ["accept_handlers.py"]
    assert [p.name for p in REJECT] == ["reject_handlers.py"]
    assert expected_errors(REJECT[0])  # the marks are found


@pytest.mark.parametrize("path", ACCEPT, ids=lambda p: p.name)
def test_mypy_accepts_handlers_of_the_right_type(path: Path) -> None:
    report = run_mypy(path)
    assert report.errors == [], report.output
    assert report.returncode == 0, report.output


def mismatches(path: Path, report: Report) -> list[str]:
    """How mypy's errors on `path` differ from its `# E:` marks; empty when they agree."""
    expected = expected_errors(path)
    got: dict[int, list[Diagnostic]] = {}
    for error in report.errors:
        got.setdefault(error.line, []).append(error)
    problems = [
        f"line {n}: unexpected {[e.code for e in got[n]]}" for n in got if n not in expected
    ]
    for line, (code, words) in expected.items():
        errors = got.get(line, [])
        if [error.code for error in errors] != [code]:
            problems.append(f"line {line}: wanted [{code}], got {[e.code for e in errors]}")
            continue
        problems.extend(
            f"line {line}: {word!r} not in {errors[0].message!r}"
            for word in words
            if word not in errors[0].message
        )
    return problems


@pytest.mark.parametrize("path", REJECT, ids=lambda p: p.name)
def test_mypy_rejects_handlers_of_the_wrong_type(path: Path) -> None:
    report = run_mypy(path)
    assert report.returncode == 1, report.output
    assert len(report.errors) == len(expected_errors(path)) >= 9
    assert mismatches(path, report) == [], report.output


def test_the_central_rejection_names_both_models() -> None:
    # The issue's own example: a Message handler registered for Receipt is an arg-type error
    # naming both.
    [path] = REJECT
    report = run_mypy(path)
    text = path.read_text().splitlines()
    line = next(n for n, t in enumerate(text, 1) if t.startswith("@engine.on(Receipt)"))
    [error] = [e for e in report.errors if e.line == line]
    assert error.code == "arg-type"
    assert re.search(r'"Callable\[\[Message\], None\]".*"Callable\[\[Receipt\], ', error.message)


def test_the_comparison_catches_a_wrong_mark(tmp_path: Path) -> None:
    # The machinery above can fail: a mark on a clean line, a wrong code, a missing word and
    # an unmarked error are all reported.
    sample = tmp_path / "reject_sample.py"
    sample.write_text(
        "a: int = 1  # E: assignment\n"
        "b: str = 2  # E: arg-type\n"
        'c: str = 3  # E: assignment "bytes"\n'
        "d: str = 4\n"
        'e: str = 5  # E: assignment "int" "str"\n'
    )
    report = run_mypy(sample)
    assert [e.line for e in report.errors] == [2, 3, 4, 5]
    assert mismatches(sample, report) == [
        "line 4: unexpected ['assignment']",
        "line 1: wanted [assignment], got []",
        "line 2: wanted [arg-type], got ['assignment']",
        "line 3: 'bytes' not in "
        + repr(
            'Incompatible types in assignment (expression has type "int", variable has type "str")'
        ),
    ]


# The README's promise about the conveniences (`body="text"`, a str passcode, wire text for
# accept_version and heart_beat): they type-check under `mypy --strict` with the pydantic
# plugin, which the README tells users to enable; without it mypy refuses them.
CONVENIENCES = """\
from stompmodels import Connect, Send

send = Send(destination="/queue/a", body="text")
connect = Connect(host="/", accept_version="1.1,1.2", heart_beat="10000,10000", passcode="g")
"""


@pytest.mark.parametrize("plugin", [True, False], ids=["with-plugin", "without-plugin"])
def test_the_conveniences_need_the_pydantic_mypy_plugin(tmp_path: Path, plugin: bool) -> None:
    (tmp_path / "user.py").write_text(CONVENIENCES)
    config = "[mypy]\nstrict = True\n" + ("plugins = pydantic.mypy\n" if plugin else "")
    (tmp_path / "mypy.ini").write_text(config)
    command = [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-incremental"]
    proc = subprocess.run(
        [*command, "--cache-dir", str(CACHE), "user.py"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if plugin:
        assert proc.returncode == 0, proc.stdout
    else:
        refused = {"accept_version", "heart_beat", "passcode", "body"}
        assert proc.returncode == 1, proc.stdout
        assert all(f'"{name}"' in proc.stdout for name in refused), proc.stdout
