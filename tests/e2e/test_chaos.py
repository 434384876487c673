"""kill -9 of each part in turn (Rasa, the action server's worker, kefu, Redis) while customers
keep writing over REST and the websocket: every accepted message is answered, none twice,
in order; the console stays up while Rasa is down; the runner restarts what died.

A system of its own (``tools.launch``), since its parts are killed."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from core.keys import Keys
from core.settings import PROJECT_ROOT
from tests.waiting import async_wait_until
from tools.delivery.clients import Customer, RestCustomer, SocketCustomer, check
from tools.launch import LaunchedSystem, launch

pytestmark = pytest.mark.e2e
START_TIMEOUT = 300
# Questions the bot answers from its knowledge base, in turn (one asked three times in a row
# would be a repeated question, and a person would take over).
QUESTIONS = ("包邮吗", "什么时候发货", "可以开发票吗", "支持七天无理由退货吗")
# How each part is told apart among the runner's children (its command line).
PARTS = {
    "redis": "redis-server",
    "rasa": "-m rasa run",
    "actions": "actions.server",
    "kefu": "bot serve",
}


@pytest.fixture(scope="module")
def chaos_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedSystem]:
    model = Path(os.environ.get("KEFU_MODEL") or PROJECT_ROOT / "models" / "kefu.tar.gz")
    launched = launch(tmp_path_factory.mktemp("chaos"), model=model.resolve())
    try:
        launched.wait_until_up(START_TIMEOUT)
        yield launched
    finally:
        code = launched.stop()
    assert code == 0, launched.output.read_text()


def child_processes(parent: int) -> dict[int, str]:
    """pid -> command line of the processes whose parent is ``parent``."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            found[int(stat.parent.name)] = command
    return found


def part_pid(system: LaunchedSystem, part: str) -> int:
    matches = [
        pid for pid, cmd in child_processes(system.process.pid).items() if PARTS[part] in cmd
    ]
    assert len(matches) == 1, (part, child_processes(system.process.pid))
    return matches[0]


def victim(system: LaunchedSystem, part: str) -> int:
    """The process to kill: the part itself, or for the action server its worker (Sanic's
    main process stays, which a runner waiting for the process alone would never notice)."""
    pid = part_pid(system, part)
    if part != "actions":
        return pid
    # Sanic's worker, the last process it spawns (after its resource tracker and manager).
    workers = [p for p, cmd in child_processes(pid).items() if "spawn_main" in cmd]
    assert workers, "the action server has no worker process"
    return max(workers)


async def status(http: aiohttp.ClientSession, url: str) -> int:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as response:
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def test_every_accepted_message_is_answered_once_in_order_across_kill_9(
    chaos_system: LaunchedSystem,
):
    url = chaos_system.url
    async with aiohttp.ClientSession() as http:
        rest: list[RestCustomer] = [RestCustomer(http, url) for _ in range(3)]
        sockets: list[SocketCustomer] = [SocketCustomer(http, url) for _ in range(2)]
        customers: list[Customer] = [*rest, *sockets]
        for customer in customers:
            await customer.open()
        readers = [asyncio.create_task(s.run()) for s in sockets]
        writing = True

        async def keep_writing(customer: Customer) -> None:
            asked = 0
            while writing:
                question = QUESTIONS[asked % len(QUESTIONS)]
                asked += 1
                if isinstance(customer, RestCustomer):
                    await customer.say(question, deadline=time.monotonic() + 240)
                else:
                    assert isinstance(customer, SocketCustomer)
                    await customer.say(question)
                await asyncio.sleep(1.5)

        writers = [asyncio.create_task(keep_writing(c)) for c in customers]
        try:
            for part in ("rasa", "actions", "kefu", "redis"):
                before = part_pid(chaos_system, part)
                os.kill(victim(chaos_system, part), signal.SIGKILL)
                if part == "rasa":
                    # Rasa down is held messages, not an outage: the console still serves.

                    async def rasa_gone() -> bool:
                        return await status(http, f"{url}/healthz") == 503

                    await async_wait_until(rasa_gone, timeout=30, what="kefu to see Rasa gone")
                    assert await status(http, f"{url}/agent/login") == 200
                await async_wait_until(
                    lambda part=part, before=before: _restarted(chaos_system, http, part, before),
                    timeout=240,
                    what=f"{part} to be restarted and the system healthy",
                )
                await asyncio.sleep(3)  # customers write to the healthy system for a while too
        finally:
            writing = False
            await asyncio.gather(*writers)

        async def all_acknowledged() -> bool:
            return all(not s.unacknowledged for s in sockets)

        await async_wait_until(all_acknowledged, timeout=120, what="every message to be kept")
        for task in readers:
            task.cancel()
        redis = Redis.from_url(chaos_system.redis_url, decode_responses=True)
        keys = Keys()
        try:

            async def nothing_pending() -> bool:
                for customer in customers:
                    conversation = customer.conversation["conversation_id"]
                    if await redis.llen(keys.pending(conversation)):
                        return False
                return True

            await async_wait_until(nothing_pending, timeout=180, what="every message answered")
            results = [
                check(
                    c,
                    await c.transcript(),
                    await redis.llen(keys.pending(c.conversation["conversation_id"])),
                )
                for c in customers
            ]
        finally:
            await redis.aclose()
    sent = sum(r.sent for r in results)
    tries = sum(m.tries for c in customers for m in c.sent)
    print(
        f"chaos: {sent} messages sent ({tries} tries, {sum(c.failures for c in customers)} "
        f"failed tries), {sum(r.accepted for r in results)} accepted, "
        f"{sum(r.lost for r in results)} lost, {sum(r.twice for r in results)} twice"
    )
    assert sent >= 30 and all(r.accepted == r.sent for r in results), results
    assert all(r.ok for r in results), results
    said = chaos_system.output.read_text().splitlines()
    for part in PARTS:
        assert any(f"  {part} " in line and "restarting it" in line for line in said), said


async def test_ctrl_c_with_a_customer_socket_open_stops_every_part_in_its_turn(
    chaos_system: LaunchedSystem,
):
    async with aiohttp.ClientSession() as http:
        customer = SocketCustomer(http, chaos_system.url)
        await customer.open()
        params = {k: customer.conversation[k] for k in ("conversation_id", "token")}
        async with http.ws_connect(f"{chaos_system.url}/ws/chat", params=params) as socket:
            assert (await socket.receive_json(timeout=10))["type"] == "history"
            code = await asyncio.to_thread(chaos_system.stop)
            closed = await socket.receive(timeout=10)
    assert code == 0
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    said = chaos_system.output.read_text()
    # kefu closed its sockets and stopped on SIGTERM: nothing had to be killed.
    assert "did not stop" not in said and said.rstrip().endswith("All parts stopped.")


async def _restarted(
    system: LaunchedSystem, http: aiohttp.ClientSession, part: str, before: int
) -> bool:
    try:
        now = part_pid(system, part)
    except AssertionError:
        return False  # between the old process and the new one
    if now == before:
        return False
    return await status(http, f"{system.url}/healthz") == 200
