"""The errors of stompmodels: who is at fault, and where."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._frames import Frame


class ProtocolError(ValueError):
    """The peer sent bytes that break the STOMP protocol; the stream is unusable afterwards.

    `offset` is the absolute byte offset in the stream where the problem was found (None when
    unknown), and `frames` holds the frames completed before the error in the same call, so
    nothing already accepted is lost. `receipt` is the `receipt` header of the frame at fault,
    when its headers could be read (a server's ERROR then names it, STOMP 1.2 "ERROR").
    """

    def __init__(
        self, message: str, *, offset: int | None = None, receipt: str | None = None
    ) -> None:
        super().__init__(message if offset is None else f"{message} (at byte {offset})")
        self.reason = message
        self.offset = offset
        self.receipt = receipt
        self.frames: list[Frame] = []

    def shifted(self, base: int) -> ProtocolError:
        """The same error with its offset made absolute (an offset of None counts as 0)."""
        return ProtocolError(self.reason, offset=base + (self.offset or 0), receipt=self.receipt)


class LocalProtocolError(ValueError):
    """We were asked to do something the STOMP protocol, or the session's state, forbids."""
