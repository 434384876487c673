"""Signals computed for every customer message, and the shop's escalation rules (rules.yml).

The router computes them for each message, stores them per turn, and sends them to Rasa as
metadata; a rule that fires hands the conversation to a human. Case rules (VIP, order value,
refund outside policy, several open problems, fallbacks in a row, an order shown as delivered
that the customer has not received) need facts only the actions
know (the verified customer, the orders, the dialogue): the actions check them with
``case_escalation``; the router never fires them on text alone.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from core.language import HAN, LATIN_WORD, detect_language
from core.pasted import read
from handoff.models import TEAMS

RULES_FILE = Path(__file__).with_name("rules.yml")
# Kinds the router checks on every message's text and emotion scores.
TEXT_KINDS = ("keywords", "patterns", "anger_above", "anger_rising", "repeated_question")
# Kinds the actions check with facts the router cannot see (``case_escalation``).
CASE_KINDS = (
    "vip_customer",
    "order_value_above",
    "refund_outside_policy",
    "open_problems",
    "fallbacks_in_a_row",
    "delivered_not_received",
)
# Kinds the router checks on what happened to a message: the bot gave it no answer at all.
SYSTEM_KINDS = ("no_answer",)
RULE_KINDS = TEXT_KINDS + CASE_KINDS + SYSTEM_KINDS
_COMMON_SETTINGS = frozenset({"id", "kind", "priority", "team", "reason", "reason_en"})
# A rule without ``reason_en`` still works: the agent's English summary shows the Chinese reason.
_REQUIRED_SETTINGS = _COMMON_SETTINGS - {"kind", "reason_en"}
# The settings each kind reads (anything else in a rule is a typo and refused), with defaults.
_SETTINGS: dict[str, dict[str, Any]] = {
    "keywords": {"keywords": None, "unless": (), "not_within": ()},
    "patterns": {"patterns": None, "unless": (), "not_within": ()},
    "anger_above": {"threshold": None},
    "anger_rising": {"turns": None, "threshold": None},
    "repeated_question": {"turns": None},
    "vip_customer": {},
    "order_value_above": {"threshold_yuan": None},
    "refund_outside_policy": {},
    "open_problems": {"count": 2},
    "fallbacks_in_a_row": {"turns": 2},
    "delivered_not_received": {"patterns": None, "unless": ()},
    "no_answer": {},
}
# What does not change a question when it is asked again: punctuation, spaces, particles.
_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)
_LEADING = "亲"
_TRAILING = "吗呢啊哈嘛呀吧啦哦"


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    priority: int
    team: str
    reason: str
    reason_en: str  # the reason in English, for the packet's English summary
    keywords: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    # Regular expressions that stop a keywords, patterns or delivered_not_received rule: a
    # dispute only asked about (会不会被驳回) is a question, not a dispute.
    unless: tuple[re.Pattern[str], ...] = ()
    # Words that hold a keyword without meaning it (报警器 holds 报警, 垃圾袋 holds 垃圾): taken
    # out of the words before a keywords or patterns rule reads them.
    not_within: tuple[str, ...] = ()
    threshold: float = 0.0
    turns: int = 0
    threshold_yuan: float = 0.0
    count: int = 0


@dataclass(frozen=True)
class CaseFacts:
    """What the actions know about the case, for the case rules."""

    vip: bool = False  # the verified customer is a VIP
    order_total_cents: int = 0  # the largest order mentioned in the conversation
    refund_outside_policy: bool = False  # a return/refund asked outside the return window
    open_problems: int = 0  # distinct open problems (e.g. delayed + damaged + refund)
    fallbacks_in_a_row: int = 0  # the bot failed to understand N times in a row
    # The customer's own words about an order the shop's system shows as delivered ("" for any
    # other order): "没收到" then means a parcel signed for by someone else, or lost.
    delivered_order_words: str = ""


@dataclass(frozen=True)
class Escalation:
    rule_id: str
    priority: int
    team: str
    reason: str
    matched: str
    # Last and with a default: escalations stored before it existed still load.
    reason_en: str = ""


@dataclass(frozen=True)
class TurnSignals:
    """What is kept of each customer message, for the rules that look across turns."""

    ts: float
    question: str  # the message without punctuation and particles
    anger: float
    negative: float
    fired: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> TurnSignals:
        record = json.loads(data)
        return cls(
            ts=float(record["ts"]),
            question=record["question"],
            anger=float(record["anger"]),
            negative=float(record["negative"]),
            fired=tuple(record.get("fired", ())),
        )


@dataclass(frozen=True)
class Signals:
    language: str
    negative: float
    anger: float
    fired: tuple[str, ...]  # every rule that fired, by priority
    escalation: Escalation | None  # the winning rule

    def to_metadata(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_metadata(cls, record: dict[str, Any]) -> Signals:
        escalation = record.get("escalation")
        return cls(
            language=record["language"],
            negative=float(record["negative"]),
            anger=float(record["anger"]),
            fired=tuple(record.get("fired", ())),
            escalation=Escalation(**escalation) if escalation else None,
        )

    def turn(self, text: str) -> TurnSignals:
        return TurnSignals(
            time.time(), normalise_question(text), self.anger, self.negative, self.fired
        )


def normalise_question(text: str) -> str:
    return _PUNCTUATION.sub("", text.lower()).lstrip(_LEADING).rstrip(_TRAILING)


def load_rules(path: Path = RULES_FILE) -> tuple[Rule, ...]:
    """The shop's rules, checked: an unknown kind, team or setting, or a missing or out-of-range
    setting, is a clear error naming the rule."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = []
    ids: set[str] = set()
    for raw in document.get("rules", []):
        where = f"{path}: rule {raw.get('id')!r}"
        kind = str(raw.get("kind", "keywords"))
        if kind not in RULE_KINDS:
            raise ValueError(f"{where} has unknown kind {kind!r}")
        defaults = _SETTINGS[kind]
        unknown = set(raw) - _COMMON_SETTINGS - set(defaults)
        if unknown:
            raise ValueError(f"{where}: {kind} takes no {', '.join(sorted(unknown))}")
        required = _REQUIRED_SETTINGS | {n for n, default in defaults.items() if default is None}
        if missing := required - set(raw):
            raise ValueError(f"{where} needs {', '.join(sorted(missing))}")
        settings = {name: raw.get(name, default) for name, default in defaults.items()}
        try:
            rule = Rule(
                id=str(raw["id"]),
                kind=kind,
                priority=int(raw["priority"]),
                team=str(raw["team"]),
                reason=str(raw["reason"]),
                reason_en=str(raw.get("reason_en") or raw["reason"]),
                keywords=tuple(str(k).lower() for k in settings.get("keywords") or ()),
                patterns=tuple(re.compile(str(p)) for p in settings.get("patterns") or ()),
                unless=tuple(re.compile(str(p)) for p in settings.get("unless") or ()),
                not_within=tuple(str(w).lower() for w in settings.get("not_within") or ()),
                threshold=float(settings.get("threshold") or 0.0),
                turns=int(settings.get("turns") or 0),
                threshold_yuan=float(settings.get("threshold_yuan") or 0.0),
                count=int(settings.get("count") or 0),
            )
        except re.error as error:
            raise ValueError(
                f"{where}: pattern {error.pattern!r} is no regular expression: {error}"
            ) from None
        except (TypeError, ValueError):
            raise ValueError(f"{where}: priority and settings must be numbers") from None
        _check(rule, where)
        if rule.id in ids:
            raise ValueError(f"{where} is defined twice")
        ids.add(rule.id)
        rules.append(rule)
    return tuple(rules)


