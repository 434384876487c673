"""The vertical slice over real HTTP and websockets: greeting, FAQ, order status, handoff and back."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import RunningSystem, phone_digits
from tests.waiting import async_wait_until
from tools.delivery.load import run_load

pytestmark = pytest.mark.e2e
TIMEOUT = 30
ORDER = "2025110300030"  # shipped


class Customer:
    def __init__(self, http: aiohttp.ClientSession, url: str, conversation: dict[str, str]):
        self.http, self.url, self.conversation = http, url, conversation
        self.socket: aiohttp.ClientWebSocketResponse | None = None

    async def connect(self) -> dict[str, Any]:
        params = {k: self.conversation[k] for k in ("conversation_id", "token")}
        self.socket = await self.http.ws_connect(f"{self.url}/ws/chat", params=params)
        return await self.socket.receive_json(timeout=TIMEOUT)

    async def say(self, text: str) -> None:
        assert self.socket is not None
        await self.socket.send_json({"type": "message", "text": text})

    async def tap(self, button: dict[str, str]) -> None:
        assert self.socket is not None
        await self.socket.send_json({"type": "message", **button})

    async def next_message(self, role: str) -> dict[str, Any]:
        """The next message frame from ``role``, skipping others (the customer's own echo...)."""
        assert self.socket is not None
        while True:
            frame = await self.socket.receive_json(timeout=TIMEOUT)
            if frame.get("type") == "message" and frame["message"]["role"] == role:
                return frame["message"]


class Agent:
    def __init__(self, http: aiohttp.ClientSession, url: str):
        self.http, self.url, self.csrf = http, url, ""

    async def log_in(self, password: str) -> None:
        async with self.http.post(
            f"{self.url}/agent/login", data={"username": "demo", "password": password}
        ) as response:
            assert response.status == 200 and str(response.url).endswith("/agent")
        async with self.http.get(f"{self.url}/api/agent/me") as response:
            self.csrf = (await response.json())["csrf_token"]

    async def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"X-CSRF-Token": self.csrf}
        async with self.http.request(
            method, self.url + path, headers=headers, **kwargs
        ) as response:
            assert response.status == 200, await response.text()
            return await response.json()


async def new_customer(http: aiohttp.ClientSession, url: str) -> Customer:
    async with http.post(f"{url}/api/chat/session") as response:
        return Customer(http, url, await response.json())


