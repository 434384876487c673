from datetime import datetime
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.orders import ActionOrderStatus
from orders.demo_store import DemoOrderStore


@pytest.fixture
def demo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "orders.sqlite3"
    DemoOrderStore(path).ensure_seeded(datetime(2026, 11, 22, 12, 0))
    monkeypatch.setenv("KEFU_ORDERS_DB", str(path))
    return path


async def run(make_tracker, **kwargs):
    dispatcher = CollectingDispatcher()
    events = await ActionOrderStatus().run(dispatcher, make_tracker(**kwargs), {})
    return dispatcher.messages, events


async def test_a_known_order_gets_its_status_response(demo_store, make_tracker):
    entity = [{"entity": "order_id", "value": "2025110300030"}]
    messages, events = await run(make_tracker, text="查订单2025110300030", entities=entity)
    assert messages[0]["response"] == "utter_order_status_shipped"
    variables = messages[0]
    assert variables["order_id"] == "2025110300030" and variables["tracking_no"]
    assert "x2" in variables["items"] or "x1" in variables["items"]
    assert events == [
        {"event": "slot", "timestamp": None, "name": "order_id", "value": "2025110300030"}
    ]


async def test_no_order_number_asks_for_it(demo_store, make_tracker):
    messages, events = await run(make_tracker, text="查订单")
    assert [m["response"] for m in messages] == ["utter_ask_order_id"] and events == []


async def test_the_order_number_from_an_earlier_turn_is_used(demo_store, make_tracker):
    messages, _ = await run(make_tracker, text="到哪了", slots={"order_id": "2025110300001"})
    assert messages[0]["response"] == "utter_order_status_unpaid"


async def test_an_unknown_number_is_answered_politely_and_forgotten(demo_store, make_tracker):
    entity = [{"entity": "order_id", "value": "1234567890123"}]
    messages, events = await run(make_tracker, entities=entity)
    assert messages[0]["response"] == "utter_order_not_found"
    assert messages[0]["order_id"] == "1234567890123"
    assert events[0]["name"] == "order_id" and events[0]["value"] is None


async def test_a_missing_store_is_an_apology_not_a_trace(tmp_path, monkeypatch, make_tracker):
    monkeypatch.setenv("KEFU_ORDERS_DB", str(tmp_path / "absent" / "x.sqlite3"))
    (tmp_path / "absent").write_text("a file where the directory should be")
    entity = [{"entity": "order_id", "value": "2025110300030"}]
    messages, _ = await run(make_tracker, entities=entity)
    assert messages[0]["response"] == "utter_order_backend_down"
