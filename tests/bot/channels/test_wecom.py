"""The WeCom customer-service channel against the real kefu app, a real Redis, the fake WeCom
platform (its encrypted callbacks, sync_msg paging, tokens and reply limits) and a stub
Rasa."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.channels.outbox import DeliveryFailed, FailureKind
from bot.channels.setup import CHANNELS
from bot.channels.wecom import ERRORS, WECOM, sync_all
from bot.channels.wxxml import build_xml
from bot.server import create_app
from bot.state import SERVICES
from core.keys import Keys
from core.records import ChatMessage, Role
from core.settings import Settings
from core.store import ConversationStore
from tests.bot.conftest import RasaStub
from tests.waiting import async_wait_until
from tools.fakes.wecom import SYNC_PATH, FakeWeCom

CUSTOMER = "wmKefuCustomer0001"
CONVERSATION = f"wk-{CUSTOMER}"


@pytest.fixture
async def wecom() -> AsyncIterator[FakeWeCom]:
    fake = FakeWeCom()
    async with fake.serve():
        yield fake


@pytest.fixture
async def client(aiohttp_client, stub_settings: Settings, wecom: FakeWeCom):
    settings = dataclasses.replace(
        stub_settings,
        wecom_corp_id=wecom.corp_id,
        wecom_secret=wecom.secret,
        wecom_token=wecom.token,
        wecom_aes_key=wecom.encoding_aes_key,
        wecom_api_url=wecom.base_url,
    )
    client = await aiohttp_client(create_app(settings))
    wecom.callback_url = str(client.make_url("/channels/wecom"))
    return client


@pytest.fixture
def app_store(client) -> ConversationStore:
    return client.app[SERVICES].store


async def delivered(wecom: FakeWeCom, count: int) -> list[str]:
    async def enough() -> list[str]:
        texts = [d.content for d in wecom.deliveries]
        return texts if len(texts) >= count else []

    return await async_wait_until(enough, timeout=10, what=f"{count} deliveries at WeCom")


async def received(rasa: RasaStub, count: int) -> list[str]:
    async def enough() -> list[str]:
        messages = [r["message"] for r in rasa.received]
        return messages if len(messages) >= count else []

    return await async_wait_until(enough, timeout=10, what=f"{count} messages at Rasa")


async def test_the_url_check_answers_the_decrypted_echo_only(client, wecom: FakeWeCom):
    assert await wecom.verify_url()
    forged = await client.get(
        "/channels/wecom",
        params={"msg_signature": "0" * 40, "timestamp": "1", "nonce": "2", "echostr": "eA=="},
    )
    assert forged.status == 403


async def test_a_message_is_read_after_the_callback_and_answered_at_the_fake(
    client, wecom: FakeWeCom, rasa: RasaStub
):
    rasa.reply = {"text": "亲，七天无理由退货的哦"}
    push = await wecom.customer_sends(CUSTOMER, "可以退货吗")
    assert push is not None and push.outcome == "ack" and len(push.attempts) == 1
    assert await delivered(wecom, 1) == ["亲，七天无理由退货的哦"]
    assert rasa.received[0]["sender"] == CONVERSATION
    assert rasa.received[0]["message"] == "可以退货吗"
    [answer] = wecom.deliveries
    assert (answer.touser, answer.via, answer.msgtype) == (CUSTOMER, "send_msg", "text")


async def test_one_callback_reads_every_page(client, wecom: FakeWeCom, rasa: RasaStub):
    wecom.page_size = 2
    for n in range(5):
        await wecom.customer_sends(CUSTOMER, f"第{n}条", notify=False)
    await wecom.notify()
    # Five from one callback within seconds, pages of two: has_more was followed (the next
    # timed sync is a minute away). How many syncs ran is not the point: the start-up sync can
    # overlap the callback and look once more.
    assert await received(rasa, 5) == [f"第{n}条" for n in range(5)]
    assert wecom.calls[SYNC_PATH] >= 3


async def test_a_repeated_callback_or_a_message_read_again_is_answered_once(
    client, wecom: FakeWeCom, rasa: RasaStub, redis: Redis, keys: Keys
):
    first = await wecom.customer_sends(CUSTOMER, "在吗")
    assert first is not None
    await delivered(wecom, 1)
    # WeCom heard no answer in time and posts the callback again; then the cursor is lost,
    # and the next sync reads the same message (its msgid) once more.
    assert (await wecom.push_again(first)).outcome == "ack"
    await redis.delete(keys.platform_cursor("wk"))
    await wecom.push_again(first)
    await wecom.customer_sends(CUSTOMER, "好的")
    await delivered(wecom, 2)
    assert [r["message"] for r in rasa.received] == ["在吗", "好的"]
    assert len(wecom.deliveries) == 2


async def test_a_forged_or_foreign_callback_is_refused_and_nothing_is_stored(
    client, wecom: FakeWeCom, redis: Redis, keys: Keys
):
    await wecom.customer_sends(CUSTOMER, "在吗", notify=False)
    # A callback encrypted with the account's key, but meant for another corp.
    foreign = FakeWeCom(
        corp_id="ww0another0corp01",
        token=wecom.token,
        encoding_aes_key=wecom.encoding_aes_key,
        callback_url=wecom.callback_url,
    )
    push = await foreign.notify()
    assert push.outcome == "invalid" and push.problem.startswith("HTTP 403")
    # The account's own callback with a signature that does not match, and a stale one.
    timestamp = str(int(time.time()))
    event = build_xml(
        {"MsgType": "event", "Event": "kf_msg_or_event", "Token": "ENCx", "OpenKfId": "wk1"}
    )
    encrypted, _ = wecom.crypto.encrypt(event, "1", timestamp)
    stale, stale_signature = wecom.crypto.encrypt(event, "1", "1000000000")
    for query, body in (
        ({"msg_signature": "0" * 40, "timestamp": timestamp, "nonce": "1"}, encrypted),
        ({"msg_signature": stale_signature, "timestamp": "1000000000", "nonce": "1"}, stale),
    ):
        envelope = build_xml({"ToUserName": wecom.corp_id, "Encrypt": body})
        response = await client.post("/channels/wecom", params=query, data=envelope)
        assert response.status == 403
    assert await redis.exists(keys.platform_cursor("wk"), keys.transcript(CONVERSATION)) == 0
    assert wecom.calls[SYNC_PATH] == 0


LOCATION = {
    "latitude": 31.230416,
    "longitude": 121.473701,
    "name": "人民广场",
    "address": "上海市黄浦区人民大道200号",
}


@pytest.mark.parametrize(
    ("kind", "section", "seen"),
    [
        ("image", {"media_id": "MEDIA123"}, "[图片] MEDIA123"),
        ("voice", {"media_id": "MEDIA123"}, "[语音] MEDIA123"),
        ("location", LOCATION, "[位置] 人民广场 上海市黄浦区人民大道200号"),
    ],
)
async def test_a_photo_voice_message_or_location_gets_a_polite_please_type_and_the_agent_sees_it(
    client,
    wecom: FakeWeCom,
    rasa: RasaStub,
    redis: Redis,
    keys: Keys,
    kind: str,
    section: dict,
    seen: str,
):
    await wecom.customer_sends(CUSTOMER, media=(kind, ""), notify=False)
    wecom.messages[-1][kind] = section  # what WeCom's sync_msg carries for the kind
    await wecom.notify()
    [answer] = await delivered(wecom, 1)
    assert "文字" in answer
    assert rasa.received == []  # nothing for the bot to read
    transcript = await redis.xrange(keys.transcript(CONVERSATION))
    assert seen in transcript[0][1]["m"]


async def test_buttons_arrive_as_a_menu_and_a_tap_reaches_the_bot_as_its_payload(
    client, wecom: FakeWeCom, rasa: RasaStub
):
    rasa.reply = {
        "text": "请问是哪类问题？",
        "buttons": [
            {"title": "物流", "payload": "/order_logistics"},
            {"title": "退货", "payload": "/return_request"},
        ],
    }
    await wecom.customer_sends(CUSTOMER, "有问题")
    await delivered(wecom, 1)
    [menu] = wecom.deliveries
    assert menu.msgtype == "msgmenu" and menu.content == "请问是哪类问题？"
    assert [title for _, title in menu.menu] == ["物流", "退货"]
    rasa.reply = {"text": "好的，这就为您办理退货"}
    item_id, title = menu.menu[1]
    await wecom.customer_sends(CUSTOMER, title, menu_id=item_id)
    await delivered(wecom, 2)
    assert rasa.received[-1]["message"] == "/return_request"
    # A forged item is no tap: its words are read as words.
    await wecom.customer_sends(CUSTOMER, "物流", menu_id="1-0~0")
    await delivered(wecom, 3)
    assert rasa.received[-1]["message"] == "物流"


async def test_opening_the_chat_greets_with_the_welcome_code(
    client, wecom: FakeWeCom, rasa: RasaStub
):
    rasa.reply = {"text": "您好，欢迎光临小店"}
    await wecom.enter_session(CUSTOMER, scene="order_page")
    assert await delivered(wecom, 1) == ["您好，欢迎光临小店"]
    assert wecom.deliveries[0].via == "welcome"
    assert rasa.received[0]["message"] == "/greet"
    # The code is spent and the customer has not written: the window stays closed.
    assert not (await client.app[CHANNELS].window.state(CONVERSATION)).open
    # Welcomed already: opening the chat again brings no code, and nothing is said.
    await wecom.enter_session(CUSTOMER)
    await wecom.customer_sends(CUSTOMER, "在吗")
    assert await received(rasa, 2) == ["/greet", "在吗"]
    await delivered(wecom, 2)
    assert [d.via for d in wecom.deliveries] == ["welcome", "send_msg"]


async def test_an_expired_token_is_fetched_again_and_the_message_still_arrives(
    client, wecom: FakeWeCom
):
    await wecom.customer_sends(CUSTOMER, "你好")
    await delivered(wecom, 1)
    wecom.expire_tokens()
    await wecom.customer_sends(CUSTOMER, "在吗")  # the sync meets 42001 first, then the send
    assert len(await delivered(wecom, 2)) == 2
    assert wecom.token_calls == 2


async def test_failures_of_reading_and_sending_are_retried_and_nothing_is_lost_or_doubled(
    client, wecom: FakeWeCom, rasa: RasaStub
):
    wecom.fail_next(1, "busy", endpoint="sync")
    wecom.fail_next(1, "http500", endpoint="send")
    await wecom.customer_sends(CUSTOMER, "你好")
    assert await delivered(wecom, 1) == ["好的"]
    assert [r["message"] for r in rasa.received] == ["你好"]
    assert wecom.calls["/cgi-bin/kf/send_msg"] == 2


async def test_a_lost_callback_only_delays_the_message(client, wecom: FakeWeCom, rasa: RasaStub):
    await wecom.customer_sends(CUSTOMER, "你好")
    await delivered(wecom, 1)
    await wecom.customer_sends(CUSTOMER, "还在吗", notify=False)
    # What the sync loop does every minute, whether or not a callback came.
    assert await sync_all(client.app[WECOM])
    assert await received(rasa, 2) == ["你好", "还在吗"]
    assert len(await delivered(wecom, 2)) == 2


async def test_past_the_five_messages_of_the_window_a_message_is_shown_as_undelivered(
    client, wecom: FakeWeCom, app_store
):
    await wecom.customer_sends(CUSTOMER, "你好")
    await delivered(wecom, 1)
    channels = client.app[CHANNELS]
    for n in range(5):  # an agent's replies, one after another, none of them merged
        await app_store.append(
            ChatMessage(CONVERSATION, Role.AGENT, f"回复{n}", time.time(), author="agent1")
        )
        if n < 4:
            await delivered(wecom, n + 2)

    async def refused() -> list:
        return await channels.outbox.undelivered(CONVERSATION)

    [undelivered] = await async_wait_until(refused, timeout=10, what="the undelivered record")
    assert undelivered.text == "回复4" and undelivered.reason == "quota_used"
    assert len(wecom.deliveries) == 5
    assert not (await channels.window.state(CONVERSATION)).open


async def test_a_message_after_the_session_ended_is_undelivered_for_that_reason(
    client, wecom: FakeWeCom, app_store
):
    await wecom.customer_sends(CUSTOMER, "你好")
    await delivered(wecom, 1)
    wecom.end_session(CUSTOMER)  # a WeCom servicer closed it: 95013 until the customer writes
    await app_store.append(
        ChatMessage(CONVERSATION, Role.AGENT, "还有别的问题吗", time.time(), author="agent1")
    )
    channels = client.app[CHANNELS]

    async def refused() -> list:
        return await channels.outbox.undelivered(CONVERSATION)

    [undelivered] = await async_wait_until(refused, timeout=10, what="the undelivered record")
    # Not the 48-hour window (still open on kefu's side): the session itself ended.
    assert (undelivered.text, undelivered.reason) == ("还有别的问题吗", "session_ended")
    assert undelivered.kind == "closed"
    assert (await channels.window.state(CONVERSATION)).open
    assert len(wecom.deliveries) == 1


@pytest.mark.parametrize(
    ("errcode", "reason"),
    [
        (95001, "quota_used"),
        (95002, "window_closed"),
        (95013, "session_ended"),
        (95018, "with_servicer"),
    ],
)
def test_each_unreachable_errcode_has_its_own_reason(errcode: int, reason: str):
    with pytest.raises(DeliveryFailed) as failed:
        ERRORS.check({"errcode": errcode, "errmsg": "..."})
    assert (failed.value.kind, failed.value.reason) == (FailureKind.CLOSED, reason)