async def test_the_slice(system: RunningSystem):
    # unsafe=True: aiohttp keeps no cookies for IP hosts otherwise (browsers do).
    agent_jar = aiohttp.CookieJar(unsafe=True)
    async with (
        aiohttp.ClientSession() as customer_http,
        aiohttp.ClientSession(cookie_jar=agent_jar) as agent_http,
    ):
        async with customer_http.get(f"{system.url}/healthz") as response:
            health = await response.json()
        assert response.status == 200
        assert {k: v["status"] for k, v in health["components"].items()} == {
            "redis": "ok",
            "rasa": "ok",
            "actions": "ok",
        }

        agent = Agent(agent_http, system.url)
        await agent.log_in(system.agent_password)
        agent_socket = await agent_http.ws_connect(f"{system.url}/ws/agent")

        customer = await new_customer(customer_http, system.url)
        history = await customer.connect()
        assert history["messages"] == [] and history["owner"] == "bot"

        await customer.say("你好")
        assert "您好" in (await customer.next_message("bot"))["text"]

        await customer.say("什么时候发货")
        assert "48 小时" in (await customer.next_message("bot"))["text"]

        await customer.say(f"帮我查一下订单{ORDER}")
        asked = (await customer.next_message("bot"))["text"]
        assert "后四位" in asked and ORDER not in asked  # a guest proves the order is theirs
        await customer.say(phone_digits(system, ORDER))
        status = (await customer.next_message("bot"))["text"]
        assert ORDER in status and "发货" in status

        await customer.say("转人工")
        assert re.search(r"排在第 \d+ 位", (await customer.next_message("bot"))["text"])
        opened = await _agent_event(agent_socket, "ticket_opened")
        conversation_id = customer.conversation["conversation_id"]
        assert opened["conversation_id"] == conversation_id

        tickets = await agent.call("GET", "/api/agent/tickets")
        ticket = next(t for t in tickets["waiting"] if t["conversation_id"] == conversation_id)
        detail = await agent.call("GET", f"/api/agent/tickets/{ticket['id']}")
        said = [t["text"] for t in detail["packet"]["turns"] if t["role"] == "customer"]
        digits = phone_digits(system, ORDER)
        assert said == ["你好", "什么时候发货", f"帮我查一下订单{ORDER}", digits, "转人工"]
        assert ORDER in detail["ticket"]["summary"]

        # While a human owns the conversation the bot stays silent.
        async with customer_http.post(
            f"{system.url}/api/chat/messages",
            json={**customer.conversation, "text": "人呢？还在吗"},
        ) as response:
            assert (await response.json())["messages"] == []
        await _agent_event(agent_socket, "message", text="人呢？还在吗")

        await agent.call("POST", f"/api/agent/tickets/{ticket['id']}/claim")
        assert "已接入" in (await customer.next_message("system"))["text"]
        await agent.call(
            "POST",
            f"/api/agent/tickets/{ticket['id']}/reply",
            json={"text": "亲，我是客服，已为您加急处理"},
        )
        assert (await customer.next_message("agent"))["text"] == "亲，我是客服，已为您加急处理"

        await agent.call(
            "POST", f"/api/agent/tickets/{ticket['id']}/close", json={"outcome": "resolved"}
        )
        handback = await customer.next_message("bot")
        assert handback["text"], "the bot speaks again after the agent leaves"
        question = await customer.next_message("bot")
        five = question["buttons"][0]
        assert five == {"title": "5 非常满意", "payload": '/rate{"rating":"5"}'}
        await customer.tap({"text": five["title"], "payload": five["payload"]})
        assert (await customer.next_message("customer"))["text"] == "5 非常满意"
        assert "非常感谢" in (await customer.next_message("bot"))["text"]

        await customer.say("包邮吗")
        assert "邮费" in (await customer.next_message("bot"))["text"]

        detail = await agent.call("GET", f"/api/agent/tickets/{ticket['id']}")
        assert detail["ticket"]["satisfaction"] == 5
        transcript = detail["transcript"]
        texts = [m["text"] for m in transcript]
        assert "5 非常满意" in texts and not any(t.startswith("/") for t in texts)
        while_queued = transcript[
            texts.index("人呢？还在吗") : texts.index("亲，我是客服，已为您加急处理")
        ]
        assert [m["role"] for m in while_queued] == ["customer", "system"]
        await agent_socket.close()
        assert customer.socket is not None
        await customer.socket.close()


async def _agent_event(
    socket: aiohttp.ClientWebSocketResponse, kind: str, text: str = ""
) -> dict[str, Any]:
    """The next event of ``kind`` on the agent's socket (with that message text, if given)."""
    while True:
        frame = await socket.receive_json(timeout=TIMEOUT)
        if frame["type"] == kind and (not text or frame["message"]["text"] == text):
            return frame


@pytest.mark.parametrize(
    ("payload", "headers", "status"),
    [
        (b"", {"Content-Type": "application/json"}, 400),
        (b"{oops", {"Content-Type": "application/json"}, 400),
        (b"hello", {"Content-Type": "text/plain"}, 415),
    ],
)
async def test_bad_requests_get_json_errors_and_the_server_keeps_running(
    system, payload, headers, status
):
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{system.url}/api/chat/messages", data=payload, headers=headers
        ) as response:
            assert response.status == status
            assert "error" in await response.json()
        async with http.get(f"{system.url}/healthz") as response:
            assert response.status == 200


