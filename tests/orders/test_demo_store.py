from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from orders.demo_store import DemoOrderStore
from orders.models import OrderError, OrderErrorKind, OrderStatus


@pytest.fixture
def store(tmp_path: Path) -> DemoOrderStore:
    store = DemoOrderStore(tmp_path / "orders.sqlite3")
    assert store.ensure_seeded(datetime(2026, 11, 22, 12, 0))
    return store


async def test_demo_store_has_orders_in_every_state(store: DemoOrderStore):
    orders = await store.all_orders()
    assert len(orders) >= 60
    counts = Counter(order.status for order in orders)
    assert set(counts) == set(OrderStatus)


async def test_shipped_orders_have_tracking_and_unpaid_ones_do_not(store: DemoOrderStore):
    for order in await store.all_orders():
        if order.status in (OrderStatus.SHIPPED, OrderStatus.DELAYED, OrderStatus.DELIVERED):
            assert order.tracking_no and order.courier and order.tracking
        if order.status is OrderStatus.UNPAID:
            assert not order.paid_at and not order.tracking_no


async def test_order_ids_are_stable_across_seeding(tmp_path: Path, store: DemoOrderStore):
    other = DemoOrderStore(tmp_path / "again.sqlite3")
    other.ensure_seeded(datetime(2027, 1, 1))
    first, second = await store.get_order("2025110300030"), await other.get_order("2025110300030")
    assert first.status == second.status and first.items_summary == second.items_summary


async def test_unknown_order_and_missing_store_have_their_error_kinds(
    tmp_path: Path, store: DemoOrderStore
):
    with pytest.raises(OrderError) as raised:
        await store.get_order("9999999999999")
    assert raised.value.kind is OrderErrorKind.NOT_FOUND
    with pytest.raises(OrderError) as raised:
        await DemoOrderStore(tmp_path / "absent.sqlite3").get_order("2025110300030")
    assert raised.value.kind is OrderErrorKind.UNAVAILABLE


def test_seeding_twice_keeps_the_existing_store(store: DemoOrderStore):
    assert not store.ensure_seeded()
