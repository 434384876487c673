"""The backends the actions use, each opened lazily on first use inside the action server, and
once per action-server process: the server hands every action the process's ``Backends``."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from core import settings as settings_module
from core.keys import Keys
from core.settings import Settings
from faq.knowledge import load_policy
from handoff.metrics import MULTIPROCESS_ENV, ServiceMetrics
from handoff.queue import TicketQueue
from handoff.signals import Rule, load_rules
from orders.client import OrderBackend
from orders.factory import open_backend

RETURN_WINDOW_POLICY = "return_window_days"


class Backends:
    """The order backend and Redis, created on first use (never at import); one per action
    server process (``actions.server``), closed when it stops."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._orders: OrderBackend | None = None
        self._redis: Redis | None = None
        self._return_window_days: int | None = None
        self._rules: tuple[Rule, ...] | None = None
        self._queue: TicketQueue | None = None
        self._scripts: dict[str, AsyncScript] = {}

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = settings_module.load()
        return self._settings

    @property
    def keys(self) -> Keys:
        return Keys(self.settings.redis_prefix)

    async def return_window_days(self) -> int:
        """The shop's no-reason return window, from the one place shop policy lives (read once,
        off the event loop)."""
        if self._return_window_days is None:
            policy = await asyncio.to_thread(load_policy, self.settings.faq_dir)
            self._return_window_days = int(policy.get(RETURN_WINDOW_POLICY, "7"))
        return self._return_window_days

    async def rules(self) -> tuple[Rule, ...]:
        """The shop's escalation rules (handoff/rules.yml), read once, off the event loop; like
        the kefu server, the action server reads an edited file when it restarts."""
        if self._rules is None:
            self._rules = await asyncio.to_thread(load_rules)
        return self._rules

    async def orders(self) -> OrderBackend:
        """The configured order backend (the demo store is seeded on first use); raises
        OrderError."""
        if self._orders is None:
            # The assistant tells customers the window from policy.yml: the store enforces the same.
            settings = replace(self.settings, return_window_days=await self.return_window_days())
            self._orders = open_backend(settings)
        return self._orders

    async def aclose(self) -> None:
        """Close what was opened (the order backend, the Redis connections)."""
        if self._orders is not None:
            await self._orders.aclose()
        if self._redis is not None:
            await self._redis.aclose()
        self._orders = self._redis = self._queue = None
        self._scripts.clear()

    def queue(self) -> TicketQueue:
        """The ticket queue (its scripts registered once); the hand-overs it opens are counted
        in the kefu server's ``/metrics`` when the runner gave this process the metrics
        directory (handoff/metrics.py)."""
        if self._queue is None:
            settings = self.settings
            self._queue = TicketQueue(
                self.redis(),
                self.keys,
                settings.conversation_ttl_seconds,
                facts_ttl_seconds=settings.facts_ttl_seconds,
                metrics=ServiceMetrics() if os.environ.get(MULTIPROCESS_ENV) else None,
            )
        return self._queue

    def redis(self) -> Redis:
        if self._redis is None:
            self._redis = Redis.from_url(self.settings.effective_redis_url, decode_responses=True)
        return self._redis

    def script(self, source: str) -> AsyncScript:
        """A Lua script registered once on this process's Redis: sent by its SHA after that."""
        if source not in self._scripts:
            self._scripts[source] = self.redis().register_script(source)
        return self._scripts[source]


class UsesBackends:
    """An action that reaches the backends. It starts with a set of its own (so an action made
    on its own, as in a test, works); the action server gives every action the process's one
    set instead (``share``)."""

    def __init__(self) -> None:
        self._backends = Backends()

    def share(self, backends: Backends) -> None:
        self._backends = backends
