"""Watching the waiting line: tickets nobody answered in time go up to a supervisor, tickets of
an agent who went away wait again, and every waiting customer is told their place and an
estimated wait whenever it changes."""

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
        self._announced: dict[str, int] = {}  # ticket id -> the place last told

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
        for place, ticket in enumerate(waiting, start=1):
            if self._announced.get(ticket.id) == place:
                continue
            self._announced[ticket.id] = place
            minutes = math.ceil(place * self._policy.minutes_per_ticket)
            event = Event(
                "queue_position",
                conversation_id=ticket.conversation_id,
                message={"position": place, "wait_minutes": minutes},
            )
            await self._redis.publish(self._keys.events, event.to_json())
        still_waiting = {ticket.id for ticket in waiting}
        for ticket_id in set(self._announced) - still_waiting:
            del self._announced[ticket_id]

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
