"""One option set for every client: the constructors of the asyncio, blocking and Twisted
clients take the same keywords, with the same defaults, as `ClientOptions.build`."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest

from stompmodels._client.options import ClientOptions
from stompmodels.aio import Client as AioClient
from stompmodels.blocking import Client as BlockingClient
from stompmodels.twisted import StompClientFactory

# What only a driver can mean: its TLS object, and Twisted's reactor.
DRIVER_OWN = {"ssl", "reactor"}


def options_of(constructor: Callable[..., object]) -> dict[str, tuple[object, object]]:
    """Each shared keyword's (kind, default)."""
    parameters = inspect.signature(constructor).parameters.values()
    return {
        p.name: (p.kind, p.default)
        for p in parameters
        if p.name not in DRIVER_OWN and p.name != "self"
    }


def test_the_option_set_is_the_one_of_client_options_build() -> None:
    build = inspect.signature(ClientOptions.build).parameters
    shared = set(options_of(AioClient)) - {"url"}
    assert shared == set(build) - {"url", "tls", "cls"}


@pytest.mark.parametrize(
    "constructor", [BlockingClient, StompClientFactory], ids=["blocking", "twisted"]
)
def test_every_client_takes_the_same_options_with_the_same_defaults(
    constructor: Callable[..., object],
) -> None:
    assert options_of(constructor) == options_of(AioClient)


def test_each_client_has_its_own_tls_keyword() -> None:
    for constructor in (AioClient, BlockingClient, StompClientFactory):
        assert "ssl" in inspect.signature(constructor).parameters
