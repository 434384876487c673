"""Every accepted message is answered once: kept until answered, answered by the recovery loop
when its process died or Rasa failed, and a message sent twice (same id) taken once. Against
the real app and Redis, with a stub of kefu's Rasa channel."""

import json

import pytest
from redis.asyncio import Redis

from bot.state import SERVICES
from core.keys import Keys
from core.settings import Settings
from tests.bot.conftest import say


@pytest.fixture
def settings(stub_settings: Settings) -> Settings:
    return stub_settings


async def transcript(client, conversation) -> list[tuple[str, str]]:
    history = await (await client.get("/api/chat/messages", params=conversation)).json()
    return [(m["role"], m["text"]) for m in history["messages"]]


async def pending(redis: Redis, keys: Keys, conversation) -> list[str]:
    records = await redis.lrange(keys.pending(conversation["conversation_id"]), 0, -1)
    return [json.loads(r)["text"] for r in records]


async def test_a_message_whose_process_died_after_accepting_it_is_answered_once(
    app, client, conversation, rasa, redis: Redis, keys: Keys
):
    router = app[SERVICES].router
    # Accepted, then the process is gone before it asked Rasa: only the store knows.
    await router.accept(conversation["conversation_id"], "web", "包邮吗")
    assert await pending(redis, keys, conversation) == ["包邮吗"]
    assert await router.answer_pending(older_than=0) == 1
    assert await router.answer_pending(older_than=0) == 0
    assert len(rasa.received) == 1 and rasa.received[0]["message_id"]
    assert await transcript(client, conversation) == [("customer", "包邮吗"), ("bot", "好的")]
    assert await pending(redis, keys, conversation) == []


async def test_a_young_message_is_left_to_the_process_answering_it(app, conversation, rasa):
    router = app[SERVICES].router
    await router.accept(conversation["conversation_id"], "web", "在吗")
    assert await router.answer_pending() == 0 and rasa.received == []


async def test_a_failed_turn_is_kept_and_sent_again_with_the_same_id(
    app, client, conversation, rasa, redis: Redis, keys: Keys
):
    rasa.failing = True
    response = await say(client, conversation, "什么时候发货")
    told = (await response.json())["messages"]
    # Saved, so never "try again": the customer is told it is kept and will be answered.
    assert [m["role"] for m in told] == ["system"] and "已经收到并保存" in told[0]["text"]
    assert await pending(redis, keys, conversation) == ["什么时候发货"]
    rasa.failing = False
    assert await app[SERVICES].router.answer_pending(older_than=0) == 1
    first, again = rasa.received
    assert first["message_id"] == again["message_id"] and first["message"] == "什么时候发货"
    assert ("bot", "好的") in await transcript(client, conversation)
    assert await pending(redis, keys, conversation) == []


async def test_messages_queue_behind_an_unanswered_one_and_keep_their_order(
    app, client, conversation, rasa
):
    rasa.failing = True
    await say(client, conversation, "第一")
    rasa.failing = False
    answered = await (await say(client, conversation, "第二")).json()
    assert [m["text"] for m in answered["messages"]] == ["好的", "好的"]
    assert [r["message"] for r in rasa.received] == ["第一", "第一", "第二"]
    said = [t for role, t in await transcript(client, conversation) if role != "system"]
    assert said == ["第一", "第二", "好的", "好的"]


async def test_the_same_message_sent_twice_with_its_id_is_taken_once(client, conversation, rasa):
    first = await say(client, conversation, "你好", id="page-msg-0001")
    again = await say(client, conversation, "你好", id="page-msg-0001")
    assert (await first.json())["messages"][0]["text"] == "好的"
    assert (await again.json())["messages"] == []
    assert (await again.json())["accepted"] == (await first.json())["accepted"]
    assert len(rasa.received) == 1
    assert await transcript(client, conversation) == [("customer", "你好"), ("bot", "好的")]
    bad = await say(client, conversation, "你好", id="含中文的编号")
    assert bad.status == 400 and (await bad.json())["error"] == "bad_id"


async def test_a_conversation_another_process_is_answering_waits_for_it(
    app, client, conversation, rasa, redis: Redis, keys: Keys
):
    store = app[SERVICES].store
    assert await store.lease_next(conversation["conversation_id"], "another-process", 30)
    told = (await (await say(client, conversation, "在吗")).json())["messages"]
    assert "已经收到并保存" in told[0]["text"] and rasa.received == []
    await store.release(conversation["conversation_id"], "another-process")
    assert await app[SERVICES].router.answer_pending(older_than=0) == 1
    assert ("bot", "好的") in await transcript(client, conversation)


async def test_the_socket_acknowledges_each_message_once_it_is_kept(client, conversation, rasa):
    params = {"conversation_id": conversation["conversation_id"], "token": conversation["token"]}
    async with client.ws_connect("/ws/chat", params=params) as socket:
        assert (await socket.receive_json(timeout=5))["type"] == "history"
        frame = {"type": "message", "text": "你好", "id": "page-msg-0002"}
        await socket.send_json(frame)
        await socket.send_json(frame)  # sent again: the page did not see the first ack
        acks = []
        while len(acks) < 2:
            received = await socket.receive_json(timeout=5)
            if received["type"] == "ack":
                acks.append(received)
        assert [a["id"] for a in acks] == ["page-msg-0002", "page-msg-0002"]
        assert acks[0]["message_id"] == acks[1]["message_id"]
    assert len(rasa.received) == 1
    history = await (await client.get("/api/chat/messages", params=conversation)).json()
    customer = [m for m in history["messages"] if m["role"] == "customer"]
    assert [m["sent_id"] for m in customer] == ["page-msg-0002"]


async def test_a_message_the_bot_gives_no_answer_lands_with_a_person(
    app, client, conversation, rasa
):
    rasa.reply = None  # Rasa ran the turn, but an action failed and nothing was said
    told = (await (await say(client, conversation, "我的退款怎么还没到")).json())["messages"]
    assert [m["role"] for m in told] == ["system"] and "人工" in told[0]["text"]
    services = app[SERVICES]
    owner = await services.store.get(conversation["conversation_id"])
    ticket = await services.queue.get(owner.ticket_id)
    assert owner.owner.value == "queue" and ticket is not None
    assert ticket.reasons == ("bot_no_answer",) and ticket.team == "after_sale"


async def test_a_message_rasa_keeps_failing_goes_to_a_person_and_blocks_nothing(
    app, client, conversation, rasa, redis: Redis, keys: Keys
):
    rasa.failing = True  # this message makes Rasa fail every time
    await say(client, conversation, "这个怎么用")
    router = app[SERVICES].router
    assert await router.answer_pending(older_than=0) == 0  # failed a 2nd time: kept
    assert await pending(redis, keys, conversation) == ["这个怎么用"]
    assert await router.answer_pending(older_than=0) == 1  # the 3rd: a person takes it
    assert await pending(redis, keys, conversation) == []
    services = app[SERVICES]
    owner = await services.store.get(conversation["conversation_id"])
    ticket = await services.queue.get(owner.ticket_id)
    assert ticket is not None and ticket.reasons == ("bot_no_answer",)
    assert len({r["message_id"] for r in rasa.received}) == 1 and len(rasa.received) == 3
    # The conversation goes on, with the person: a new message waits for nobody.
    await say(client, conversation, "在吗")
    assert await pending(redis, keys, conversation) == []
