"""python -m tools.bench.load (part of make bench): the whole stack against bare Rasa, at 1, 10
and 40 customers at once, with 1 and with 2 Rasa replicas, in one run on one machine.

For each number of replicas it starts the system (``tools.launch.launch``: embedded Redis, Rasa
replicas with their action servers, kefu), warms Rasa up, then for each level of concurrency
has that many customers write 10-message conversations (``tools.bench.system.QUESTIONS``) at
once, each waiting for the answer before the next message (customers do), and measures:

* kefu: ``POST /api/chat/messages`` (what a web customer waits for);
* bare Rasa: the same conversations posted straight to Rasa's channel
  (``/webhooks/kefu/webhook`` with the token, to the replica kefu would pick): the turn inside
  Rasa with nothing of kefu around it;

p50 / p95 latency and throughput (messages per second over the level's wall time); then, under
40 customers over REST and the websocket (``tools.delivery``), messages sent, answered, in
order and lost; and the memory of each process. Compare ratios within one run: absolute times
on these shared machines vary from day to day. ``--baseline-rev REV`` measures an older
revision of kefu the same way in the same run, before this one (a before/after): it is exported
from git to a scratch directory, given this checkout's environments and its own model trained
from its own configuration (``--baseline-model`` reuses one trained before). Each system's
start to first reply is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil

from bot.rasa_client import replica_of
from core.settings import PROJECT_ROOT
from tools.bench.system import QUESTIONS
from tools.delivery.load import run_load
from tools.launch import LaunchedSystem, launch

Send = Callable[[aiohttp.ClientSession, str, str], Awaitable[None]]


@dataclass(frozen=True)
class Level:
    customers: int
    latencies_ms: list[float]
    seconds: float

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def line(self, name: str) -> str:
        values = self.latencies_ms
        p95 = statistics.quantiles(values, n=20)[18] if len(values) > 1 else values[0]
        return (
            f"  {name:<9} {self.customers:>3} at once: p50 {statistics.median(values):7.0f} ms"
            f"  p95 {p95:7.0f} ms  {self.throughput:5.1f} msg/s  ({len(values)} messages)"
        )


def kefu_sender(system: LaunchedSystem) -> Send:
    conversations: dict[str, dict[str, str]] = {}

    async def send(http: aiohttp.ClientSession, customer: str, text: str) -> None:
        if customer not in conversations:
            async with http.post(f"{system.url}/api/chat/session") as response:
                conversations[customer] = await response.json()
        body = {**conversations[customer], "text": text}
        async with http.post(f"{system.url}/api/chat/messages", json=body) as response:
            response.raise_for_status()
            assert (await response.json())["messages"], "kefu gave no answer"

    return send


def rasa_sender(system: LaunchedSystem, replicas: int) -> Send:
    headers = {"Authorization": f"Bearer {system.rasa_token}"}

    async def send(http: aiohttp.ClientSession, customer: str, text: str) -> None:
        port = system.ports["rasa"] + replica_of(customer, replicas)
        body = {
            "sender": customer,
            "message": text,
            "metadata": {"channel": "bench"},
            "message_id": secrets.token_hex(12),
        }
        async with http.post(
            f"http://127.0.0.1:{port}/webhooks/kefu/webhook", json=body, headers=headers
        ) as response:
            response.raise_for_status()
            assert await response.json(), "Rasa gave no answer"

    return send


async def level(send: Send, customers: int, conversations_each: int) -> Level:
    latencies: list[float] = []
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=customers + 5)
    ) as http:

        async def customer(number: int) -> None:
            for round_ in range(conversations_each):
                name = f"bench-{secrets.token_hex(4)}-{number}-{round_}"
                for question in QUESTIONS:
                    started = time.perf_counter()
                    await send(http, name, question)
                    latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(customer(n) for n in range(customers)))
        return Level(customers, latencies, time.perf_counter() - started)


def rss_by_process(system: LaunchedSystem) -> dict[str, float]:
    """MiB of each part (with its children), by the name in its log file."""
    names = {
        "redis-server": "redis",
        "rasa run": "rasa",
        "actions.server": "actions",
        "bot serve": "kefu",
    }
    found: dict[str, float] = {}
    for child in psutil.Process(system.process.pid).children():
        command = " ".join(child.cmdline())
        name = next((n for marker, n in names.items() if marker in command), "")
        if not name:
            continue
        rss = sum(p.memory_info().rss for p in [child, *child.children(recursive=True)]) / 2**20
        label = name
        number = 2
        while label in found:
            label, number = f"{name}-{number}", number + 1
        found[label] = rss
    return found


async def first_reply(system: LaunchedSystem) -> float:
    """Milliseconds for a new customer's first message to be answered."""
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        await kefu_sender(system)(http, f"bench-first-{secrets.token_hex(4)}", QUESTIONS[0])
        return (time.perf_counter() - started) * 1000


