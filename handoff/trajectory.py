"""The signals of a conversation's recent customer messages (the trajectory the rules and the
agent see), in Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from core.keys import Keys
from handoff.signals import TurnSignals

TURNS_KEPT = 50


class SignalHistory:
    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds

    async def record(self, conversation_id: str, turn: TurnSignals) -> None:
        key = self._keys.signals(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, turn.to_json())
            pipe.ltrim(key, -TURNS_KEPT, -1)
            pipe.expire(key, self._ttl)
            await pipe.execute()

    async def recent(self, conversation_id: str) -> list[TurnSignals]:
        records = await self._redis.lrange(self._keys.signals(conversation_id), 0, -1)
        return [TurnSignals.from_json(record) for record in records]
