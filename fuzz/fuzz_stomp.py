"""Fuzz the decoder and the Engine with atheris (libFuzzer) for a while, then print the totals.

    .venv/bin/python fuzz/fuzz_stomp.py --seconds 600      # or --runs N
    .venv/bin/python fuzz/fuzz_stomp.py --replay fuzz/artifacts/crash-...   # rerun one input

The invariant (fuzz/target.py): typed frames or ProtocolError, nothing else; chunking never
changes the result; limits only stop a stream earlier; decoded frames re-encode to themselves;
an Engine answers with ACKs only and stays closed after a ProtocolError.

The seed corpus (tests/vectors.py) is written to --corpus (default fuzz/corpus, which keeps
what libFuzzer finds between runs); crash inputs and the full libFuzzer log go to --artifacts
(default fuzz/artifacts). libFuzzer runs in a child process, so a crash ends the child and this
process still reports: inputs tried, inputs per second, coverage, crashes. Exit status: 0 no
crash, 1 a crash (its input is saved and its traceback printed), 2 the fuzzer did not run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).resolve().parent
ROOT: Final = HERE.parent
WORKER: Final = "--worker"
GRACE_SECONDS: Final = 120  # beyond --seconds: start-up, corpus loading, one slow last input
INPUT_TIMEOUT_SECONDS: Final = 10  # libFuzzer reports an input slower than this as a hang
MAX_LEN: Final = 4096


@dataclass(frozen=True, slots=True)
class Totals:
    """What one libFuzzer run reported."""

    inputs: int
    seconds: float
    coverage: int | None
    features: int | None
    corpus: int | None
    crash: str | None  # the saved input of a crash, a hang or an out-of-memory
    traceback: str


def _libfuzzer_args(options: argparse.Namespace) -> list[str]:
    budget = f"-runs={options.runs}" if options.runs else f"-max_total_time={options.seconds}"
    return [
        budget,
        "-print_final_stats=1",
        f"-timeout={INPUT_TIMEOUT_SECONDS}",
        "-rss_limit_mb=2048",
        f"-max_len={MAX_LEN}",
        f"-dict={HERE / 'stomp.dict'}",
        f"-artifact_prefix={options.artifacts}/",
        str(options.corpus),
    ]


def parse_log(log: str, seconds: float) -> Totals:
    """The totals in libFuzzer's output (stderr)."""
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
    status = re.findall(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", log, re.MULTILINE)
    crash = re.search(r"Test unit written to (\S+)", log)
    exception = re.search(r"=== Uncaught Python exception: ===\n(.*?)\n\n", log, re.DOTALL)
    inputs = int(runs[-1]) if runs else int(status[-1][0]) if status else 0
    last = status[-1] if status else None
    return Totals(
        inputs=inputs,
        seconds=seconds,
        coverage=int(last[1]) if last else None,
        features=int(last[2]) if last else None,
        corpus=int(last[3]) if last else None,
        crash=crash.group(1) if crash else None,
        traceback=exception.group(1) if exception else "",
    )


def report(totals: Totals, seeds: int, log_path: Path) -> str:
    """The summary printed at the end."""
    rate = totals.inputs / totals.seconds if totals.seconds > 0 else 0.0
    coverage = (
        "not reported"
        if totals.coverage is None
        else f"{totals.coverage} edges, {totals.features} features, corpus {totals.corpus} inputs"
    )
    lines = [
        f"seed inputs:       {seeds} (tests/vectors.py)",
        f"inputs tried:      {totals.inputs}",
        f"seconds:           {totals.seconds:.0f}",
        f"inputs per second: {rate:.0f}",
        f"coverage:          {coverage}",
        f"crashes:           {0 if totals.crash is None else 1}",
        f"libFuzzer log:     {log_path}",
    ]
    if totals.crash is not None:
        lines.append(f"crash input:       {totals.crash}")
        lines += ["", totals.traceback or "(no Python traceback: see the log)"]
    return "\n".join(lines)


def run(options: argparse.Namespace) -> int:
    """Write the seeds, fuzz in a child process, print the totals; the exit status."""
    sys.path.insert(0, str(ROOT))  # tests.vectors, for the seeds
    from fuzz.seeds import write_corpus

    seeds = write_corpus(options.corpus)
    options.artifacts.mkdir(parents=True, exist_ok=True)
    log_path = options.artifacts / "fuzz.log"
    command = [sys.executable, str(Path(__file__).resolve()), WORKER, *_libfuzzer_args(options)]
    limit = (options.seconds if not options.runs else 24 * 3600) + GRACE_SECONDS
    started = time.monotonic()
    with log_path.open("w") as log:
        try:
            child = subprocess.run(
                command, stdout=log, stderr=subprocess.STDOUT, timeout=limit, check=False
            )
        except subprocess.TimeoutExpired:
            print(f"the fuzzer did not stop within {limit} s; see {log_path}", file=sys.stderr)
            return 2
    totals = parse_log(log_path.read_text(errors="replace"), time.monotonic() - started)
    print(report(totals, seeds, log_path))
    if totals.crash is not None:
        return 1
    if child.returncode != 0 or totals.inputs == 0:
        print(f"the fuzzer failed (exit {child.returncode}); see {log_path}", file=sys.stderr)
        return 2
    return 0


def replay(paths: list[Path]) -> int:
    """Run saved inputs through the target once each, uninstrumented; tracebacks show."""
    sys.path.insert(0, str(ROOT))
    from fuzz.target import check

    for path in paths:
        check(path.read_bytes())
        print(f"{path}: passes")
    return 0


def worker(libfuzzer_args: list[str]) -> None:
    """The child: instrument stompmodels, then hand the target to libFuzzer (never returns)."""
    import atheris

    # Only modules first imported inside this block get coverage instrumentation, so nothing
    # may import stompmodels before it (the seeds are written by the parent for that reason).
    assert "stompmodels" not in sys.modules, "stompmodels was imported before instrumentation"
    sys.path.insert(0, str(ROOT))
    with atheris.instrument_imports(include=["stompmodels", "fuzz"]):
        from fuzz.target import check
    atheris.Setup([sys.argv[0], *libfuzzer_args], check)
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    """Entry point; see the module docstring."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == [WORKER]:
        worker(args[1:])
        return 2  # not reached: libFuzzer exits the process
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=int, default=60, help="how long to fuzz (default 60)")
    budget.add_argument("--runs", type=int, default=0, help="stop after this many inputs")
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus", help="corpus directory")
    parser.add_argument("--artifacts", type=Path, default=HERE / "artifacts", help="crash inputs")
    parser.add_argument("--replay", type=Path, nargs="+", help="run these inputs once, no fuzzing")
    options = parser.parse_args(args)
    if options.replay:
        return replay(options.replay)
    options.corpus = options.corpus.resolve()
    options.artifacts = options.artifacts.resolve()
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
