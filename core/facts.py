"""The service's recorded facts, kept in Redis as JSON (never pickle): what each customer
message was understood as, how each contact ended, what happened to each ticket. Reports and
metrics are computed from these, never guessed (handoff/facts.py keeps them, handoff/reports.py
reads them).

A *contact* is one visit of a customer: it starts with a message after a quiet spell and ends
when the customer has been quiet for the idle time with no ticket open. Its outcome:

* ``handed_over``: a ticket was opened (the rule that opened it is kept);
* ``abandoned``: no ticket, and the customer left with their last question not answered (the
  bot fell back, found no FAQ entry, or asked which entry was meant and got no choice), or
  asked for a person and got none;
* ``resolved``: neither, and the customer never asked for a person (such a request counts as
  the bot's failure even when an agent then solved it, so it is never ``resolved``).

A resolved contact followed by another contact of the same customer about the same topic
within 24 hours or 7 days is marked ``recontact_24h`` / ``recontact_7d``: it did not last.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any, TypeVar

# What kefu's Rasa channel says a turn did (the X-Kefu-Turn header, rasa_ext/channel.py).
TURN_HEADER = "X-Kefu-Turn"

FAQ_ACTION = "action_answer_faq"
FAQ_CLARIFY_RESPONSE = "utter_faq_clarify"
FAQ_UNKNOWN_RESPONSE = "utter_faq_unknown"
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTIONS = frozenset(
    {"action_default_fallback", "action_default_ask_affirmation", "action_two_stage_fallback"}
)
REQUEST_HUMAN_INTENT = "request_human"
EXPLICIT_REQUEST_RULE = "explicit_request"
# Intents that carry no topic of their own (a contact's topic is its first other intent).
NO_TOPIC_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thanks",
        "affirm",
        "deny",
        "bot_challenge",
        "stop",
        "inform",
        "rate",
        "out_of_scope",
        "request_human",
        "complain",
        "escalate",
        "handoff_closed",
        FALLBACK_INTENT,
        "",
    }
)
RECONTACT_SHORT_SECONDS = 24 * 3600
RECONTACT_LONG_SECONDS = 7 * 86400


# (str, Enum), not StrEnum: the Rasa server (Python 3.10) reads this module too.
class FaqOutcome(str, Enum):  # noqa: UP042
    NONE = ""  # not a FAQ turn
    ANSWERED = "answered"
    CLARIFIED = "clarified"  # asked which entry was meant
    NO_MATCH = "no_match"  # the knowledge base has no answer


class ContactOutcome(str, Enum):  # noqa: UP042
    RESOLVED = "resolved"
    HANDED_OVER = "handed_over"
    ABANDONED = "abandoned"


R = TypeVar("R", bound="_Record")


class _Record:
    """JSON in and out; fields a newer version added are read with their defaults."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls: type[R], data: str | bytes) -> R:
        record = json.loads(data)
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in record.items() if k in known})


@dataclass(frozen=True)
class TurnReading(_Record):
    """What Rasa made of one customer message: the X-Kefu-Turn header's content."""

    intent: str = ""
    confidence: float = 0.0
    actions: list[str] = field(default_factory=list)  # every action the turn ran, in order
    responses: list[str] = field(default_factory=list)  # each reply's response name ("": text)
    faq_entries: list[str] = field(default_factory=list)  # FAQ entries answered

    @property
    def faq(self) -> FaqOutcome:
        if FAQ_CLARIFY_RESPONSE in self.responses:
            return FaqOutcome.CLARIFIED
        if self.faq_entries:
            return FaqOutcome.ANSWERED
        if FAQ_ACTION in self.actions:
            return FaqOutcome.NO_MATCH  # the KB has no answer, or it could not read the question
        return FaqOutcome.NONE

    @property
    def fallback(self) -> bool:
        return self.intent == FALLBACK_INTENT or bool(FALLBACK_ACTIONS & set(self.actions))

    @property
    def unanswered(self) -> bool:
        """The customer's question got no answer from this turn."""
        return self.fallback or self.faq in (FaqOutcome.CLARIFIED, FaqOutcome.NO_MATCH)

    @property
    def topic(self) -> str:
        """The subject of the message: its FAQ entry, else its intent; "" when it has none."""
        if self.faq_entries:
            return f"faq:{self.faq_entries[0]}"
        return "" if self.intent in NO_TOPIC_INTENTS or self.intent == "faq" else self.intent


