"""A local broker's process, found by the TCP port it listens on, and the CPU time it used.

Linux only (it reads /proc); elsewhere, or without the rights to see the broker's sockets,
`broker_clock` gives None and the benchmark leaves the broker's CPU out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

_LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


def listening_inodes(port: int) -> set[str]:
    """The socket inodes listening on `port` (IPv4 or IPv6)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rpartition(":")[2], 16) == port:
                inodes.add(inode)
    return inodes


def listening_pid(port: int) -> int | None:
    """The process that holds the socket listening on `port`, if it can be seen."""
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    if not wanted:
        return None
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                if os.readlink(f"/proc/{entry}/fd/{fd}") in wanted:
                    return int(entry)
        except OSError:  # gone, or not ours to look at
            continue
    return None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid` (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()  # the name in parentheses may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_clock(port: int) -> Callable[[], float] | None:
    """A function that reads the CPU seconds of the broker listening on `port`, or None."""
    pid = listening_pid(port)
    if pid is None:
        return None
    try:
        cpu_seconds(pid)
    except OSError:
        return None
    return lambda: cpu_seconds(pid)