def _check(rule: Rule, where: str) -> None:
    if rule.team not in TEAMS:
        raise ValueError(f"{where}: team must be one of {', '.join(TEAMS)}, not {rule.team!r}")
    if not rule.reason.strip() or not rule.reason_en.strip():
        raise ValueError(f"{where} needs a reason for the agent")
    if rule.kind == "keywords" and not rule.keywords:
        raise ValueError(f"{where} needs keywords")
    if rule.kind in ("patterns", "delivered_not_received") and not rule.patterns:
        raise ValueError(f"{where} needs patterns")
    if rule.kind in ("anger_above", "anger_rising") and not 0.0 < rule.threshold <= 1.0:
        raise ValueError(f"{where} needs a threshold in (0, 1]")
    if rule.kind in ("anger_rising", "repeated_question") and rule.turns < 2:
        raise ValueError(f"{where} needs turns >= 2")
    if rule.kind == "fallbacks_in_a_row" and rule.turns < 1:
        raise ValueError(f"{where} needs turns >= 1")
    if rule.kind == "order_value_above" and rule.threshold_yuan <= 0:
        raise ValueError(f"{where} needs threshold_yuan > 0")
    if rule.kind == "open_problems" and rule.count < 2:
        raise ValueError(f"{where} needs count >= 2 (one open problem is the normal case)")


def compute_signals(
    text: str,
    rules: Sequence[Rule],
    *,
    anger: float = 0.0,
    negative: float = 0.0,
    history: Sequence[TurnSignals] = (),
) -> Signals:
    """Signals of one message; ``history`` holds the earlier turns, oldest first. Case rules
    are left out: they need facts the text does not carry."""
    # Keywords are looked for in the customer's own words, read once: a pasted order card or
    # an order number that happens to contain 12315 is no threat to call the regulator.
    said = read(text).said.lower()
    matched = _by_priority(
        (rule, _match(rule, text, said, anger, history))
        for rule in rules
        if rule.kind in TEXT_KINDS
    )
    return Signals(
        language=detect_language(text),
        negative=round(negative, 4),
        anger=round(anger, 4),
        fired=tuple(rule.id for rule, _ in matched),
        escalation=_winner(matched),
    )


