"""kefu's Bot API client against the fake Bot API: each method, and every failure in one shape
(``TelegramError``) whose ``kind`` tells the channel what to do about it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiogram.client.session.aiohttp as aiogram_aiohttp
import aiohttp
import pytest
from aiohttp import web

from bot.channels.telegram_api import TelegramClient, TelegramError
from tests.waiting import async_wait_until
from tools.fakes.telegram import (
    BLOCKED,
    BUTTON_DATA_INVALID,
    CHAT_NOT_FOUND,
    EMPTY_TEXT,
    QUERY_TOO_OLD,
    TOO_LONG,
    WEBHOOK_ACTIVE,
    FakeTelegram,
)
from tools.launch import free_port

CHAT = 80001


async def until(condition: Callable[[], bool], what: str) -> None:
    async def check() -> bool:
        return condition()

    await async_wait_until(check, timeout=5, what=what)


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(delivery_backoff=0.01)


@pytest.fixture
async def base_url(fake: FakeTelegram) -> AsyncIterator[str]:
    async with fake.serve() as url:
        yield url


@pytest.fixture
async def client(fake: FakeTelegram, base_url: str) -> AsyncIterator[TelegramClient]:
    client = TelegramClient(fake.token, base_url=base_url, timeout=2.0)
    yield client
    await client.aclose()


async def failure(call: Any) -> TelegramError:
    with pytest.raises(TelegramError) as raised:
        await call
    return raised.value


async def test_get_me(client: TelegramClient, fake: FakeTelegram) -> None:
    me = await client.get_me()
    assert (me.id, me.is_bot, me.username) == (fake.bot_user["id"], True, "kefu_shop_bot")


async def test_send_message_returns_the_message_id_and_sends_the_buttons(
    client: TelegramClient, fake: FakeTelegram
) -> None:
    fake.user_sends(CHAT, "/start")
    first = await client.send_message(
        CHAT, "您好，请选择：", [[("查订单", "order"), ("退货", "refund")]]
    )
    second = await client.send_message(str(CHAT), "或者直接输入您的问题")
    assert second > first
    sent = fake.sent_to(CHAT)
    assert [(m.message_id, m.text) for m in sent] == [
        (first, "您好，请选择："),
        (second, "或者直接输入您的问题"),
    ]
    assert sent[0].buttons == [
        [{"text": "查订单", "callback_data": "order"}, {"text": "退货", "callback_data": "refund"}]
    ]
    assert sent[1].buttons == []


async def test_get_updates_types_them_and_an_offset_confirms_them(
    client: TelegramClient, fake: FakeTelegram
) -> None:
    sent = fake.user_sends(CHAT, "我的快递到哪了", from_user={"first_name": "小王"})
    [update] = await client.get_updates(None, timeout=0, allowed_updates=["message"])
    assert update.update_id == sent["update_id"]
    assert update.message is not None and update.message.text == "我的快递到哪了"
    assert update.message.chat.id == CHAT and update.message.from_user is not None
    assert update.message.from_user.first_name == "小王"
    assert fake.calls[-1].params["allowed_updates"] == '["message"]'

    assert await client.get_updates(update.update_id + 1, timeout=0) == []
    assert fake.pending == []


async def test_a_long_poll_returns_when_the_customer_writes(
    client: TelegramClient, fake: FakeTelegram
) -> None:
    poll = asyncio.create_task(client.get_updates(None, timeout=30))
    await until(lambda: fake.waiting_polls == 1, "the poll to wait")
    fake.user_sends(CHAT, "在吗")
    [update] = await asyncio.wait_for(poll, timeout=5)
    assert update.message is not None and update.message.text == "在吗"


async def test_a_tap_is_answered_once(client: TelegramClient, fake: FakeTelegram) -> None:
    fake.user_sends(CHAT, "/start")
    message_id = await client.send_message(CHAT, "请选择", [[("查订单", "order")]])
    fake.user_taps(CHAT, message_id, "order")
    [*_, update] = await client.get_updates(None, timeout=0)
    query = update.callback_query
    assert query is not None and query.data == "order" and query.from_user.id == CHAT
    assert query.message is not None and query.message.message_id == message_id

    await client.answer_callback_query(query.id, "正在查询")
    assert [(a.callback_query_id, a.text) for a in fake.answers] == [(query.id, "正在查询")]
    error = await failure(client.answer_callback_query(query.id))
    assert (error.kind, error.status, error.description) == ("refused", 400, QUERY_TOO_OLD)


async def test_the_other_update_shapes_parse(client: TelegramClient, fake: FakeTelegram) -> None:
    fake.user_sends_photo(CHAT, caption="破损")
    fake.user_sends_sticker(CHAT, emoji="😡")
    fake.user_sends_location(CHAT, 31.23, 121.47)
    fake.block(CHAT)
    photo, sticker, location, blocked = await client.get_updates(None, timeout=0)
    assert photo.message is not None and photo.message.photo is not None
    assert photo.message.caption == "破损" and photo.message.photo[-1].width == 1280
    assert sticker.message is not None and sticker.message.sticker is not None
    assert sticker.message.sticker.emoji == "😡"
    assert location.message is not None and location.message.location is not None
    assert location.message.location.latitude == 31.23
    assert blocked.my_chat_member is not None
    assert blocked.my_chat_member.new_chat_member.status == "kicked"


async def test_a_webhook_update_parses_like_a_polled_one(
    client: TelegramClient, fake: FakeTelegram, aiohttp_server: Any
) -> None:
    bodies: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        bodies.append(await request.json())
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    await client.set_webhook(str(server.make_url("/hook")), "s3cret", ["message"])
    fake.user_sends(CHAT, "你好")
    await until(lambda: len(bodies) == 1, "the webhook delivery")
    update = client.parse_update(bodies[0])
    assert update.message is not None and update.message.text == "你好"
    with pytest.raises(ValueError):
        client.parse_update({"message": "not an update"})


async def test_while_a_webhook_is_set_polling_is_a_conflict(
    client: TelegramClient, fake: FakeTelegram
) -> None:
    hook = f"http://127.0.0.1:{free_port()}/telegram"
    await client.set_webhook(hook, "kefu_secret-1", ["message", "callback_query"])
    assert fake.webhook_url == hook
    assert fake.calls[-1].params["secret_token"] == "kefu_secret-1"

    error = await failure(client.get_updates(None, timeout=0))
    assert (error.kind, error.status, error.error_code) == ("conflict", 409, 409)
    assert error.description == WEBHOOK_ACTIVE

    fake.user_sends(CHAT, "一")
    await client.delete_webhook(drop_pending_updates=True)
    assert fake.webhook_url is None
    assert await client.get_updates(None, timeout=0) == []


@pytest.mark.parametrize(
    ("text", "buttons", "description"),
    [
        ("好" * 4097, None, TOO_LONG),
        (" ", None, EMPTY_TEXT),
        ("请选择", [[("退货", "退" * 22)]], BUTTON_DATA_INVALID),  # 22 characters, 66 bytes
    ],
)
async def test_messages_telegram_will_not_take_are_refused(
    client: TelegramClient,
    fake: FakeTelegram,
    text: str,
    buttons: list[list[tuple[str, str]]] | None,
    description: str,
) -> None:
    fake.user_sends(CHAT, "/start")
    error = await failure(client.send_message(CHAT, text, buttons))
    assert (error.kind, error.status, error.error_code) == ("refused", 400, 400)
    assert (error.method, error.description, error.retry_after) == (
        "sendMessage",
        description,
        None,
    )


async def test_an_unknown_chat_and_a_blocked_customer_are_refused(
    client: TelegramClient, fake: FakeTelegram
) -> None:
    error = await failure(client.send_message(CHAT, "您好"))
    assert (error.kind, error.status, error.description) == ("refused", 400, CHAT_NOT_FOUND)
    fake.user_sends(CHAT, "/start")
    fake.block(CHAT)
    error = await failure(client.send_message(CHAT, "您好"))
    assert (error.kind, error.status, error.description) == ("refused", 403, BLOCKED)


async def test_a_wrong_token_or_base_url_is_unauthorized(fake: FakeTelegram, base_url: str) -> None:
    wrong_token = TelegramClient("123456789:not-the-bots-token", base_url=base_url)
    wrong_path = TelegramClient(fake.token, base_url=f"{base_url}/telegram")
    try:
        error = await failure(wrong_token.get_me())
        assert (error.kind, error.status, error.description) == (
            "unauthorized",
            401,
            "Unauthorized",
        )
        error = await failure(wrong_path.get_me())
        assert (error.kind, error.status, error.description) == ("unauthorized", 404, "Not Found")
    finally:
        await wrong_token.aclose()
        await wrong_path.aclose()
    with pytest.raises(ValueError, match="malformed"):
        TelegramClient("not a token")


async def test_server_errors_and_flood_control_are_retried(
    client: TelegramClient, fake: FakeTelegram
) -> None:
    fake.fail_next(1, 500)
    fake.fail_next(1, 429, retry_after=3)
    error = await failure(client.get_me())
    assert (error.kind, error.status, error.error_code, error.retry_after) == (
        "retry",
        500,
        500,
        None,
    )
    error = await failure(client.get_me())
    assert (error.kind, error.status, error.retry_after) == ("retry", 429, 3.0)
    assert error.description == "Too Many Requests: retry after 3"
    assert (await client.get_me()).id == fake.bot_user["id"]


async def test_no_answer_in_time_is_retried(fake: FakeTelegram, base_url: str) -> None:
    client = TelegramClient(fake.token, base_url=base_url, timeout=0.5)
    try:
        fake.fail_next(1, "hang", method="sendMessage")
        fake.user_sends(CHAT, "/start")
        error = await failure(client.send_message(CHAT, "您好"))
        assert (error.kind, error.status, error.method) == ("retry", None, "sendMessage")
        assert "timeout" in error.description.lower()
    finally:
        await client.aclose()


async def test_a_network_error_is_retried_and_never_shows_the_token(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = TelegramClient(fake.token, base_url=f"http://127.0.0.1:{free_port()}")
    try:
        error = await failure(client.get_updates(5, timeout=1))
    finally:
        await client.aclose()
    assert (error.kind, error.status, error.method) == ("retry", None, "getUpdates")
    secret = fake.token.split(":")[1]
    assert error.__cause__ is None and error.__suppress_context__
    assert secret not in str(error) and secret not in repr(error)
    assert secret not in caplog.text


async def test_a_borrowed_session_stays_open(fake: FakeTelegram, base_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        client = TelegramClient(fake.token, base_url=base_url, http=http)
        await client.get_me()
        await client.aclose()
        assert not http.closed
        assert (await TelegramClient(fake.token, base_url=base_url, http=http).get_me()).is_bot


async def test_its_own_session_is_closed(
    fake: FakeTelegram, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[aiohttp.ClientSession] = []
    real_session = aiogram_aiohttp.ClientSession

    def recorded_session(*args: Any, **kwargs: Any) -> aiohttp.ClientSession:
        session = real_session(*args, **kwargs)
        opened.append(session)
        return session

    monkeypatch.setattr(aiogram_aiohttp, "ClientSession", recorded_session)
    client = TelegramClient(fake.token, base_url=base_url)
    await client.get_me()
    assert len(opened) == 1 and not opened[0].closed
    await client.aclose()
    assert opened[0].closed


@pytest.mark.parametrize(
    ("status", "retry_after", "kind"),
    [
        (None, None, "retry"),
        (500, None, "retry"),
        (502, None, "retry"),
        (429, 5.0, "retry"),
        (400, 5.0, "retry"),  # whatever the status, flood control says wait and try again
        (200, None, "retry"),  # an answer that was not the Bot API's
        (400, None, "refused"),
        (403, None, "refused"),
        (413, None, "refused"),
        (401, None, "unauthorized"),
        (404, None, "unauthorized"),
        (409, None, "conflict"),
    ],
)
def test_kinds(status: int | None, retry_after: float | None, kind: str) -> None:
    assert TelegramError("sendMessage", "x", status=status, retry_after=retry_after).kind == kind
