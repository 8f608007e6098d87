"""The bounds a decoder enforces on what a peer sends."""

from __future__ import annotations

from dataclasses import dataclass

_KIB = 1024
_MIB = 1024 * _KIB


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what a peer may make the decoder buffer, in bytes (and header lines).

    The defaults follow ActiveMQ's STOMP transport (maxDataLength 100 MiB, maxHeaderLength
    10 KiB, maxHeaders 1000), so anything a mainstream broker accepts passes.
    """

    max_frame_size: int = 100 * _MIB + 1 * _MIB
    max_head_size: int = 1 * _MIB
    max_header_line: int = 10 * _KIB
    max_headers: int = 1000

    def __post_init__(self) -> None:
        for name in ("max_frame_size", "max_head_size", "max_header_line", "max_headers"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be positive")