async def measure(system: LaunchedSystem, replicas: int, levels: list[int]) -> None:
    # Rasa's first turns are slow: warm every replica up (conversations spread over them).
    await level(kefu_sender(system), 4 * replicas, 1)
    for customers in levels:
        conversations_each = max(1, 10 // customers)
        for name, send in (
            ("kefu", kefu_sender(system)),
            ("bare Rasa", rasa_sender(system, replicas)),
        ):
            print(((await level(send, customers, conversations_each)).line(name)), flush=True)
    report = await run_load(system.url, system.redis_url, customers=40, messages=10)
    answered = report.total("accepted") - report.total("unanswered")
    in_order = len(report.checks) - report.total("out_of_order")
    print(
        f"  under 40 customers (REST + websocket): sent {report.sent}, answered {answered},"
        f" conversations in order {in_order}/{len(report.checks)},"
        f" lost {report.total('lost') + report.sent - report.total('accepted')},"
        f" twice {report.total('twice')}"
    )


def exported(rev: str, scratch: Path) -> Path:
    """Revision ``rev`` of this repository in ``scratch``, with this checkout's environments."""
    archive = subprocess.run(
        ["git", "archive", rev], cwd=PROJECT_ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive, check=True)
    for venv in (".venv", ".venv-rasa"):
        (scratch / venv).symlink_to(PROJECT_ROOT / venv)
    return scratch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.load", description=__doc__)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 40])
    parser.add_argument("--baseline-rev", help="also measure this git revision, first")
    parser.add_argument(
        "--baseline-model", type=Path, help="the baseline's model, if trained before"
    )
    parser.add_argument("--baseline-replicas", type=int, nargs="+", default=[1], help="default: 1")
    args = parser.parse_args(argv)
    systems: list[tuple[str, Path, Path | None, list[int]]] = []
    if args.baseline_rev:
        project = exported(args.baseline_rev, Path(tempfile.mkdtemp(prefix="kefu-baseline-")))
        if args.baseline_model is None:
            print(f"== training the model of {args.baseline_rev} ...", flush=True)
            subprocess.run(["make", "models/kefu.tar.gz"], cwd=project, check=True)
        label = f"baseline {args.baseline_rev}"
        systems.append((label, project, args.baseline_model, args.baseline_replicas))
    systems.append(("current", PROJECT_ROOT, None, args.replicas))
    for label, project, model, replica_counts in systems:
        for replicas in replica_counts:
            scratch = Path(tempfile.mkdtemp(prefix="kefu-bench-load-"))
            system = launch(scratch, model=model, rasa_replicas=replicas, project=project)
            try:
                healthy = system.wait_until_up(timeout=300)
                first = asyncio.run(first_reply(system))
                print(f"== {label}, {replicas} Rasa replica(s)", flush=True)
                print(f"  start to first reply {healthy + first / 1000:6.1f} s")
                asyncio.run(measure(system, replicas, args.concurrency))
                for name, mib in rss_by_process(system).items():
                    print(f"  RSS {name:<10} {mib:6.0f} MiB")
            finally:
                system.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
