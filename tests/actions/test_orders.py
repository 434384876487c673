"""The order flows' actions against the real demo store and a real Redis: verification and its
lock, status and logistics, the delay plan, cancelling, changing, returns and their refusals."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.backends import Backends
from actions.order_flow import (
    _RECORD_FAILURE,
    FLOW_SLOTS,
    VERIFY_LOCK_SECONDS,
    OrderDesk,
)
from actions.order_forms import (
    ValidateOrderCancelForm,
    ValidateOrderChangeForm,
    ValidateOrderIdForm,
    ValidateReturnForm,
)
from actions.order_prompts import ActionAskOrderId, AskChangeConfirmation
from actions.orders import (
    ActionCancelOrder,
    ActionChangeOrder,
    ActionOrderStatus,
    ActionRequestReturn,
)
from core.keys import Keys
from orders.demo_store import DemoOrderStore
from orders.models import Order, OrderStatus

SLOT_NAMES = (*FLOW_SLOTS, "order_id", "verified_order", "case_escalation", "requested_slot")


@pytest.fixture
async def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str, keys: Keys):
    """The demo store seeded now (its times are relative to seeding), and the test's Redis."""
    path = tmp_path / "orders.sqlite3"
    DemoOrderStore(path).ensure_seeded()
    monkeypatch.setenv("KEFU_ORDERS_DB", str(path))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("KEFU_REDIS_PREFIX", keys.prefix)
    return DemoOrderStore(path)


async def first(store: DemoOrderStore, status: OrderStatus, **wanted: Any) -> Order:
    for order in await store.all_orders():
        if order.status is status and all(getattr(order, k) == v for k, v in wanted.items()):
            return order
    raise AssertionError(f"no demo order in {status}")


def turn(
    text: str = "",
    *,
    intent: str = "inform",
    asked: str | None = None,
    slots: dict[str, Any] | None = None,
    said: dict[str, Any] | None = None,
    customer: str = "",
    conversation: str = "",
    active_loop: str = "",
) -> Tracker:
    """The tracker a form's validation (or a flow's action) sees after a customer message:
    ``said`` are the slots the message filled (the trailing candidates), ``asked`` the slot the
    form asked for before it."""
    said = said or {}
    values = {name: None for name in SLOT_NAMES} | {"language": "zh"} | (slots or {}) | said
    values["requested_slot"] = asked
    user = {
        "event": "user",
        "timestamp": 1764000000.0,
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": 0.99}},
        "metadata": {"signals": {"language": "zh"}, "customer_id": customer},
    }
    entities = [{"entity": name, "value": value} for name, value in said.items()]
    candidates = [{"event": "slot", "name": k, "value": v} for k, v in said.items()]
    return Tracker(
        sender_id=conversation or f"web-{uuid.uuid4().hex[:12]}",
        slots=values,
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.99},
            "entities": entities,
        },
        events=[user, {"event": "action", "name": "form"}, *candidates],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


