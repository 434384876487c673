"""Payment reminders against the demo store and a real Redis."""

from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.reminders import OPT_OUT_PAYLOAD, PaymentReminders, ReminderPolicy
from core.keys import Keys
from core.records import ChatMessage, Role
from core.store import ConversationStore
from core.texts import Texts
from orders.demo_store import DemoOrderStore
from orders.models import Order


@pytest.fixture
async def store(tmp_path: Path) -> DemoOrderStore:
    orders = DemoOrderStore(tmp_path / "orders.sqlite3")
    orders.ensure_seeded()
    return orders


@pytest.fixture
def conversations(redis: Redis, keys: Keys) -> ConversationStore:
    return ConversationStore(redis, keys, 3600)


@pytest.fixture
def reminders(store, conversations, redis, keys) -> PaymentReminders:
    return PaymentReminders(store, conversations, redis, keys, Texts.load(), ReminderPolicy())


async def overdue(store: DemoOrderStore) -> list[Order]:
    found = await store.unpaid_orders(12)
    assert found, "the demo store has unpaid orders older than 12 hours"
    return found


async def test_an_identified_customer_is_reminded_once_in_their_chat(
    store, conversations, reminders
):
    order = (await overdue(store))[0]
    await conversations.identify("web-reminded-1", order.customer_id)
    assert await reminders.tick() >= 1
    said = await conversations.transcript("web-reminded-1")
    mine = [m for m in said if order.id in m.text]
    assert len(mine) == 1 and mine[0].role is Role.BOT and "付款" in mine[0].text
    assert mine[0].buttons[0].payload == OPT_OUT_PAYLOAD
    await reminders.tick()
    assert (
        len([m for m in await conversations.transcript("web-reminded-1") if order.id in m.text])
        == 1
    )


async def test_recent_unpaid_orders_and_anonymous_customers_get_nothing(
    store, conversations, reminders
):
    overdue_ids = {o.id for o in await overdue(store)}
    recent = [
        o
        for o in await store.all_orders()
        if o.status.value == "unpaid" and o.id not in overdue_ids
    ]
    assert recent, "the demo store has orders unpaid for less than 12 hours"
    await conversations.identify("web-recent-1", recent[0].customer_id)
    await reminders.tick()
    texts = [m.text for m in await conversations.transcript("web-recent-1")]
    assert not any(recent[0].id in t for t in texts)


async def test_a_customer_who_opted_out_is_not_reminded(
    store, conversations, reminders, redis, keys
):
    order = (await overdue(store))[0]
    await conversations.identify("web-optout-1", order.customer_id)
    await redis.set(keys.reminder_opt_out(order.customer_id), "1", ex=60)
    await reminders.tick()
    assert await conversations.transcript("web-optout-1") == []


async def test_the_reminder_speaks_the_customers_language(store, conversations, reminders):
    order = (await overdue(store))[0]
    await conversations.identify("web-english-1", order.customer_id)
    await conversations.append(ChatMessage("web-english-1", Role.CUSTOMER, "hello there", 0.0))
    await reminders.tick()
    reminder = next(
        m for m in await conversations.transcript("web-english-1") if order.id in m.text
    )
    assert "not paid yet" in reminder.text and reminder.buttons[0].title == "No more reminders"
