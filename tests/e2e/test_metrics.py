"""``/metrics`` of the running system: the kefu server's counts and the action server's, which
opens the tickets, in one scrape (prometheus_client's multiprocess mode, var/metrics)."""

from __future__ import annotations

import shutil
from pathlib import Path

import aiohttp
import psutil
import pytest
from prometheus_client import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from handoff.metrics import CONTENT_TYPE
from tests.bot.test_metrics import sample
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_orders import open_chat

pytestmark = pytest.mark.e2e


async def scrape(http: aiohttp.ClientSession, system: RunningSystem) -> str:
    async with http.get(f"{system.url}/metrics") as response:
        assert response.status == 200 and response.headers["Content-Type"] == CONTENT_TYPE
        return await response.text()


async def test_a_handoff_the_action_server_opened_is_in_kefus_scrape(
    system: RunningSystem, tmp_path: Path
):
    async with aiohttp.ClientSession() as http:
        before = await scrape(http, system)
        chat = await open_chat(http, system)
        assert await chat.said("你好")
        assert await chat.said("转人工")
        after = await scrape(http, system)

    def grew(name: str, **labels: str) -> float:
        return (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert grew("kefu_customer_messages_total", channel="rest") == 2
    assert grew("kefu_rasa_latency_seconds_count") == 2
    assert grew("kefu_reply_latency_seconds_count") == 2
    assert grew("kefu_handoffs_total", rule="explicit_request") == 1
    assert grew("kefu_queue_waiting") == 1
    # Rasa's handoff action opened it: the action server's own files hold the count.
    assert action_servers_counted(system, tmp_path, "kefu_handoffs_total", rule="explicit_request")


def action_servers_counted(
    system: RunningSystem, tmp_path: Path, name: str, **labels: str
) -> float:
    """A sample as only the action server processes' files add it up."""
    runner = psutil.Process(system.launched.process.pid)
    servers = [
        p for p in runner.children(recursive=True) if "actions.server" in " ".join(p.cmdline())
    ]
    # With the worker Sanic starts, whatever its command line.
    pids = {p.pid for server in servers for p in [server, *server.children(recursive=True)]}
    for pid in pids:
        for path in (system.launched.var_dir / "metrics").glob(f"*_{pid}.db"):
            shutil.copy(path, tmp_path / path.name)
    text = generate_latest(MultiProcessCollector(None, path=str(tmp_path))).decode()
    return sample(text, name, **labels) or 0
