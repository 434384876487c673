"""The customer channels against the real app and a real Redis, with Rasa down (nothing listening)."""

import json

import pytest
from redis.asyncio import Redis

from bot.webchat import conversation_token, customer_signature
from core.keys import Keys
from tests.bot.conftest import say
from tests.waiting import async_wait_until


async def test_the_chat_page_is_served(client):
    response = await client.get("/chat")
    assert response.status == 200
    assert "在线客服" in await response.text()
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


async def test_tokens_belong_to_their_conversation(client, conversation):
    assert conversation["token"] == conversation_token(
        "test-secret", conversation["conversation_id"]
    )
    forged = {**conversation, "token": "0" * 32}
    response = await say(client, forged, "你好")
    assert response.status == 403
    assert (await response.json())["error"] == "bad_conversation"


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        (b'{"text": "hi"', {"Content-Type": "application/json"}, 400, "invalid_json"),
        (
            b"text=hi",
            {"Content-Type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
        (
            '{"text": "你好"}'.encode("gbk"),
            {"Content-Type": "application/json"},
            400,
            "invalid_encoding",
        ),
        (b"[1, 2]", {"Content-Type": "application/json"}, 400, "invalid_json"),
        (b'{"conversation_id": 5}', {"Content-Type": "application/json"}, 400, "missing_field"),
    ],
)
async def test_malformed_requests_get_a_clear_json_error(client, body, headers, status, error):
    response = await client.post("/api/chat/messages", data=body, headers=headers)
    assert response.status == status
    assert (await response.json())["error"] == error


async def test_empty_and_oversized_messages_get_a_polite_answer(client, conversation):
    empty = await say(client, conversation, " \n\u200b\x00 ")
    assert empty.status == 422
    assert "还没有输入" in (await empty.json())["message"]
    huge = await say(client, conversation, "退" * 10_000)
    assert huge.status == 413
    assert "2000" in (await huge.json())["message"]
    english = await say(client, conversation, "a" * 10_000)
    assert "at most 2000 characters" in (await english.json())["message"]


async def test_a_body_over_the_limit_is_refused_and_the_server_keeps_serving(client, conversation):
    response = await client.post(
        "/api/chat/messages",
        data=json.dumps({**conversation, "text": "x" * 100_000}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await client.get("/chat")).status == 200


async def test_while_rasa_is_down_messages_are_kept_in_order_and_the_customer_is_told(
    client, conversation, redis: Redis, keys: Keys
):
    first = await say(client, conversation, "什么时候发货")
    assert first.status == 200
    replies = (await first.json())["messages"]
    assert [m["role"] for m in replies] == ["system"]
    assert "请稍等" in replies[0]["text"]
    second = await say(client, conversation, "包邮吗")
    assert "请稍等" in (await second.json())["messages"][0]["text"]
    held = await redis.lrange(keys.pending(conversation["conversation_id"]), 0, -1)
    assert [json.loads(h)["text"] for h in held] == ["什么时候发货", "包邮吗"]
    # The transcript has both messages for the agent and for the history.
    history = await client.get("/api/chat/messages", params=conversation)
    texts = [m["text"] for m in (await history.json())["messages"] if m["role"] == "customer"]
    assert texts == ["什么时候发货", "包邮吗"]


async def test_health_names_the_part_that_is_down(client):
    response = await client.get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body["components"]["redis"]["status"] == "ok"
    assert body["components"]["rasa"]["status"] == "down"
    assert body["components"]["actions"]["status"] == "down"


async def test_websocket_sends_history_then_live_messages(client, conversation):
    await say(client, conversation, "你好")
    params = {"conversation_id": conversation["conversation_id"], "token": conversation["token"]}
    async with client.ws_connect("/ws/chat", params=params) as socket:
        history = await socket.receive_json(timeout=5)
        assert history["type"] == "history" and history["owner"] == "bot"
        assert history["messages"][0]["text"] == "你好"
        await socket.send_str("not json")
        assert (await socket.receive_json(timeout=5))["error"] == "invalid_frame"
        await socket.send_json({"type": "message", "text": ""})
        assert (await socket.receive_json(timeout=5))["error"] == "empty_message"
        await socket.send_json({"type": "message", "text": "在吗"})
        seen = []

        async def notice_arrived():
            frame = await socket.receive_json(timeout=5)
            seen.append(frame)
            return frame.get("message", {}).get("role") == "system"

        await async_wait_until(notice_arrived, timeout=10, what="the please-wait notice")
        assert seen[0]["message"]["text"] == "在吗"


async def test_websocket_refuses_a_forged_token(client, conversation):
    params = {"conversation_id": conversation["conversation_id"], "token": "f" * 32}
    response = await client.get("/ws/chat", params=params)
    assert response.status == 403


async def test_a_signed_shop_login_identifies_the_customer(client, redis: Redis, keys: Keys):
    login = {"customer_id": "C0007", "customer_sig": customer_signature("test-secret", "C0007")}
    response = await client.post("/api/chat/session", json=login)
    assert response.status == 200
    created = await response.json()
    assert created["customer_id"] == "C0007"
    conversation_key = keys.conversation(created["conversation_id"])
    assert await redis.hget(conversation_key, "customer_id") == "C0007"
    assert await redis.get(keys.customer_conversation("C0007")) == created["conversation_id"]


@pytest.mark.parametrize(
    "login",
    [
        {"customer_id": "C0007", "customer_sig": "0" * 32},
        {"customer_id": "C0007"},
        {"customer_id": "C0008", "customer_sig": customer_signature("test-secret", "C0007")},
        {"customer_id": "<script>", "customer_sig": customer_signature("test-secret", "<script>")},
    ],
)
async def test_a_forged_login_gets_no_conversation(client, login):
    response = await client.post("/api/chat/session", json=login)
    assert response.status == 403
    assert (await response.json())["error"] == "bad_customer"


async def test_a_guest_conversation_has_no_customer(client, conversation, redis: Redis, keys: Keys):
    assert conversation["customer_id"] == ""
    await say(client, conversation, "你好")
    key = keys.conversation(conversation["conversation_id"])
    assert await redis.hget(key, "customer_id") is None
