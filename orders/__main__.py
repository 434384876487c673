"""python -m orders: look into the demo order store and move its orders along by hand, so that
every conversation flow (status, logistics, delays, changes, cancellation, returns) can be tried.
Names, phone numbers and addresses are shown masked."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.asyncio import Redis

from core import settings as settings_module
from core.keys import Keys
from core.masking import mask_address, mask_name, mask_phone
from core.settings import Settings
from core.texts import Texts
from orders.demo_store import DemoOrderStore
from orders.http_api import create_app
from orders.models import Order, OrderError
from orders.restock import RestockAlerts

Command = Callable[[DemoOrderStore, Settings, argparse.Namespace], Awaitable[None]]
DEFAULT_SERVE_PORT = 8090


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = settings_module.load()
    store = DemoOrderStore(settings.orders_db, return_window_days=settings.return_window_days)
    try:
        if args.command == "seed":
            print("created" if store.ensure_seeded() else "already there")
        elif args.command == "reseed":
            store.reseed()
            print(f"recreated {settings.orders_db}")
        elif args.command == "serve":
            store.ensure_seeded()
            app = create_app(store, token=settings.orders_api_token)
            web.run_app(app, host=args.host, port=args.port, print=print)
        else:
            store.ensure_seeded()
            asyncio.run(args.run(store, settings, args))
    except OrderError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m orders", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(
        name: str, run: Command | None, help: str, *, of_order: bool = False
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        if of_order:
            sub.add_argument("order_id")
        return sub

    command("seed", None, "create the demo store if it is missing or of an older schema")
    command("reseed", None, "throw the demo store away and create it again")
    command("list", _list, "list the orders").add_argument("--status", default="")
    command(
        "show",
        _show,
        "one order: buyer, times, tracking, returns, refunds, follow-ups",
        of_order=True,
    )
    command("customers", _customers, "the customers, masked")
    command("products", _products, "the catalogue with stock")
    stock = command(
        "stock",
        _stock,
        "set a product's stock; customers waiting for it are told when it is back",
    )
    stock.add_argument("sku")
    stock.add_argument("quantity", type=int)
    command("returns", _returns, "return, exchange and refund requests")
    command("followups", _follow_ups, "follow-up tasks (an urged delivery to check again)")
    command("followup-done", _follow_up_done, "a follow-up task was done").add_argument(
        "follow_up_id"
    )
    command(
        "advance",
        _advance,
        "next step: unpaid > paid > packed > shipped > delivered",
        of_order=True,
    )
    command("pay", _pay, "the customer pays an unpaid order", of_order=True)
    command("delay", _delay, "a shipped parcel stops moving", of_order=True)
    event = command("event", _event, "a courier's scan of a shipped parcel", of_order=True)
    event.add_argument("location")
    event.add_argument("text")
    serve = command("serve", None, "serve the HTTP order API over the demo store")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_SERVE_PORT)
    return parser


def _yuan(cents: int) -> str:
    return f"¥{cents / 100:.2f}"


def _summary(order: Order) -> str:
    return f"{order.id}  {order.status.value:<16} {order.customer_id}  {order.items_summary}"


async def _list(store: DemoOrderStore, settings: Settings, args: argparse.Namespace) -> None:
    for order in await store.all_orders():
        if not args.status or order.status.value == args.status:
            print(_summary(order))


async def _show(store: DemoOrderStore, settings: Settings, args: argparse.Namespace) -> None:
    order = await store.get_order(args.order_id)
    print(f"{order.id}  {order.status.value}  {order.items_summary}  {_yuan(order.total_cents)}")
    print(
        f"  buyer {order.customer_id} {mask_name(order.receiver_name)}"
        f" {mask_phone(order.receiver_phone)}  {mask_address(order.address)}"
    )
    times = [
        ("created", order.created_at),
        ("paid", order.paid_at),
        ("shipped", order.shipped_at),
        ("delivered", order.delivered_at),
    ]
    print("  " + "  ".join(f"{name} {at}" for name, at in times if at))
    if order.tracking_no:
        print(f"  {order.courier} {order.tracking_no}")
    for event in order.tracking:
        print(f"    {event.ts}  {event.location}  {event.description}")
    for request in await store.returns():
        if request.order_id == order.id:
            print(
                f"  {request.id}: {request.kind.value} ({request.reason.value}),"
                f" postage paid by {request.postage_paid_by}, {request.status}"
            )
    for refund in await store.refunds():
        if refund.order_id == order.id:
            print(f"  {refund.id}: refund {_yuan(refund.amount_cents)} ({refund.cause})")
    for task in await store.follow_ups():
        if task.order_id == order.id:
            print(f"  {task.id}: {task.kind} due {task.due_at}{' (done)' if task.done else ''}")


async def _customers(store: DemoOrderStore, settings: Settings, args: argparse.Namespace) -> None:
    for customer, address in await store.customers():
        vip = "VIP" if customer.vip else "   "
        print(
            f"{customer.id}  {vip}  {mask_name(customer.name):<4} {mask_phone(customer.phone)}"
            f"  {mask_address(address)}"
        )


async def _products(store: DemoOrderStore, settings: Settings, args: argparse.Namespace) -> None:
    for product in await store.products():
        print(f"{product.sku}  {product.stock:>5}  {product.category}  {product.name}")


async def _stock(store: DemoOrderStore, settings: Settings, args: argparse.Namespace) -> None:
    told = await set_stock_and_announce(settings, store, args.sku, args.quantity)
    print(f"{args.sku}: stock {args.quantity}; {told} waiting customer(s) told")


async def _returns(store: DemoOrderStore, settings: Settings, args: argparse.Namespace) -> None:
    for request in await store.returns():
        print(
            f"{request.id}  {request.order_id}  {request.kind.value:<8} {request.reason.value:<9}"
            f" postage:{request.postage_paid_by:<8} {request.status:<9} {request.created_at}"
        )


async def _follow_ups(store: DemoOrderStore, settings: Settings, args: argparse.Namespace) -> None:
    tasks = await store.follow_ups()
    for task in tasks:
        print(
            f"{task.id}  {task.order_id}  {task.kind}  due {task.due_at}"
            f"  {'done' if task.done else 'open'}"
        )
    if not tasks:
        print("no follow-ups")


async def _follow_up_done(
    store: DemoOrderStore, settings: Settings, args: argparse.Namespace
) -> None:
    task = await store.finish_follow_up(args.follow_up_id)
    print(f"{task.id}  {task.order_id}  done")


async def _advance(store: DemoOrderStore, settings: Settings, args: argparse.Namespace) -> None:
    _print_moved(await store.advance(args.order_id))


async def _pay(store: DemoOrderStore, settings: Settings, args: argparse.Namespace) -> None:
    _print_moved(await store.pay(args.order_id))


async def _delay(store: DemoOrderStore, settings: Settings, args: argparse.Namespace) -> None:
    _print_moved(await store.delay(args.order_id))


async def _event(store: DemoOrderStore, settings: Settings, args: argparse.Namespace) -> None:
    _print_moved(await store.add_tracking_event(args.order_id, args.location, args.text))


def _print_moved(order: Order) -> None:
    print(_summary(order))
    if order.tracking_no:
        latest = order.tracking[-1]
        print(
            f"  {order.courier} {order.tracking_no}: {latest.ts} {latest.location} {latest.description}"
        )


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
