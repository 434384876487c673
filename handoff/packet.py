"""The context packet: everything the bot knows, so the agent never asks the customer to repeat."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.masking import mask_text


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
    language: str = "zh",
    slots: dict[str, Any] | None = None,
    orders: tuple[dict[str, Any], ...] = (),
    faq_answers: tuple[str, ...] = (),
) -> ContextPacket:
    """Assemble the packet with personal data masked in the transcript and a three-element summary."""
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
        suggested_steps=suggest_steps(reasons, orders),
    )


def summarise(turns: tuple[Turn, ...], reasons: tuple[str, ...], now: float) -> str:
    """Time, problem and what the customer wants: the three elements of a registered complaint."""
    asked = [t.text for t in turns if t.role == "customer" and _describes(t)]
    problem = "；".join(asked[-3:]) if asked else "（客户尚未描述问题）"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(now))
    wants = "、".join(reasons) if reasons else "人工协助"
    return f"时间：{when}。问题：{problem}。诉求：{wants}。"


# Answers to the bot's questions (yes, no, phone digits, a rating) are in the transcript; the
# summary's problem is what the customer said (an order named in words stays: 订单号2025...).
ANSWER_INTENTS = frozenset({"affirm", "deny", "rate"})
_WORDS = re.compile(r"[A-Za-z\u3400-\u9fff]")


def _describes(turn: Turn) -> bool:
    return turn.intent not in ANSWER_INTENTS and bool(_WORDS.search(turn.text))


def suggest_steps(reasons: tuple[str, ...], orders: tuple[dict[str, Any], ...]) -> tuple[str, ...]:
    steps = ["先致歉并确认已了解上文，不要让客户重复描述"]
    if orders:
        steps.append("核对订单卡片中的状态与物流后给出具体方案和时间")
    if any("投诉" in r or "危机" in r for r in reasons):
        steps.append("按投诉流程登记（时间、问题、诉求），24 小时内首次反馈")
    steps.append("结束前确认客户问题是否解决，并询问是否还有其他需要")
    return tuple(steps)
