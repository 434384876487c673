"""Watching the waiting line: tickets nobody answered in time go up to a supervisor, and every
waiting customer is told their place and an estimated wait whenever it changes."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from handoff.keys import Keys
from handoff.models import Event
from handoff.queue import TicketQueue


@dataclass(frozen=True)
class QueuePolicy:
    first_response_seconds: float = 30.0  # SERVICE-NORMS: first human response within 30 s
    minutes_per_ticket: float = 3.0  # the estimate told to waiting customers, per place
    overdue_team: str = "supervisor"
    overdue_priority: int = 3


class QueueWatcher:
    def __init__(self, queue: TicketQueue, redis: Redis, keys: Keys, policy: QueuePolicy) -> None:
        self._queue = queue
        self._redis = redis
        self._keys = keys
        self._policy = policy
        self._announced: dict[str, int] = {}  # ticket id -> the place last told

    async def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
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
