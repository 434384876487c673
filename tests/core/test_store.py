import json
import time

from redis.asyncio import Redis

from core.keys import Keys
from core.records import Button, ChatMessage, Owner, Role
from core.store import Completed, ConversationStore


async def test_transcript_keeps_order_and_reads_after_an_id(redis: Redis, keys: Keys):
    store = ConversationStore(redis, keys, 60)
    first = await store.append(ChatMessage("c1", Role.CUSTOMER, "你好", time.time()))
    second = await store.append(ChatMessage("c1", Role.BOT, "亲，您好", time.time()))
    assert [m.text for m in await store.transcript("c1")] == ["你好", "亲，您好"]
    assert [m.id for m in await store.transcript("c1", after=first.id)] == [second.id]
    assert 0 < await redis.ttl(keys.transcript("c1")) <= 60


async def test_new_conversations_belong_to_the_bot(redis: Redis, keys: Keys):
    store = ConversationStore(redis, keys, 60)
    assert (await store.get("c1")).owner is Owner.BOT
    await store.accept(customer("你好"), pending("m1"), "m1", channel="web")
    conversation = await store.get("c1")
    assert conversation.owner is Owner.BOT and conversation.channel == "web"


def pending(message_id: str) -> str:
    return json.dumps({"message_id": message_id})


def customer(text: str, sent_id: str = "") -> ChatMessage:
    return ChatMessage("c1", Role.CUSTOMER, text, time.time(), sent_id=sent_id)


async def test_accepted_messages_await_their_answer_oldest_first(redis: Redis, keys: Keys):
    store = ConversationStore(redis, keys, 60)
    first = await store.accept(customer("一"), pending("m1"), "m1", channel="web")
    await store.accept(customer("二"), pending("m2"), "m2", channel="web")
    assert first.new and first.owner is Owner.BOT and first.message.id
    assert [m.text for m in await store.transcript("c1")] == ["一", "二"]
    assert await store.conversations_with_pending() == ["c1"]
    assert json.loads(await store.oldest_pending("c1") or "{}")["message_id"] == "m1"

    answer = [ChatMessage("c1", Role.BOT, "答一", time.time(), (Button("好", "/affirm"),))]
    completed = await store.complete("c1", "m1", answer)
    assert completed is not None and completed.more  # 二 still awaits its answer
    stored = completed.stored
    assert [m.text for m in stored] == ["答一"] and stored[0].id
    assert await store.is_offered("c1", Button("好", "/affirm"))
    # A second answer to the same message (a process thought dead) stores nothing.
    assert await store.complete("c1", "m1", answer) is None
    assert await store.complete("c1", "m2", []) == Completed([], more=False)
    assert await store.oldest_pending("c1") is None
    assert await store.conversations_with_pending() == []
    assert [m.text for m in await store.transcript("c1")] == ["一", "二", "答一"]


async def test_a_message_sent_twice_with_its_id_is_stored_once(redis: Redis, keys: Keys):
    store = ConversationStore(redis, keys, 60)
    first = await store.accept(
        customer("在吗", "page-0001"), pending("m1"), "page-0001", channel="web"
    )
    again = await store.accept(
        customer("在吗", "page-0001"), pending("m2"), "page-0001", channel="web"
    )
    assert first.new and not again.new and again.message.id == first.message.id
    assert [m.sent_id for m in await store.transcript("c1")] == ["page-0001"]
    assert json.loads(await store.oldest_pending("c1") or "{}")["message_id"] == "m1"
    await store.complete("c1", "m1", [])
    assert await store.oldest_pending("c1") is None


async def test_messages_to_a_person_are_not_pending_for_the_bot(redis: Redis, keys: Keys):
    store = ConversationStore(redis, keys, 60)
    await redis.hset(keys.conversation("c1"), mapping={"owner": "agent", "ticket_id": "7"})
    accepted = await store.accept(customer("还在吗"), pending("m1"), "m1", channel="web")
    assert accepted.new and accepted.owner is Owner.AGENT
    assert await store.oldest_pending("c1") is None
    assert [m.text for m in await store.transcript("c1")] == ["还在吗"]


async def test_one_lease_per_conversation_until_released_or_run_out(redis: Redis, keys: Keys):
    store = ConversationStore(redis, keys, 60)
    assert await store.lease_next("c1", "mine", 30) is not None
    assert await store.lease_next("c1", "theirs", 30) is None
    await store.release("c1", "theirs")  # not theirs to release
    assert await store.lease_next("c1", "theirs", 30) is None
    await store.release("c1", "mine")
    assert await store.lease_next("c1", "theirs", 30) is not None
    assert 0 < await redis.ttl(keys.answering("c1")) <= 30
