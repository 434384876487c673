"""How real customers write, through the whole running system: pasted order cards, a bare
人工, a vague follow-up, a product question the knowledge base cannot answer."""

from __future__ import annotations

import aiohttp
import pytest

from tests.e2e.conftest import RunningSystem
from tests.e2e.test_orders import SHIPPED_OWNER, newest_order, open_chat

pytestmark = pytest.mark.e2e
CARD = "咨询订单号:2025110300030 订单金额:299.00 下单时间:2025-11-03 14:22:10"
DIDNT_UNDERSTAND = "没太明白"


async def test_a_faq_question_with_a_pasted_order_card_gets_its_answer(system: RunningSystem):
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system)
        answer = await chat.said(f"{CARD} 你好 这个能开发票吗")
        assert "发票" in answer
        assert "后四位" not in answer  # not taken for an order look-up


async def test_a_bare_request_for_a_person_is_one(system: RunningSystem):
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system)
        assert "转接人工" in await chat.said("人工")


async def test_a_vague_follow_up_stays_on_the_customers_parcel(system: RunningSystem):
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system, customer=SHIPPED_OWNER)
        first = await chat.said("我最近的订单到哪了")
        assert newest_order(system, SHIPPED_OWNER) in first
        follow_up = await chat.said("那现在呢")
        assert DIDNT_UNDERSTAND not in follow_up
        assert newest_order(system, SHIPPED_OWNER) in follow_up


async def test_a_product_question_without_an_entry_gets_an_honest_answer(system: RunningSystem):
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system)
        messages = await chat.say("这款显示器亮度怎么调")
        text = "\n".join(m["text"] for m in messages)
        assert "核实" in text or "都不是" in str(messages)  # no made-up answer
        assert "48 小时" not in text
