"""The facts behind the reports, recorded by the running system (Rasa's reading of each turn
crosses kefu's channel as the X-Kefu-Turn header): what a supervisor's numbers are made of."""

from __future__ import annotations

import time

import aiohttp
import pytest
from redis.asyncio import Redis

from core.keys import Keys
from handoff.facts import FactStore
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_orders import open_chat

pytestmark = pytest.mark.e2e


async def test_each_turn_is_recorded_with_what_the_bot_made_of_it(system: RunningSystem) -> None:
    started = time.time()
    async with aiohttp.ClientSession() as http:
        chat = await open_chat(http, system)
        conversation = chat.conversation["conversation_id"]
        await chat.say("你好")
        await chat.say("你们支持七天无理由退货吗")
        await chat.say("我的快递到哪了")
        await chat.say("转人工")
    redis = Redis.from_url(system.redis_url, decode_responses=True)
    try:
        facts = FactStore(redis, Keys())
        # Recorded before the answer is: there when the customer reads it.
        turns = [
            t
            for t in await facts.turns(started - 1, time.time() + 1)
            if t.conversation_id == conversation
        ]
        assert [t.intent for t in turns] == ["greet", "faq", "order_logistics", "request_human"]
        assert turns[1].faq == "answered" and turns[1].topic == "faq:return_policy"
        assert all(t.confidence > 0 for t in turns) and not any(t.fallback for t in turns)
        tickets = [
            t
            for t in await facts.tickets(started - 1, time.time() + 1)
            if t.conversation_id == conversation
        ]
        assert [(t.rule, t.status) for t in tickets] == [("explicit_request", "queued")]
    finally:
        await redis.aclose()
