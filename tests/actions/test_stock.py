"""Stock answers from the demo catalogue and restock alerts, end to end through a real Redis."""

from datetime import datetime
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher
from redis.asyncio import Redis

from actions.stock import ActionCheckStock, ActionSubscribeRestock
from core.keys import Keys
from core.settings import load
from core.store import ConversationStore
from core.texts import Texts
from orders.__main__ import set_stock_and_announce
from orders.demo_store import DemoOrderStore


@pytest.fixture
def environment(tmp_path: Path, monkeypatch, redis_url: str, keys: Keys) -> DemoOrderStore:
    path = tmp_path / "orders.sqlite3"
    store = DemoOrderStore(path)
    store.ensure_seeded(datetime(2026, 11, 22, 12, 0))
    monkeypatch.setenv("KEFU_ORDERS_DB", str(path))
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("KEFU_REDIS_PREFIX", keys.prefix)
    return store


async def check(make_tracker, text, products=()):
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "product", "value": p} for p in products]
    events = await ActionCheckStock().run(dispatcher, make_tracker(text, entities=entities), {})
    return dispatcher.messages[0], events


async def test_an_item_in_stock(environment, make_tracker):
    message, events = await check(make_tracker, "小白鞋有货吗", ["小白鞋"])
    assert message["response"] == "utter_stock_available"
    assert message["product"] == "小白鞋 经典款"
    assert events[0]["value"] is None


async def test_a_sold_out_item_gets_an_alternative_and_a_restock_offer(environment, make_tracker):
    message, events = await check(make_tracker, "黑色T恤有货吗", ["T恤"])
    assert message["response"] == "utter_stock_sold_out_alternative"
    assert message["product"] == "纯棉圆领T恤 黑色" and message["sku"] == "TS-002"
    assert message["alternative"] == "纯棉圆领T恤 白色"
    assert events == [
        {"event": "slot", "timestamp": None, "name": "restock_sku", "value": "TS-002"}
    ]


async def test_an_unnamed_product_is_asked_for(environment, make_tracker):
    message, _ = await check(make_tracker, "有货吗")
    assert message["response"] == "utter_ask_product"


async def test_subscribers_are_told_in_their_conversation_when_stock_returns(
    environment, make_tracker, redis: Redis, keys: Keys
):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("到货通知我", slots={"restock_sku": "TS-002"}, sender="conv-restock")
    await ActionSubscribeRestock().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["response"] == "utter_restock_subscribed"

    told = await set_stock_and_announce(load(), environment, "TS-002", 40)

    assert told == 1
    transcript = await ConversationStore(redis, keys, 60).transcript("conv-restock")
    expected = Texts.load().get("restock_available", "zh", product="纯棉圆领T恤 黑色")
    assert [m.text for m in transcript] == [expected]
    assert await set_stock_and_announce(load(), environment, "TS-002", 80) == 0, "told once only"
    assert await redis.exists(keys.restock("TS-002")) == 0


async def test_a_button_payload_names_the_product(environment, make_tracker, redis, keys):
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "sku", "value": "SO-002"}]
    tracker = make_tracker("/restock_subscribe", entities=entities, sender="conv-button")
    await ActionSubscribeRestock().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["product"] == "加绒雪地靴"
    assert await redis.hgetall(keys.restock("SO-002")) == {"conv-button": "zh"}
