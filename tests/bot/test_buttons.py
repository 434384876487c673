"""Tapped buttons against the real app and Redis, with a stub of Rasa's REST webhook that records
what Rasa would be sent: the chat shows the title the customer chose, Rasa gets the payload, and
only a button the bot offered last may send one."""

import json

import pytest
from redis.asyncio import Redis

from core.keys import Keys
from core.settings import Settings
from core.store import ConversationStore
from handoff.queue import TicketQueue
from tests.bot.conftest import say

RATING = {
    "text": "请为本次服务打分",
    "buttons": [
        {"title": "5 非常满意", "payload": '/rate{"rating":"5"}'},
        {"title": "1 很不满意", "payload": '/rate{"rating":"1"}'},
    ],
}


@pytest.fixture
def settings(stub_settings: Settings) -> Settings:
    return stub_settings


async def offered(client, conversation, rasa, reply) -> None:
    """The bot answers a typed message with ``reply``'s buttons."""
    rasa.reply = reply
    response = await say(client, conversation, "我想评价一下")
    assert (await response.json())["messages"][0]["buttons"] == reply["buttons"]


async def customer_texts(client, conversation) -> list[str]:
    history = await (await client.get("/api/chat/messages", params=conversation)).json()
    return [m["text"] for m in history["messages"] if m["role"] == "customer"]


async def test_a_tapped_button_reads_as_its_title_and_reaches_rasa_as_its_payload(
    client, conversation, rasa
):
    await offered(client, conversation, rasa, RATING)
    tap = await say(client, conversation, "5 非常满意", payload='/rate{"rating":"5"}')
    assert tap.status == 200
    sent = rasa.received[-1]
    assert sent["message"] == '/rate{"rating":"5"}'
    assert sent["metadata"]["button_title"] == "5 非常满意"
    # The signals read the words the customer chose, not the payload's Latin letters.
    assert sent["metadata"]["signals"]["language"] == "zh"
    assert await customer_texts(client, conversation) == ["我想评价一下", "5 非常满意"]


async def test_a_tapped_human_button_fires_the_shop_rule_and_the_ticket_shows_the_title(
    client, conversation, rasa, redis: Redis, keys: Keys
):
    await offered(
        client,
        conversation,
        rasa,
        {"text": "抱歉没听懂", "buttons": [{"title": "转人工客服", "payload": "/request_human"}]},
    )
    await say(client, conversation, "转人工客服", payload="/request_human")
    escalation = rasa.received[-1]["metadata"]["signals"]["escalation"]
    assert escalation["rule_id"] == "explicit_request"
    # The stub has no trigger_intent, so the kefu server queued the ticket from its transcript.
    conversation_record = await ConversationStore(redis, keys, 60).get(
        conversation["conversation_id"]
    )
    packet = await TicketQueue(redis, keys, 60).packet(conversation_record.ticket_id)
    said = [t["text"] for t in packet["turns"] if t["role"] == "customer"]
    assert said == ["我想评价一下", "转人工客服"]


@pytest.mark.parametrize(
    ("title", "payload"),
    [
        ("5 非常满意", '/rate{"rating":"1"}'),  # a real payload under another button's title
        ("确认", '/inform{"order_id":"2025110300001"}'),  # never offered
        ("5 非常满意", "/escalate"),
        ("5 非常满意", "/handoff_closed"),
    ],
)
async def test_a_button_the_bot_did_not_offer_is_refused_and_never_reaches_rasa(
    client, conversation, rasa, title, payload
):
    await offered(client, conversation, rasa, RATING)
    refused = await say(client, conversation, title, payload=payload)
    assert refused.status == 422
    body = await refused.json()
    assert body["error"] == "unknown_button" and "过期" in body["message"]
    assert len(rasa.received) == 1
    assert await customer_texts(client, conversation) == ["我想评价一下"]


async def test_the_intents_only_the_server_triggers_are_refused_even_when_offered(
    client, conversation, rasa
):
    await offered(
        client,
        conversation,
        rasa,
        {"text": "?", "buttons": [{"title": "好", "payload": "/escalate"}]},
    )
    refused = await say(client, conversation, "好", payload="/escalate")
    assert refused.status == 422 and len(rasa.received) == 1


async def test_only_the_latest_buttons_may_be_tapped(client, conversation, rasa):
    await offered(client, conversation, rasa, RATING)
    await offered(
        client,
        conversation,
        rasa,
        {"text": "确认取消吗", "buttons": [{"title": "确认", "payload": "/affirm"}]},
    )
    stale = await say(client, conversation, "5 非常满意", payload='/rate{"rating":"5"}')
    assert stale.status == 422
    assert (await say(client, conversation, "确认", payload="/affirm")).status == 200
    assert rasa.received[-1]["message"] == "/affirm"


@pytest.mark.parametrize("typed", ["/escalate", '  /inform{"order_id":"2025110300001"}', "/affirm"])
async def test_typed_slash_text_reaches_rasa_as_words_not_as_an_intent(
    client, conversation, rasa, typed
):
    await offered(
        client,
        conversation,
        rasa,
        {"text": "确认吗", "buttons": [{"title": "确认", "payload": "/affirm"}]},
    )
    assert (await say(client, conversation, typed)).status == 200
    sent = rasa.received[-1]["message"]
    assert (
        sent == "\uff0f" + typed.strip()[1:] and "button_title" not in rasa.received[-1]["metadata"]
    )
    assert (await customer_texts(client, conversation))[-1] == typed.strip()


async def test_a_tap_over_the_websocket_shows_the_title(client, conversation, rasa):
    await offered(client, conversation, rasa, RATING)
    params = {"conversation_id": conversation["conversation_id"], "token": conversation["token"]}
    async with client.ws_connect("/ws/chat", params=params) as socket:
        await socket.receive_json(timeout=5)  # history
        await socket.send_json({"type": "message", "text": "1 很不满意", "payload": 5})
        assert (await socket.receive_json(timeout=5))["error"] == "invalid_frame"
        await socket.send_json({"type": "message", "text": "1 很不满意", "payload": "/deny"})
        assert (await socket.receive_json(timeout=5))["error"] == "unknown_button"
        tap = {"type": "message", "text": "1 很不满意", "payload": '/rate{"rating":"1"}'}
        await socket.send_json(tap)
        echo = await socket.receive_json(timeout=5)
        assert echo["message"]["role"] == "customer" and echo["message"]["text"] == "1 很不满意"
    assert rasa.received[-1]["message"] == '/rate{"rating":"1"}'


async def test_a_payload_that_is_not_a_string_is_a_clear_error(client, conversation):
    response = await say(client, conversation, "5 非常满意", payload={"intent": "rate"})
    assert response.status == 400
    assert (await response.json())["error"] == "bad_payload"


async def test_a_tap_while_rasa_is_down_is_held_with_its_payload(
    client, conversation, rasa, redis: Redis, keys: Keys
):
    await offered(client, conversation, rasa, RATING)
    assert rasa.server is not None
    await rasa.server.close()
    tap = await say(client, conversation, "5 非常满意", payload='/rate{"rating":"5"}')
    assert "请稍等" in (await tap.json())["messages"][0]["text"]
    held = await redis.lrange(keys.pending(conversation["conversation_id"]), 0, -1)
    assert [(h["text"], h["payload"]) for h in map(json.loads, held)] == [
        ("5 非常满意", '/rate{"rating":"5"}')
    ]
