"""What supervisors watch: complaints against their deadlines, the duty report, shift handover."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

from core.keys import Keys
from core.texts import console_texts
from handoff.models import COMPLAINT_TEAMS, Note, Ticket, TicketStatus
from handoff.queue import TicketQueue

# SERVICE-NORMS, Complaints: first feedback within 24 h, resolved and followed up within 72 h.
FIRST_FEEDBACK_SECONDS = 24 * 3600
RESOLUTION_SECONDS = 72 * 3600
COMPLAINT_RULES = frozenset({"crisis_keyword", "angry", "anger_rising"})
HANDOVER_KEPT = 200


@dataclass(frozen=True)
class Complaint:
    ticket: dict[str, Any]
    first_feedback_due: float
    resolution_due: float
    first_feedback_late: bool
    resolution_late: bool


def is_complaint(ticket: Ticket) -> bool:
    return ticket.team in COMPLAINT_TEAMS or bool(COMPLAINT_RULES & set(ticket.reasons))


def complaints(tickets: list[Ticket], now: float) -> list[Complaint]:
    """Complaint tickets with their deadlines, the most urgent (earliest resolution due) first."""
    found = []
    for ticket in filter(is_complaint, tickets):
        first_due = ticket.created_at + FIRST_FEEDBACK_SECONDS
        resolution_due = ticket.created_at + RESOLUTION_SECONDS
        answered_at = ticket.claimed_at or ticket.closed_at
        found.append(
            Complaint(
                ticket=ticket.to_wire(),
                first_feedback_due=first_due,
                resolution_due=resolution_due,
                first_feedback_late=(answered_at or now) > first_due,
                resolution_late=(ticket.closed_at or now) > resolution_due,
            )
        )
    return sorted(found, key=lambda c: c.resolution_due)


def duty_report(tickets: list[Ticket], handover: list[Note], since: float) -> dict[str, Any]:
    """Handled, unresolved and suggestions for the duty that started at ``since``."""
    closed = [t for t in tickets if t.status is TicketStatus.CLOSED]
    unresolved = [t for t in tickets if t.status is not TicketStatus.CLOSED]
    reasons = Counter(reason for t in tickets for reason in t.reasons)
    suggestions = [note.text for note in handover if note.ts >= since]
    overdue = [t for t in tickets if t.overdue_at]
    if overdue:
        suggestions.append(console_texts().both("report_overdue", count=len(overdue)))
    if reasons:
        top, count = reasons.most_common(1)[0]
        suggestions.append(console_texts().both("report_top_reason", reason=top, count=count))
    ratings = [t.satisfaction for t in closed if t.satisfaction]
    return {
        "since": since,
        "satisfaction": round(sum(ratings) / len(ratings), 2) if ratings else None,
        "satisfied_share": round(sum(r >= 4 for r in ratings) / len(ratings), 3)
        if ratings
        else None,
        "ratings": len(ratings),
        "opened": len(tickets),
        "handled": len(closed),
        "handled_by_agent": dict(Counter(t.agent for t in closed)),
        "outcomes": dict(Counter(t.outcome for t in closed)),
        "unresolved": [t.to_wire() for t in unresolved],
        "reasons": dict(reasons),
        "suggestions": suggestions,
    }


class Supervision:
    def __init__(self, redis: Redis, keys: Keys, queue: TicketQueue, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._queue = queue
        self._ttl = ttl_seconds

    async def complaints(self, now: float | None = None) -> list[dict[str, Any]]:
        now = time.time() if now is None else now
        recent = await self._queue.since(now - 2 * RESOLUTION_SECONDS)
        return [asdict(c) for c in complaints(recent, now)]

    async def duty_report(self, since: float) -> dict[str, Any]:
        return duty_report(await self._queue.since(since), await self.handover_notes(), since)

    async def add_handover(self, note: Note) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self._keys.handover, note.to_json())
            pipe.ltrim(self._keys.handover, -HANDOVER_KEPT, -1)
            pipe.expire(self._keys.handover, self._ttl)
            await pipe.execute()

    async def handover_notes(self) -> list[Note]:
        records = await self._redis.lrange(self._keys.handover, 0, -1)
        return [Note.from_json(record) for record in records]
