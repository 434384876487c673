"""Messaging-app customers through the real system (Rasa, the action server, Redis), with the
platforms faked at the protocol level on 127.0.0.1 and the agent in the console (chromium).

A kefu server of the test's own, configured for the fake platforms, runs beside the launched
system's, on its Redis and its Rasa: two kefu processes, as a shop runs them."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from bot.server import create_app
from core.settings import Settings
from tests.e2e.conftest import WAIT_MS, RunningSystem, log_in_at
from tests.waiting import async_wait_until
from tools.fakes.telegram import FakeTelegram
from tools.fakes.wechat import Delivered, FakeWeChat
from tools.fakes.wecom import FakeWeCom
from tools.launch import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
OPENID = "oE2eCustomerWeChat01"
CHAT = 77001
EXTERNAL_USER = "wmE2eCustomerWeCom01"


def kefu_settings(system: RunningSystem, var_dir: Path) -> Settings:
    port = free_port()
    return Settings(
        port=port,
        redis_url=system.redis_url,
        rasa_port=system.launched.ports["rasa"],
        action_port=system.launched.ports["actions"],
        var_dir=var_dir,
        secret="messaging-secret",
        rasa_token=system.launched.rasa_token,
    )


@pytest.fixture
async def kefu(system: RunningSystem, tmp_path: Path) -> AsyncIterator[Callable[..., TestServer]]:
    servers: list[TestServer] = []

    async def start(**platform: str) -> TestServer:
        settings = dataclasses.replace(kefu_settings(system, tmp_path), **platform)
        server = TestServer(create_app(settings), host="127.0.0.1", port=settings.port)
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


async def claim_and_reply(agent: Page, url: str, system: RunningSystem, marker: str) -> None:
    await log_in_at(agent, url, system.agent_password)
    ticket = agent.locator("#waiting li", has_text=marker).first
    await expect(ticket).to_be_visible(timeout=WAIT_MS)
    await ticket.click()
    await expect(agent.locator("#transcript")).to_contain_text(marker, timeout=WAIT_MS)
    await agent.click("#claim")


async def held_ticket(agent: Page, url: str, conversation_id: str) -> str:
    """The id of the ticket the agent holds for the conversation (as the console lists it)."""

    async def held() -> str | None:
        listed = await (await agent.request.get(f"{url}/api/agent/tickets")).json()
        return next(
            (t["id"] for t in listed["mine"] if t["conversation_id"] == conversation_id), None
        )

    return await async_wait_until(held, timeout=30, what=f"a ticket held for {conversation_id}")


async def rating_recorded(agent: Page, url: str, ticket_id: str) -> int:
    """The satisfaction the closed ticket's record keeps, once the customer's tap is stored."""

    async def recorded() -> int | None:
        detail = await (await agent.request.get(f"{url}/api/agent/tickets/{ticket_id}")).json()
        return detail["ticket"].get("satisfaction") or None

    return await async_wait_until(recorded, timeout=30, what=f"the rating of {ticket_id}")


async def test_a_wechat_customer_is_answered_handed_over_served_and_asked_for_a_rating(
    system: RunningSystem, browser: Browser, kefu
):
    wechat = FakeWeChat()
    async with wechat.serve() as api:
        server = await kefu(
            wechat_token=wechat.token,
            wechat_app_id=wechat.appid,
            wechat_app_secret=wechat.secret,
            wechat_aes_key=wechat.encoding_aes_key,
            wechat_api_url=api,
        )
        url = str(server.make_url("")).rstrip("/")
        wechat.callback_url = f"{url}/channels/wechat"

        async def received(pattern: str) -> Delivered:
            async def found() -> Delivered | None:
                return next((d for d in wechat.deliveries if re.search(pattern, d.content)), None)

            return await async_wait_until(found, timeout=60, what=f"{pattern!r} at WeChat")

        push = await wechat.send_text(OPENID, "什么时候发货", encrypted=True)
        assert push.outcome == "ack"
        await received("48 小时")
        await wechat.send_text(OPENID, "订单2025110300031有问题，转人工", encrypted=True)
        await received("转接|排队|人工")

        agent = await (await browser.new_context()).new_page()
        await claim_and_reply(agent, url, system, "2025110300031")
        ticket_id = await held_ticket(agent, url, f"wx-{OPENID}")
        # How many messages WeChat still lets reach the customer, and until when.
        await expect(agent.locator("#reach-window")).to_contain_text("微信公众号", timeout=WAIT_MS)
        await expect(agent.locator("#reach-window")).to_contain_text("还可发送", timeout=WAIT_MS)
        await received("已接入")
        await agent.fill("#reply", "亲，我是客服小王，马上为您查")
        await agent.click("#reply-form button[type=submit]")
        await received("客服小王")
        await wechat.send_text(OPENID, "好的谢谢", encrypted=True)
        await expect(agent.locator("#transcript")).to_contain_text("好的谢谢", timeout=WAIT_MS)

        await agent.click("#close")
        rating = await received("打个分")
        assert rating.msgtype == "msgmenu" and len(rating.menu) == 5
        option_id, title = next(option for option in rating.menu if option[1].startswith("5"))
        await wechat.send_text(OPENID, title, menu_id=option_id, encrypted=True)
        await received("非常感谢")
        assert await rating_recorded(agent, url, ticket_id) == 5
        texts = [d.content for d in wechat.deliveries]
        assert len(texts) == len(set(texts)), "nothing delivered twice"


async def test_a_telegram_customer_taps_through_and_reaches_a_person(
    system: RunningSystem, browser: Browser, kefu
):
    telegram = FakeTelegram()
    async with telegram.serve() as api:
        server = await kefu(
            telegram_bot_token=telegram.token, telegram_api_url=api, telegram_mode="polling"
        )
        url = str(server.make_url("")).rstrip("/")

        async def received(pattern: str):
            async def found():
                return next((m for m in telegram.sent_to(CHAT) if re.search(pattern, m.text)), None)

            return await async_wait_until(found, timeout=60, what=f"{pattern!r} at Telegram")

        telegram.user_sends(CHAT, "/start")
        await received("您好|你好")
        telegram.user_sends(CHAT, "什么时候发货")
        await received("48 小时")
        telegram.user_sends(CHAT, "订单2025110300032一直没到，转人工")
        await received("转接|排队|人工")

        agent = await (await browser.new_context()).new_page()
        await claim_and_reply(agent, url, system, "2025110300032")
        ticket_id = await held_ticket(agent, url, f"tg-{CHAT}")
        await expect(agent.locator("#reach-window")).to_contain_text("Telegram", timeout=WAIT_MS)
        await agent.fill("#reply", "亲，已为您催促快递")
        await agent.click("#reply-form button[type=submit]")
        await received("催促快递")
        await agent.click("#close")
        rating = await received("打个分")
        data = next(
            row[0]["callback_data"] for row in rating.buttons if row[0]["text"].startswith("5")
        )
        telegram.user_taps(CHAT, rating.message_id, data)
        await received("非常感谢")
        assert await rating_recorded(agent, url, ticket_id) == 5
        assert telegram.answers and all(a.latency < 5 for a in telegram.answers)


async def test_a_wecom_customer_is_welcomed_served_by_a_person_and_rates_by_menu(
    system: RunningSystem, browser: Browser, kefu
):
    wecom = FakeWeCom()
    async with wecom.serve() as api:
        server = await kefu(
            wecom_corp_id=wecom.corp_id,
            wecom_secret=wecom.secret,
            wecom_token=wecom.token,
            wecom_aes_key=wecom.encoding_aes_key,
            wecom_api_url=api,
        )
        url = str(server.make_url("")).rstrip("/")
        wecom.callback_url = f"{url}/channels/wecom"
        assert await wecom.verify_url()

        async def received(pattern: str):
            async def found():
                return next((d for d in wecom.deliveries if re.search(pattern, d.content)), None)

            return await async_wait_until(found, timeout=60, what=f"{pattern!r} at WeCom")

        await wecom.enter_session(EXTERNAL_USER)
        welcome = await received("您好|你好")
        assert welcome.via == "welcome"
        await wecom.customer_sends(EXTERNAL_USER, "包邮吗")
        await received("邮")
        await wecom.customer_sends(EXTERNAL_USER, "订单2025110300033还没发货，转人工")
        await received("转接|排队|人工")

        agent = await (await browser.new_context()).new_page()
        await claim_and_reply(agent, url, system, "2025110300033")
        ticket_id = await held_ticket(agent, url, f"wk-{EXTERNAL_USER}")
        await expect(agent.locator("#reach-window")).to_contain_text("企业微信", timeout=WAIT_MS)
        await agent.fill("#reply", "亲，马上为您催发货")
        await agent.click("#reply-form button[type=submit]")
        await received("催发货")
        await wecom.customer_sends(EXTERNAL_USER, "好的")
        await expect(agent.locator("#transcript")).to_contain_text("好的", timeout=WAIT_MS)
        await agent.click("#close")
        rating = await received("打个分")
        assert rating.msgtype == "msgmenu"
        option_id, title = next(option for option in rating.menu if option[1].startswith("5"))
        await wecom.customer_sends(EXTERNAL_USER, title, menu_id=option_id)
        await received("非常感谢")
        assert await rating_recorded(agent, url, ticket_id) == 5
