"""The WeChat Official Account channel against the real kefu app, a real Redis, the fake
WeChat platform (its real XML, signatures, encryption, tokens and quota) and a stub Rasa."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.channels.setup import CHANNELS
from bot.channels.wxxml import build_xml
from bot.server import create_app
from bot.state import SERVICES
from core.keys import Keys
from core.records import ChatMessage, Role
from core.settings import Settings
from core.store import ConversationStore
from tests.bot.conftest import RasaStub
from tests.waiting import async_wait_until
from tools.fakes.wechat import FakeWeChat, Push
from tools.launch import free_port

OPENID = "oKefuCustomer0001"


@pytest.fixture(params=["plaintext", "encrypted"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def wechat(mode: str) -> AsyncIterator[FakeWeChat]:
    fake = FakeWeChat(callback_timeout=5.0)
    async with fake.serve():
        yield fake


def with_wechat(settings: Settings, wechat: FakeWeChat, mode: str, api_url: str = "") -> Settings:
    return dataclasses.replace(
        settings,
        wechat_token=wechat.token,
        wechat_app_id=wechat.appid,
        wechat_app_secret=wechat.secret,
        wechat_aes_key=wechat.encoding_aes_key if mode == "encrypted" else "",
        wechat_api_url=api_url or wechat.base_url,
    )


@pytest.fixture
async def client(aiohttp_client, stub_settings: Settings, wechat: FakeWeChat, mode: str):
    client = await aiohttp_client(create_app(with_wechat(stub_settings, wechat, mode)))
    wechat.callback_url = str(client.make_url("/channels/wechat"))
    return client


class Customer:
    """The customer OPENID, writing in the account's mode (plaintext or encrypted)."""

    def __init__(self, wechat: FakeWeChat, encrypted: bool) -> None:
        self._wechat = wechat
        self._encrypted = encrypted

    async def says(self, text: str, menu_id: str = "") -> Push:
        return await self._wechat.send_text(
            OPENID, text, encrypted=self._encrypted, menu_id=menu_id
        )

    async def sends(self, kind: str, media_id: str) -> Push:
        return await self._wechat.send_media(OPENID, kind, media_id, encrypted=self._encrypted)


@pytest.fixture
def customer(wechat: FakeWeChat, mode: str) -> Customer:
    return Customer(wechat, mode == "encrypted")


@pytest.fixture
def app_store(client) -> ConversationStore:
    return client.app[SERVICES].store


def agent_says(text: str) -> ChatMessage:
    return ChatMessage(f"wx-{OPENID}", Role.AGENT, text, time.time(), author="agent1")


async def delivered(wechat: FakeWeChat, count: int) -> list[str]:
    async def enough() -> list[str]:
        texts = [d.content for d in wechat.deliveries]
        return texts if len(texts) >= count else []

    return await async_wait_until(enough, timeout=10, what=f"{count} deliveries at WeChat")


async def test_the_url_check_echoes_only_a_signed_request(client, wechat: FakeWeChat):
    assert await wechat.verify_url()
    forged = await client.get(
        "/channels/wechat",
        params={"signature": "0" * 40, "timestamp": "1", "nonce": "2", "echostr": "x"},
    )
    assert forged.status == 403


async def test_a_message_is_acknowledged_at_once_and_answered_through_the_api(
    client, wechat: FakeWeChat, rasa: RasaStub, customer: Customer
):
    rasa.reply = {"text": "亲，七天无理由退货的哦"}
    push = await customer.says("可以退货吗")
    assert push.outcome == "ack" and len(push.attempts) == 1
    assert await delivered(wechat, 1) == ["亲，七天无理由退货的哦"]
    assert rasa.received[0]["sender"] == f"wx-{OPENID}"
    assert rasa.received[0]["message"] == "可以退货吗"


async def test_a_push_wechat_repeats_is_answered_once(
    client, wechat: FakeWeChat, rasa: RasaStub, customer: Customer
):
    first = await customer.says("在吗")
    await delivered(wechat, 1)
    # WeChat heard no answer in time and sends the same MsgId again: acknowledged, not redone.
    again = await wechat.push_again(first)
    assert again.outcome == "ack"
    await customer.says("好的")
    await delivered(wechat, 2)
    assert [r["message"] for r in rasa.received] == ["在吗", "好的"]
    assert len(wechat.deliveries) == 2


