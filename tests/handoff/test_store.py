import time

from redis.asyncio import Redis

from handoff.keys import Keys
from handoff.models import ChatMessage, Owner, Role
from handoff.store import ConversationStore


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
    await store.touch("c1", "web")
    conversation = await store.get("c1")
    assert conversation.owner is Owner.BOT and conversation.channel == "web"


async def test_held_messages_come_back_oldest_first(redis: Redis, keys: Keys):
    store = ConversationStore(redis, keys, 60)
    await store.hold("c1", "one")
    await store.hold("c1", "two")
    assert await store.conversations_with_held() == ["c1"]
    assert await store.oldest_held("c1") == "one"
    await store.release_oldest("c1")
    assert await store.oldest_held("c1") == "two"
    await store.release_oldest("c1")
    assert await store.oldest_held("c1") is None
    assert await store.conversations_with_held() == []