def case_escalation(rules: Sequence[Rule], facts: CaseFacts) -> Escalation | None:
    """The highest-priority case rule the facts meet (file order among equals), or None."""
    return _winner(
        _by_priority((rule, _case_match(rule, facts)) for rule in rules if rule.kind in CASE_KINDS)
    )


def system_escalation(rules: Sequence[Rule], kind: str) -> Escalation | None:
    """The highest-priority rule of a system kind (``no_answer``), or None when the shop has
    none."""
    return _winner(_by_priority((rule, kind) for rule in rules if rule.kind == kind))


def _by_priority(candidates: Iterable[tuple[Rule, str]]) -> list[tuple[Rule, str]]:
    """The rules that fired, highest priority first; stable, so file order among equals."""
    return sorted(((r, found) for r, found in candidates if found), key=lambda p: -p[0].priority)


def _winner(matched: Sequence[tuple[Rule, str]]) -> Escalation | None:
    if not matched:
        return None
    rule, found = matched[0]
    return Escalation(rule.id, rule.priority, rule.team, rule.reason, found, rule.reason_en)


def _case_match(rule: Rule, facts: CaseFacts) -> str:
    """What made a case rule fire (for the log and the agent), or "" when it does not."""
    if rule.kind == "vip_customer":
        return "VIP" if facts.vip else ""
    if rule.kind == "order_value_above":
        threshold_cents = round(rule.threshold_yuan * 100)
        if facts.order_total_cents >= threshold_cents:
            return f"订单金额 ¥{facts.order_total_cents / 100:.2f} ≥ ¥{rule.threshold_yuan:g}"
        return ""
    if rule.kind == "refund_outside_policy":
        return "退款/退货超出政策" if facts.refund_outside_policy else ""
    if rule.kind == "open_problems":
        return f"{facts.open_problems} 个未解决问题" if facts.open_problems >= rule.count else ""
    if rule.kind == "delivered_not_received":
        return _pattern_found(rule, facts.delivered_order_words.lower())
    if facts.fallbacks_in_a_row >= rule.turns:
        return f"连续 {facts.fallbacks_in_a_row} 次未理解"
    return ""


def _match(rule: Rule, text: str, said: str, anger: float, history: Sequence[TurnSignals]) -> str:
    """What made a text rule fire (for the log and the agent), or "" when it does not;
    ``said`` is the customer's own words, lowercased."""
    for word in rule.not_within:  # only keywords and patterns rules have any
        said = said.replace(word, " ")
    if rule.kind == "keywords":
        return (
            "" if _ruled_out(rule, said) else next((k for k in rule.keywords if _has(said, k)), "")
        )
    if rule.kind == "patterns":
        return _pattern_found(rule, said)
    if rule.kind == "anger_above":
        return f"anger {anger:.2f}" if anger >= rule.threshold else ""
    if rule.kind == "anger_rising":
        trajectory = [t.anger for t in history[-(rule.turns - 1) :]] + [anger]
        rising = len(trajectory) == rule.turns and all(
            a < b for a, b in itertools.pairwise(trajectory)
        )
        if rising and anger >= rule.threshold:
            return " → ".join(f"{a:.2f}" for a in trajectory)
        return ""
    question = normalise_question(text)
    earlier = [t.question for t in history[-(rule.turns - 1) :]]
    # Numbers alone are answers (phone digits tried again, an order number), not questions.
    is_question = len(question) >= 2 and bool(HAN.search(question) or LATIN_WORD.search(question))
    if is_question and len(earlier) == rule.turns - 1 and all(q == question for q in earlier):
        return text[:50]
    return ""


def _has(words: str, keyword: str) -> bool:
    """The keyword is in the words; a number (12315) only as a number of its own, not inside a
    longer one (an amount, a tracking code: order and phone numbers are already read apart)."""
    if not keyword.isdigit():
        return keyword in words
    return re.search(rf"(?<!\d){keyword}(?!\d)", words) is not None


def _pattern_found(rule: Rule, words: str) -> str:
    """The first of the rule's patterns found in ``words``, or ""."""
    if _ruled_out(rule, words):
        return ""
    return next((m[0] for m in (p.search(words) for p in rule.patterns) if m), "")


def _ruled_out(rule: Rule, words: str) -> bool:
    """An ``unless`` pattern is in the words: a problem only asked about is no problem."""
    return any(p.search(words) for p in rule.unless)
