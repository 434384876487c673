"""The supervisor with real child processes."""

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.runner import Child, ChildDied, RestartPolicy, Supervisor, child_env, children
from core.settings import PROJECT_ROOT, Settings, load
from tests.waiting import async_wait_until, wait_until


def python_child(name: str, code: str, tmp_path: Path, env: dict[str, str]) -> Child:
    async def never_ready() -> bool:
        return False

    return Child(name, [sys.executable, "-c", code], env, tmp_path / f"{name}.log", never_ready)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path, rasa_token="token", secret="secret")


QUICK = RestartPolicy(
    check_seconds=0.1, unhealthy_checks=2, first_delay_seconds=0.1, max_delay_seconds=0.2
)


async def test_a_child_that_keeps_dying_is_named_with_its_last_lines(
    tmp_path: Path, settings: Settings
):
    supervisor = Supervisor(settings, say=lambda _: None, policy=replace(QUICK, max_restarts=0))
    env = child_env(settings)
    await supervisor.start(python_child("sleeper", "import time; time.sleep(60)", tmp_path, env))
    await supervisor.start(
        python_child(
            "crasher", "print('loading model'); raise SystemExit('model is corrupt')", tmp_path, env
        )
    )
    with pytest.raises(ChildDied) as died:
        await asyncio.wait_for(supervisor.keep_up(), 10)
    message = str(died.value)
    assert message.startswith("crasher stopped unexpectedly (exit code 1), after 0 restarts")
    assert "loading model" in message and "model is corrupt" in message
    await supervisor.stop_all()
    sleeper = supervisor.children[0].process
    assert sleeper is not None and sleeper.returncode is not None, "the rest are stopped too"
    assert "model is corrupt" in (tmp_path / "crasher.log").read_text()


FAILS_FIRST_TIME = """
import pathlib, sys, time
starts = pathlib.Path(sys.argv[1])
count = int(starts.read_text()) if starts.exists() else 0
starts.write_text(str(count + 1))
if count == 0:
    raise SystemExit("first start fails")
time.sleep(60)
"""


async def always() -> bool:
    return True


async def test_a_child_that_dies_is_restarted_and_the_system_stays_up(
    tmp_path: Path, settings: Settings
):
    said: list[str] = []
    supervisor = Supervisor(settings, say=said.append, policy=QUICK)
    starts = tmp_path / "starts"
    child = Child(
        "flaky",
        [sys.executable, "-c", FAILS_FIRST_TIME, str(starts)],
        child_env(settings),
        tmp_path / "flaky.log",
        always,
    )
    await supervisor.start(child)
    keep_up = asyncio.create_task(supervisor.keep_up())
    try:
        await async_wait_until(
            lambda: _async(starts.exists() and starts.read_text() == "2" and child.alive),
            timeout=20,
            what="the restart",
        )
        assert any("flaky stopped unexpectedly (exit code 1); restarting" in s for s in said)
        assert any("first start fails" in s for s in said)
        assert not keep_up.done()
    finally:
        keep_up.cancel()
        await supervisor.stop_all()


async def test_a_child_that_stops_answering_is_restarted(tmp_path: Path, settings: Settings):
    said: list[str] = []
    supervisor = Supervisor(settings, say=said.append, policy=QUICK)
    first_pid: list[int] = []

    async def answers() -> bool:
        # The first process hangs (alive, but its health check fails); the next one works.
        assert child.process is not None
        return child.process.pid != first_pid[0]

    child = Child(
        "hung",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        child_env(settings),
        tmp_path / "hung.log",
        answers,
    )
    await supervisor.start(child)
    assert child.process is not None
    first = child.process
    first_pid.append(first.pid)
    keep_up = asyncio.create_task(supervisor.keep_up())
    try:
        await async_wait_until(
            lambda: _async(child.process is not first and child.alive),
            timeout=20,
            what="the hung child's replacement",
        )
        assert first.returncode == -9
        assert any("did not answer its health check 2 times" in s for s in said)
    finally:
        keep_up.cancel()
        await supervisor.stop_all()


RECORDS_ITS_STOP = """
import signal, sys, time
def stop(*_):
    with open(sys.argv[1], "a") as order:
        order.write(sys.argv[2] + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("up", flush=True)
time.sleep(60)
"""


async def test_parts_stop_one_after_the_other_last_started_first(
    tmp_path: Path, settings: Settings
):
    supervisor = Supervisor(settings, say=lambda _: None)
    order = tmp_path / "order"
    for name in ("redis", "rasa", "kefu"):
        argv = [sys.executable, "-c", RECORDS_ITS_STOP, str(order), name]
        await supervisor.start(Child(name, argv, child_env(settings), tmp_path / name, always))
    for name in ("redis", "rasa", "kefu"):
        log = tmp_path / name
        await async_wait_until(
            lambda log=log: _async(log.exists() and "up" in log.read_text()),
            timeout=20,
            what=f"{name} to start",
        )
    await supervisor.stop_all()
    assert order.read_text().split() == ["kefu", "rasa", "redis"]


async def _async(value: bool) -> bool:
    return value


async def test_a_child_not_ready_in_time_is_reported(tmp_path: Path, settings: Settings):
    supervisor = Supervisor(settings, say=lambda _: None)
    child = python_child("slow", "import time; time.sleep(60)", tmp_path, child_env(settings))
    await supervisor.start(child)
    with pytest.raises(TimeoutError, match="slow"):
        await supervisor.wait_ready([child], timeout=1)
    await supervisor.stop_all()
    assert child.process is not None and child.process.returncode == -15


