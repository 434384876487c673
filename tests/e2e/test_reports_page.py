"""The supervisors' report page in Debian's chromium: a week of facts in the running system's
Redis, drawn as Chart.js charts and tables; customer text shown as text; agents refused."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from redis.asyncio import Redis

from core.keys import Keys
from handoff.agents import AgentDirectory
from handoff.facts import FactStore
from handoff.reports import range_of_days
from tests.e2e.conftest import WAIT_MS, RunningSystem, log_in_at
from tests.handoff.test_reports import NO_MATCH, seed_week

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

HOSTILE = "<img src=x onerror=alert(1)>"
SCREENSHOT = Path("/tmp/kefu-report.png")
CHARTS = (
    "chart-containment",
    "chart-reasons",
    "chart-first-response",
    "chart-hours",
    "chart-team-satisfaction",
    "chart-agent-satisfaction",
)
# Per chart: its number of labels and the sum of its datasets' values, as Chart.js holds them.
CHART_DATA = """(id) => {
  const chart = Chart.getChart(document.getElementById(id));
  if (!chart) return null;
  const values = chart.data.datasets.flatMap((d) => d.data).filter((v) => typeof v === "number");
  return { labels: chart.data.labels.length, total: values.reduce((a, b) => a + b, 0) };
}"""


@pytest.fixture
async def system_redis(system: RunningSystem) -> AsyncIterator[Redis]:
    """The running system's own Redis."""
    client = Redis.from_url(system.redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_a_supervisor_sees_the_charts_and_the_knowledge_base_gaps(
    system: RunningSystem, browser: Browser, system_redis: Redis
) -> None:
    # Last week's facts (the seven days before today), and a hostile question today.
    facts = FactStore(system_redis, Keys(), contact_idle_seconds=1800)
    await seed_week(facts, monday=range_of_days(8)[0], close_all=False)
    await facts.record_turn(
        "web-hostile", "web", "", HOSTILE, NO_MATCH, message_id="hostile-1", ts=time.time() - 60
    )
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await log_in_at(page, system.url, system.agent_password)
    link = page.locator("#reports-link")
    await expect(link).to_be_visible(timeout=WAIT_MS)
    await link.click()
    await expect(page.locator("#range button.selected")).to_have_attribute("data-days", "7")
    await page.click("#range button[data-days='30']")
    # A selector, not a JS predicate: the page's CSP forbids the eval Playwright would need.
    await page.locator("body[data-loaded='30']").wait_for(state="attached", timeout=WAIT_MS)

    for chart in CHARTS:
        drawn = await page.evaluate(CHART_DATA, chart)
        assert drawn is not None, f"{chart}: no chart on the canvas"
        assert drawn["labels"] > 0 and drawn["total"] > 0, f"{chart}: {drawn}"
    reasons = await page.evaluate("Chart.getChart(document.getElementById('chart-reasons')).data")
    # Other tests of the session may have handed customers over too: at least the week's.
    assert reasons["labels"][0] == "explicit_request" and reasons["datasets"][0]["data"][0] >= 4

    gaps = page.locator("#gaps tr")
    invoice = gaps.filter(has=page.locator("td.label", has_text="怎么开发票"))
    await expect(invoice.locator("li")).to_have_count(3)  # 怎么开发票, 发票在哪里开, 能开发票吗
    await expect(gaps.filter(has=page.locator("td.label", has_text=HOSTILE))).to_have_count(1)
    assert await page.locator("#gaps img").count() == 0, "a customer's text never becomes markup"
    late = page.locator("#complaints tr.late-row")
    assert await late.count() >= 2
    await expect(late.first.locator("td.late").first).to_contain_text("已超时 late")
    await expect(page.locator("#tile-contacts .value")).not_to_have_text("—")
    await expect(page.locator("h1")).to_contain_text("服务报表")
    await expect(page.locator("h1 .en")).to_have_text("Service reports")
    download = page.locator(".downloads a[data-table='gaps']")
    assert "days=30" in (await download.get_attribute("href") or "")
    await page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert dialogs == [], "no script of a customer's ran"
    await context.close()


async def test_an_agent_who_is_not_a_supervisor_is_refused(
    system: RunningSystem, browser: Browser, system_redis: Redis
) -> None:
    name, password = f"agent-{uuid.uuid4().hex[:8]}", "agent-password-1"
    await AgentDirectory(system_redis, Keys()).add(name, password)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{system.url}/agent")
    await page.fill("input[name=username]", name)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await expect(page.locator("#me")).to_contain_text(name, timeout=WAIT_MS)
    assert await page.locator("#reports-link").is_hidden()
    refused = await page.goto(f"{system.url}/agent/reports")
    assert refused is not None and refused.status == 403
    metrics = await page.request.get(f"{system.url}/api/agent/supervisor/metrics")
    assert metrics.status == 403
    await context.close()
