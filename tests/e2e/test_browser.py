"""The slice in Debian's chromium through Playwright: a customer page and an agent page side by side."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import WAIT_MS, RunningSystem, log_in_at, phone_digits

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


async def send(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def log_in(agent: Page, system: RunningSystem) -> None:
    await log_in_at(agent, system.url, system.agent_password)


async def test_customer_and_agent_in_the_browser(
    system: RunningSystem, browser: Browser, tmp_path: Path
):
    customer = await (await browser.new_context()).new_page()
    agent = await (await browser.new_context()).new_page()
    bot_messages = customer.locator("li.msg.bot .bubble")

    await customer.goto(f"{system.url}/chat")
    await expect(customer.locator("#status")).to_contain_text("智能助手", timeout=WAIT_MS)
    await send(customer, "你好")
    await expect(bot_messages.nth(1)).to_contain_text("您好", timeout=WAIT_MS)
    await send(customer, "什么时候发货")
    await expect(bot_messages.nth(2)).to_contain_text("48 小时", timeout=WAIT_MS)
    await send(customer, "订单号2025110300030")
    await expect(bot_messages.nth(3)).to_contain_text("后四位", timeout=WAIT_MS)
    await send(customer, phone_digits(system, "2025110300030"))
    await expect(bot_messages.nth(4)).to_contain_text("2025110300030", timeout=WAIT_MS)
    await send(customer, "<b>转人工</b>")
    # Handed over: 转接人工 at once, then (the queue watcher, within seconds) the place in line.
    await expect(customer.locator("#status")).to_contain_text(
        re.compile("转接人工|排队中"), timeout=WAIT_MS
    )

    await log_in(agent, system)
    # The summary's problem: the customer's latest messages, the order number among them.
    ticket = agent.locator("#waiting li", has_text="2025110300030").first
    await expect(ticket).to_be_visible(timeout=WAIT_MS)
    await ticket.click()
    transcript = agent.locator("#transcript")
    await expect(transcript).to_contain_text("<b>转人工</b>", timeout=WAIT_MS)
    assert await transcript.locator("b").count() == 0, "customer text must not become markup"
    await expect(agent.locator("#summary")).to_contain_text("问题：", timeout=WAIT_MS)
    await expect(agent.locator("#summary-en")).to_contain_text("Problem:", timeout=WAIT_MS)
    await expect(agent.locator("#steps li").first).to_contain_text("Apologise", timeout=WAIT_MS)
    # The order the customer proved is theirs, as a card: verified, personal data masked.
    card = agent.locator("#orders .order-card", has_text="2025110300030")
    await expect(card).to_contain_text("已核实本人", timeout=WAIT_MS)
    await expect(card).to_contain_text("****", timeout=WAIT_MS)
    await expect(agent.locator("#faq-answers")).to_contain_text("48", timeout=WAIT_MS)

    await agent.click("#claim")
    await expect(customer.locator("li.msg.system").last).to_contain_text("已接入", timeout=WAIT_MS)
    await agent.fill("#note", "客户着急，优先处理")
    await agent.click("#note-form button[type=submit]")
    await expect(agent.locator("#notes")).to_contain_text("客户着急", timeout=WAIT_MS)
    await agent.fill("#canned-q", "发票")
    await agent.locator("#canned li").first.click()
    await expect(agent.locator("#reply")).to_have_value(re.compile("发票"), timeout=WAIT_MS)
    await agent.fill("#reply", "亲，我是客服小王，马上为您处理")
    await agent.click("#reply-form button[type=submit]")
    await expect(customer.locator("li.msg.agent .bubble")).to_have_text(
        "亲，我是客服小王，马上为您处理", timeout=WAIT_MS
    )
    await expect(customer.locator("#messages")).not_to_contain_text("客户着急")
    await customer.screenshot(path=str(tmp_path / "customer.png"))
    await agent.screenshot(path=str(tmp_path / "agent.png"))

    answered = await bot_messages.count()
    await agent.click("#close")
    # The hand-back and the satisfaction question; the customer asks something else instead.
    await expect(bot_messages).to_have_count(answered + 2, timeout=WAIT_MS)
    await expect(customer.locator("#status")).to_contain_text("智能助手", timeout=WAIT_MS)
    await send(customer, "包邮吗")
    await expect(bot_messages.nth(answered + 2)).to_contain_text("邮费", timeout=WAIT_MS)


# Furious about a late parcel, with no 转人工 and no crisis word: the anger rule must catch it.
ANGRY = "快递一个星期了还没到！！催了三次都没人管，你们到底干什么吃的，气死我了！！！"


async def test_an_angry_customer_reaches_an_agent_and_rates_the_service(
    system: RunningSystem, browser: Browser
):
    customer = await (await browser.new_context()).new_page()
    agent = await (await browser.new_context()).new_page()
    bot_messages = customer.locator("li.msg.bot")

    await customer.goto(f"{system.url}/chat")
    await expect(customer.locator("#status")).to_contain_text("智能助手", timeout=WAIT_MS)
    await send(customer, ANGRY)
    # Handed over: first 转接人工, then (the queue watcher) the customer's place in line.
    await expect(customer.locator("#status")).to_contain_text(
        re.compile("转接人工|排队中"), timeout=WAIT_MS
    )

    await log_in(agent, system)
    # The anger rule sends it to the complaints team's line.
    ticket = agent.locator("#waiting li", has_text="complaints").first
    await expect(ticket).to_be_visible(timeout=WAIT_MS)
    await ticket.click()
    await expect(agent.locator("#reasons")).to_contain_text("情绪激动", timeout=WAIT_MS)
    await expect(agent.locator("#summary")).to_contain_text("问题：", timeout=WAIT_MS)
    await expect(agent.locator("#transcript")).to_contain_text(ANGRY, timeout=WAIT_MS)
    await expect(agent.locator("#slots")).to_contain_text("情绪 Anger", timeout=WAIT_MS)
    ticket_id = await agent.locator("#ticket-title").inner_text()

    await agent.click("#claim")
    await expect(customer.locator("li.msg.system").last).to_contain_text("已接入", timeout=WAIT_MS)
    apology = "非常理解您的心情，我马上联系快递站加急派送，今天给您回复进度"
    await agent.fill("#reply", apology)
    await agent.click("#reply-form button[type=submit]")
    await expect(customer.locator("li.msg.agent .bubble")).to_have_text(apology, timeout=WAIT_MS)

    await agent.click("#close")
    question = bot_messages.filter(has=customer.locator(".buttons")).last
    await expect(question).to_contain_text("打个分", timeout=WAIT_MS)
    await expect(question.locator("button")).to_have_count(5)
    await question.locator("button", has_text="5 非常满意").click()
    await expect(bot_messages.last).to_contain_text("非常感谢", timeout=WAIT_MS)
    # Both sides read what the customer chose, not the payload the bot acted on.
    await expect(customer.locator("li.msg.customer .bubble").last).to_have_text("5 非常满意")
    await expect(customer.locator("#messages")).not_to_contain_text("/rate")
    # Back with the bot, the conversation's live messages no longer reach the console; the
    # closed ticket's record has the rating.
    detail = await (await agent.request.get(f"{system.url}/api/agent/tickets/{ticket_id}")).json()
    assert detail["ticket"]["satisfaction"] == 5
    said = [m["text"] for m in detail["transcript"] if m["role"] == "customer"]
    assert said[-1] == "5 非常满意" and not any("/rate" in text for text in said)


async def test_a_message_typed_while_the_server_is_down_waits_then_goes_once(
    system: RunningSystem, browser: Browser, tmp_path: Path
):
    """A kefu server of its own (on the system's Redis and Rasa) is stopped under the page."""
    from aiohttp.test_utils import TestServer

    from bot.server import create_app
    from core.settings import Settings
    from tools.launch import free_port

    port = free_port()
    settings = Settings(
        port=port,
        redis_url=system.redis_url,
        redis_prefix="kefubrowserdown",
        rasa_port=system.launched.ports["rasa"],
        action_port=system.launched.ports["actions"],
        var_dir=tmp_path,
        secret="browser-secret",
        rasa_token=system.launched.rasa_token,
    )

    async def serve() -> TestServer:
        server = TestServer(create_app(settings), host="127.0.0.1", port=port)
        await server.start_server()
        return server

    server = await serve()
    page = await (await browser.new_context()).new_page()
    await page.goto(f"http://127.0.0.1:{port}/chat")
    await expect(page.locator("#status")).to_contain_text("智能助手", timeout=WAIT_MS)
    await server.close()
    await expect(page.locator("#status")).to_contain_text("重连", timeout=WAIT_MS)

    await send(page, "包邮吗")
    waiting = page.locator("li.msg.customer.waiting")
    await expect(waiting).to_have_count(1)
    await expect(waiting).to_contain_text("等待发送")

    server = await serve()
    try:
        await expect(page.locator("li.msg.bot .bubble").last).to_contain_text(
            "邮费", timeout=WAIT_MS
        )
        await expect(waiting).to_have_count(0)
        await expect(page.locator("li.msg.customer")).to_have_count(1)
    finally:
        await server.close()
