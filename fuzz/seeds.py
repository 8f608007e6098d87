"""The seed corpus: every spec vector of tests/vectors.py, as inputs of the fuzz target.

Each vector becomes a decoder input in its version; the server frames among them (and every
invalid vector) also become Engine inputs, after a CONNECTED that picks that version. A few
whole sessions per version (CONNECTED, MESSAGE, RECEIPTs, heart-beats, ERROR) give the Engine's
state table a start.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from stompmodels import VERSIONS, Version
from tests.vectors import ENCODES, INVALID, VALID

_SERVER_COMMANDS: Final = (b"CONNECTED", b"MESSAGE", b"RECEIPT", b"ERROR")
_ENGINE: Final = 3  # added to the version's index in control byte 0
_DISCONNECT: Final = 0x80  # control byte 1: the engine sends DISCONNECT (receipt-4) once connected


def _connected(version: Version) -> bytes:
    # STOMP 1.2 "Protocol Negotiation": a 1.0 server sends no version header.
    header = b"" if version == "1.0" else b"version:" + version.encode() + b"\n"
    return b"CONNECTED\n" + header + b"heart-beat:0,0\n\n\0"


def _message(version: Version) -> bytes:
    ack = b"ack:a-1\n" if version == "1.2" else b""
    return (
        b"MESSAGE\ndestination:/queue/fuzz\nmessage-id:m-1\nsubscription:sub-1\n"
        + ack
        + b"content-length:2\n\nhi\0"
    )


def _sessions(version: Version) -> list[tuple[bytes, bytes]]:
    """(control bytes, stream) of whole sessions in `version`."""
    engine = bytes([_ENGINE + VERSIONS.index(version), 0, 0])
    leaving = bytes([_ENGINE + VERSIONS.index(version), _DISCONNECT, 2])
    connected, message = _connected(version), _message(version)
    error = b"ERROR\nmessage:bad\nreceipt-id:receipt-2\ncontent-length:3\n\nbad\0"
    return [
        (engine, connected + b"\n" + message + b"RECEIPT\nreceipt-id:receipt-2\n\n\0\r\n" + error),
        (leaving, connected + message + b"RECEIPT\nreceipt-id:receipt-4\n\n\0" + message),
    ]


def seed_inputs() -> list[bytes]:
    """Every seed input, without duplicates, in a stable order."""
    seeds: list[bytes] = []
    # (version, wire, whether to give it to an Engine too)
    streams = [(c.version, c.wire, c.wire.startswith(_SERVER_COMMANDS)) for c in VALID]
    streams += [(c.version, c.wire, True) for c in INVALID]
    streams += [(c.version, c.wire, c.wire.startswith(_SERVER_COMMANDS)) for c in ENCODES]
    for version, wire, server in streams:
        index = VERSIONS.index(version)
        seeds.append(bytes([index, 0, 0]) + wire)
        if server:
            prefix = b"" if wire.startswith(b"CONNECTED") else _connected(version)
            seeds.append(bytes([_ENGINE + index, 0, 0]) + prefix + wire)
    for version in VERSIONS:
        seeds += [control + stream for control, stream in _sessions(version)]
    return list(dict.fromkeys(seeds))


def write_corpus(directory: Path) -> int:
    """Write the seeds into `directory` (named by SHA-1, as libFuzzer names its own finds)."""
    directory.mkdir(parents=True, exist_ok=True)
    seeds = seed_inputs()
    for seed in seeds:
        path = directory / hashlib.sha1(seed, usedforsecurity=False).hexdigest()
        if not path.exists():
            path.write_bytes(seed)
    return len(seeds)
