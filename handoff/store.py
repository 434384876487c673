"""Conversation ownership, transcripts and messages waiting for Rasa, in Redis."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace

from redis.asyncio import Redis

from handoff.keys import Keys
from handoff.models import Button, ChatMessage, Conversation, Event, Owner
from handoff.signals import TurnSignals

TRANSCRIPT_MAX_LEN = 5000
SIGNAL_TURNS_KEPT = 50

# Pop and forget the conversation in one step, so a message held meanwhile is never orphaned.
_RELEASE_OLDEST = """
redis.call('LPOP', KEYS[1])
if redis.call('LLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
return 1
"""


class ConversationStore:
    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds

    async def get(self, conversation_id: str) -> Conversation:
        record = await self._redis.hgetall(self._keys.conversation(conversation_id))
        if not record:
            return Conversation(conversation_id)
        return Conversation(
            conversation_id=conversation_id,
            owner=Owner(record.get("owner", Owner.BOT.value)),
            channel=record.get("channel", ""),
            ticket_id=record.get("ticket_id", ""),
            customer_id=record.get("customer_id", ""),
        )

    async def touch(self, conversation_id: str, channel: str) -> None:
        """Record the channel of a conversation, creating it owned by the bot if new."""
        key = self._keys.conversation(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "owner", Owner.BOT.value)
            pipe.hset(key, mapping={"channel": channel, "updated_at": repr(time.time())})
            pipe.expire(key, self._ttl)
            await pipe.execute()

    async def identify(self, conversation_id: str, customer_id: str) -> None:
        """The channel vouched for the customer behind the conversation (a signed shop login):
        kept on the conversation, and the customer's latest conversation is this one."""
        key = self._keys.conversation(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "owner", Owner.BOT.value)
            pipe.hset(key, "customer_id", customer_id)
            pipe.expire(key, self._ttl)
            pipe.set(self._keys.customer_conversation(customer_id), conversation_id, ex=self._ttl)
            await pipe.execute()

    async def conversation_of(self, customer_id: str) -> str:
        """The identified customer's latest conversation, or ""."""
        value = await self._redis.get(self._keys.customer_conversation(customer_id))
        return str(value or "")

    async def append(self, message: ChatMessage) -> ChatMessage:
        """Add a message to the transcript and announce it to the live pages, atomically. A
        message with buttons replaces the conversation's offer: only those may be tapped now."""
        key = self._keys.transcript(message.conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(key, {"m": message.to_json()}, maxlen=TRANSCRIPT_MAX_LEN, approximate=True)
            pipe.expire(key, self._ttl)
            if message.buttons:
                offer = json.dumps([asdict(b) for b in message.buttons], ensure_ascii=False)
                pipe.set(self._keys.offered(message.conversation_id), offer, ex=self._ttl)
            message_id, *_ = await pipe.execute()
        stored = replace(message, id=message_id)
        event = Event("message", conversation_id=message.conversation_id, message=stored.to_wire())
        await self._redis.publish(self._keys.events, event.to_json())
        return stored

    async def is_offered(self, conversation_id: str, button: Button) -> bool:
        """Whether the conversation's latest buttons include this one (its title and payload)."""
        offer = await self._redis.get(self._keys.offered(conversation_id))
        return bool(offer) and button in (Button(**b) for b in json.loads(offer))

    async def transcript(
        self, conversation_id: str, after: str = "", limit: int = 500
    ) -> list[ChatMessage]:
        """Messages in order; only those after the stream id ``after`` when given."""
        start = f"({after}" if after else "-"
        entries = await self._redis.xrange(
            self._keys.transcript(conversation_id), min=start, max="+", count=limit
        )
        return [ChatMessage.from_json(fields["m"], message_id) for message_id, fields in entries]

    async def record_signals(self, conversation_id: str, turn: TurnSignals) -> None:
        """Keep the signals of the last turns (the trajectory the rules and the agent see)."""
        key = self._keys.signals(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, turn.to_json())
            pipe.ltrim(key, -SIGNAL_TURNS_KEPT, -1)
            pipe.expire(key, self._ttl)
            await pipe.execute()

    async def recent_signals(self, conversation_id: str) -> list[TurnSignals]:
        records = await self._redis.lrange(self._keys.signals(conversation_id), 0, -1)
        return [TurnSignals.from_json(record) for record in records]

    async def hold(self, conversation_id: str, payload: str) -> None:
        """Keep a customer message for Rasa until it is reachable again."""
        key = self._keys.pending(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, payload)
            pipe.expire(key, self._ttl)
            pipe.sadd(self._keys.pending_conversations, conversation_id)
            pipe.expire(self._keys.pending_conversations, self._ttl)
            await pipe.execute()

    async def has_held(self, conversation_id: str) -> bool:
        return bool(await self._redis.llen(self._keys.pending(conversation_id)))

    async def conversations_with_held(self) -> list[str]:
        return sorted(await self._redis.smembers(self._keys.pending_conversations))

    async def oldest_held(self, conversation_id: str) -> str | None:
        value = await self._redis.lindex(self._keys.pending(conversation_id), 0)
        return str(value) if value is not None else None

    async def release_oldest(self, conversation_id: str) -> None:
        """Drop the oldest held message once it has been delivered."""
        await self._redis.eval(
            _RELEASE_OLDEST,
            2,
            self._keys.pending(conversation_id),
            self._keys.pending_conversations,
            conversation_id,
        )
