"""What the benchmark scripts print alike: the machine they ran on, and aligned tables."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
from collections.abc import Sequence


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else whatever platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line(*details: str) -> str:
    """Platform, CPU, Python, `details`, the libraries compared, date and load average."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    versions = " | ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("stompmodels", "pydantic", "stomp.py", "stompman")
    )
    return " | ".join(
        [
            platform.platform(),
            f"{cpu_model()} ({os.cpu_count()} CPUs)",
            f"Python {platform.python_version()}",
            *details,
            versions,
            now,
            f"load average {load}",
        ]
    )


def format_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 2
) -> list[str]:
    """Left-align the first `left` columns, right-align the rest."""
    widths = [max(len(cells[i]) for cells in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return [line(header), rule, *(line(cells) for cells in rows)]