async def test_empty_and_huge_messages_get_polite_answers(system):
    async with aiohttp.ClientSession() as http:
        customer = await new_customer(http, system.url)
        for text, status in (("   ", 422), ("好" * 10_000, 413)):
            async with http.post(
                f"{system.url}/api/chat/messages", json={**customer.conversation, "text": text}
            ) as response:
                assert response.status == status
                assert "亲" in (await response.json())["message"]


async def test_a_message_sent_while_rasa_is_down_is_answered_when_it_is_back(system, tmp_path):
    """A kefu server whose Rasa port answers nothing, then a relay to the real Rasa appears there."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.server import create_app
    from core.settings import Settings
    from tools.launch import free_port

    rasa_port = free_port()
    settings = Settings(
        redis_url=system.redis_url,
        redis_prefix="kefue2edown",
        rasa_port=rasa_port,
        var_dir=tmp_path,
        secret="s",
        rasa_token=system.launched.rasa_token,
        rasa_timeout=5,
    )
    async with TestClient(TestServer(create_app(settings))) as client:
        session = await (await client.post("/api/chat/session")).json()
        response = await client.post("/api/chat/messages", json={**session, "text": "什么时候发货"})
        notice = (await response.json())["messages"]
        assert [m["role"] for m in notice] == ["system"] and "请稍等" in notice[0]["text"]

        relay = await _relay(rasa_port, int(system.rasa_url.rsplit(":", 1)[1]))
        try:

            async def answered() -> list[dict[str, Any]]:
                history = await client.get("/api/chat/messages", params=session)
                return [m for m in (await history.json())["messages"] if m["role"] == "bot"]

            bot = await async_wait_until(answered, TIMEOUT, "the held message to be answered")
            assert "48 小时" in bot[0]["text"]
        finally:
            relay.close()
            await relay.wait_closed()


async def _relay(listen_port: int, target_port: int) -> asyncio.Server:
    """A plain TCP relay: Rasa 'comes back' on the port the kefu server was told to use."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target_reader, target_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(reader, target_writer), pipe(target_reader, writer))

    return await asyncio.start_server(handle, "127.0.0.1", listen_port)


async def test_an_angry_customer_reaches_the_complaints_team_with_the_signals(system):
    async with (
        aiohttp.ClientSession() as customer_http,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as agent_http,
    ):
        customer = await new_customer(customer_http, system.url)
        await customer.connect()
        await customer.say("我的快递呢")
        await customer.next_message("bot")
        await customer.say("都一个星期了还没发货，你们到底怎么回事，垃圾店铺！")
        conversation_id = customer.conversation["conversation_id"]

        agent = Agent(agent_http, system.url)
        await agent.log_in(system.agent_password)

        async def ticket() -> dict[str, Any] | None:
            waiting = (await agent.call("GET", "/api/agent/tickets"))["waiting"]
            return next((t for t in waiting if t["conversation_id"] == conversation_id), None)

        found = await async_wait_until(ticket, TIMEOUT, "the angry customer's ticket")
        assert found["team"] == "complaints" and found["reasons"] == ["angry"]
        packet = (await agent.call("GET", f"/api/agent/tickets/{found['id']}"))["packet"]
        said = [t for t in packet["turns"] if t["role"] == "customer"]
        assert [t["text"] for t in said] == [
            "我的快递呢",
            "都一个星期了还没发货，你们到底怎么回事，垃圾店铺！",
        ]
        assert said[-1]["anger"] > 0.85 > said[0]["anger"], said
        assert customer.socket is not None
        await customer.socket.close()


async def test_fifty_customers_at_once_lose_nothing_and_get_nothing_twice(system):
    """50 customers x 10 messages, REST and websocket (``make bench-delivery`` prints the
    figures; this asserts only that none is lost, taken twice, out of order or unanswered)."""
    report = await run_load(system.url, system.redis_url, customers=50, messages=10)
    print("\n".join(report.lines()))
    assert report.sent == 500
    assert all(c.accepted == c.sent for c in report.checks), report.lines()
    assert all(c.ok for c in report.checks), [c for c in report.checks if not c.ok]
