import sqlite3
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.masking import mask_phone
from orders.demo_store import SCHEMA_VERSION, DemoOrderStore
from orders.models import OrderError, OrderErrorKind, OrderStatus
from tests.orders.conftest import NOW, pinned_store


def ago(timestamp: str) -> timedelta:
    return NOW - datetime.fromisoformat(timestamp)


async def test_demo_store_has_64_orders_in_every_state(store: DemoOrderStore):
    orders = await store.all_orders()
    assert [o.id for o in orders] == [f"20251103{n:05d}" for n in range(1, 65)]
    counts = Counter(order.status for order in orders)
    assert set(counts) == set(OrderStatus)


async def test_the_orders_others_name_keep_their_state(store: DemoOrderStore):
    """README, conversation tests and the e2e slice rely on these."""
    assert (await store.get_order("2025110300030")).status is OrderStatus.SHIPPED
    assert (await store.get_order("2025110300001")).status is OrderStatus.UNPAID
    assert (await store.get_order("2025110300012")).status is OrderStatus.PAID


async def test_each_state_has_the_history_that_fits_it(store: DemoOrderStore):
    for order in await store.all_orders():
        shipped = order.status in (
            OrderStatus.SHIPPED,
            OrderStatus.DELAYED,
            OrderStatus.DELIVERED,
            OrderStatus.RETURN_REQUESTED,
            OrderStatus.REFUNDED,
        )
        assert bool(order.tracking_no and order.courier and order.shipped_at) == shipped
        assert len(order.tracking) >= (3 if shipped else 0)
        assert bool(order.delivered_at) == (
            shipped and order.status not in (OrderStatus.SHIPPED, OrderStatus.DELAYED)
        )
        if order.status is OrderStatus.UNPAID:
            assert not order.paid_at
        stamps = [order.created_at, order.paid_at, order.shipped_at, order.delivered_at]
        present = [s for s in stamps if s]
        assert present == sorted(present) and all(ago(s) > timedelta(0) for s in present)


async def test_unpaid_orders_straddle_the_12_hour_reminder(store: DemoOrderStore):
    unpaid = [o for o in await store.all_orders() if o.status is OrderStatus.UNPAID]
    due = await store.unpaid_orders(older_than_hours=12)
    assert 0 < len(due) < len(unpaid)
    assert all(ago(o.created_at) > timedelta(hours=12) for o in due)
    assert [o.created_at for o in due] == sorted(o.created_at for o in due), "oldest first"


async def test_delayed_parcels_have_not_moved_for_days(store: DemoOrderStore):
    delayed = [o for o in await store.all_orders() if o.status is OrderStatus.DELAYED]
    assert delayed and all(ago(o.tracking[-1].ts) > timedelta(days=3) for o in delayed)


async def test_delivered_orders_fall_inside_and_outside_the_return_window(store: DemoOrderStore):
    delivered = [o for o in await store.all_orders() if o.status is OrderStatus.DELIVERED]
    inside = [o for o in delivered if ago(o.delivered_at) < timedelta(days=7)]
    assert 0 < len(inside) < len(delivered)
    assert all(o.tracking[-1].description.startswith("已签收") for o in delivered)


async def test_after_sale_orders_have_their_requests_and_refunds(store: DemoOrderStore):
    orders = {o.id: o for o in await store.all_orders()}
    returns = await store.returns()
    refunds = {r.order_id: r for r in await store.refunds()}
    asked = {r.order_id for r in returns}
    assert asked == {
        o.id
        for o in orders.values()
        if o.status in (OrderStatus.RETURN_REQUESTED, OrderStatus.REFUNDED)
    }
    for order in orders.values():
        if order.status is OrderStatus.REFUNDED or (
            order.status is OrderStatus.CANCELLED and order.paid_at
        ):
            assert refunds[order.id].amount_cents == order.total_cents
        else:
            assert order.id not in refunds
    assert {r.postage_paid_by for r in returns} == {"shop", "customer"}


async def test_customers_are_realistic_and_some_are_vip(store: DemoOrderStore):
    people = await store.customers()
    assert len(people) == 25 and any(c.vip for c, _ in people) and not all(c.vip for c, _ in people)
    for customer, address in people:
        assert customer.phone.isdigit() and len(customer.phone) == 11
        assert mask_phone(customer.phone) == customer.phone[:3] + "****" + customer.phone[-4:]
        assert 2 <= len(customer.name) <= 3 and "室" in address
    buyer = await store.customer((await store.get_order("2025110300030")).customer_id)
    assert buyer.name == (await store.get_order("2025110300030")).receiver_name


async def test_a_customers_orders_come_newest_first(store: DemoOrderStore):
    order = await store.get_order("2025110300030")
    mine = await store.orders_of(order.customer_id)
    assert order.id in [o.id for o in mine] and all(
        o.customer_id == order.customer_id for o in mine
    )
    assert [o.created_at for o in mine] == sorted((o.created_at for o in mine), reverse=True)
    assert await store.orders_of("C9999") == []


async def test_the_catalogue_has_stock_and_sold_out_items(store: DemoOrderStore):
    products = {p.sku: p for p in await store.products()}
    assert products["TS-002"].stock == 0 and products["TS-001"].stock > 0


async def test_seeding_is_reproducible(tmp_path: Path, store: DemoOrderStore):
    other = DemoOrderStore(tmp_path / "again.sqlite3")
    other.ensure_seeded(datetime(2027, 1, 1))
    first, second = await store.get_order("2025110300030"), await other.get_order("2025110300030")
    assert first.status == second.status and first.items_summary == second.items_summary
    assert first.tracking_no == second.tracking_no


async def test_unknown_ids_and_a_missing_store_have_their_error_kinds(
    tmp_path: Path, store: DemoOrderStore
):
    for lookup in (store.get_order("9999999999999"), store.customer("C9999")):
        with pytest.raises(OrderError) as raised:
            await lookup
        assert raised.value.kind is OrderErrorKind.NOT_FOUND
    with pytest.raises(OrderError) as raised:
        await DemoOrderStore(tmp_path / "absent.sqlite3").get_order("2025110300030")
    assert (raised.value.kind, raised.value.reason) == (OrderErrorKind.UNAVAILABLE, "store_missing")


async def test_a_store_seeds_itself_on_first_use_when_asked(tmp_path: Path):
    path = tmp_path / "deep" / "orders.sqlite3"
    store = DemoOrderStore(path, seed_on_first_use=True)
    assert (await store.get_order("2025110300030")).status is OrderStatus.SHIPPED
    assert [p.name for p in path.parent.iterdir()] == ["orders.sqlite3"], "no partial file left"


def test_seeding_twice_keeps_the_existing_store(store: DemoOrderStore):
    assert not store.ensure_seeded()


async def test_a_store_of_the_old_schema_is_recreated(tmp_path: Path):
    path = tmp_path / "orders.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, status TEXT)")
    old.execute("INSERT INTO orders VALUES ('2025110300030', 'shipped')")
    old.commit()
    old.close()
    store = pinned_store(path)
    assert (await store.get_order("2025110300030")).shipped_at
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


async def test_reseed_throws_changes_away(store: DemoOrderStore):
    await store.cancel("2025110300012", request_id="r1")
    store.reseed()
    assert (await store.get_order("2025110300012")).status is OrderStatus.PAID
    assert not any(r.order_id == "2025110300012" for r in await store.refunds())
