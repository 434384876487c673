"""python -m bot.bench: start the whole system and print start-up time, reply latency and memory.

Starts ``python -m bot run`` on free ports with an embedded Redis in a scratch directory, so it
never touches a running instance; stops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psutil

from bot.launch import launch

CONVERSATION_LENGTH = 10
QUESTIONS = ["你好", "什么时候发货", "包邮吗", "帮我查一下订单2025110300030", "可以开发票吗"]


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
    system = launch(Path(tempfile.mkdtemp(prefix="kefu-bench-")))
    try:
        healthy = system.wait_until_up(timeout=300)
        first, rest = asyncio.run(_measure(system.url, args.messages))
        rss = _rss_by_part(psutil.Process(system.process.pid))
        quantiles = statistics.quantiles(rest, n=20)
        print(f"start to all parts healthy : {healthy:6.1f} s")
        print(f"start to first reply       : {healthy + first / 1000:6.1f} s")
        print(
            f"reply latency over HTTP    : median {statistics.median(rest):.1f} ms, "
            f"p95 {quantiles[18]:.1f} ms ({len(rest)} messages through Rasa and actions)"
        )
        for name, megabytes in rss.items():
            print(f"RSS {name:<23}: {megabytes:6.0f} MiB")
    finally:
        system.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