async def validate(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What the customer was told, and the slots set (requested_slot included)."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def final(action: Any, tracker: Tracker) -> tuple[list[str], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return [m["response"] for m in dispatcher.messages], events


# --- which order, and is it the customer's


async def test_an_order_number_alone_asks_for_the_phone_digits_and_shows_nothing(store):
    order = await first(store, OrderStatus.SHIPPED)
    told, slots = await validate(ValidateOrderIdForm(), turn(said={"order_id": order.id}))
    assert told == []  # not even "found": the status is a detail
    assert slots["requested_slot"] == "phone_last4"
    assert "verified_order" not in slots


async def test_the_right_digits_verify_the_order(store):
    order = await first(store, OrderStatus.SHIPPED)
    digits = order.receiver_phone[-4:]
    tracker = turn(digits, asked="phone_last4", slots={"order_id": order.id})
    told, slots = await validate(ValidateOrderIdForm(), tracker)
    assert told == [] and slots["verified_order"] == order.id
    assert slots["requested_slot"] is None  # done: the status action answers


async def test_three_wrong_tries_lock_the_order_for_this_conversation(store):
    order = await first(store, OrderStatus.SHIPPED)
    wrong = "0000" if order.receiver_phone[-4:] != "0000" else "1111"
    conversation = f"web-{uuid.uuid4().hex[:12]}"
    replies = []
    for _ in range(3):
        tracker = turn(
            wrong, asked="phone_last4", slots={"order_id": order.id}, conversation=conversation
        )
        told, slots = await validate(ValidateOrderIdForm(), tracker)
        replies.append(told[0]["response"])
    assert replies == [
        "utter_phone_last4_wrong",
        "utter_phone_last4_wrong",
        "utter_order_verify_locked",
    ]
    assert slots["order_check"] == "locked" and slots["requested_slot"] is None
    # Now even the right digits are refused here, for 15 minutes...
    right = turn(
        order.receiver_phone[-4:],
        asked="phone_last4",
        slots={"order_id": order.id},
        conversation=conversation,
    )
    told, slots = await validate(ValidateOrderIdForm(), right)
    assert told[0]["response"] == "utter_order_verify_locked" and "verified_order" not in slots
    # ...but another conversation is not locked out by this one.
    told, slots = await validate(
        ValidateOrderIdForm(),
        turn(order.receiver_phone[-4:], asked="phone_last4", slots={"order_id": order.id}),
    )
    assert slots["verified_order"] == order.id


async def test_a_wrong_try_is_counted_by_a_script_registered_once_per_process(store):
    backends = Backends()
    conversation = f"web-{uuid.uuid4().hex[:12]}"
    try:
        assert await OrderDesk(backends).record_failure(conversation, "o-1") == 1
        redis = backends.redis()
        script = backends.script(_RECORD_FAILURE)
        # A new desk (one per action) on the process's backends sends the script by its SHA.
        assert await OrderDesk(backends).record_failure(conversation, "o-1") == 2
        assert backends.script(_RECORD_FAILURE) is script
        assert await redis.script_exists(script.sha) == [True]
        ttl = await redis.ttl(backends.keys.verify_failures(conversation, "o-1"))
        assert 0 < ttl <= VERIFY_LOCK_SECONDS
    finally:
        await backends.aclose()


async def test_the_wrong_digits_say_how_many_tries_are_left(store):
    order = await first(store, OrderStatus.PAID)
    tracker = turn("尾号0000", said={"order_id": order.id, "phone_last4": "0000"})
    if order.receiver_phone.endswith("0000"):
        pytest.skip("the demo phone ends in 0000")
    told, slots = await validate(ValidateOrderIdForm(), tracker)
    assert told == [{**told[0], "response": "utter_phone_last4_wrong", "remaining": 2}]
    assert slots["requested_slot"] == "phone_last4" and slots["phone_last4"] is None


async def test_a_shop_login_that_owns_the_order_needs_no_digits(store):
    order = await first(store, OrderStatus.SHIPPED)
    tracker = turn(said={"order_id": order.id}, customer=order.customer_id)
    told, slots = await validate(ValidateOrderIdForm(), tracker)
    assert told == [] and slots["verified_order"] == order.id and slots["requested_slot"] is None


async def test_a_shop_login_of_someone_else_still_needs_the_digits(store):
    order = await first(store, OrderStatus.SHIPPED)
    tracker = turn(said={"order_id": order.id}, customer="C9999")
    _, slots = await validate(ValidateOrderIdForm(), tracker)
    assert slots["requested_slot"] == "phone_last4" and "verified_order" not in slots


async def test_my_latest_order_is_the_identified_customers_newest(store):
    order = await first(store, OrderStatus.DELIVERED)
    newest = (await store.orders_of(order.customer_id))[0]
    tracker = turn("我最近那个订单到哪了", intent="order_logistics", customer=order.customer_id)
    _, slots = await validate(ValidateOrderIdForm(), tracker)
    assert slots["order_id"] == newest.id and slots["verified_order"] == newest.id


async def test_an_identified_customer_picks_from_their_recent_orders(store):
    order = await first(store, OrderStatus.DELIVERED)
    dispatcher = CollectingDispatcher()
    await ActionAskOrderId().run(dispatcher, turn("查订单", customer=order.customer_id), {})
    message = dispatcher.messages[0]
    assert message["response"] == "utter_ask_order_id_choose"
    ids = [b["payload"] for b in message["buttons"]]
    assert any(order.id in payload for payload in ids) and len(ids) <= 3
    anonymous = CollectingDispatcher()
    await ActionAskOrderId().run(anonymous, turn("查订单"), {})
    assert anonymous.messages[0]["response"] == "utter_ask_order_id"


async def test_an_unknown_number_twice_offers_a_person(store):
    told, slots = await validate(ValidateOrderIdForm(), turn(said={"order_id": "1234567890123"}))
    assert told[0]["response"] == "utter_order_not_found"
    assert slots["order_id"] is None and slots["requested_slot"] == "order_id"
    again = turn(said={"order_id": "9234567890123"}, asked="order_id", slots={"lookup_misses": 1})
    told, slots = await validate(ValidateOrderIdForm(), again)
    assert told[0]["response"] == "utter_order_not_found_twice"
    assert slots["order_check"] == "not_found" and slots["requested_slot"] is None
    responses, _ = await final(ActionOrderStatus(), turn(slots={"order_check": "not_found"}))
    assert responses == []  # the form said it; the action only tidies up


# --- status and logistics


async def verified(order: Order, **slots: Any) -> dict[str, Any]:
    return {"order_id": order.id, "verified_order": order.id, **slots}


async def test_a_verified_order_gets_its_status(store):
    order = await first(store, OrderStatus.PAID)
    dispatcher = CollectingDispatcher()
    await ActionOrderStatus().run(
        dispatcher, turn(intent="order_status", slots=await verified(order)), {}
    )
    message = dispatcher.messages[0]
    assert message["response"] == "utter_order_status_paid"
    assert message["order_id"] == order.id and message["items"] == order.items_summary


async def test_an_unverified_order_is_never_shown(store):
    order = await first(store, OrderStatus.PAID)
    responses, _ = await final(ActionOrderStatus(), turn(slots={"order_id": order.id}))
    assert responses == ["utter_ask_order_id"]


async def test_logistics_show_the_latest_tracking_events(store):
    order = await first(store, OrderStatus.SHIPPED)
    dispatcher = CollectingDispatcher()
    tracker = turn("快递到哪了", intent="order_logistics", slots=await verified(order))
    await ActionOrderStatus().run(dispatcher, tracker, {})
    message = dispatcher.messages[0]
    assert message["response"] == "utter_order_logistics"
    latest = order.tracking[-1]
    assert (
        message["timeline"]
        .splitlines()[0]
        .endswith(f"{latest.location} {latest.description}".strip())
    )
    assert message["tracking_no"] == order.tracking_no


async def test_a_delayed_parcel_gets_an_apology_then_a_plan_recorded_as_a_task(store):
    order = await first(store, OrderStatus.DELAYED)
    tracker = turn("怎么还没到", intent="order_logistics", slots=await verified(order))
    dispatcher = CollectingDispatcher()
    await ActionOrderStatus().run(dispatcher, tracker, {})
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == [
        "utter_order_delay_apology",
        "utter_order_logistics",
        "utter_order_delay_plan",
    ]
    follow_ups = await store.follow_ups()
    mine = [f for f in follow_ups if f.order_id == order.id and not f.done]
    assert len(mine) == 1
    assert dispatcher.messages[-1]["due"] == mine[0].due_at[11:16]
    # Asking again does not open a second task.
    await ActionOrderStatus().run(CollectingDispatcher(), tracker, {})
    assert len([f for f in await store.follow_ups() if f.order_id == order.id]) == 1


def handed_over(events: list[dict[str, Any]]) -> str:
    """The case rule that gave the conversation to a person, or "" when none did."""
    if {"event": "followup", "timestamp": None, "name": "action_handoff"} not in events:
        return ""
    return next(e["value"]["rule_id"] for e in events if e.get("name") == "case_escalation")


async def test_a_delivered_order_the_customer_has_not_got_goes_to_a_person(store):
    order = await first(store, OrderStatus.DELIVERED)
    tracker = turn("我的快递一直没收到", intent="order_logistics", slots=await verified(order))
    dispatcher = CollectingDispatcher()
    events = await ActionOrderStatus().run(dispatcher, tracker, {})
    [message] = dispatcher.messages  # not "it was delivered", which the customer denies
    assert message["response"] == "utter_order_delivered_not_received"
    assert message["order_id"] == order.id and message["tracking_no"] == order.tracking_no
    delivered = order.delivered_at  # "2026-11-28 14:05:00" shop time, said as 11-28 14:05
    assert message["delivered"] == f"{delivered[5:10]} {delivered[11:16]}"
    assert handed_over(events) == "delivered_not_received"


async def test_not_received_said_before_the_bot_asked_which_order_still_counts(store):
    order = await first(store, OrderStatus.DELIVERED)
    tracker = turn(order.id, intent="inform", slots=await verified(order))
    complaint = {
        "event": "user",
        "timestamp": 1763999990.0,
        "text": "东西没收到 页面显示什么意思",
        "parse_data": {"intent": {"name": "order_logistics", "confidence": 0.9}},
    }
    asked = {"event": "bot", "timestamp": 1763999991.0, "text": "请问是哪个订单呢"}
    tracker.events[:0] = [complaint, asked]
    _, events = await final(ActionOrderStatus(), tracker)
    assert handed_over(events) == "delivered_not_received"


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (OrderStatus.DELIVERED, "快递到哪了"),  # the status reply answers it
        (OrderStatus.DELIVERED, "如果没收到怎么办"),  # only asked about
        (OrderStatus.SHIPPED, "还没收到呢"),  # on its way: the tracking answers it
    ],
)
async def test_an_order_not_shown_delivered_or_not_denied_gets_its_tracking(store, status, text):
    order = await first(store, status)
    tracker = turn(text, intent="order_logistics", slots=await verified(order))
    responses, events = await final(ActionOrderStatus(), tracker)
    assert responses == ["utter_order_logistics"]
    assert handed_over(events) == ""