@dataclass(frozen=True)
class TurnFact(_Record):
    """One customer message the bot answered."""

    ts: float
    conversation_id: str
    channel: str
    intent: str
    confidence: float
    faq: str  # a FaqOutcome
    fallback: bool
    topic: str
    # The customer's words (personal data masked), kept only for the questions the knowledge
    # base could not answer: the report's knowledge-base gaps.
    question: str = ""
    language: str = ""


@dataclass(frozen=True)
class ContactFact(_Record):
    """One visit of a customer, recorded when it ended (see the module's docstring)."""

    id: str
    conversation_id: str
    customer: str  # the verified customer id, else the conversation id
    channel: str
    started_at: float
    ended_at: float
    messages: int
    topic: str
    intents: list[str]
    outcome: str  # a ContactOutcome
    asked_for_person: bool
    handoff_rule: str = ""  # the first ticket's rule
    tickets: list[str] = field(default_factory=list)
    recontact_24h: bool = False
    recontact_7d: bool = False


def contact_outcome(
    *, tickets: list[str], unanswered: bool, asked_for_person: bool
) -> ContactOutcome:
    if tickets:
        return ContactOutcome.HANDED_OVER
    # Asked for a person and got none: never a resolution.
    return ContactOutcome.ABANDONED if unanswered or asked_for_person else ContactOutcome.RESOLVED


def is_recontact(earlier: ContactFact, later_started_at: float, later_topic: str) -> str:
    """ "24h" or "7d" when a contact starting then about that topic is a re-contact of the
    earlier one (same topic, within the window after it ended); "" otherwise."""
    if not earlier.topic or earlier.topic != later_topic:
        return ""
    gap = later_started_at - earlier.ended_at
    if 0 <= gap <= RECONTACT_SHORT_SECONDS:
        return "24h"
    if 0 <= gap <= RECONTACT_LONG_SECONDS:
        return "7d"
    return ""


@dataclass(frozen=True)
class TicketFact(_Record):
    """A ticket's life, rewritten at every change: waited, first answered, handled, rated."""

    id: str
    conversation_id: str
    channel: str
    team: str
    rule: str  # the rule that opened it
    created_at: float
    status: str
    agent: str = ""
    claimed_at: float = 0.0
    first_response_at: float = 0.0
    closed_at: float = 0.0
    transfers: int = 0
    outcome: str = ""
    satisfaction: int = 0
    overdue_at: float = 0.0

    @property
    def wait_seconds(self) -> float | None:
        return self.claimed_at - self.created_at if self.claimed_at else None

    @property
    def first_response_seconds(self) -> float | None:
        """From the hand-over to the first word of a person."""
        return self.first_response_at - self.created_at if self.first_response_at else None

    @property
    def handle_seconds(self) -> float | None:
        return self.closed_at - self.claimed_at if self.closed_at and self.claimed_at else None


def reading_from_header(value: str | None) -> TurnReading:
    """The header's reading; an empty one when the header is missing or unreadable."""
    if not value:
        return TurnReading()
    try:
        record: Any = json.loads(value)
        return TurnReading(
            intent=str(record.get("intent") or ""),
            confidence=float(record.get("confidence") or 0.0),
            actions=[str(a) for a in record.get("actions") or []],
            responses=[str(r or "") for r in record.get("responses") or []],
            faq_entries=[str(e) for e in record.get("faq_entries") or []],
        )
    except (ValueError, TypeError, AttributeError):
        return TurnReading()
