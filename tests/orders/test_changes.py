"""Changes customers ask for, on the demo store and through the HTTP contract alike."""

from datetime import timedelta

import pytest

from orders.client import OrderBackend
from orders.demo_store import DemoOrderStore, iso
from orders.models import OrderError, OrderErrorKind, OrderStatus, ReturnKind, ReturnReason
from tests.orders.conftest import NOW, pinned_store

UNPAID, PAID, PACKED, SHIPPED, DELAYED = (
    "2025110300001",
    "2025110300012",
    "2025110300015",
    "2025110300030",
    "2025110300033",
)
DELIVERED_3_DAYS_AGO, DELIVERED_9_DAYS_AGO = "2025110300040", "2025110300044"
RETURN_REQUESTED, REFUNDED, CANCELLED = "2025110300050", "2025110300055", "2025110300060"


async def refused(change) -> str:
    with pytest.raises(OrderError) as raised:
        await change
    assert raised.value.kind is OrderErrorKind.NOT_ALLOWED, raised.value
    return raised.value.reason


async def test_the_address_changes_before_dispatch_only(backend: OrderBackend):
    for order_id in (UNPAID, PAID, PACKED):
        changed = await backend.change_address(
            order_id, address="北京市海淀区中关村大街1号", request_id=f"a-{order_id}"
        )
        assert changed.address == "北京市海淀区中关村大街1号"
        assert (await backend.get_order(order_id)).address == changed.address
    for order_id in (SHIPPED, DELAYED, DELIVERED_3_DAYS_AGO):
        assert (
            await refused(
                backend.change_address(order_id, address="x路1号", request_id=f"a-{order_id}")
            )
            == "already_shipped"
        )
    assert (
        await refused(backend.change_address(CANCELLED, address="x路1号", request_id="a-c"))
        == "already_cancelled"
    )
    assert (
        await refused(backend.change_address(PAID, address="  ", request_id="a-blank"))
        == "invalid_argument"
    )


async def test_the_receivers_phone_changes_before_dispatch_only(backend: OrderBackend):
    changed = await backend.change_phone(PACKED, phone="139 1234 5678", request_id="p1")
    assert changed.receiver_phone == "13912345678"
    assert (
        await refused(backend.change_phone(PAID, phone="12345", request_id="p2"))
        == "invalid_argument"
    )
    assert (
        await refused(backend.change_phone(SHIPPED, phone="13912345678", request_id="p3"))
        == "already_shipped"
    )


async def test_cancelling_a_paid_order_refunds_it_in_full(
    backend: OrderBackend, store: DemoOrderStore
):
    before = await backend.get_order(PAID)
    cancelled = await backend.cancel(PAID, request_id="c1")
    assert cancelled.status is OrderStatus.CANCELLED
    assert (await backend.get_order(PAID)).status is OrderStatus.CANCELLED
    refunds = [r for r in await store.refunds() if r.order_id == PAID]
    assert [(r.amount_cents, r.cause) for r in refunds] == [(before.total_cents, "cancelled")]


async def test_cancelling_an_unpaid_order_refunds_nothing(
    backend: OrderBackend, store: DemoOrderStore
):
    assert (await backend.cancel(UNPAID, request_id="c1")).status is OrderStatus.CANCELLED
    assert not [r for r in await store.refunds() if r.order_id == UNPAID]


async def test_an_order_cannot_be_cancelled_after_dispatch_or_twice(backend: OrderBackend):
    for order_id in (SHIPPED, DELAYED, DELIVERED_3_DAYS_AGO, REFUNDED):
        assert (
            await refused(backend.cancel(order_id, request_id=f"c-{order_id}")) == "already_shipped"
        )
    await backend.cancel(PACKED, request_id="first")
    assert await refused(backend.cancel(PACKED, request_id="second")) == "already_cancelled"


async def test_the_same_request_gets_the_same_answer_and_changes_once(
    backend: OrderBackend, store: DemoOrderStore
):
    first = await backend.cancel(PAID, request_id="retry-me")
    again = await backend.cancel(PAID, request_id="retry-me")
    assert again == first
    assert len([r for r in await store.refunds() if r.order_id == PAID]) == 1
    # A refusal is an answer too: the same request is refused the same way afterwards.
    assert await refused(backend.cancel(SHIPPED, request_id="late")) == "already_shipped"
    assert await refused(backend.cancel(SHIPPED, request_id="late")) == "already_shipped"


async def test_a_request_id_cannot_be_reused_for_another_change(backend: OrderBackend):
    await backend.change_address(PAID, address="上海市徐汇区漕溪北路1号", request_id="once")
    assert await refused(backend.cancel(PAID, request_id="once")) == "request_id_reused"
    assert (await backend.get_order(PAID)).status is OrderStatus.PAID
    assert await refused(backend.cancel(PAID, request_id="")) == "invalid_argument"