# --- cancelling


async def test_cancelling_asks_for_a_yes_first(store):
    order = await first(store, OrderStatus.PAID)
    _, slots = await validate(
        ValidateOrderCancelForm(),
        turn("取消订单", intent="order_cancel", slots=await verified(order)),
    )
    assert slots["requested_slot"] == "confirmed"
    # A yes left over from an earlier flow is no answer to this question.
    stale = turn("取消订单", intent="order_cancel", slots=await verified(order, confirmed=True))
    _, slots = await validate(ValidateOrderCancelForm(), stale)
    assert slots["requested_slot"] == "confirmed" and slots["confirmed"] is None


async def test_a_confirmed_cancellation_cancels_once_and_refunds(store):
    order = await first(store, OrderStatus.PAID)
    yes = turn(
        "确认",
        intent="affirm",
        asked="confirmed",
        said={"confirmed": True},
        slots=await verified(order),
    )
    _, slots = await validate(ValidateOrderCancelForm(), yes)
    assert slots["confirmed"] is True and slots["requested_slot"] is None
    confirmed = turn("确认", intent="affirm", slots=await verified(order, confirmed=True))
    responses, events = await final(ActionCancelOrder(), confirmed)
    assert responses == ["utter_order_cancelled_refund"]
    assert (await store.get_order(order.id)).status is OrderStatus.CANCELLED
    assert {"event": "slot", "timestamp": None, "name": "confirmed", "value": None} in events
    # The same confirmation retried (a double click, a retried action) changes nothing more.
    await asyncio.gather(*(final(ActionCancelOrder(), confirmed) for _ in range(5)))
    refunds = [r for r in await store.refunds() if r.order_id == order.id]
    assert len(refunds) == 1 and refunds[0].amount_cents == order.total_cents


