"""A typed service and its client in one script: orders in, invoices and prices out.

The service (one `Client`) has three `@client.subscriber` handlers, each typed by its first
parameter's annotation:

- `take_order(order: Order, message: Message)` books orders (up to 4 at once) and hands an
  `Invoice` back to this script; a body that is not a valid `Order` never reaches it: it goes
  to the dead-letter queue with the reason, and the original is acknowledged;
- `read_dead_letter(body: bytes, message: Message)` shows what landed there, and why;
- `quote(query: PriceQuery) -> Price` answers requests: its return value is the reply.

The shop (a second `Client`) publishes a few orders (each confirmed by a RECEIPT), one invalid
body, and asks for a handful of prices with `request(..., response=Price)`. Every destination
has a random suffix, so a run never sees the messages of an earlier one. The whole run is
bounded (a few seconds at most); it exits 0 when everything came back, 1 otherwise.

Run: ``python examples/orders_service.py [URL]``
(URL, else $STOMP_URL, else ``stomp://guest:guest@127.0.0.1:61613/``)
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from dataclasses import dataclass
from typing import Final, Literal

from pydantic import BaseModel, Field

from stompmodels import Message
from stompmodels.aio import Client, ConnectionLost

DEFAULT_URL: Final = "stomp://guest:guest@127.0.0.1:61613/"
LIMIT: Final = 10.0  # seconds for the whole run, connect to close
WAIT: Final = 5.0  # seconds for any one answer


class Order(BaseModel):
    """An order as the shop sends it."""

    id: int
    item: str
    quantity: int = Field(gt=0)
    unit_price: float = Field(gt=0)


class Invoice(BaseModel):
    """What the service makes of a booked order."""

    order_id: int
    item: str
    total: float


Item = Literal["widget", "gadget", "gizmo"]


class PriceQuery(BaseModel):
    """A request for a price (of an item on the price list: anything else is invalid)."""

    item: Item
    quantity: int = Field(gt=0)


class Price(BaseModel):
    """The reply to a `PriceQuery`."""

    item: str
    quantity: int
    total: float


PRICE_LIST: Final[dict[Item, float]] = {"widget": 2.5, "gadget": 9.75, "gizmo": 0.5}
ORDERS: Final = (
    Order(id=1, item="widget", quantity=4, unit_price=2.5),
    Order(id=2, item="gadget", quantity=1, unit_price=9.75),
    Order(id=3, item="gizmo", quantity=10, unit_price=0.5),
)
INVALID: Final = b'{"id": 4, "item": "widget", "quantity": 0, "unit_price": 2.5}'
QUERIES: Final = (
    PriceQuery(item="widget", quantity=3),
    PriceQuery(item="gadget", quantity=2),
    PriceQuery(item="gizmo", quantity=100),
)


@dataclass(frozen=True, slots=True)
class Destinations:
    """This run's queues (a random suffix each)."""

    orders: str
    dead_letters: str
    prices: str

    @classmethod
    def fresh(cls) -> Destinations:
        base = f"/queue/stompmodels-example-{uuid.uuid4().hex[:12]}"
        return cls(f"{base}.orders", f"{base}.orders.dead", f"{base}.prices")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A body the service refused, and the reason it was given."""

    body: bytes
    reason: str


@dataclass(slots=True)
class Service:
    """The service's client, and what its handlers hand back to this script."""

    client: Client
    invoices: asyncio.Queue[Invoice]
    dead_letters: asyncio.Queue[DeadLetter]


def build_service(url: str, where: Destinations) -> Service:
    """The service's client with its three typed subscribers (subscribed on connect)."""
    service = Service(Client(url, timeout=WAIT), asyncio.Queue(), asyncio.Queue())

    @service.client.subscriber(where.orders, max_concurrent=4, dead_letter=where.dead_letters)
    async def take_order(order: Order, message: Message) -> None:
        await asyncio.sleep(0.01)  # some work: up to 4 orders are booked at once
        total = order.quantity * order.unit_price
        await service.invoices.put(Invoice(order_id=order.id, item=order.item, total=total))

    @service.client.subscriber(where.dead_letters)
    async def read_dead_letter(body: bytes, message: Message) -> None:
        reason = message.headers.get("x-dead-letter-reason", "(no reason)")
        await service.dead_letters.put(DeadLetter(body, reason))

    @service.client.subscriber(where.prices)
    async def quote(query: PriceQuery) -> Price:  # the return value is the reply
        total = query.quantity * PRICE_LIST[query.item]
        return Price(item=query.item, quantity=query.quantity, total=total)

    return service


async def shop(client: Client, where: Destinations, service: Service) -> None:
    """The client part: orders, one invalid body, price requests; print what comes back."""
    for order in ORDERS:
        await client.publish(where.orders, order, receipt=True)
        print(f"published {order!r}")
    await client.publish(where.orders, INVALID, content_type="application/json", receipt=True)
    print(f"published an invalid order: {INVALID.decode()}")

    async with asyncio.timeout(WAIT):
        invoices = [await service.invoices.get() for _ in ORDERS]
        dead = await service.dead_letters.get()
    for invoice in sorted(invoices, key=lambda invoice: invoice.order_id):
        print(f"invoice: {invoice!r}")
    print(f"dead letter: {dead.body.decode()} because {dead.reason}")

    prices = await asyncio.gather(
        *(client.request(where.prices, query, response=Price, timeout=WAIT) for query in QUERIES)
    )
    for price in prices:
        print(f"price: {price!r}")
    print(f"done: {len(invoices)} invoices, 1 dead letter, {len(prices)} prices")


async def run(url: str) -> None:
    """Start the service, use it from a second client, stop both; bounded by LIMIT seconds."""
    where = Destinations.fresh()
    print(f"orders on {where.orders}, dead letters on {where.dead_letters}")
    print(f"prices on {where.prices}")
    service = build_service(url, where)
    async with asyncio.timeout(LIMIT), service.client, Client(url, timeout=WAIT) as client:
        serving = asyncio.create_task(service.client.serve(), name="service")
        try:
            await shop(client, where, service)
        finally:
            await service.client.close()  # serve() returns
        await serving


def main(argv: list[str]) -> int:
    """Command-line entry: the broker URL is the optional first argument."""
    url = argv[0] if argv else os.environ.get("STOMP_URL", DEFAULT_URL)
    # The refused order is logged at ERROR on "stompmodels.aio": show such lines here.
    logging.basicConfig(
        stream=sys.stdout, level=logging.WARNING, format="log: %(levelname)s %(message)s"
    )
    try:
        asyncio.run(run(url))
    except (ConnectionLost, TimeoutError) as error:
        print(f"orders_service: {error or 'timed out'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
