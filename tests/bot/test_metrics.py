"""``GET /metrics`` of the real app (Rasa stubbed, a real Redis), and prometheus_client's
multiprocess mode with real processes: what a Prometheus server scraping kefu would read."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from bot.runner import Child, Supervisor, children
from bot.state import SERVICES
from core.keys import Keys
from core.settings import PROJECT_ROOT, Settings
from handoff.agents import AgentDirectory
from handoff.metrics import CONTENT_TYPE, MULTIPROCESS_ENV, ServiceMetrics, forget_process
from tests.bot.conftest import say
from tests.waiting import async_wait_until

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(stub_settings: Settings) -> Settings:
    return stub_settings


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the exposition ``text`` (None: not there)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    return None


async def scrape(client) -> str:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE
    return await response.text()


async def close_contacts(app) -> None:
    """What the server's loop does every minute, once the customers have been quiet long."""
    await app[SERVICES].facts.close_idle(now=time.time() + 24 * 3600)


async def test_a_customer_message_is_counted_and_its_answer_timed(app, client, conversation, rasa):
    answered = await say(client, conversation, "什么时候发货")
    assert answered.status == 200 and rasa.received
    text = await scrape(client)
    assert sample(text, "kefu_customer_messages_total", channel="rest") == 1
    assert sample(text, "kefu_reply_latency_seconds_count") == 1
    assert sample(text, "kefu_rasa_latency_seconds_count") == 1
    rasa_seconds = sample(text, "kefu_rasa_latency_seconds_sum")
    reply_seconds = sample(text, "kefu_reply_latency_seconds_sum")
    assert rasa_seconds is not None and reply_seconds is not None
    assert 0 < rasa_seconds <= reply_seconds < 30
    assert sample(text, "kefu_reply_latency_seconds_bucket", le="30.0") == 1
    assert sample(text, "kefu_queue_waiting") == 0
    assert sample(text, "kefu_handoffs_total", rule="explicit_request") is None
    assert sample(text, "kefu_contacts_total", outcome="resolved") is None, "not finished yet"
    await close_contacts(app)
    assert sample(await scrape(client), "kefu_contacts_total", outcome="resolved") == 1


async def test_a_channel_a_rest_caller_names_counts_as_other(client, conversation, rasa):
    """Any client may name its channel: a series per name would grow without end."""
    for name in ("shop-app", "shop-app-2"):
        assert (await say(client, conversation, "你好", channel=name)).status == 200
    text = await scrape(client)
    assert sample(text, "kefu_customer_messages_total", channel="other") == 2
    assert sample(text, "kefu_customer_messages_total", channel="shop-app") is None


async def test_a_handoff_by_rule_its_claim_first_reply_and_contact_are_counted(
    app, client, conversation, redis: Redis, keys: Keys
):
    await AgentDirectory(redis, keys).add("alice", PASSWORD)
    # The stub has no trigger_intent: kefu opens the ticket itself, as when Rasa is down.
    assert (await say(client, conversation, "转人工")).status == 200
    text = await scrape(client)
    assert sample(text, "kefu_handoffs_total", rule="explicit_request") == 1
    assert sample(text, "kefu_queue_waiting") == 1
    assert sample(text, "kefu_handoff_claim_seconds_count") == 0

    login = await client.post(
        "/agent/login", data={"username": "alice", "password": PASSWORD}, allow_redirects=False
    )
    assert login.status == 303
    headers = {"X-CSRF-Token": (await (await client.get("/api/agent/me")).json())["csrf_token"]}
    ticket_id = (await (await client.get("/api/agent/tickets")).json())["waiting"][0]["id"]
    claimed = await client.post(f"/api/agent/tickets/{ticket_id}/claim", headers=headers)
    assert claimed.status == 200
    for words in ("您好，我来帮您", "请稍等"):  # only the first one is the first response
        reply = await client.post(
            f"/api/agent/tickets/{ticket_id}/reply", json={"text": words}, headers=headers
        )
        assert reply.status == 200

    text = await scrape(client)
    assert sample(text, "kefu_queue_waiting") == 0
    assert sample(text, "kefu_handoff_claim_seconds_count") == 1
    assert sample(text, "kefu_first_response_seconds_count") == 1
    assert sample(text, "kefu_first_response_seconds_bucket", le="30.0") == 1, "answered at once"
    assert sample(text, "kefu_customer_messages_total", channel="rest") == 1

    closed = await client.post(
        f"/api/agent/tickets/{ticket_id}/close", json={"outcome": "resolved"}, headers=headers
    )
    assert closed.status == 200
    await close_contacts(app)
    text = await scrape(client)
    assert sample(text, "kefu_contacts_total", outcome="handed_over") == 1
    assert sample(text, "kefu_contacts_total", outcome="resolved") is None


COUNT_IN_A_PROCESS = """
import os, sys
from handoff.metrics import ServiceMetrics
metrics = ServiceMetrics()
metrics.customer_message("web")
metrics.reply(float(sys.argv[1]))
metrics.live_sockets(2)
print(os.getpid())
"""


def test_processes_sharing_the_directory_add_up_in_one_scrape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(MULTIPROCESS_ENV, str(tmp_path))
    pids = [
        subprocess.run(
            [sys.executable, "-c", COUNT_IN_A_PROCESS, seconds],
            cwd=PROJECT_ROOT,
            env=os.environ,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        for seconds in ("0.5", "2.0")
    ]
    scraper = ServiceMetrics()
    text = scraper.exposition(queue_waiting=3).decode()
    assert sample(text, "kefu_customer_messages_total", channel="web") == 2
    assert sample(text, "kefu_reply_latency_seconds_count") == 2
    assert sample(text, "kefu_reply_latency_seconds_sum") == 2.5
    assert sample(text, "kefu_reply_latency_seconds_bucket", le="1.0") == 1
    assert sample(text, "kefu_queue_waiting") == 3
    assert sample(text, "kefu_live_sockets") == 4
    forget_process(int(pids[0]), str(tmp_path))
    text = scraper.exposition(queue_waiting=3).decode()
    assert sample(text, "kefu_live_sockets") == 2, "a dead process's sockets are gone"
    assert sample(text, "kefu_customer_messages_total", channel="web") == 2, "its counts stay"


def test_the_runner_gives_kefu_and_the_action_servers_one_metrics_directory(settings: Settings):
    _, servers = children(settings)
    given = {child.name: child.env.get(MULTIPROCESS_ENV) for child in servers}
    assert given == {
        "rasa": None,
        "actions": str(settings.var_dir / "metrics"),
        "kefu": str(settings.var_dir / "metrics"),
    }


HOLD_SOCKETS = """
from handoff.metrics import ServiceMetrics
import time
ServiceMetrics().live_sockets(5)
time.sleep(60)
"""


async def test_a_stopped_child_no_longer_counts_its_sockets(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    directory = tmp_path / "metrics"
    directory.mkdir()
    monkeypatch.setenv(MULTIPROCESS_ENV, str(directory))

    async def ready() -> bool:
        return True

    supervisor = Supervisor(settings, say=lambda _: None)
    env = dict(os.environ)
    child = Child("holder", [sys.executable, "-c", HOLD_SOCKETS], env, tmp_path / "h.log", ready)
    await supervisor.start(child)
    scraper = ServiceMetrics()

    async def sockets() -> float | None:
        return sample(scraper.exposition(queue_waiting=0).decode(), "kefu_live_sockets")

    assert await async_wait_until(sockets, timeout=30, what="the child's sockets") == 5
    await supervisor.stop_all()
    assert not await sockets()