async def test_no_keeps_the_order(store):
    order = await first(store, OrderStatus.PAID)
    responses, _ = await final(
        ActionCancelOrder(), turn(intent="deny", slots=await verified(order, confirmed=False))
    )
    assert responses == ["utter_order_cancel_kept"]
    assert (await store.get_order(order.id)).status is OrderStatus.PAID


async def test_a_shipped_order_cannot_be_cancelled_and_the_customer_hears_the_options(store):
    order = await first(store, OrderStatus.SHIPPED)
    _, slots = await validate(
        ValidateOrderCancelForm(), turn(intent="order_cancel", slots=await verified(order))
    )
    assert slots["requested_slot"] is None  # no confirmation asked for what cannot be done
    responses, _ = await final(ActionCancelOrder(), turn(slots=await verified(order)))
    assert responses == ["utter_order_cancel_too_late"]
    assert (await store.get_order(order.id)).status is OrderStatus.SHIPPED


# --- changing the address or phone


async def test_changing_the_address_confirms_it_masked_then_saves_it(store):
    order = await first(store, OrderStatus.PACKED)
    start = turn("我要改地址", intent="order_change", slots=await verified(order))
    _, slots = await validate(ValidateOrderChangeForm(), start)
    assert slots["change_field"] == "address" and slots["requested_slot"] == "new_address"
    address = "浙江省杭州市西湖区文三路100号5幢301室 王小明"
    given = turn(address, asked="new_address", slots=await verified(order, change_field="address"))
    _, slots = await validate(ValidateOrderChangeForm(), given)
    assert slots["new_address"] == address and slots["requested_slot"] == "confirmed"
    dispatcher = CollectingDispatcher()
    asking = turn(slots=await verified(order, change_field="address", new_address=address))
    await AskChangeConfirmation().run(dispatcher, asking, {})
    assert dispatcher.messages[0]["address"] == "浙江省杭州市西湖区****"
    done = turn(
        intent="affirm",
        slots=await verified(order, change_field="address", new_address=address, confirmed=True),
    )
    responses, _ = await final(ActionChangeOrder(), done)
    assert responses == ["utter_order_address_changed"]
    assert (await store.get_order(order.id)).address == address