async def test_a_repeated_push_does_not_give_the_window_its_messages_back(
    client, wechat: FakeWeChat, customer: Customer
):
    first = await customer.says("在吗")
    await delivered(wechat, 1)
    window = client.app[CHANNELS].window

    async def one_counted() -> bool:
        return (await window.state(f"wx-{OPENID}")).remaining == 4

    await async_wait_until(one_counted, timeout=10, what="the answer counted in the window")
    # WeChat repeats the push: the same message, not a new one opening a fresh window.
    assert (await wechat.push_again(first)).outcome == "ack"
    assert (await window.state(f"wx-{OPENID}")).remaining == 4
    # A new message does open it again.
    await customer.says("好的")
    await delivered(wechat, 2)
    await async_wait_until(one_counted, timeout=10, what="a fresh window with one answer")


async def test_forged_malformed_and_stale_pushes_are_refused_and_nothing_is_stored(
    client, redis: Redis, keys: Keys
):
    for params, body in (
        ({"signature": "0" * 40, "timestamp": "1", "nonce": "1"}, b"<xml></xml>"),
        ({}, b"<xml><ToUserName>x</ToUserName></xml>"),
    ):
        response = await client.post("/channels/wechat", params=params, data=body)
        assert response.status == 403
    assert await redis.exists(keys.transcript(f"wx-{OPENID}")) == 0


async def test_signed_but_malformed_stale_or_oversized_pushes_are_refused(
    client, wechat: FakeWeChat, redis: Redis, keys: Keys, mode: str
):
    _, nonce, signed = wechat.signed_query()
    if mode == "encrypted":
        signed |= {"encrypt_type": "aes", "msg_signature": "0" * 40}
    bodies = [
        b"<xml><ToUserName>unclosed",
        b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
        "<xml>中文</xml>".encode("gbk"),
    ]
    for body in bodies:
        response = await client.post("/channels/wechat", params=signed, data=body)
        assert response.status == 403
    huge = b"<xml><Content>" + b"x" * 100_000 + b"</Content></xml>"
    assert (await client.post("/channels/wechat", params=signed, data=huge)).status == 413
    stale = {**signed, "timestamp": "1000", "signature": wechat.crypto.signature("1000", nonce)}
    assert (await client.post("/channels/wechat", params=stale, data=bodies[0])).status == 403
    assert [key async for key in redis.scan_iter(match=f"{keys.prefix}:conv:*")] == []


@pytest.mark.parametrize(
    ("kind", "seen"), [("image", "[图片] MEDIA123"), ("voice", "[语音] MEDIA123")]
)
async def test_a_photo_or_voice_message_gets_a_polite_please_type_and_the_agent_sees_it(
    client,
    wechat: FakeWeChat,
    rasa: RasaStub,
    redis: Redis,
    keys: Keys,
    customer: Customer,
    kind: str,
    seen: str,
):
    await customer.sends(kind, "MEDIA123")  # a voice message without WeChat's recognition
    [answer] = await delivered(wechat, 1)
    assert "文字" in answer
    assert rasa.received == []  # nothing for the bot to read
    transcript = await redis.xrange(keys.transcript(f"wx-{OPENID}"))
    assert seen in transcript[0][1]["m"]


async def test_a_shared_location_gets_a_polite_please_type_and_the_agent_sees_the_place(
    client,
    wechat: FakeWeChat,
    rasa: RasaStub,
    redis: Redis,
    keys: Keys,
    customer: Customer,
    mode: str,
):
    await customer.says("在吗")
    await delivered(wechat, 1)
    # The fake pushes no locations: posted as WeChat pushes one, signed (and encrypted).
    fields: dict[str, str | int] = {
        "ToUserName": wechat.account,
        "FromUserName": OPENID,
        "CreateTime": int(time.time()),
        "MsgType": "location",
        "Location_X": "31.230416",
        "Location_Y": "121.473701",
        "Scale": 15,
        "Label": "上海市黄浦区人民大道200号",
        "MsgId": 25_000_000_000_000_001,
    }
    timestamp, nonce, query = wechat.signed_query()
    body = build_xml(fields)
    if mode == "encrypted":
        ciphertext, msg_signature = wechat.crypto.encrypt(body, nonce, timestamp)
        query |= {"encrypt_type": "aes", "msg_signature": msg_signature}
        body = build_xml({"ToUserName": wechat.account, "Encrypt": ciphertext})
    response = await client.post("/channels/wechat", params=query, data=body.encode())
    assert (response.status, await response.text()) == (200, "success")
    answer = (await delivered(wechat, 2))[1]
    assert "文字" in answer
    assert [r["message"] for r in rasa.received] == ["在吗"]
    transcript = await redis.xrange(keys.transcript(f"wx-{OPENID}"))
    assert any("[位置] 上海市黄浦区人民大道200号" in entry["m"] for _, entry in transcript)


