"""The whole system as real processes: ``python -m bot run`` on free ports with an embedded Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from tests.conftest import free_port
from tests.waiting import wait_until

START_TIMEOUT = 300


@dataclass(frozen=True)
class RunningSystem:
    url: str
    var_dir: Path
    redis_url: str
    rasa_url: str
    agent_password: str
    output: Path


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    model = PROJECT_ROOT / "models" / "kefu.tar.gz"
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make setup` first")
    var_dir = tmp_path_factory.mktemp("var")
    ports = {name: free_port() for name in ("kefu", "rasa", "actions", "redis")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_") and k != "REDIS_URL"}
    env.update(
        {
            "KEFU_VAR_DIR": str(var_dir),
            "KEFU_PORT": str(ports["kefu"]),
            "KEFU_RASA_PORT": str(ports["rasa"]),
            "KEFU_ACTION_PORT": str(ports["actions"]),
            "KEFU_EMBEDDED_REDIS_PORT": str(ports["redis"]),
            "KEFU_LOG_LEVEL": "INFO",
        }
    )
    output = var_dir / "runner.out"
    with output.open("wb") as sink:
        runner = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def started() -> bool:
        if runner.poll() is not None:
            raise RuntimeError(f"the runner exited during start-up:\n{output.read_text()}")
        return "kefu is up" in output.read_text()

    try:
        wait_until(started, timeout=START_TIMEOUT, what="the whole system to start", interval=0.5)
        yield RunningSystem(
            url=f"http://127.0.0.1:{ports['kefu']}",
            var_dir=var_dir,
            redis_url=f"redis://127.0.0.1:{ports['redis']}/0",
            rasa_url=f"http://127.0.0.1:{ports['rasa']}",
            agent_password=(var_dir / "demo-agent-password").read_text().strip(),
            output=output,
        )
        os.killpg(runner.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        runner.wait(timeout=90)
        assert runner.returncode == 0, output.read_text()
        assert "All parts stopped." in output.read_text()
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