async def test_a_new_phone_must_be_a_mobile_number(store):
    order = await first(store, OrderStatus.UNPAID)
    start = turn("改一下手机号", intent="order_change", slots=await verified(order))
    _, slots = await validate(ValidateOrderChangeForm(), start)
    assert slots["change_field"] == "phone" and slots["requested_slot"] == "new_phone"
    wrong = turn("12345", asked="new_phone", slots=await verified(order, change_field="phone"))
    told, slots = await validate(ValidateOrderChangeForm(), wrong)
    assert (
        told[0]["response"] == "utter_new_phone_invalid" and slots["requested_slot"] == "new_phone"
    )
    right = turn(
        "13912345678", asked="new_phone", slots=await verified(order, change_field="phone")
    )
    _, slots = await validate(ValidateOrderChangeForm(), right)
    assert slots["new_phone"] == "13912345678" and slots["requested_slot"] == "confirmed"
    done = turn(
        intent="affirm",
        slots=await verified(order, change_field="phone", new_phone="13912345678", confirmed=True),
    )
    dispatcher = CollectingDispatcher()
    await ActionChangeOrder().run(dispatcher, done, {})
    assert dispatcher.messages[0]["phone"] == "139****5678"
    assert (await store.get_order(order.id)).receiver_phone == "13912345678"


async def test_after_dispatch_the_address_stays_and_the_customer_hears_why(store):
    order = await first(store, OrderStatus.DELAYED)
    responses, _ = await final(
        ActionChangeOrder(),
        turn(
            slots=await verified(
                order, change_field="address", new_address="上海市浦东新区张江路1号", confirmed=True
            )
        ),
    )
    assert responses == ["utter_order_change_too_late"]
    assert (await store.get_order(order.id)).address != "上海市浦东新区张江路1号"


# --- returns


async def delivered_within_window(store: DemoOrderStore) -> Order:
    from actions.order_forms import within_return_window

    for order in await store.all_orders():
        if order.status is OrderStatus.DELIVERED and within_return_window(order, 7):
            return order
    raise AssertionError("no delivered order inside the window")


