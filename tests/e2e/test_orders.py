"""Order flows through the whole running system (Rasa, actions, kefu, the demo store) over HTTP,
as a customer types them."""

from __future__ import annotations

import sqlite3
from typing import Any

import aiohttp
import pytest

from bot.webchat import customer_signature
from tests.e2e.conftest import RunningSystem

pytestmark = pytest.mark.e2e
PAID_ORDER, PAID_DIGITS = "2025110300007", "9362"  # 高腰直筒牛仔裤, ¥199, C0004
SHIPPED_OWNER, SHIPPED_ORDER = "C0019", "2025110300030"
LOCKED_ORDER = "2025110300008"


class Chat:
    """A customer on the REST channel: what they send, and what they are told at once."""

    def __init__(self, http: aiohttp.ClientSession, url: str, conversation: dict[str, str]):
        self.http, self.url, self.conversation = http, url, conversation

    async def say(self, text: str, payload: str = "") -> list[dict[str, Any]]:
        """A typed message, or a tapped button's title with its ``payload``."""
        body = {**self.conversation, "text": text, "payload": payload}
        async with self.http.post(f"{self.url}/api/chat/messages", json=body) as response:
            assert response.status == 200, await response.text()
            return (await response.json())["messages"]

    async def said(self, text: str, payload: str = "") -> str:
        return "\n".join(m["text"] for m in await self.say(text, payload))


async def open_chat(http: aiohttp.ClientSession, system: RunningSystem, customer: str = "") -> Chat:
    login: dict[str, str] = {}
    if customer:
        secret = (system.launched.var_dir / "secret").read_text().strip()
        login = {"customer_id": customer, "customer_sig": customer_signature(secret, customer)}
    async with http.post(f"{system.url}/api/chat/session", json=login) as response:
        created = await response.json()
    return Chat(http, system.url, {k: created[k] for k in ("conversation_id", "token")})


def newest_order(system: RunningSystem, customer_id: str) -> str:
    with sqlite3.connect(system.launched.var_dir / "orders.sqlite3") as db:
        row = db.execute(
            "SELECT id FROM orders WHERE customer_id = ? ORDER BY created_at DESC LIMIT 1",
            (customer_id,),
        ).fetchone()
    return str(row[0])


def order_status(system: RunningSystem, order_id: str) -> str:
    with sqlite3.connect(system.launched.var_dir / "orders.sqlite3") as db:
        row = db.execute("SELECT status FROM orders WHERE id = ?", (order_id,)).fetchone()
    return str(row[0])


async def test_a_guest_cancels_a_paid_order_after_proving_it_is_theirs(system: RunningSystem):
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system)
        asked = await chat.said(f"帮我取消订单{PAID_ORDER}")
        assert "后四位" in asked and "牛仔裤" not in asked  # nothing shown before the check
        wrong = await chat.said("0000")
        assert "对不上" in wrong and "2 次" in wrong
        replies = await chat.say(PAID_DIGITS)
        question = replies[-1]
        assert "确认要取消订单" in question["text"] and "高腰直筒牛仔裤" in question["text"]
        assert [b["payload"] for b in question["buttons"]] == ["/affirm", "/deny"]
        confirm = question["buttons"][0]
        done = await chat.said(confirm["title"], confirm["payload"])
        assert "已为您取消" in done and "¥199.00" in done
        assert order_status(system, PAID_ORDER) == "cancelled"
        again = await chat.said(f"取消订单{PAID_ORDER}")
        assert "已经是取消状态" in again


async def test_a_logged_in_customer_asks_about_their_latest_parcel_without_digits(
    system: RunningSystem,
):
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system, customer=SHIPPED_OWNER)
        answer = await chat.said("我最近的订单到哪了")
        assert newest_order(system, SHIPPED_OWNER) in answer
        assert "后四位" not in answer


async def test_three_wrong_tries_lock_the_order_and_offer_a_person(system: RunningSystem):
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system)
        await chat.said(f"查一下订单{LOCKED_ORDER}")
        for _ in range(2):
            assert "对不上" in await chat.said("1111")
        locked = await chat.say("1111")
        assert "15 分钟" in locked[-1]["text"]
        assert locked[-1]["buttons"][0]["payload"] == "/request_human"
        # The right digits no longer help in this conversation.
        await chat.said(f"查一下订单{LOCKED_ORDER}")
        still = await chat.said("7667")
        assert "法式碎花衬衫" not in still


async def test_an_faq_question_inside_a_flow_is_answered_and_the_flow_goes_on(
    system: RunningSystem,
):
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system)
        await chat.said("我要改收货地址")
        answer = await chat.said("你们发什么快递")
        assert "快递" in answer and "订单号" in answer  # answered, then asked again
        assert "不处理" in await chat.said("算了不改了")


async def test_a_shipped_order_is_not_cancelled_and_the_customer_hears_the_options(
    system: RunningSystem,
):
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system)
        await chat.said(f"取消订单{SHIPPED_ORDER}")
        answer = await chat.said("8145")
        assert "已经发货" in answer and "拒收" in answer
        assert order_status(system, SHIPPED_ORDER) == "shipped"


async def test_a_return_past_the_window_goes_to_a_person_with_the_order(system: RunningSystem):
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system)
        await chat.said("订单2025110300044我要退货")
        answer = await chat.said("7667")
        assert "超过无理由退换期" in answer and "排在第" in answer
        assert "没太明白" not in answer, "after handing over, the bot only listens"
        params = {k: chat.conversation[k] for k in ("conversation_id", "token")}
        async with http.get(f"{system.url}/api/chat/messages", params=params) as response:
            assert (await response.json())["owner"] == "queue"


async def test_a_delivered_parcel_the_customer_has_not_got_goes_to_a_person(system: RunningSystem):
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system)
        await chat.said("订单2025110300044一直没收到货")
        answer = await chat.said("7667")
        assert "签收" in answer and "还没有收到" in answer and "排在第" in answer
        assert "已经签收啦" not in answer, "not told it was delivered, which they deny"
        params = {k: chat.conversation[k] for k in ("conversation_id", "token")}
        async with http.get(f"{system.url}/api/chat/messages", params=params) as response:
            assert (await response.json())["owner"] == "queue"
