"""python -m tools.bench.orders: latency of every order backend method, on the demo store directly and
through the HTTP adapter against the reference server on loopback.

Changes run on orders in the state that lets them succeed; when a change has used up its
orders (each can be cancelled once), the store is put back to its seeded copy, untimed.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web

from orders.client import OrderBackend
from orders.demo_store import DemoOrderStore
from orders.http_api import create_app
from orders.http_backend import HttpOrderBackend
from orders.models import BEFORE_DISPATCH, IN_TRANSIT, Order, OrderStatus

Call = Callable[[OrderBackend, Order, str], Awaitable[object]]


@dataclass(frozen=True)
class Case:
    method: str
    call: Call
    orders: list[Order]
    uses_up_orders: bool = False


def cases(orders: list[Order], now: datetime) -> list[Case]:
    before_dispatch = [o for o in orders if o.status in BEFORE_DISPATCH]
    returnable = [
        o
        for o in orders
        if o.status is OrderStatus.DELIVERED
        and datetime.fromisoformat(o.delivered_at) > now - timedelta(days=7)
    ]
    return [
        Case("get_order", lambda b, o, r: b.get_order(o.id), orders),
        Case("orders_of", lambda b, o, r: b.orders_of(o.customer_id), orders),
        Case("customer", lambda b, o, r: b.customer(o.customer_id), orders),
        Case("products", lambda b, o, r: b.products(), orders),
        Case("unpaid_orders", lambda b, o, r: b.unpaid_orders(older_than_hours=12), orders),
        Case(
            "change_address",
            lambda b, o, r: b.change_address(o.id, address="上海市徐汇区漕溪北路1号", request_id=r),
            before_dispatch,
        ),
        Case(
            "change_phone",
            lambda b, o, r: b.change_phone(o.id, phone="13912345678", request_id=r),
            before_dispatch,
        ),
        Case("cancel", lambda b, o, r: b.cancel(o.id, request_id=r), before_dispatch, True),
        Case(
            "request_return",
            lambda b, o, r: b.request_return(o.id, kind="return", reason="quality", request_id=r),
            returnable,
            True,
        ),
        Case(
            "urge_delivery",
            lambda b, o, r: b.urge_delivery(o.id, request_id=r),
            [o for o in orders if o.status in IN_TRANSIT],
            True,
        ),
    ]


async def measure(
    label: str, backend: OrderBackend, case: Case, rounds: int, restore: Callable[[], None]
) -> list[float]:
    """Every call a new request id: a repeated one would only replay the recorded answer."""
    samples = []
    for n in range(rounds):
        if case.uses_up_orders and n % len(case.orders) == 0:
            restore()
        order = case.orders[n % len(case.orders)]
        started = time.perf_counter()
        await case.call(backend, order, f"{label}-{case.method}-{n}")
        samples.append(time.perf_counter() - started)
    return samples


def milliseconds(samples: list[float]) -> str:
    p95 = statistics.quantiles(samples, n=20)[18]
    return f"{statistics.median(samples) * 1000:8.2f} {p95 * 1000:8.2f}"


async def run(rounds: int, workdir: Path) -> None:
    pristine, live = workdir / "seeded.sqlite3", workdir / "orders.sqlite3"
    now = datetime.now()
    DemoOrderStore(pristine).ensure_seeded(now)
    shutil.copyfile(pristine, live)
    store = DemoOrderStore(live)

    def restore() -> None:
        shutil.copyfile(pristine, live)  # no connection is open between calls

    runner = web.AppRunner(create_app(store))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    remote = HttpOrderBackend(f"http://{host}:{port}")
    try:
        print(f"{rounds} calls per method; milliseconds")
        print(f"{'method':<16} {'demo median':>11} {'p95':>8} {'http median':>11} {'p95':>8}")
        for case in cases(await store.all_orders(), now):
            direct = await measure("demo", store, case, rounds, restore)
            over_http = await measure("http", remote, case, rounds, restore)
            print(f"{case.method:<16}    {milliseconds(direct)}    {milliseconds(over_http)}")
    finally:
        await remote.aclose()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.orders", description=__doc__)
    parser.add_argument("--rounds", type=int, default=200, help="calls per method and backend")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kefu-orders-bench-") as workdir:
        asyncio.run(run(max(args.rounds, 20), Path(workdir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