async def test_a_quality_return_inside_the_window_is_registered_with_free_postage(store):
    order = await delivered_within_window(store)
    start = turn("衣服开线了 我要退货", intent="return_request", slots=await verified(order))
    _, slots = await validate(ValidateReturnForm(), start)
    assert slots["return_kind"] == "return" and slots["return_reason"] == "quality"
    assert slots["requested_slot"] == "confirmed"
    done = turn(
        intent="affirm",
        slots=await verified(order, return_kind="return", return_reason="quality", confirmed=True),
    )
    dispatcher = CollectingDispatcher()
    await ActionRequestReturn().run(dispatcher, done, {})
    assert dispatcher.messages[0]["response"] == "utter_return_registered_quality"
    assert dispatcher.messages[0]["kind"] == "退货退款"
    assert (await store.get_order(order.id)).status is OrderStatus.RETURN_REQUESTED


async def test_the_form_asks_for_what_the_message_did_not_say(store):
    order = await delivered_within_window(store)
    _, slots = await validate(
        ValidateReturnForm(), turn("我要售后", intent="return_request", slots=await verified(order))
    )
    assert slots["requested_slot"] == "return_kind"
    kind = turn(asked="return_kind", said={"return_kind": "exchange"}, slots=await verified(order))
    _, slots = await validate(ValidateReturnForm(), kind)
    assert slots["requested_slot"] == "return_reason"


async def test_outside_the_window_a_person_decides_with_the_order(store):
    order = await first(store, OrderStatus.DELIVERED)
    from actions.order_forms import within_return_window

    old = [
        o
        for o in await store.all_orders()
        if o.status is OrderStatus.DELIVERED and not within_return_window(o, 7)
    ]
    if not old:
        pytest.skip("every delivered demo order is inside the window")
    order = old[0]
    responses, events = await final(ActionRequestReturn(), turn(slots=await verified(order)))
    assert responses == ["utter_return_outside_window"]
    assert {"event": "followup", "timestamp": None, "name": "action_handoff"} in events
    escalation = next(e["value"] for e in events if e.get("name") == "case_escalation")
    assert escalation["rule_id"] == "refund_outside_policy"


async def test_a_parcel_on_its_way_is_refused_on_delivery_not_returned(store):
    order = await first(store, OrderStatus.SHIPPED)
    responses, _ = await final(ActionRequestReturn(), turn(slots=await verified(order)))
    assert responses == ["utter_return_in_transit"]


async def test_refund_progress_of_a_return_already_asked_for(store):
    order = await first(store, OrderStatus.RETURN_REQUESTED)
    responses, _ = await final(ActionRequestReturn(), turn(slots=await verified(order)))
    assert responses == ["utter_order_status_return_requested"]


async def test_no_more_reminders_is_kept_for_the_identified_customer(store, redis, keys):
    from actions.reminders import ActionReminderOptOut

    dispatcher = CollectingDispatcher()
    await ActionReminderOptOut().run(dispatcher, turn("不再提醒", customer="C0021"), {})
    assert dispatcher.messages[0]["response"] == "utter_reminder_opted_out"
    assert await redis.get(keys.reminder_opt_out("C0021")) == "1"
    assert 0 < await redis.ttl(keys.reminder_opt_out("C0021")) <= 365 * 24 * 3600


async def test_a_slow_shop_api_gets_an_apology_and_a_person_offered(
    aiohttp_server, monkeypatch, redis_url, keys
):
    """The shop's own order API answers after 3 s: the customer hears an apology at once."""
    from aiohttp import web

    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()  # never answers in time; freed when the test ends
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/orders/{order_id}", slow)
    server = await aiohttp_server(app)
    monkeypatch.setenv("KEFU_ORDERS_BACKEND", "http")
    monkeypatch.setenv("KEFU_ORDERS_API_URL", str(server.make_url("")))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("KEFU_REDIS_PREFIX", keys.prefix)
    try:
        told, slots = await validate(
            ValidateOrderIdForm(), turn(said={"order_id": "2025110300012"})
        )
    finally:
        release.set()
    assert told[0]["response"] == "utter_order_backend_down"
    assert slots["order_check"] == "unavailable" and slots["requested_slot"] is None


