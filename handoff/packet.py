"""The context packet: everything the bot knows, so the agent never asks the customer to repeat."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.masking import mask_text
from core.texts import console_texts
from handoff.models import COMPLAINT_TEAMS


@dataclass(frozen=True)
class Turn:
    role: str  # customer or bot
    text: str
    ts: float
    intent: str = ""
    confidence: float = 0.0
    anger: float | None = None  # customer turns: the signal trajectory the rules saw
    negative: float | None = None


@dataclass(frozen=True)
class ContextPacket:
    conversation_id: str
    channel: str
    created_at: float
    language: str
    reasons: tuple[str, ...]
    priority: int
    team: str
    summary: str
    turns: tuple[Turn, ...]
    slots: dict[str, Any] = field(default_factory=dict)
    orders: tuple[dict[str, Any], ...] = ()
    faq_answers: tuple[str, ...] = ()
    suggested_steps: tuple[str, ...] = ()
    # The summary and the steps in English too (``summary`` and ``suggested_steps`` are in
    # Chinese): the console shows both.
    summary_en: str = ""
    suggested_steps_en: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_packet(
    conversation_id: str,
    channel: str,
    turns: list[Turn],
    *,
    reasons: tuple[str, ...],
    priority: int,
    team: str,
    reasons_en: tuple[str, ...] = (),
    language: str = "zh",
    slots: dict[str, Any] | None = None,
    orders: tuple[dict[str, Any], ...] = (),
    faq_answers: tuple[str, ...] = (),
) -> ContextPacket:
    """Assemble the packet with personal data masked in the transcript and a three-element summary.
    ``reasons_en``: the reasons in English, for the English summary (the Chinese ones without)."""
    masked = tuple(replace(t, text=mask_text(t.text)) for t in turns)
    now = time.time()
    return ContextPacket(
        conversation_id=conversation_id,
        channel=channel,
        created_at=now,
        language=language,
        reasons=reasons,
        priority=priority,
        team=team,
        summary=summarise(masked, reasons, now),
        turns=masked,
        slots={k: v for k, v in (slots or {}).items() if v is not None},
        orders=orders,
        faq_answers=faq_answers,
        suggested_steps=suggest_steps(team, orders),
        summary_en=summarise(masked, reasons_en or reasons, now, "en"),
        suggested_steps_en=suggest_steps(team, orders, "en"),
    )


def summarise(
    turns: tuple[Turn, ...], reasons: tuple[str, ...], now: float, language: str = "zh"
) -> str:
    """Time, problem and what the customer wants: the three elements of a registered complaint,
    in ``language`` around the customer's own words and the reasons."""
    texts = console_texts()
    asked = [t.text for t in turns if t.role == "customer" and _describes(t)]
    problem = (
        texts.get("summary_problem_separator", language).join(asked[-3:])
        if asked
        else texts.get("summary_no_problem", language)
    )
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(now))
    wants = (
        texts.get("summary_wants_separator", language).join(reasons)
        if reasons
        else texts.get("summary_default_wants", language)
    )
    return texts.get("summary", language, when=when, problem=problem, wants=wants)


# Answers to the bot's questions (yes, no, phone digits, a rating) are in the transcript; the
# summary's problem is what the customer said (an order named in words stays: 订单号2025...).
ANSWER_INTENTS = frozenset({"affirm", "deny", "rate"})
_WORDS = re.compile(r"[A-Za-z\u3400-\u9fff]")


def _describes(turn: Turn) -> bool:
    return turn.intent not in ANSWER_INTENTS and bool(_WORDS.search(turn.text))


def suggest_steps(
    team: str, orders: tuple[dict[str, Any], ...], language: str = "zh"
) -> tuple[str, ...]:
    steps = ["step_apologise"]
    if orders:
        steps.append("step_check_order")
    # A complaint by the team the rule sent it to, not by the wording of its reason.
    if team in COMPLAINT_TEAMS:
        steps.append("step_register_complaint")
    steps.append("step_confirm_solved")
    texts = console_texts()
    return tuple(texts.get(step, language) for step in steps)