STUBBORN_WITH_WORKER = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
worker = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
print(worker.pid, flush=True)
time.sleep(600)
"""


async def test_a_child_that_ignores_sigterm_is_killed_with_its_worker(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """A server whose forked worker holds the log pipe (as Sanic's does) must not keep the
    runner waiting: the child's whole session is killed."""
    monkeypatch.setattr("bot.runner.STOP_GRACE_SECONDS", 1.0)
    supervisor = Supervisor(settings, say=lambda _: None)
    child = python_child("stubborn", STUBBORN_WITH_WORKER, tmp_path, child_env(settings))
    await supervisor.start(child)
    log = tmp_path / "stubborn.log"

    async def worker_started() -> str:
        return log.read_text().strip() if log.exists() else ""

    await async_wait_until(worker_started, timeout=20, what="the worker")
    worker_pid = int(log.read_text().split()[0])
    await asyncio.wait_for(supervisor.stop_all(), 20)
    assert child.process is not None and child.process.returncode == -9
    wait_until(
        lambda: not Path(f"/proc/{worker_pid}").exists() or _zombie(worker_pid),
        timeout=10,
        what="the worker to go",
    )


def _zombie(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" in status.read_text()


def test_children_bind_to_the_configured_host_and_share_one_redis(settings: Settings):
    redis, servers = children(settings)
    assert redis is not None and "--bind" in redis.argv and "127.0.0.1" in redis.argv
    rasa = next(c for c in servers if c.name == "rasa")
    assert rasa.argv[rasa.argv.index("-i") + 1] == "127.0.0.1"
    assert rasa.env["KEFU_RASA_REDIS_PORT"] == str(settings.embedded_redis_port)
    assert rasa.env["RASA_TELEMETRY_ENABLED"] == "false"
    actions = next(c for c in servers if c.name == "actions")
    assert actions.env["SANIC_HOST"] == "127.0.0.1"


def test_the_embedded_redis_gets_a_password_that_persists_and_is_not_on_its_command_line(
    settings: Settings,
):
    first = settings.with_secrets()
    assert first.embedded_redis_password == settings.with_secrets().embedded_redis_password
    assert first.effective_redis_url.startswith(f"redis://:{first.embedded_redis_password}@")
    redis, servers = children(first)
    assert redis is not None
    assert all(first.embedded_redis_password not in arg for arg in redis.argv)
    config = Path(redis.argv[1])
    assert config.read_text() == f"requirepass {first.embedded_redis_password}\n"
    assert config.stat().st_mode & 0o077 == 0
    # Every child reaches Redis with it; the tools find it in var/.
    assert servers[0].env["KEFU_RASA_REDIS_PASSWORD"] == first.embedded_redis_password
    environ = {"KEFU_VAR_DIR": str(settings.var_dir)}
    assert load(environ, dotenv=settings.var_dir / "none").effective_redis_url == (
        first.effective_redis_url
    )


def test_rasa_takes_a_token_that_starts_with_a_dash(tmp_path: Path):
    """Random tokens start with "-" one time in 64; Rasa's own parser must still read it."""
    _, servers = children(Settings(var_dir=tmp_path, rasa_token="-Xy_9", secret="s"))
    rasa = next(c for c in servers if c.name == "rasa")
    run_args = rasa.argv[rasa.argv.index("run") :]
    code = (
        "import sys; from rasa.__main__ import create_argument_parser; "
        "print(create_argument_parser().parse_args(sys.argv[1:]).auth_token)"
    )
    parsed = subprocess.run(
        [rasa.argv[0], "-c", code, *run_args], capture_output=True, text=True, timeout=120
    )
    assert parsed.returncode == 0, parsed.stderr[-2000:]
    assert parsed.stdout.strip().splitlines()[-1] == "-Xy_9"


def test_with_redis_url_no_embedded_server_is_started(settings: Settings):
    redis, servers = children(
        Settings(redis_url="redis://127.0.0.1:6379/2", var_dir=settings.var_dir)
    )
    assert redis is None
    assert servers[0].env["KEFU_RASA_REDIS_DB"] == "2"


SUPERVISE_ONE_SLEEPER = """
import asyncio, sys
from pathlib import Path
from bot.runner import Child, Supervisor, child_env
from core.settings import Settings

async def main():
    settings = Settings(var_dir=Path(sys.argv[1]))
    supervisor = Supervisor(settings, say=print)
    async def ready():
        return True
    child = Child("sleeper", [sys.executable, "-c", "import time; time.sleep(120)"],
                  child_env(settings), Path(sys.argv[1]) / "sleeper.log", ready)
    await supervisor.start(child)
    print(child.process.pid, flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""


def test_children_stop_when_the_runner_is_killed(tmp_path: Path):
    runner = subprocess.Popen(
        [sys.executable, "-c", SUPERVISE_ONE_SLEEPER, str(tmp_path)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert runner.stdout is not None
    child_pid = int(runner.stdout.readline())
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)

    def child_gone() -> bool:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return True
        # A zombie waiting for its reaper counts as gone.
        with open(f"/proc/{child_pid}/stat") as stat:
            return stat.read().split()[2] == "Z"

    wait_until(child_gone, timeout=10, what="the orphaned child to stop")
