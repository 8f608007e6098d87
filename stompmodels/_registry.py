"""Handlers of server frames, registered by decorator and checked by mypy; first match wins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

from ._frames import ClientFrame, Connected, Error, Message, Receipt, ServerFrame

F = TypeVar("F", bound=Connected | Message | Receipt | Error)

Handler: TypeAlias = Callable[[F], ClientFrame | None]
"""A handler takes the typed server frame and returns the reply to send, or None."""


@dataclass(frozen=True, slots=True)
class _Route:
    kind: type[ServerFrame]
    accepts: Callable[[ServerFrame], bool]
    handler: Callable[[ServerFrame], ClientFrame | None]


class Router:
    """An ordered set of handlers; routers can be included into one another (and into an Engine).

    Example::

        router = Router()

        @router.on(Message, destination="/queue/orders")
        def order(message: Message) -> ClientFrame | None: ...
    """

    def __init__(self) -> None:
        self._routes: list[_Route | Router] = []

    def on(
        self,
        kind: type[F],
        *,
        where: Callable[[F], bool] | None = None,
        destination: str | None = None,
        subscription: str | None = None,
    ) -> Callable[[Handler[F]], Handler[F]]:
        """Register the decorated function for frames of `kind`, optionally narrowed.

        `destination` and `subscription` narrow MESSAGE handlers; `where` narrows any kind.
        """
        if (destination is not None or subscription is not None) and kind is not Message:
            raise TypeError("destination= and subscription= only narrow Message handlers")

        def accepts(frame: ServerFrame) -> bool:
            if destination is not None and getattr(frame, "destination", None) != destination:
                return False
            if subscription is not None and getattr(frame, "subscription", None) != subscription:
                return False
            return where is None or where(frame)  # type: ignore[arg-type]  # frame is a `kind`

        def register(handler: Handler[F]) -> Handler[F]:
            self._routes.append(_Route(kind, accepts, handler))  # type: ignore[arg-type]  # idem
            return handler

        return register

    def include(self, router: Router) -> None:
        """Consult `router`'s handlers, in their order, after the ones registered so far."""
        if router is self or router._reaches(self):
            raise ValueError("including this router would make a cycle")
        self._routes.append(router)

    def _reaches(self, other: Router) -> bool:
        return any(
            isinstance(route, Router) and (route is other or route._reaches(other))
            for route in self._routes
        )

    @property
    def has_handlers(self) -> bool:
        """Whether any handler (or included router) was registered: a router without any
        takes no frame."""
        return bool(self._routes)

    def handler_for(self, frame: ServerFrame) -> Callable[[ServerFrame], ClientFrame | None] | None:
        """The first handler that accepts `frame`, searching included routers in order."""
        for route in self._routes:
            if isinstance(route, Router):
                found = route.handler_for(frame)
                if found is not None:
                    return found
            elif type(frame) is route.kind and route.accepts(frame):
                return route.handler
        return None
