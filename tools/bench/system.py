"""python -m tools.bench.system: start the whole system and print start-up time, reply latency, handoff
latency (customer message to the ticket on an agent's screen) and memory.

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

from tools.launch import launch

# Ten messages a conversation: greeting, FAQs, an order look-up with its phone digits (8145 is
# the demo order's), and a FAQ asked inside the look-up.
QUESTIONS = [
    "你好",
    "什么时候发货",
    "包邮吗",
    "帮我查一下订单2025110300030",
    "8145",
    "我的快递到哪了",
    "可以开发票吗",
    "帮我取消订单2025110300030",
    "发什么快递",
    "谢谢",
]
CONVERSATION_LENGTH = len(QUESTIONS)


async def _measure(url: str, messages: int) -> tuple[float, list[float]]:
    """Latency of each message; a new conversation every 10 messages, as customers do."""
    async with aiohttp.ClientSession() as http:
        latencies = []
        for n in range(messages):
            if n % CONVERSATION_LENGTH == 0:
                async with http.post(f"{url}/api/chat/session") as response:
                    conversation = await response.json()
            started = time.perf_counter()
            body = {**conversation, "text": QUESTIONS[n % CONVERSATION_LENGTH]}
            async with http.post(f"{url}/api/chat/messages", json=body) as response:
                replies = (await response.json())["messages"]
            assert replies and replies[0]["role"] == "bot", replies
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies[0], latencies[1:]


async def _handoff_latencies(url: str, password: str, handoffs: int) -> list[float]:
    """From a customer's 转人工 being sent to the ticket arriving on a logged-in console's socket."""
    jar = aiohttp.CookieJar(unsafe=True)  # keep the session cookie for 127.0.0.1
    async with aiohttp.ClientSession() as http, aiohttp.ClientSession(cookie_jar=jar) as agent:
        await agent.post(f"{url}/agent/login", data={"username": "demo", "password": password})
        console = await agent.ws_connect(f"{url}/ws/agent")
        latencies = []
        for _ in range(handoffs):
            async with http.post(f"{url}/api/chat/session") as response:
                conversation = await response.json()
            body = {**conversation, "text": "转人工"}
            started = time.perf_counter()
            async with http.post(f"{url}/api/chat/messages", json=body):
                pass
            while True:
                frame = await console.receive_json(timeout=30)
                if (
                    frame["type"] == "ticket_opened"
                    and frame["conversation_id"] == conversation["conversation_id"]
                ):
                    break
            latencies.append((time.perf_counter() - started) * 1000)
        await console.close()
    return latencies


def _summary(values: list[float]) -> str:
    p95 = statistics.quantiles(values, n=20)[18]
    return f"median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms ({len(values)} samples)"


def _rss_by_part(runner: psutil.Process) -> dict[str, float]:
    names = {
        "redis-server": "redis",
        "rasa run": "rasa",
        "actions.server": "actions",
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
    parser = argparse.ArgumentParser(prog="python -m tools.bench.system", description=__doc__)
    parser.add_argument("--messages", type=int, default=200, help="messages to time (default 200)")
    parser.add_argument("--handoffs", type=int, default=50, help="handoffs to time (default 50)")
    args = parser.parse_args(argv)
    system = launch(Path(tempfile.mkdtemp(prefix="kefu-bench-")))
    try:
        healthy = system.wait_until_up(timeout=300)
        first, rest = asyncio.run(_measure(system.url, args.messages))
        password = (system.var_dir / "demo-agent-password").read_text().strip()
        handoffs = asyncio.run(_handoff_latencies(system.url, password, args.handoffs))
        rss = _rss_by_part(psutil.Process(system.process.pid))
        print(f"start to all parts healthy : {healthy:6.1f} s")
        print(f"start to first reply       : {healthy + first / 1000:6.1f} s")
        print(f"reply latency over HTTP    : {_summary(rest)}")
        print(f"handoff to agent's screen  : {_summary(handoffs)}")
        for name, megabytes in rss.items():
            print(f"RSS {name:<23}: {megabytes:6.0f} MiB")
    finally:
        system.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
