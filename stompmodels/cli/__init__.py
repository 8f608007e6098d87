"""The `stompmodels` command (also `python -m stompmodels`); `main` is the console script."""

from __future__ import annotations

from .app import main

__all__ = ["main"]
