"""python -m bot.bench: start the whole system and print start-up time, reply latency and memory.

Starts ``python -m bot run`` on free ports with an embedded Redis in a scratch directory, so it
never touches a running instance; stops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from bot.settings import PROJECT_ROOT

CONVERSATION_LENGTH = 10
QUESTIONS = ["你好", "什么时候发货", "包邮吗", "帮我查一下订单2025110300030", "可以开发票吗"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _measure(url: str, messages: int) -> tuple[float, list[float]]:
    """Latency of each message; a new conversation every 10 messages, as customers do."""
    async with aiohttp.ClientSession() as http:
        latencies = []
        for n in range(messages):
            if n % CONVERSATION_LENGTH == 0:
                async with http.post(f"{url}/api/chat/session") as response:
                    conversation = await response.json()
            started = time.perf_counter()
            body = {**conversation, "text": QUESTIONS[n % len(QUESTIONS)]}
            async with http.post(f"{url}/api/chat/messages", json=body) as response:
                replies = (await response.json())["messages"]
            assert replies and replies[0]["role"] == "bot", replies
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies[0], latencies[1:]


def _rss_by_part(runner: psutil.Process) -> dict[str, float]:
    names = {
        "redis-server": "redis",
        "rasa run": "rasa",
        "rasa_sdk": "actions",
        "bot serve": "kefu",
    }
    found = {"runner": runner.memory_info().rss / 2**20}
    for child in runner.children(recursive=True):
        command = " ".join(child.cmdline())
        for marker, name in names.items():
            if marker in command and name not in found:
                found[name] = (
                    sum(p.memory_info().rss for p in [child, *child.children(recursive=True)])
                    / 2**20
                )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.bench", description=__doc__)
    parser.add_argument("--messages", type=int, default=200, help="messages to time (default 200)")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="kefu-bench-"))
    ports = {name: _free_port() for name in ("KEFU_PORT", "KEFU_RASA_PORT", "KEFU_ACTION_PORT")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_") and k != "REDIS_URL"}
    env.update({k: str(v) for k, v in ports.items()})
    env.update({"KEFU_VAR_DIR": str(scratch), "KEFU_EMBEDDED_REDIS_PORT": str(_free_port())})
    url = f"http://127.0.0.1:{ports['KEFU_PORT']}"
    output = scratch / "runner.out"
    started = time.monotonic()
    with output.open("wb") as sink:
        runner = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while "kefu is up" not in output.read_text():
            if runner.poll() is not None or time.monotonic() - started > 300:
                print(output.read_text())
                return 1
            time.sleep(0.2)
        healthy = time.monotonic() - started
        first, rest = asyncio.run(_measure(url, args.messages))
        first_reply = healthy + first / 1000
        rss = _rss_by_part(psutil.Process(runner.pid))
        quantiles = statistics.quantiles(rest, n=20)
        print(f"start to all parts healthy : {healthy:6.1f} s")
        print(f"start to first reply       : {first_reply:6.1f} s")
        print(
            f"reply latency over HTTP    : median {statistics.median(rest):.1f} ms, "
            f"p95 {quantiles[18]:.1f} ms ({len(rest)} messages through Rasa and actions)"
        )
        for name, megabytes in rss.items():
            print(f"RSS {name:<23}: {megabytes:6.0f} MiB")
    finally:
        runner.send_signal(signal.SIGTERM)
        try:
            runner.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
