"""The action server gives every action one set of backends per process, and says it is
ready only once what the first answers need is loaded."""

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from rasa_sdk.executor import ActionExecutor

from actions.backends import UsesBackends
from actions.server import share_backends
from tests.waiting import wait_until
from tools.launch import free_port


def test_every_action_of_a_process_shares_one_set_of_backends():
    executor = ActionExecutor()
    executor.register_package("actions")
    backends = share_backends(executor)
    users = [
        run.__self__
        for run in executor.actions.values()
        if isinstance(getattr(run, "__self__", None), UsesBackends)
    ]
    assert len(users) >= 10  # the order, stock, handoff, fallback, satisfaction actions...
    assert all(action._backends is backends for action in users)


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@pytest.mark.parametrize("kb", ["shipped", "missing"])
def test_the_server_says_ready_once_the_faq_index_is_loaded_or_has_failed(tmp_path: Path, kb):
    """The runner waits for /ready at start: the first customer's question must not wait ~20 s
    for the encoders and the index. A knowledge base that cannot load is logged, not a hang."""
    port = free_port()
    env = {**os.environ, "KEFU_RASA_TOKEN": "t", "KEFU_VAR_DIR": str(tmp_path / "var")}
    if kb == "missing":
        env["KEFU_FAQ_DIR"] = str(tmp_path / "no-kb")
    server = subprocess.Popen(
        [sys.executable, "-m", "actions.server", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _status(f"{base}/health") == 200, 60, "the action server")
        wait_until(lambda: _status(f"{base}/ready") == 200, 180, "the FAQ warm-up")
        index = list((tmp_path / "var" / "faq-cache").glob("faq-*.npy"))
        assert len(index) == (1 if kb == "shipped" else 0)  # built before it said ready
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert ("FAQ retriever not loaded at start" in errors) == (kb == "missing")
