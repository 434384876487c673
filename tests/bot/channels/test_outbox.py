"""The outbox against a real Redis, with a sender that records what a platform would get."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from bot.channels.outbox import (
    GROUP,
    DeliveryFailed,
    FailureKind,
    Outbox,
    Outgoing,
    backoff_seconds,
    one_each,
)
from core.keys import Keys
from core.records import Button, ChatMessage, Role
from core.store import ConversationStore
from tests.waiting import async_wait_until


class RecordingSender:
    """Records every message a platform accepted; fails as told first."""

    platform = "tg"

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures: list[FailureKind] = []
        self.refreshed = 0
        self.delay = 0.0

    def plan(self, messages: Sequence[ChatMessage]) -> list[Outgoing]:
        return one_each(messages)

    async def send(self, conversation_id: str, outgoing: Outgoing) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow platform, for the two-process test
        if self.failures:
            raise DeliveryFailed(self.failures.pop(0), "told to fail")
        self.sent.append((conversation_id, outgoing.text))

    async def refresh_token(self) -> None:
        self.refreshed += 1


async def next_event(events: PubSub, kind: str) -> dict[str, Any]:
    async def receive() -> dict[str, Any]:
        while True:
            message = await events.get_message(ignore_subscribe_messages=True, timeout=1)
            if message and json.loads(message["data"])["type"] == kind:
                return dict(json.loads(message["data"]))

    return await asyncio.wait_for(receive(), 5)


def say(conversation_id: str, text: str, role: Role = Role.BOT) -> ChatMessage:
    return ChatMessage(conversation_id, role, text, time.time())


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


@pytest.fixture
async def outbox(redis: Redis, keys: Keys, sender: RecordingSender) -> Outbox:
    box = Outbox(redis, keys, {"tg": sender}, 600, claim_idle_ms=50)
    await box.start()
    return box


async def drain(outbox: Outbox) -> None:
    while await outbox.run_once(block_ms=10):
        pass


async def test_what_is_said_to_an_app_customer_is_delivered_once_in_order(
    redis: Redis, keys: Keys, outbox: Outbox, sender: RecordingSender
):
    store = ConversationStore(redis, keys, 600)
    await store.append(say("tg-1", "你好", Role.CUSTOMER))
    await store.append(say("tg-1", "一"))
    await store.append(say("tg-1", "二", Role.AGENT))
    await store.append(say("tg-1", "三", Role.SYSTEM))
    await drain(outbox)
    await drain(outbox)
    assert sender.sent == [("tg-1", "一"), ("tg-1", "二"), ("tg-1", "三")]
    assert outbox.counts.delivered == 3


async def test_the_web_chat_and_customer_messages_never_wake_the_outbox(
    redis: Redis, keys: Keys, outbox: Outbox
):
    store = ConversationStore(redis, keys, 600)
    await store.append(say("web-abc", "亲，您好"))
    await store.append(say("tg-1", "你好", Role.CUSTOMER))
    assert await redis.xlen(keys.outbox) == 0


async def test_the_bots_answer_wakes_the_outbox_in_the_same_step(
    redis: Redis, keys: Keys, outbox: Outbox, sender: RecordingSender
):
    store = ConversationStore(redis, keys, 600)
    await store.accept(
        say("tg-1", "在吗", Role.CUSTOMER),
        json.dumps({"message_id": "m1"}),
        "u1",
        channel="telegram",
    )
    await store.complete("tg-1", "m1", [say("tg-1", "在的"), say("tg-1", "请问有什么可以帮您")])
    assert await redis.xlen(keys.outbox) == 1
    await drain(outbox)
    assert [text for _, text in sender.sent] == ["在的", "请问有什么可以帮您"]


async def test_a_failed_delivery_is_retried_later_and_nothing_overtakes_it(
    redis: Redis, keys: Keys, outbox: Outbox, sender: RecordingSender
):
    store = ConversationStore(redis, keys, 600)
    sender.failures = [FailureKind.RETRY]
    await store.append(say("tg-1", "一"))
    await store.append(say("tg-1", "二"))
    await drain(outbox)
    assert sender.sent == []
    retry_at = await redis.zscore(keys.outbox_retry, "tg-1")
    assert retry_at is not None and retry_at > time.time()
    await redis.zadd(keys.outbox_retry, {"tg-1": 0})  # the backoff has passed
    await drain(outbox)
    assert [text for _, text in sender.sent] == ["一", "二"]
    assert await redis.zscore(keys.outbox_retry, "tg-1") is None


def test_backoff_doubles_up_to_five_minutes():
    assert [backoff_seconds(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert backoff_seconds(30) == 300.0


async def test_a_refused_token_is_refreshed_and_the_message_sent_at_once(
    redis: Redis, keys: Keys, outbox: Outbox, sender: RecordingSender
):
    store = ConversationStore(redis, keys, 600)
    sender.failures = [FailureKind.TOKEN]
    await store.append(say("tg-1", "一"))
    await drain(outbox)
    assert sender.refreshed == 1 and [text for _, text in sender.sent] == ["一"]


async def test_a_message_the_platform_will_not_take_is_shown_not_dropped(
    redis: Redis, keys: Keys, outbox: Outbox, sender: RecordingSender
):
    store = ConversationStore(redis, keys, 600)
    events = redis.pubsub()
    await events.subscribe(keys.events)
    sender.failures = [FailureKind.CLOSED]
    first = await store.append(say("tg-1", "一"))
    await store.append(say("tg-1", "二"))
    await drain(outbox)
    assert [text for _, text in sender.sent] == ["二"]
    [undelivered] = await outbox.undelivered("tg-1")
    assert undelivered.message_ids == (first.id,) and undelivered.kind == "closed"
    announced = await next_event(events, "undelivered")
    await events.aclose()
    assert announced["conversation_id"] == "tg-1" and announced["message"]["text"] == "一"


async def test_a_message_that_keeps_failing_is_given_up_and_shown(
    redis: Redis, keys: Keys, outbox: Outbox, sender: RecordingSender
):
    store = ConversationStore(redis, keys, 600)
    sender.failures = [FailureKind.RETRY] * 10
    await store.append(say("tg-1", "一"))
    await store.append(say("tg-1", "二"))
    for _ in range(10):
        await redis.zadd(keys.outbox_retry, {"tg-1": 0})
        await drain(outbox)
    assert [text for _, text in sender.sent] == ["二"]
    assert [u.text for u in await outbox.undelivered("tg-1")] == ["一"]


async def test_a_wake_up_left_by_a_dead_process_is_taken_over(
    redis: Redis, keys: Keys, outbox: Outbox, sender: RecordingSender
):
    store = ConversationStore(redis, keys, 600)
    await store.append(say("tg-1", "一"))
    # Another process read the wake-up and died before delivering or acknowledging it.
    await redis.xreadgroup(GROUP, "dead-process", {keys.outbox: ">"}, count=10)
    assert await outbox.run_once(block_ms=10) == 0

    async def taken_over() -> bool:
        await outbox.run_once(block_ms=10)
        return bool(sender.sent)

    # Once the wake-up has idled claim_idle_ms (50 ms here), this process claims it.
    await async_wait_until(taken_over, timeout=5, what="the wake-up to be claimed")
    assert [text for _, text in sender.sent] == ["一"]
    assert (await redis.xpending(keys.outbox, GROUP))["pending"] == 0


async def test_two_processes_deliver_each_message_once(
    redis: Redis, keys: Keys, outbox: Outbox, sender: RecordingSender
):
    other = Outbox(redis, keys, {"tg": sender}, 600, claim_idle_ms=50)
    await other.start()
    store = ConversationStore(redis, keys, 600)
    sender.delay = 0.01
    for n in range(10):
        await store.append(say("tg-1", f"消息{n}"))
    await asyncio.gather(drain(outbox), drain(other))
    await drain(outbox)
    assert [text for _, text in sender.sent] == [f"消息{n}" for n in range(10)]


async def test_buttons_travel_with_their_message(
    redis: Redis, keys: Keys, outbox: Outbox, sender: RecordingSender
):
    store = ConversationStore(redis, keys, 600)
    offer = (Button("是", "/affirm"), Button("否", "/deny"))
    stored = await store.append(ChatMessage("tg-1", Role.BOT, "要转人工吗？", time.time(), offer))
    [outgoing] = one_each([stored])
    assert outgoing.buttons == offer and outgoing.buttons_of == stored.id