async def test_a_return_inside_the_window_is_recorded_with_who_pays_the_postage(
    backend: OrderBackend,
):
    created = await backend.request_return(
        DELIVERED_3_DAYS_AGO, kind="return", reason="no_reason", request_id="r1"
    )
    assert (created.kind, created.reason, created.postage_paid_by) == (
        ReturnKind.RETURN,
        ReturnReason.NO_REASON,
        "customer",
    )
    assert created.status == "requested" and created.created_at == iso(NOW)
    assert (await backend.get_order(DELIVERED_3_DAYS_AGO)).status is OrderStatus.RETURN_REQUESTED
    assert (
        await backend.request_return(
            DELIVERED_3_DAYS_AGO, kind="return", reason="no_reason", request_id="r1"
        )
        == created
    )
    second = backend.request_return(
        DELIVERED_3_DAYS_AGO, kind="exchange", reason="quality", request_id="r2"
    )
    assert await refused(second) == "already_requested"


async def test_a_quality_problem_is_returned_at_the_shops_expense(backend: OrderBackend):
    created = await backend.request_return(
        DELIVERED_3_DAYS_AGO, kind="exchange", reason="quality", request_id="q1"
    )
    assert created.postage_paid_by == "shop" and created.kind is ReturnKind.EXCHANGE


async def test_returns_outside_the_window_or_before_delivery_are_refused(backend: OrderBackend):
    for reason in ("no_reason", "quality"):
        late = backend.request_return(
            DELIVERED_9_DAYS_AGO, kind="refund", reason=reason, request_id=reason
        )
        assert await refused(late) == "outside_window"
    expected = {
        SHIPPED: "not_delivered",
        UNPAID: "not_delivered",
        RETURN_REQUESTED: "already_requested",
        REFUNDED: "already_refunded",
        CANCELLED: "already_cancelled",
    }
    for order_id, reason in expected.items():
        ask = backend.request_return(
            order_id, kind="return", reason="no_reason", request_id=f"x{order_id}"
        )
        assert await refused(ask) == reason
    odd = backend.request_return(
        DELIVERED_3_DAYS_AGO, kind="swap", reason="no_reason", request_id="odd"
    )
    assert await refused(odd) == "invalid_argument"


async def test_the_return_window_is_the_shops_setting(tmp_path):
    generous = pinned_store(tmp_path / "orders.sqlite3", return_window_days=10)
    created = await generous.request_return(
        DELIVERED_9_DAYS_AGO, kind="return", reason="no_reason", request_id="r"
    )
    assert created.order_id == DELIVERED_9_DAYS_AGO


async def test_urging_a_parcel_opens_one_follow_up_due_in_two_hours(
    backend: OrderBackend, store: DemoOrderStore
):
    task = await backend.urge_delivery(DELAYED, request_id="u1")
    assert (task.order_id, task.kind, task.done) == (DELAYED, "urge_delivery", False)
    assert task.due_at == iso(NOW + timedelta(hours=2))
    assert await backend.urge_delivery(DELAYED, request_id="u2") == task, "no second task"
    assert [f.id for f in await store.follow_ups()] == [task.id]
    later = await backend.urge_delivery(SHIPPED, request_id="u3", follow_up_hours=0.5)
    assert later.due_at == iso(NOW + timedelta(minutes=30))


async def test_only_a_parcel_on_its_way_can_be_urged(backend: OrderBackend):
    expected = {
        UNPAID: "not_paid",
        PAID: "not_shipped",
        PACKED: "not_shipped",
        DELIVERED_3_DAYS_AGO: "already_delivered",
        CANCELLED: "already_cancelled",
    }
    for order_id, reason in expected.items():
        assert await refused(backend.urge_delivery(order_id, request_id=f"u{order_id}")) == reason


async def test_unpaid_orders_past_the_reminder_time(backend: OrderBackend, store: DemoOrderStore):
    due = await backend.unpaid_orders(older_than_hours=12)
    assert [o.id for o in due] == [o.id for o in await store.unpaid_orders(older_than_hours=12)]
    assert due and all(o.status is OrderStatus.UNPAID for o in due)
    assert len(await backend.unpaid_orders(older_than_hours=0)) == 6


async def test_look_ups_answer_the_same_through_every_backend(
    backend: OrderBackend, store: DemoOrderStore
):
    order = await backend.get_order(SHIPPED)
    assert order == await store.get_order(SHIPPED)
    assert await backend.customer(order.customer_id) == await store.customer(order.customer_id)
    assert await backend.orders_of(order.customer_id) == await store.orders_of(order.customer_id)
    assert await backend.products() == await store.products()
    with pytest.raises(OrderError) as raised:
        await backend.get_order("404")
    assert raised.value.kind is OrderErrorKind.NOT_FOUND
    with pytest.raises(OrderError) as raised:
        await backend.customer("C9999")
    assert raised.value.kind is OrderErrorKind.NOT_FOUND
