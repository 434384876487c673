"""Watching the waiting line: tickets nobody answered in time go up to a supervisor, tickets of
an agent who went away wait again, and every waiting customer is told their place and an
estimated wait whenever it changes. Safe in several kefu processes at once: the place last told
is kept in Redis and changed in one step, so a customer hears each place once."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from core.keys import Keys
from core.records import ChatMessage, Event, Role
from core.store import ConversationStore
from core.texts import Texts
from handoff.agents import AgentDirectory
from handoff.queue import TicketQueue

# Tell the customer this place only if it is not the one they were last told (one step, so of
# two processes watching the line only one tells them).
_NEW_PLACE = """
-- KEYS[1] hash: ticket id -> place last told; ARGV[1] ticket id, ARGV[2] place, ARGV[3] TTL
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
# Forget the places of tickets that no longer wait.
_FORGET_PLACES = """
-- KEYS[1] hash: ticket id -> place last told; ARGV[1..] the ticket ids waiting now
local waiting = {}
for i = 1, #ARGV do waiting[ARGV[i]] = true end
for _, ticket in ipairs(redis.call('HKEYS', KEYS[1])) do
  if not waiting[ticket] then redis.call('HDEL', KEYS[1], ticket) end
end
return 1
"""
ANNOUNCED_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class QueuePolicy:
    first_response_seconds: float = 30.0  # SERVICE-NORMS: first human response within 30 s
    minutes_per_ticket: float = 3.0  # the estimate told to waiting customers, per place
    overdue_team: str = "supervisor"
    overdue_priority: int = 3


class QueueWatcher:
    def __init__(
        self,
        queue: TicketQueue,
        agents: AgentDirectory,
        store: ConversationStore,
        texts: Texts,
        redis: Redis,
        keys: Keys,
        policy: QueuePolicy,
    ) -> None:
        self._queue = queue
        self._agents = agents
        self._store = store
        self._texts = texts
        self._redis = redis
        self._keys = keys
        self._policy = policy
        self._new_place = redis.register_script(_NEW_PLACE)
        self._forget_places = redis.register_script(_FORGET_PLACES)

    async def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        await self._requeue_absent_agents()
        for ticket in await self._queue.waiting():
            waited = now - ticket.created_at
            if not ticket.overdue_at and waited > self._policy.first_response_seconds:
                await self._queue.escalate_overdue(
                    ticket,
                    team=self._policy.overdue_team,
                    priority=max(ticket.priority, self._policy.overdue_priority),
                    now=now,
                )
        waiting = await self._queue.waiting()
        announced = self._keys.queue_announced
        for place, ticket in enumerate(waiting, start=1):
            if not await self._new_place(
                keys=[announced], args=[ticket.id, place, ANNOUNCED_TTL_SECONDS]
            ):
                continue
            minutes = math.ceil(place * self._policy.minutes_per_ticket)
            event = Event(
                "queue_position",
                conversation_id=ticket.conversation_id,
                message={"position": place, "wait_minutes": minutes},
            )
            await self._redis.publish(self._keys.events, event.to_json())
        await self._forget_places(keys=[announced], args=[ticket.id for ticket in waiting])

    async def _requeue_absent_agents(self) -> None:
        for agent in await self._queue.busy_agents():
            if await self._agents.is_online(agent):
                continue
            for ticket in await self._queue.claimed_by(agent):
                if await self._queue.requeue(ticket, agent):
                    packet = await self._queue.packet(ticket.id)
                    notice = self._texts.get("agent_left", str(packet.get("language") or "zh"))
                    await self._store.append(
                        ChatMessage(ticket.conversation_id, Role.SYSTEM, notice, time.time())
                    )