async def test_buttons_arrive_as_a_menu_and_a_tap_reaches_the_bot_as_its_payload(
    client, wechat: FakeWeChat, rasa: RasaStub, customer: Customer
):
    rasa.reply = {
        "text": "请问是哪类问题？",
        "buttons": [
            {"title": "物流", "payload": "/order_logistics"},
            {"title": "退货", "payload": "/return_request"},
        ],
    }
    await customer.says("有问题")
    await delivered(wechat, 1)
    [menu] = wechat.deliveries
    assert menu.msgtype == "msgmenu" and [title for _, title in menu.menu] == ["物流", "退货"]
    rasa.reply = {"text": "好的，这就为您办理退货"}
    option_id, title = menu.menu[1]
    await customer.says(title, option_id)
    await delivered(wechat, 2)
    assert rasa.received[-1]["message"] == "/return_request"
    # A forged option is no tap: its words are read as words.
    await customer.says("物流", "1-0~0")
    await delivered(wechat, 3)
    assert rasa.received[-1]["message"] == "物流"


async def test_an_expired_token_is_fetched_again_and_the_message_still_arrives(
    client, wechat: FakeWeChat, customer: Customer
):
    await customer.says("你好")
    await delivered(wechat, 1)
    wechat.expire_tokens()
    await customer.says("在吗")
    assert len(await delivered(wechat, 2)) == 2
    assert wechat.token_calls == 2


async def test_a_platform_failure_is_retried_and_nothing_is_lost_or_doubled(
    client, wechat: FakeWeChat, customer: Customer
):
    wechat.fail_next(1, "http500", endpoint="send")
    await customer.says("你好")
    assert await delivered(wechat, 1) == ["好的"]
    assert wechat.calls["/cgi-bin/message/custom/send"] == 2


async def test_past_the_five_messages_of_the_window_a_message_is_shown_as_undelivered(
    client, wechat: FakeWeChat, app_store, customer: Customer
):
    await customer.says("你好")
    await delivered(wechat, 1)
    channels = client.app[CHANNELS]
    for n in range(5):  # an agent's replies, one after another, none of them merged
        await app_store.append(agent_says(f"回复{n}"))
        if n < 4:
            await delivered(wechat, n + 2)

    async def refused() -> list:
        return await channels.outbox.undelivered(f"wx-{OPENID}")

    [undelivered] = await async_wait_until(refused, timeout=10, what="the undelivered record")
    assert undelivered.text == "回复4" and undelivered.reason == "quota_used"
    assert len(wechat.deliveries) == 5
    assert not (await channels.window.state(f"wx-{OPENID}")).open


async def test_messages_waiting_in_the_outbox_are_delivered_after_a_restart(
    aiohttp_client, stub_settings: Settings, wechat: FakeWeChat, mode: str, customer: Customer
):
    # WeChat's API cannot be reached while the first kefu runs: the answer waits for a retry.
    unreachable = f"http://127.0.0.1:{free_port()}"
    first = await aiohttp_client(create_app(with_wechat(stub_settings, wechat, mode, unreachable)))
    wechat.callback_url = str(first.make_url("/channels/wechat"))
    await customer.says("在吗")
    outbox = first.app[CHANNELS].outbox

    async def retry_booked() -> bool:
        return outbox.counts.retried > 0

    await async_wait_until(retry_booked, timeout=10, what="a failed delivery to be retried")
    await first.close()
    assert wechat.deliveries == []

    second = await aiohttp_client(create_app(with_wechat(stub_settings, wechat, mode)))
    assert await delivered(wechat, 1) == ["好的"]
    await second.close()