async def test_a_shop_api_that_is_down_gets_the_same_apology(monkeypatch, redis_url, keys):
    from tools.launch import free_port

    monkeypatch.setenv("KEFU_ORDERS_BACKEND", "http")
    monkeypatch.setenv("KEFU_ORDERS_API_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("KEFU_REDIS_PREFIX", keys.prefix)
    action = ValidateOrderCancelForm()
    told, _ = await validate(action, turn(said={"order_id": "2025110300012"}))
    await action.backends.aclose()
    assert told[0]["response"] == "utter_order_backend_down"
    responses, _ = await final(ActionOrderStatus(), turn(slots={"order_check": "unavailable"}))
    assert responses == []


async def test_a_second_open_problem_goes_to_a_person_instead(store):
    """A customer told about a delayed parcel who now cancels another order: two problems."""
    order = await first(store, OrderStatus.PAID, customer_id="C0004")
    tracker = turn("确认", intent="affirm", slots=await verified(order, confirmed=True))
    tracker.events.insert(
        0,
        {
            "event": "bot",
            "text": "非常抱歉亲…",
            "metadata": {"utter_action": "utter_order_delay_apology"},
        },
    )
    responses, events = await final(ActionCancelOrder(), tracker)
    assert responses == ["utter_order_to_specialist"]
    escalation = next(e["value"] for e in events if e.get("name") == "case_escalation")
    assert escalation["rule_id"] == "several_open_problems"
    assert (await store.get_order(order.id)).status is OrderStatus.PAID  # a person decides


async def test_what_the_first_message_said_is_not_asked_again(store):
    """ "我要退货 衣服开线了" before the order is even known: after the digits, the form goes
    straight to the confirmation."""
    order = await delivered_within_window(store)
    start = turn(
        f"订单{order.id}衣服开线了 我要退货", intent="return_request", said={"order_id": order.id}
    )
    _, slots = await validate(ValidateReturnForm(), start)
    assert slots["requested_slot"] == "phone_last4"
    assert slots["return_kind"] == "return" and slots["return_reason"] == "quality"
    kept = {"order_id": order.id, "return_kind": "return", "return_reason": "quality"}
    digits = turn(order.receiver_phone[-4:], asked="phone_last4", slots=kept)
    _, slots = await validate(ValidateReturnForm(), digits)
    assert slots["requested_slot"] == "confirmed"


async def test_a_new_phone_in_the_first_message_is_kept_through_the_check(store):
    order = await first(store, OrderStatus.UNPAID)
    start = turn(
        f"订单{order.id}的电话改成13912345678", intent="order_change", said={"order_id": order.id}
    )
    _, slots = await validate(ValidateOrderChangeForm(), start)
    assert slots["change_field"] == "phone" and slots["new_phone"] == "13912345678"
    kept = {"order_id": order.id, "change_field": "phone", "new_phone": "13912345678"}
    digits = turn(order.receiver_phone[-4:], asked="phone_last4", slots=kept)
    _, slots = await validate(ValidateOrderChangeForm(), digits)
    assert slots["requested_slot"] == "confirmed"


async def test_the_order_number_is_not_taken_for_a_phone_change(store):
    order = await first(store, OrderStatus.PAID)
    start = turn(
        f"订单号码{order.id} 我想改一下", intent="order_change", slots=await verified(order)
    )
    _, slots = await validate(ValidateOrderChangeForm(), start)
    assert slots["requested_slot"] == "change_field"  # asked, not guessed


async def test_cancelling_a_refunded_order_says_where_it_stands(store):
    order = await first(store, OrderStatus.REFUNDED)
    responses, _ = await final(
        ActionCancelOrder(), turn(slots=await verified(order, confirmed=True))
    )
    assert responses == ["utter_order_status_refunded"]
