"""The installed version of the package."""

from __future__ import annotations

import importlib.metadata


def package_version() -> str | None:
    """The version in the package's metadata; None when it is not installed."""
    try:
        return importlib.metadata.version("stompmodels")
    except importlib.metadata.PackageNotFoundError:
        return None
