"""The fake Bot API's own semantics, over raw HTTP: the envelope, offsets and long polls,
webhooks (the secret header, retries), the limits and the test controls. Whatever a channel
test learns from the fake is only as good as these."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.waiting import async_wait_until
from tools.fakes.telegram import (
    BAD_MARKUP,
    BLOCKED,
    BUTTON_DATA_INVALID,
    CHAT_NOT_FOUND,
    EMPTY_TEXT,
    HTTPS_REQUIRED,
    QUERY_TOO_OLD,
    SECRET_TOO_LONG,
    SECRET_UNALLOWED,
    TERMINATED,
    TEXT_BUTTON,
    TOO_LONG,
    UNSUPPORTED_PARSE_MODE,
    WEBHOOK_ACTIVE,
    FakeTelegram,
)
from tools.launch import free_port

CHAT = 70001


async def until(condition: Callable[[], bool], what: str) -> None:
    async def check() -> bool:
        return condition()

    await async_wait_until(check, timeout=5, what=what)


class Clock:
    """A clock the test moves: button-tap deadlines without waiting for them."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Api:
    """Bot API calls the way any HTTP client makes them."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self.http = http
        self.base_url = base_url
        self.root = f"{base_url}/bot{token}"

    async def call(self, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
        async with self.http.post(f"{self.root}/{method}", json=params) as response:
            return response.status, await response.json()

    async def ok(self, method: str, **params: Any) -> Any:
        status, body = await self.call(method, **params)
        assert (status, body["ok"]) == (200, True), body
        return body["result"]

    async def refused(self, method: str, **params: Any) -> tuple[int, str]:
        status, body = await self.call(method, **params)
        assert body["ok"] is False and body["error_code"] == status, body
        return status, body["description"]


class Receiver:
    """A bot's webhook: records each POST and answers with the next of ``statuses`` (then
    200); ``hold_first`` keeps the first request unanswered until ``release`` is set."""

    def __init__(self, statuses: list[int] | None = None, hold_first: bool = False) -> None:
        self.statuses = list(statuses or [])
        self.hold_first = hold_first
        self.release = asyncio.Event()
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.json()))
        if self.hold_first and len(self.received) == 1:
            await asyncio.wait_for(self.release.wait(), timeout=10)
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> FakeTelegram:
    return FakeTelegram(delivery_backoff=0.01, delivery_timeout=0.5, clock=clock)


@pytest.fixture
async def api(fake: FakeTelegram) -> AsyncIterator[Api]:
    async with fake.serve() as base_url, aiohttp.ClientSession() as http:
        yield Api(http, base_url, fake.token)


async def webhook_url(aiohttp_server: Any, receiver: Receiver) -> str:
    app = web.Application()
    app.router.add_post("/telegram/hook", receiver.handle)
    server = await aiohttp_server(app)
    return str(server.make_url("/telegram/hook"))


async def test_answers_in_the_bot_api_envelope(api: Api, fake: FakeTelegram) -> None:
    me = await api.ok("getMe")
    assert me["id"] == int(fake.token.split(":")[0])
    assert me["is_bot"] is True and me["username"] == "kefu_shop_bot"
    assert (await api.ok("GETME"))["id"] == me["id"]  # method names are case-insensitive

    async with api.http.get(f"{api.base_url}/bot{fake.token}x/getMe") as response:
        assert response.status == 401
        assert await response.json() == {
            "ok": False,
            "error_code": 401,
            "description": "Unauthorized",
        }
    assert await api.refused("sendSmokeSignal") == (404, "Not Found")
    async with api.http.get(f"{api.base_url}/favicon.ico") as response:
        assert (response.status, (await response.json())["description"]) == (404, "Not Found")


async def test_parameters_come_from_the_query_a_form_multipart_or_json(
    api: Api, fake: FakeTelegram
) -> None:
    fake.user_sends(CHAT, "/start")
    url = f"{api.root}/sendMessage"
    async with api.http.get(url, params={"chat_id": CHAT, "text": "query"}) as response:
        assert response.status == 200
    async with api.http.post(url, data={"chat_id": str(CHAT), "text": "form"}) as response:
        assert response.status == 200
    multipart = aiohttp.FormData({"chat_id": str(CHAT), "text": "multipart"})
    multipart.add_field(
        "reply_markup", '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    )
    multipart.add_field("file", b"\x89PNG", filename="ignored.png")  # forces multipart
    async with api.http.post(url, data=multipart) as response:
        assert response.status == 200
    await api.ok("sendMessage", chat_id=CHAT, text="json")

    sent = fake.sent_to(CHAT)
    assert [m.text for m in sent] == ["query", "form", "multipart", "json"]
    assert sent[2].buttons == [[{"text": "A", "callback_data": "a"}]]
    assert [call.method for call in fake.calls][-4:] == ["sendMessage"] * 4


async def test_offsets_confirm_updates_and_a_negative_one_keeps_the_last(
    api: Api, fake: FakeTelegram
) -> None:
    first, second, third = (fake.user_sends(CHAT, text)["update_id"] for text in "一二三")
    assert first < second < third

    assert [u["update_id"] for u in await api.ok("getUpdates")] == [first, second, third]
    # Nothing is confirmed until an offset above it comes.
    assert len(await api.ok("getUpdates")) == 3
    assert [u["update_id"] for u in await api.ok("getUpdates", offset=second)] == [second, third]
    assert [u["update_id"] for u in await api.ok("getUpdates")] == [second, third]

    fourth = fake.user_sends(CHAT, "四")["update_id"]
    assert [u["update_id"] for u in await api.ok("getUpdates", offset=-1)] == [fourth]
    assert [u["update_id"] for u in await api.ok("getUpdates")] == [fourth]  # the rest forgotten

    fifth = fake.user_sends(CHAT, "五")["update_id"]
    assert [u["update_id"] for u in await api.ok("getUpdates", limit=1)] == [fourth]
    assert [u["update_id"] for u in await api.ok("getUpdates", offset=fifth + 1)] == []
    assert fake.pending == []


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(
    api: Api, fake: FakeTelegram
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(api.ok("getUpdates", timeout=30))
    await until(lambda: fake.waiting_polls == 1, "the poll to wait")
    update = fake.user_sends(CHAT, "在吗")
    assert await asyncio.wait_for(poll, timeout=5) == [update]
    assert time.monotonic() - started < 10


async def test_a_long_poll_without_updates_ends_at_its_timeout(api: Api) -> None:
    started = time.monotonic()
    assert await api.ok("getUpdates", timeout=1) == []
    assert time.monotonic() - started >= 0.9


async def test_a_second_poll_ends_the_first_with_a_conflict(api: Api, fake: FakeTelegram) -> None:
    first = asyncio.create_task(api.refused("getUpdates", timeout=30))
    await until(lambda: fake.waiting_polls == 1, "the poll to wait")
    assert await api.ok("getUpdates", timeout=0) == []
    assert await asyncio.wait_for(first, timeout=5) == (409, TERMINATED)


async def test_get_updates_is_a_conflict_while_a_webhook_is_set(
    api: Api, fake: FakeTelegram
) -> None:
    waiting = asyncio.create_task(api.refused("getUpdates", timeout=30))
    await until(lambda: fake.waiting_polls == 1, "the poll to wait")
    await api.ok("setWebhook", url=f"http://127.0.0.1:{free_port()}/hook")
    assert await asyncio.wait_for(waiting, timeout=5) == (409, WEBHOOK_ACTIVE)
    assert await api.refused("getUpdates") == (409, WEBHOOK_ACTIVE)

    assert await api.call("deleteWebhook") == (
        200,
        {"ok": True, "result": True, "description": "Webhook was deleted"},
    )
    assert await api.ok("getUpdates") == []


async def test_set_webhook_checks_the_url_and_the_secret(api: Api, fake: FakeTelegram) -> None:
    hook = f"http://127.0.0.1:{free_port()}/hook"
    assert await api.refused("setWebhook", url=hook, secret_token="kefu:secret") == (
        400,
        SECRET_UNALLOWED,
    )
    assert await api.refused("setWebhook", url=hook, secret_token="秘密") == (400, SECRET_UNALLOWED)
    assert await api.refused("setWebhook", url=hook, secret_token="a" * 257) == (
        400,
        SECRET_TOO_LONG,
    )
    assert await api.refused("setWebhook", url="http://shop.example.com/hook") == (
        400,
        HTTPS_REQUIRED,
    )
    assert fake.webhook_url is None

    secret = "Az09_-" + "s" * 250
    for description in ("Webhook was set", "Webhook is already set"):
        _, body = await api.call("setWebhook", url=hook, secret_token=secret, max_connections=5)
        assert (body["result"], body["description"]) == (True, description)
    info = await api.ok("getWebhookInfo")
    assert info["url"] == hook and info["max_connections"] == 5
    assert info["has_custom_certificate"] is False

    await api.ok("setWebhook", url="")  # an empty URL removes it
    assert (await api.ok("getWebhookInfo"))["url"] == "" and fake.webhook_url is None


async def test_updates_are_posted_to_the_webhook_with_the_secret_and_retried_after_a_500(
    api: Api, fake: FakeTelegram, aiohttp_server: Any
) -> None:
    receiver = Receiver(statuses=[500])
    url = await webhook_url(aiohttp_server, receiver)
    await api.ok("setWebhook", url=url, secret_token="kefu-webhook_1", allowed_updates=[])

    update = fake.user_sends(CHAT, "我要退货")
    await until(lambda: len(receiver.received) == 2, "the retry")
    for headers, body in receiver.received:
        assert headers["X-Telegram-Bot-Api-Secret-Token"] == "kefu-webhook_1"
        assert headers["Content-Type"].startswith("application/json")
        assert body == update
    assert [(a.attempt, a.status, a.error) for a in fake.webhook_attempts] == [
        (1, 500, "Wrong response from the webhook: 500 Internal Server Error"),
        (2, 200, None),
    ]
    await until(lambda: not fake.pending, "the update to leave")
    info = await api.ok("getWebhookInfo")
    assert info["pending_update_count"] == 0
    assert info["last_error_message"].startswith("Wrong response from the webhook: 500")


async def test_a_webhook_that_answers_too_late_gets_the_update_again(
    api: Api, fake: FakeTelegram, aiohttp_server: Any
) -> None:
    receiver = Receiver(hold_first=True)
    await api.ok("setWebhook", url=await webhook_url(aiohttp_server, receiver))
    update = fake.user_sends(CHAT, "在吗")
    await until(lambda: len(receiver.received) == 2, "the second try")
    receiver.release.set()
    assert [body for _, body in receiver.received] == [update, update]  # a duplicate delivery
    assert "X-Telegram-Bot-Api-Secret-Token" not in receiver.received[0][0]
    assert [a.error for a in fake.webhook_attempts] == ["Read timeout expired", None]


async def test_an_unreachable_webhook_is_given_up_on_after_the_last_attempt(
    api: Api, fake: FakeTelegram
) -> None:
    await api.ok("setWebhook", url=f"http://127.0.0.1:{free_port()}/hook")
    fake.user_sends(CHAT, "你好")
    await until(lambda: not fake.pending, "the fake to give up")
    assert [(a.attempt, a.status, a.error) for a in fake.webhook_attempts] == [
        (n, None, "Connection refused") for n in (1, 2, 3)
    ]


async def test_deleting_the_webhook_can_drop_pending_updates(api: Api, fake: FakeTelegram) -> None:
    fake.user_sends(CHAT, "一")
    await api.ok("deleteWebhook")
    assert len(fake.pending) == 1
    _, body = await api.call("deleteWebhook", drop_pending_updates=True)
    assert (body["result"], body["description"]) == (True, "Webhook is already deleted")
    assert await api.ok("getUpdates") == []


async def test_send_message_limits(api: Api, fake: FakeTelegram) -> None:
    assert await api.refused("sendMessage", chat_id=CHAT, text="您好") == (400, CHAT_NOT_FOUND)
    fake.user_sends(CHAT, "/start")

    await api.ok("sendMessage", chat_id=CHAT, text="好" * 4096)
    await api.ok("sendMessage", chat_id=CHAT, text="😀" * 4096)  # code points, not UTF-16
    assert await api.refused("sendMessage", chat_id=CHAT, text="好" * 4097) == (400, TOO_LONG)
    assert await api.refused("sendMessage", chat_id=CHAT, text=" \n ") == (400, EMPTY_TEXT)
    assert await api.refused("sendMessage", chat_id=CHAT) == (400, EMPTY_TEXT)
    # The limit is on the text after entity parsing.
    html = "<b>" + "好" * 4096 + "</b>"
    assert (await api.ok("sendMessage", chat_id=CHAT, text=html, parse_mode="HTML"))[
        "text"
    ] == "好" * 4096
    assert await api.refused(
        "sendMessage", chat_id=CHAT, text="<b></b> &nbsp;", parse_mode="HTML"
    ) == (400, EMPTY_TEXT)
    assert await api.refused("sendMessage", chat_id=CHAT, text="*好*", parse_mode="MarkdownV2") == (
        400,
        UNSUPPORTED_PARSE_MODE,
    )


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        (
            {"inline_keyboard": [[{"text": "退货", "callback_data": "退" * 22}]]},
            BUTTON_DATA_INVALID,
        ),
        ({"inline_keyboard": [[{"text": "退货", "callback_data": ""}]]}, BUTTON_DATA_INVALID),
        ({"inline_keyboard": [[{"text": "退货"}]]}, TEXT_BUTTON),
        ({"inline_keyboard": "退货"}, BAD_MARKUP),
        ("{not json", BAD_MARKUP),
    ],
)
async def test_inline_keyboards_are_checked_like_telegram_does(
    api: Api, fake: FakeTelegram, markup: Any, description: str
) -> None:
    fake.user_sends(CHAT, "/start")
    reply_markup = markup if isinstance(markup, str) else json.dumps(markup)
    assert await api.refused(
        "sendMessage", chat_id=CHAT, text="选一个", reply_markup=reply_markup
    ) == (
        400,
        description,
    )
    assert fake.sent_to(CHAT) == []


async def test_callback_data_may_be_64_bytes(api: Api, fake: FakeTelegram) -> None:
    fake.user_sends(CHAT, "/start")
    keyboard = {"inline_keyboard": [[{"text": "退货", "callback_data": "退" * 21 + "x"}]]}
    assert len(keyboard["inline_keyboard"][0][0]["callback_data"].encode()) == 64
    await api.ok("sendMessage", chat_id=CHAT, text="选一个", reply_markup=keyboard)


async def test_message_ids_count_per_chat_and_sent_messages_are_kept_in_order(
    api: Api, fake: FakeTelegram
) -> None:
    assert fake.user_sends(CHAT, "你好")["message"]["message_id"] == 1
    fake.user_sends(CHAT + 1, "hello", from_user={"first_name": "Li", "username": "li"})
    keyboard = {"inline_keyboard": [[{"text": "查订单", "callback_data": "order"}]]}
    first = await api.ok("sendMessage", chat_id=CHAT, text="您好", reply_markup=keyboard)
    second = await api.ok("sendMessage", chat_id=str(CHAT), text="请问有什么可以帮您？")
    other = await api.ok("sendMessage", chat_id=CHAT + 1, text="Hi")

    assert (first["message_id"], second["message_id"], other["message_id"]) == (2, 3, 2)
    assert first["from"] == fake.bot_user and isinstance(first["date"], int)
    assert first["chat"] == {"id": CHAT, "type": "private", "first_name": "顾客"}
    assert other["chat"] == {
        "id": CHAT + 1,
        "type": "private",
        "first_name": "Li",
        "username": "li",
    }
    assert first["reply_markup"] == keyboard and "reply_markup" not in second
    assert [(m.message_id, m.text) for m in fake.sent_to(CHAT)] == [
        (2, "您好"),
        (3, "请问有什么可以帮您？"),
    ]


async def test_a_tap_is_answered_once_and_its_latency_recorded(
    api: Api, fake: FakeTelegram, clock: Clock
) -> None:
    fake.user_sends(CHAT, "/start")
    keyboard = {"inline_keyboard": [[{"text": "查订单", "callback_data": "order"}]]}
    message = await api.ok("sendMessage", chat_id=CHAT, text="您好", reply_markup=keyboard)
    update = fake.user_taps(CHAT, message["message_id"], "order")
    query = update["callback_query"]
    assert query["data"] == "order" and query["message"] == message
    assert query["from"]["id"] == CHAT and isinstance(query["id"], str) and query["chat_instance"]

    clock.now += 0.25
    await api.ok("answerCallbackQuery", callback_query_id=query["id"], text="正在查询")
    assert [(a.callback_query_id, a.text, a.latency) for a in fake.answers] == [
        (query["id"], "正在查询", 0.25)
    ]
    assert await api.refused("answerCallbackQuery", callback_query_id=query["id"]) == (
        400,
        QUERY_TOO_OLD,
    )
    assert await api.refused("answerCallbackQuery", callback_query_id="12345") == (
        400,
        QUERY_TOO_OLD,
    )

    late = fake.user_taps(CHAT, message["message_id"], "order")["callback_query"]["id"]
    clock.now += fake.callback_query_ttl + 1
    assert await api.refused("answerCallbackQuery", callback_query_id=late) == (400, QUERY_TOO_OLD)

    with pytest.raises(ValueError, match="no button"):
        fake.user_taps(CHAT, message["message_id"], "refund")
    with pytest.raises(ValueError, match="no message"):
        fake.user_taps(CHAT, 999, "order")


async def test_injected_failures(api: Api, fake: FakeTelegram) -> None:
    fake.fail_next(1, 500)
    fake.fail_next(1, 429, retry_after=7)
    assert await api.call("getMe") == (
        500,
        {"ok": False, "error_code": 500, "description": "Internal Server Error"},
    )
    assert await api.call("getMe") == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )
    fake.fail_next(1, 500, method="sendMessage")
    await api.ok("getMe")
    fake.user_sends(CHAT, "/start")
    assert await api.refused("sendMessage", chat_id=CHAT, text="好") == (
        500,
        "Internal Server Error",
    )
    assert fake.sent_to(CHAT) == []  # a failed call does nothing

    fake.fail_next(1, "hang")
    with pytest.raises(TimeoutError):
        async with api.http.post(
            f"{api.root}/getMe", timeout=aiohttp.ClientTimeout(total=0.3)
        ) as response:
            await response.read()
    await api.ok("getMe")
    with pytest.raises(ValueError, match="no method"):
        fake.fail_next(1, 500, method="sendSmokeSignal")


async def test_a_customer_who_blocks_the_bot(api: Api, fake: FakeTelegram) -> None:
    fake.user_sends(CHAT, "/start")
    update = fake.block(CHAT)
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    assert await api.refused("sendMessage", chat_id=CHAT, text="您好") == (403, BLOCKED)
    assert [u["update_id"] for u in await api.ok("getUpdates")][-1] == update["update_id"]


async def test_the_customer_side_makes_real_update_shapes(api: Api, fake: FakeTelegram) -> None:
    start = fake.user_sends(CHAT, "/start promo_618")["message"]
    assert start["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]
    photo = fake.user_sends_photo(CHAT, caption="破损的地方")["message"]
    assert photo["caption"] == "破损的地方" and len(photo["photo"]) == 3
    assert all({"file_id", "file_unique_id", "width", "height"} <= set(p) for p in photo["photo"])
    sticker = fake.user_sends_sticker(CHAT, emoji="😡")["message"]["sticker"]
    assert sticker["emoji"] == "😡" and sticker["type"] == "regular"
    location = fake.user_sends_location(CHAT, 31.2304, 121.4737)["message"]["location"]
    assert location == {"latitude": 31.2304, "longitude": 121.4737}

    updates = await api.ok("getUpdates")
    assert [u["message"]["message_id"] for u in updates] == [1, 2, 3, 4]
    ids = [u["update_id"] for u in updates]
    assert ids == sorted(ids) and len(set(ids)) == 4
    with pytest.raises(ValueError, match="user id"):
        fake.user_sends(CHAT, "hi", from_user={"id": CHAT + 1})


async def test_an_update_delivered_twice_keeps_its_update_id(api: Api, fake: FakeTelegram) -> None:
    update = fake.user_sends(CHAT, "我要退款")
    fake.deliver_again(update)
    later = fake.user_sends(CHAT, "在吗")
    assert await api.ok("getUpdates") == [update, update, later]
    # Confirmed is confirmed: a copy below the offset is dropped with the original.
    fake.deliver_again(update)
    assert await api.ok("getUpdates", offset=update["update_id"] + 1) == [later]


async def test_allowed_updates_leave_out_new_updates_of_other_kinds(
    api: Api, fake: FakeTelegram
) -> None:
    fake.user_sends(CHAT, "/start")
    keyboard = {"inline_keyboard": [[{"text": "查订单", "callback_data": "order"}]]}
    message = await api.ok("sendMessage", chat_id=CHAT, text="您好", reply_markup=keyboard)
    await api.ok("getUpdates", offset=-1, allowed_updates=["message"])

    fake.user_taps(CHAT, message["message_id"], "order")
    fake.block(CHAT)
    kept = fake.user_sends(CHAT, "你好")
    assert (await api.ok("getUpdates"))[-1:] == [kept]
    assert [set(u) - {"update_id"} for u in fake.pending] == [{"message"}, {"message"}]


async def test_stopping_ends_waiting_polls_and_hung_requests(fake: FakeTelegram) -> None:
    fake.fail_next(1, "hang", method="getMe")
    async with aiohttp.ClientSession() as http:
        async with fake.serve() as base_url:
            root = f"{base_url}/bot{fake.token}"
            poll = asyncio.create_task(http.post(f"{root}/getUpdates", json={"timeout": 60}))
            hung = asyncio.create_task(http.post(f"{root}/getMe"))
            await until(
                lambda: fake.waiting_polls == 1 and len(fake.calls) == 2, "both requests to be in"
            )
            started = time.monotonic()
        assert time.monotonic() - started < 5
        done, still_open = await asyncio.wait({poll, hung}, timeout=5)
        assert not still_open
        for request in done:
            if request.exception() is None:
                request.result().release()
