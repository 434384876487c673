"""The backends the actions use, each opened lazily on first use inside the action server."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from bot import settings as settings_module
from bot.settings import Settings
from handoff.keys import Keys
from orders.client import OrderBackend
from orders.demo_store import DemoOrderStore


class Backends:
    """One per action: the order store and Redis, created on first use (never at import)."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._orders: DemoOrderStore | None = None
        self._redis: Redis | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = settings_module.load()
        return self._settings

    @property
    def keys(self) -> Keys:
        return Keys(self.settings.redis_prefix)

    async def orders(self) -> OrderBackend:
        """The demo store (seeded on first use, in a worker thread); raises OrderError."""
        if self._orders is None:
            store = DemoOrderStore(self.settings.orders_db)
            await asyncio.to_thread(store.ensure_seeded)
            self._orders = store
        return self._orders

    def redis(self) -> Redis:
        if self._redis is None:
            self._redis = Redis.from_url(self.settings.effective_redis_url, decode_responses=True)
        return self._redis
