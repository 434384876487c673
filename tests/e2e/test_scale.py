"""Two Rasa replicas (each with its action server) and two kefu processes on one port, on one
Redis: customers at once over REST and the websocket lose nothing, get nothing twice, nothing
out of order, and both kefu processes serve them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tools.delivery.load import run_load
from tools.launch import LaunchedSystem, launch

pytestmark = pytest.mark.e2e
START_TIMEOUT = 300


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedSystem]:
    launched = launch(tmp_path_factory.mktemp("scaled"), rasa_replicas=2, workers=2)
    try:
        launched.wait_until_up(START_TIMEOUT)
        yield launched
    finally:
        code = launched.stop()
    assert code == 0, launched.output.read_text()


async def test_two_replicas_and_two_workers_keep_every_conversation_whole(scaled: LaunchedSystem):
    report = await run_load(scaled.url, scaled.redis_url, customers=30, messages=6)
    print("\n".join(report.lines()))
    assert report.sent == 180
    assert all(c.accepted == c.sent for c in report.checks), report.lines()
    assert all(c.ok for c in report.checks), [c for c in report.checks if not c.ok]
    logs = scaled.var_dir / "log"
    for worker in ("kefu-1", "kefu-2"):
        served = (logs / f"{worker}.log").read_text(errors="replace")
        assert "/api/chat/" in served, f"{worker} served no customer"
    for part in ("rasa-1", "rasa-2", "actions-1", "actions-2"):
        assert (logs / f"{part}.log").exists()
