"""The whole system in a scratch directory on free ports, for the end-to-end tests and the benchmark.

It never touches a running instance: its own embedded Redis, var directory and ports.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core.settings import PROJECT_ROOT, REDIS_PASSWORD_FILE

READY_LINE = "kefu is up"


# Ports handed out below the kernel's ephemeral range: a port from that range that is free at
# the probe can be taken as the source port of any outgoing connection before the server binds
# it (a replica's port + 1, seconds later, while its model loads).
_LOW_PORT = 20000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _first_ephemeral_port() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    return free_ports(1)


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports (replicas listen on port + i), below the
    ephemeral range."""
    highest = _first_ephemeral_port() - count
    # A machine whose ephemeral range starts low leaves no safe range: any port will do then.
    low, high = (_LOW_PORT, highest) if highest > _LOW_PORT else (1024, 65535 - count)
    chooser = random.Random()
    for _ in range(100):
        first = chooser.randint(low, high)
        probes = [socket.socket() for _ in range(count)]
        try:
            for offset, probe in enumerate(probes):
                probe.bind(("127.0.0.1", first + offset))
            return first
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class LaunchedSystem:
    process: subprocess.Popen[bytes]
    var_dir: Path
    ports: dict[str, int]
    rasa_token: str  # what kefu's channel and Rasa's HTTP API ask callers for

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['kefu']}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['rasa']}"

    @property
    def redis_url(self) -> str:
        """The embedded Redis, with the password the runner generated (readable once it runs)."""
        password = (self.var_dir / REDIS_PASSWORD_FILE).read_text().strip()
        return f"redis://:{password}@127.0.0.1:{self.ports['redis']}/0"

    @property
    def output(self) -> Path:
        return self.var_dir / "runner.out"

    def wait_until_up(self, timeout: float) -> float:
        """Seconds from now until the runner says every part is healthy; raises if it fails."""
        started = time.monotonic()
        while READY_LINE not in self.output.read_text():
            if self.process.poll() is not None:
                raise RuntimeError(f"the runner exited during start-up:\n{self.output.read_text()}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"not up after {timeout} s:\n{self.output.read_text()}")
            time.sleep(0.2)
        return time.monotonic() - started

    def stop(self, timeout: float = 90) -> int:
        """Ctrl-C, as a terminal sends it; SIGKILL to the group if it does not stop in time."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise


def launch(
    var_dir: Path,
    model: Path | None = None,
    *,
    rasa_replicas: int = 1,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    project: Path = PROJECT_ROOT,
) -> LaunchedSystem:
    """Start ``python -m bot run`` with an embedded Redis; ``wait_until_up`` before using it.
    ``model``: a Rasa model other than the project's ``models/kefu.tar.gz``; ``rasa_replicas``
    and ``workers``: KEFU_RASA_REPLICAS and KEFU_WORKERS; ``extra_env``: more settings;
    ``project``: another checkout of kefu to run (an older revision, for a before/after)."""
    ports = {name: free_port() for name in ("kefu", "redis")}
    ports["rasa"] = free_ports(rasa_replicas)
    ports["actions"] = free_ports(rasa_replicas)
    rasa_token = secrets.token_urlsafe(24)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_") and k != "REDIS_URL"}
    env.update(
        {
            "KEFU_VAR_DIR": str(var_dir),
            "KEFU_PORT": str(ports["kefu"]),
            "KEFU_RASA_PORT": str(ports["rasa"]),
            "KEFU_ACTION_PORT": str(ports["actions"]),
            "KEFU_EMBEDDED_REDIS_PORT": str(ports["redis"]),
            "KEFU_RASA_TOKEN": rasa_token,
            "KEFU_RASA_REPLICAS": str(rasa_replicas),
            "KEFU_WORKERS": str(workers),
            **(extra_env or {}),
        }
    )
    if model is not None:
        env["KEFU_MODEL"] = str(model)
    var_dir.mkdir(parents=True, exist_ok=True)
    with (var_dir / "runner.out").open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=project,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return LaunchedSystem(process, var_dir, ports, rasa_token)
