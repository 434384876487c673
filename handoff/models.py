"""Typed records kept in Redis as JSON (never pickle)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

# The teams agents belong to and tickets wait for (rules.yml names them, transfers target them).
TEAMS = ("pre_sale", "after_sale", "complaints", "supervisor")


class Owner(StrEnum):
    """Who answers the conversation's next message."""

    BOT = "bot"
    QUEUE = "queue"
    AGENT = "agent"


class Role(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class TicketStatus(StrEnum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    CLOSED = "closed"


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class ChatMessage:
    conversation_id: str
    role: Role
    text: str
    ts: float
    buttons: tuple[Button, ...] = ()
    author: str = ""
    id: str = ""
    # The channel's own id for a customer message: the page that sent it knows it as its own.
    sent_id: str = ""

    def to_json(self) -> str:
        record = asdict(self)
        del record["id"]  # the stream assigns it
        return json.dumps(record, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str, message_id: str = "") -> ChatMessage:
        record = json.loads(data)
        return cls(
            conversation_id=record["conversation_id"],
            role=Role(record["role"]),
            text=record["text"],
            ts=float(record["ts"]),
            buttons=tuple(Button(**b) for b in record.get("buttons", ())),
            author=record.get("author", ""),
            id=message_id,
            sent_id=record.get("sent_id", ""),
        )

    def to_wire(self) -> dict[str, Any]:
        """The shape sent to pages and API clients."""
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "role": self.role.value,
            "text": self.text,
            "ts": self.ts,
            "buttons": [asdict(b) for b in self.buttons],
            "author": self.author,
            "sent_id": self.sent_id,
        }


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    owner: Owner = Owner.BOT
    channel: str = ""
    ticket_id: str = ""
    customer_id: str = ""  # the shop customer the channel vouched for; "" when anonymous


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


@dataclass(frozen=True)
class Event:
    """Published on the events channel for the live pages of every kefu server process."""

    type: str
    conversation_id: str = ""
    ticket_id: str = ""
    message: dict[str, Any] = field(default_factory=dict)
    owner: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str | bytes) -> Event:
        record = json.loads(data)
        return cls(
            type=record["type"],
            conversation_id=record.get("conversation_id", ""),
            ticket_id=record.get("ticket_id", ""),
            message=record.get("message") or {},
            owner=record.get("owner", ""),
        )
