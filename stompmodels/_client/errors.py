"""The errors every client raises, and what `on_state` callbacks are told."""

from __future__ import annotations

from typing import Literal

from stompmodels._frames import Error

ConnectionEvent = Literal["connected", "lost", "reconnected", "closed"]
"""What `on_state` callbacks are told."""


class ConnectionLost(ConnectionError):
    """The connection could not be opened, or it closed or failed; the message says why."""


class BrokerError(ConnectionLost):
    """The broker sent an ERROR frame (and closed the session); `frame` is that ERROR."""

    def __init__(self, frame: Error) -> None:
        # The message header, else the body's first line (ActiveMQ puts a stack trace there).
        lines = frame.body.decode(errors="replace").strip().splitlines()
        detail = lines[0][:200] if lines else ""
        if frame.message and detail:
            reason = f"{frame.message} ({detail})"
        else:
            reason = frame.message or detail or "(no message)"
        super().__init__(f"the broker sent ERROR: {reason}")
        self.frame = frame


class HeartbeatTimeout(ConnectionLost):
    """The broker sent nothing, not even a heart-beat, for longer than negotiated."""


class Closed(ConnectionLost):
    """The connection was closed on purpose (`close`, `disconnect`): iterators end quietly."""


def describe_error(error: BaseException) -> str:
    """One line for an OS or protocol error (never a traceback)."""
    if isinstance(error, TimeoutError):
        return "timed out"
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return str(text)


class MissingExtra(ModuleNotFoundError):
    """An optional package is not installed; the message names the extra that installs it.

    ``MissingExtra("ws:// URLs need", "websockets", "ws")`` says "ws:// URLs need the websockets
    package: pip install 'stompmodels[ws]'".
    """

    def __init__(self, needs: str, package: str, extra: str) -> None:
        super().__init__(
            f"{needs} the {package} package: pip install 'stompmodels[{extra}]'", name=package
        )
        self.extra = extra

    @staticmethod
    def is_missing(error: ModuleNotFoundError, package: str) -> bool:
        """Whether `error` says `package` is not installed (not: one of its modules is amiss)."""
        return error.name == package
