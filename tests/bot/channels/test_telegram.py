"""The Telegram channel against the real kefu app, a real Redis, the fake Bot API (real
updates, limits and errors) and a stub Rasa: by long polling and by webhook."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestClient
from redis.asyncio import Redis

from bot.channels.setup import CHANNELS
from bot.channels.telegram import SECRET_HEADER, webhook_secret
from bot.server import create_app
from core.keys import Keys
from core.settings import Settings
from tests.bot.conftest import RasaStub
from tests.waiting import async_wait_until
from tools.fakes.telegram import FakeTelegram, SentMessage
from tools.launch import free_port

CHAT = 424242


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeTelegram, str]]:
    fake = FakeTelegram()
    async with fake.serve() as base_url:
        yield fake, base_url


@pytest.fixture
def telegram(served: tuple[FakeTelegram, str]) -> FakeTelegram:
    return served[0]


def with_telegram(settings: Settings, fake: FakeTelegram, base_url: str, mode: str) -> Settings:
    return dataclasses.replace(
        settings,
        telegram_bot_token=fake.token,
        telegram_api_url=base_url,
        telegram_mode=mode,
    )


@pytest.fixture
async def polling(aiohttp_client, stub_settings: Settings, served: tuple[FakeTelegram, str]):
    telegram, base_url = served
    return await aiohttp_client(
        create_app(with_telegram(stub_settings, telegram, base_url, "polling"))
    )


@pytest.fixture
async def webhook(aiohttp_client, stub_settings: Settings, served: tuple[FakeTelegram, str]):
    telegram, base_url = served
    port = free_port()
    settings = dataclasses.replace(
        with_telegram(stub_settings, telegram, base_url, "webhook"),
        public_url=f"http://127.0.0.1:{port}",
    )
    return await aiohttp_client(create_app(settings), server_kwargs={"port": port})


async def sent(fake: FakeTelegram, count: int) -> list[SentMessage]:
    async def enough() -> list[SentMessage]:
        messages = fake.sent_to(CHAT)
        return messages if len(messages) >= count else []

    return await async_wait_until(enough, timeout=10, what=f"{count} messages at Telegram")


async def test_start_greets_and_a_question_is_answered_by_polling(
    polling: TestClient, telegram: FakeTelegram, rasa: RasaStub
):
    rasa.reply = {"text": "您好，请问有什么可以帮您？"}
    telegram.user_sends(CHAT, "/start")
    [greeting] = await sent(telegram, 1)
    assert greeting.text == "您好，请问有什么可以帮您？"
    assert rasa.received[0] == {**rasa.received[0], "sender": f"tg-{CHAT}", "message": "/greet"}
    rasa.reply = {"text": "包邮的哦"}
    telegram.user_sends(CHAT, "包邮吗")
    await sent(telegram, 2)
    assert rasa.received[1]["message"] == "包邮吗"


async def test_a_tap_is_acknowledged_at_once_and_reaches_the_bot_as_the_offered_payload(
    polling: TestClient, telegram: FakeTelegram, rasa: RasaStub
):
    rasa.reply = {
        "text": "需要转人工吗？",
        "buttons": [{"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}],
    }
    telegram.user_sends(CHAT, "有问题")
    [offer] = await sent(telegram, 1)
    data = [row[0]["callback_data"] for row in offer.buttons]
    assert all(len(d.encode()) <= 64 for d in data) and "/affirm" not in "".join(data)
    rasa.reply = {"text": "好的"}
    telegram.user_taps(CHAT, offer.message_id, data[0])
    await sent(telegram, 2)
    assert rasa.received[-1]["message"] == "/affirm"
    [answer] = telegram.answers
    assert answer.text is None and answer.latency < 2


async def test_an_update_delivered_twice_is_answered_once(
    polling: TestClient, telegram: FakeTelegram, rasa: RasaStub
):
    update = telegram.user_sends(CHAT, "在吗")
    telegram.deliver_again(update)
    await sent(telegram, 1)
    telegram.user_sends(CHAT, "好的")
    await sent(telegram, 2)
    assert [r["message"] for r in rasa.received] == ["在吗", "好的"]
    assert len(telegram.sent_to(CHAT)) == 2


VOICE = {"file_id": "AwACAgUAAxkBAAIVoice", "file_unique_id": "AgADVoice", "duration": 4}


@pytest.mark.parametrize(
    ("sends", "seen"),
    [
        (lambda fake: fake.user_sends_photo(CHAT, caption="这个坏了"), "[图片] 这个坏了"),
        # The fake has no voice of its own: a voice message as Telegram sends one.
        (lambda fake: fake._user_message(CHAT, None, {"voice": VOICE}), "[语音]"),
        (
            lambda fake: fake.user_sends_location(CHAT, 31.230416, 121.473701),
            "[位置] 31.230416,121.473701",
        ),
    ],
    ids=["photo", "voice", "location"],
)
async def test_a_photo_voice_message_or_location_gets_a_please_type_and_the_agent_sees_it(
    polling: TestClient,
    telegram: FakeTelegram,
    rasa: RasaStub,
    redis: Redis,
    keys: Keys,
    sends: Callable[[FakeTelegram], object],
    seen: str,
):
    sends(telegram)
    [answer] = await sent(telegram, 1)
    assert "文字" in answer.text and rasa.received == []
    transcript = await redis.xrange(keys.transcript(f"tg-{CHAT}"))
    customer_said = json.loads(transcript[0][1]["m"])
    assert (customer_said["role"], customer_said["text"]) == ("customer", seen)


async def test_a_customer_who_blocked_the_bot_shows_as_undelivered(
    polling: TestClient, telegram: FakeTelegram, rasa: RasaStub
):
    telegram.user_sends(CHAT, "你好")
    await sent(telegram, 1)
    telegram.block(CHAT)
    telegram.user_sends(CHAT, "在吗")  # sent before the block reached the bot
    outbox = polling.app[CHANNELS].outbox

    async def undelivered() -> list:
        return await outbox.undelivered(f"tg-{CHAT}")

    [record] = await async_wait_until(undelivered, timeout=10, what="the undelivered record")
    assert record.reason == "blocked" and record.kind == "refused"


async def test_telegram_rate_limits_are_waited_out(
    polling: TestClient, telegram: FakeTelegram, rasa: RasaStub
):
    telegram.fail_next(1, 429, retry_after=1, method="sendMessage")
    telegram.user_sends(CHAT, "你好")
    assert [m.text for m in await sent(telegram, 1)] == ["好的"]


async def test_the_webhook_takes_updates_only_with_the_secret(
    webhook: TestClient, telegram: FakeTelegram, rasa: RasaStub, stub_settings: Settings
):
    assert telegram.webhook_url == str(webhook.make_url("/channels/telegram"))
    telegram.user_sends(CHAT, "包邮吗")
    await sent(telegram, 1)
    assert telegram.webhook_attempts[0].secret_token == webhook_secret(stub_settings.secret)
    forged = await webhook.post(
        "/channels/telegram",
        json={
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1, "type": "private"},
                "text": "/affirm",
            },
        },
        headers={SECRET_HEADER: "wrong"},
    )
    assert forged.status == 401
    malformed = await webhook.post(
        "/channels/telegram",
        data=b"{not json",
        headers={SECRET_HEADER: webhook_secret(stub_settings.secret)},
    )
    assert malformed.status == 400
    assert [r["message"] for r in rasa.received] == ["包邮吗"]


async def test_a_message_over_the_limit_gets_the_web_chats_polite_answer(
    polling: TestClient, telegram: FakeTelegram, rasa: RasaStub
):
    telegram.user_sends(CHAT, "退" * 3000)
    [answer] = await sent(telegram, 1)
    assert "2000" in answer.text and rasa.received == []
