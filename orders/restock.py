"""Restock alerts: customers who asked to be told when a sold-out product is back."""

from __future__ import annotations

import time
from collections.abc import Callable

from redis.asyncio import Redis

from core.keys import Keys
from core.records import ChatMessage, Role
from core.store import ConversationStore
from orders.models import Product


class RestockAlerts:
    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds

    async def subscribe(self, sku: str, conversation_id: str, language: str) -> None:
        key = self._keys.restock(sku)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, conversation_id, language)
            pipe.expire(key, self._ttl)
            await pipe.execute()

    async def announce(self, product: Product, compose: Callable[[Product, str], str]) -> int:
        """Tell every subscriber, in their conversation, that ``product`` is back; once each."""
        key = self._keys.restock(product.sku)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.delete(key)
            waiting, _ = await pipe.execute()
        store = ConversationStore(self._redis, self._keys, self._ttl)
        for conversation_id, language in waiting.items():
            text = compose(product, language)
            await store.append(ChatMessage(conversation_id, Role.BOT, text, time.time()))
        return len(waiting)
