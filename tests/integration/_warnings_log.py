"""What stompmodels logs at WARNING and above during a scenario, for the fault tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class WarningLog(logging.Handler):
    """Keeps the messages of the records it is given, WARNING and above."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def warnings_logged() -> Iterator[WarningLog]:
    """Collect the warnings of every stompmodels logger while the block runs."""
    handler = WarningLog()
    logger = logging.getLogger("stompmodels")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
