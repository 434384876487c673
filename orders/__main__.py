"""python -m orders: inspect the demo order store."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot import settings as settings_module
from handoff.masking import mask_name, mask_phone
from orders.demo_store import DemoOrderStore
from orders.models import OrderError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orders", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("seed", help="create the demo store if it does not exist")
    listing = commands.add_parser("list", help="list orders (optionally of one status)")
    listing.add_argument("--status", default="")
    show = commands.add_parser("show", help="show one order")
    show.add_argument("order_id")
    args = parser.parse_args(argv)

    store = DemoOrderStore(settings_module.load().orders_db)
    if args.command == "seed":
        print("created" if store.ensure_seeded() else "already there")
        return 0
    store.ensure_seeded()
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


if __name__ == "__main__":
    sys.exit(main())
