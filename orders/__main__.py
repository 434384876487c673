"""python -m orders: inspect the demo order store."""

from __future__ import annotations

import argparse
import asyncio
import sys

from redis.asyncio import Redis

from bot import settings as settings_module
from bot.settings import Settings
from bot.texts import Texts
from handoff.keys import Keys
from handoff.masking import mask_name, mask_phone
from orders.demo_store import DemoOrderStore
from orders.models import OrderError
from orders.restock import RestockAlerts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orders", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("seed", help="create the demo store if it does not exist")
    listing = commands.add_parser("list", help="list orders (optionally of one status)")
    listing.add_argument("--status", default="")
    show = commands.add_parser("show", help="show one order")
    show.add_argument("order_id")
    commands.add_parser("products", help="list the catalogue with stock")
    stock = commands.add_parser(
        "stock", help="set a product's stock; customers waiting for it are told when it is back"
    )
    stock.add_argument("sku")
    stock.add_argument("quantity", type=int)
    args = parser.parse_args(argv)

    settings = settings_module.load()
    store = DemoOrderStore(settings.orders_db)
    if args.command == "seed":
        print("created" if store.ensure_seeded() else "already there")
        return 0
    store.ensure_seeded()
    if args.command == "products":
        for product in asyncio.run(store.products()):
            print(f"{product.sku}  {product.stock:>5}  {product.category}  {product.name}")
        return 0
    if args.command == "stock":
        try:
            told = asyncio.run(set_stock_and_announce(settings, store, args.sku, args.quantity))
        except OrderError as error:
            print(error, file=sys.stderr)
            return 1
        print(f"{args.sku}: stock {args.quantity}; {told} waiting customer(s) told")
        return 0
    if args.command == "show":
        try:
            order = asyncio.run(store.get_order(args.order_id))
        except OrderError as error:
            print(error, file=sys.stderr)
            return 1
        print(f"{order.id}  {order.status.value}  {order.items_summary}")
        print(
            f"  buyer {order.customer_id} {mask_name(order.receiver_name)} {mask_phone(order.receiver_phone)}"
        )
        for event in order.tracking:
            print(f"  {event.ts}  {event.location}  {event.description}")
        return 0
    for order in asyncio.run(store.all_orders()):
        if not args.status or order.status.value == args.status:
            print(
                f"{order.id}  {order.status.value:<16} {order.customer_id}  {order.items_summary}"
            )
    return 0


async def set_stock_and_announce(
    settings: Settings, store: DemoOrderStore, sku: str, quantity: int
) -> int:
    """Update the stock; a product back from zero is announced to the customers waiting for it."""
    before, product = await store.set_stock(sku, quantity)
    if before > 0 or quantity == 0:
        return 0
    texts = Texts.load()
    redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
    try:
        alerts = RestockAlerts(
            redis, Keys(settings.redis_prefix), settings.conversation_ttl_seconds
        )
        return await alerts.announce(
            product, lambda p, language: texts.get("restock_available", language, product=p.name)
        )
    finally:
        await redis.aclose()


if __name__ == "__main__":
    sys.exit(main())
