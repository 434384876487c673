"""Many customers at once, half over REST and half on the websocket, each writing a number of
messages: what was sent, accepted, lost, taken twice, out of order, left unanswered."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

import aiohttp
from redis.asyncio import Redis

from core.keys import Keys
from core.store import ConversationStore
from tools.delivery.clients import Check, Customer, RestCustomer, SocketCustomer, check

# Questions the knowledge base answers, asked in turn (the same one three times in a row
# would be a repeated question, for a person).
QUESTIONS = ("包邮吗", "什么时候发货", "可以开发票吗", "支持七天无理由退货吗")


@dataclass(frozen=True)
class LoadReport:
    customers: int
    checks: tuple[Check, ...]
    tries: int
    failed_tries: int
    seconds: float
    accept_ms: tuple[float, ...]  # from the first try to the acknowledgement, per message

    @property
    def sent(self) -> int:
        return sum(c.sent for c in self.checks)

    def total(self, field: str) -> int:
        return sum(int(getattr(c, field)) for c in self.checks)

    def lines(self) -> list[str]:
        accept = sorted(self.accept_ms)
        p95 = accept[int(0.95 * (len(accept) - 1))] if accept else 0.0
        return [
            f"customers {self.customers} (half REST, half websocket), messages sent {self.sent}",
            f"tries {self.tries}, failed tries {self.failed_tries}",
            f"accepted {self.total('accepted')}, lost {self.total('lost')}, "
            f"taken twice {self.total('twice')}, conversations out of order "
            f"{self.total('out_of_order')}, unanswered {self.total('unanswered')}, "
            f"answers repeated {self.total('repeated_answers')}",
            f"acknowledged (REST: with its answer) after: median {statistics.median(accept) if accept else 0:.0f} ms, "
            f"p95 {p95:.0f} ms; all answered in {self.seconds:.1f} s "
            f"({self.sent / self.seconds:.1f} messages/s)",
        ]


async def run_load(
    url: str, redis_url: str, customers: int, messages: int, prefix: str = "kefu"
) -> LoadReport:
    started = time.monotonic()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=customers + 10)) as http:
        rest = [RestCustomer(http, url) for _ in range(customers - customers // 2)]
        sockets = [SocketCustomer(http, url) for _ in range(customers // 2)]
        everyone: list[Customer] = [*rest, *sockets]
        await asyncio.gather(*(c.open() for c in everyone))
        readers = [asyncio.create_task(s.run()) for s in sockets]
        deadline = time.monotonic() + 600

        async def write(customer: Customer) -> None:
            for number in range(messages):
                question = QUESTIONS[number % len(QUESTIONS)]
                if isinstance(customer, RestCustomer):
                    await customer.say(question, deadline)
                else:
                    assert isinstance(customer, SocketCustomer)
                    await customer.say(question)

        try:
            await asyncio.gather(*(write(c) for c in everyone))
            redis = Redis.from_url(redis_url, decode_responses=True)
            keys = Keys(prefix)
            try:
                checks = await _settled(everyone, sockets, redis, keys, deadline)
            finally:
                await redis.aclose()
        finally:
            for reader in readers:
                reader.cancel()
    seconds = time.monotonic() - started
    sent = [m for c in everyone for m in c.sent]
    return LoadReport(
        customers=customers,
        checks=checks,
        tries=sum(m.tries for m in sent),
        failed_tries=sum(c.failures for c in everyone),
        seconds=seconds,
        accept_ms=tuple((m.accepted_at - m.first_try_at) * 1000 for m in sent if m.accepted_at),
    )


async def _settled(
    everyone: list[Customer],
    sockets: list[SocketCustomer],
    redis: Redis,
    keys: Keys,
    deadline: float,
) -> tuple[Check, ...]:
    """Once every message is acknowledged and none awaits an answer (or the deadline passed):
    each conversation's check."""

    store = ConversationStore(redis, keys, ttl_seconds=3600)

    async def pending(customer: Customer) -> int:
        return await store.pending_count(customer.conversation["conversation_id"])

    while time.monotonic() < deadline:
        waiting = any(s.unacknowledged for s in sockets) or any(
            [await pending(c) for c in everyone]
        )
        if not waiting:
            break
        await asyncio.sleep(0.5)
    return tuple([check(c, await c.transcript(), await pending(c)) for c in everyone])
