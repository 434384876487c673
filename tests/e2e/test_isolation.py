"""Only kefu reaches Rasa, only Rasa the action server, and Redis wants its password."""

from __future__ import annotations

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, ResponseError

FORGED = {"sender": "web-someone-else", "message": "我的订单", "metadata": {"customer_id": "C1"}}


async def test_rasa_answers_only_kefu(system):
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{system.rasa_url}/webhooks/rest/webhook", json=FORGED) as plain:
            assert plain.status == 404  # Rasa's own REST channel is not enabled
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer 令牌"}):
            async with http.post(
                f"{system.rasa_url}/webhooks/kefu/webhook", json=FORGED, headers=headers
            ) as refused:
                assert refused.status == 401
        async with http.post(
            f"{system.rasa_url}/webhooks/kefu/webhook",
            json={"sender": "isolation-check", "message": "你好", "metadata": {}},
            headers={"Authorization": f"Bearer {system.launched.rasa_token}"},
        ) as accepted:
            assert accepted.status == 200 and isinstance(await accepted.json(), list)


async def test_the_embedded_redis_wants_its_password(system):
    anonymous = Redis(port=system.launched.ports["redis"])
    try:
        with pytest.raises((AuthenticationError, ResponseError), match=r"(?i)auth"):
            await anonymous.get("kefu:agents")
    finally:
        await anonymous.aclose()
    known = Redis.from_url(system.redis_url)
    try:
        assert await known.ping()
    finally:
        await known.aclose()


async def test_rasa_runs_each_message_id_once(system):
    """kefu sends a message again when it cannot know whether Rasa answered: the copy gets the
    first answer, and the conversation holds the message once."""
    headers = {"Authorization": f"Bearer {system.launched.rasa_token}"}
    message = {"sender": "once-check", "message": "什么时候发货", "message_id": "kefu-once-1"}
    async with aiohttp.ClientSession(headers=headers) as http:
        answers = []
        for _ in range(2):
            async with http.post(f"{system.rasa_url}/webhooks/kefu/webhook", json=message) as sent:
                assert sent.status == 200
                answers.append(await sent.json())
        async with http.get(
            f"{system.rasa_url}/conversations/once-check/tracker",
            params={"token": system.launched.rasa_token},
        ) as tracker:
            events = (await tracker.json())["events"]
    assert answers[0] and answers[0] == answers[1] and "48 小时" in answers[0][0]["text"]
    said = [e for e in events if e["event"] == "user"]
    assert [e["message_id"] for e in said] == ["kefu-once-1"]


async def test_the_action_server_answers_only_rasa(system):
    url = f"http://127.0.0.1:{system.launched.ports['actions']}"
    forged = {"next_action": "action_order_status", "sender_id": "x", "tracker": {}, "domain": {}}
    async with aiohttp.ClientSession() as http:
        for params in ({}, {"token": "wrong"}):
            async with http.post(f"{url}/webhook", json=forged, params=params) as refused:
                assert refused.status == 401
        async with http.get(f"{url}/health") as health:
            assert health.status == 200
