"""The promised follow-ups the kefu server hands to the agent console."""

from pathlib import Path

from bot.server import promised_follow_ups
from orders.demo_store import DemoOrderStore


async def test_the_demo_stores_open_follow_ups_reach_the_console(tmp_path: Path):
    store = DemoOrderStore(tmp_path / "orders.sqlite3")
    store.ensure_seeded()
    task = await store.urge_delivery("2025110300033", request_id="r1")
    promises = promised_follow_ups(store)
    assert promises is not None
    listed = await promises()
    assert [(f["id"], f["order_id"], f["late"]) for f in listed] == [
        (task.id, "2025110300033", False)
    ]
    await store.finish_follow_up(task.id)
    assert await promises() == []
