"""The queue's records, kept in Redis as JSON (never pickle): tickets, notes, teams."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

# The teams agents belong to and tickets wait for (rules.yml names them, transfers target them).
TEAMS = ("pre_sale", "after_sale", "complaints", "supervisor")
# The teams that take complaints: their tickets are complaints with deadlines, and the packet
# suggests registering one.
COMPLAINT_TEAMS = frozenset({"complaints", "supervisor"})


class TicketStatus(StrEnum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    CLOSED = "closed"


@dataclass(frozen=True)
class Ticket:
    id: str
    conversation_id: str
    channel: str
    status: TicketStatus
    priority: int
    team: str
    reasons: tuple[str, ...]
    summary: str
    created_at: float
    agent: str = ""
    claimed_at: float = 0.0
    closed_at: float = 0.0
    outcome: str = ""
    overdue_at: float = 0.0  # when it waited past the first-response target and went up
    callback_by: float = 0.0  # promised to call the customer back by then (no agent could answer)
    satisfaction: int = 0  # the customer's 1-5 rating after the agent closed it; 0: not rated
    first_response_at: float = 0.0  # the first message a person sent the customer
    transfers: int = 0  # to another team or agent

    def to_hash(self) -> dict[str, str]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "status": self.status.value,
            "priority": str(self.priority),
            "team": self.team,
            "reasons": json.dumps(list(self.reasons), ensure_ascii=False),
            "summary": self.summary,
            "created_at": repr(self.created_at),
            "agent": self.agent,
            "claimed_at": repr(self.claimed_at),
            "closed_at": repr(self.closed_at),
            "outcome": self.outcome,
            "overdue_at": repr(self.overdue_at),
            "callback_by": repr(self.callback_by),
            "satisfaction": str(self.satisfaction),
            "first_response_at": repr(self.first_response_at),
            "transfers": str(self.transfers),
        }

    @classmethod
    def from_hash(cls, record: dict[str, str]) -> Ticket:
        return cls(
            id=record["id"],
            conversation_id=record["conversation_id"],
            channel=record.get("channel", ""),
            status=TicketStatus(record["status"]),
            priority=int(record.get("priority", "1")),
            team=record.get("team", ""),
            reasons=tuple(json.loads(record.get("reasons", "[]"))),
            summary=record.get("summary", ""),
            created_at=float(record.get("created_at", "0")),
            agent=record.get("agent", ""),
            claimed_at=float(record.get("claimed_at", "0")),
            closed_at=float(record.get("closed_at", "0")),
            outcome=record.get("outcome", ""),
            overdue_at=float(record.get("overdue_at", "0")),
            callback_by=float(record.get("callback_by", "0")),
            satisfaction=int(record.get("satisfaction", "0")),
            first_response_at=float(record.get("first_response_at", "0")),
            transfers=int(record.get("transfers", "0")),
        )

    def to_wire(self) -> dict[str, Any]:
        wire = asdict(self)
        wire["status"] = self.status.value
        wire["reasons"] = list(self.reasons)
        return wire


@dataclass(frozen=True)
class Note:
    """An agent's internal note on a ticket: for colleagues and the next shift, never the customer."""

    agent: str
    text: str
    ts: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> Note:
        return cls(**json.loads(data))
