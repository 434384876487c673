"""The whole system as real processes: ``python -m bot run`` on free ports with an embedded Redis."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from core.settings import PROJECT_ROOT
from tools.launch import LaunchedSystem, launch

START_TIMEOUT = 300
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 30_000


@dataclass(frozen=True)
class RunningSystem:
    launched: LaunchedSystem
    agent_password: str

    @property
    def url(self) -> str:
        return self.launched.url

    @property
    def redis_url(self) -> str:
        return self.launched.redis_url

    @property
    def rasa_url(self) -> str:
        return self.launched.rasa_url


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    # KEFU_MODEL: test a model trained elsewhere (e.g. `rasa train --out /tmp/...`) without
    # replacing the project's.
    model = Path(os.environ.get("KEFU_MODEL") or PROJECT_ROOT / "models" / "kefu.tar.gz")
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make setup` first")
    launched = launch(tmp_path_factory.mktemp("var"), model=model.resolve())
    try:
        launched.wait_until_up(START_TIMEOUT)
        password = (launched.var_dir / "demo-agent-password").read_text().strip()
        yield RunningSystem(launched, password)
    finally:
        code = launched.stop()
    output = launched.output.read_text()
    assert code == 0, output
    assert "All parts stopped." in output


def phone_digits(system: RunningSystem, order_id: str) -> str:
    """The last 4 digits of an order's phone in the launched system's demo store: what a guest
    gives to prove the order is theirs."""
    with sqlite3.connect(system.launched.var_dir / "orders.sqlite3") as db:
        row = db.execute("SELECT receiver_phone FROM orders WHERE id = ?", (order_id,)).fetchone()
    return str(row[0])[-4:]


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make setup`")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=FLAGS
        )
        yield browser
        await browser.close()


async def log_in_at(agent: Page, url: str, password: str) -> None:
    """The demo agent logs in to the console of the kefu server at ``url``."""
    await agent.goto(f"{url}/agent")
    await agent.fill("input[name=username]", "demo")
    await agent.fill("input[name=password]", password)
    await agent.click("button[type=submit]")
