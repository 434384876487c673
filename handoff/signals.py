"""Signals computed for every customer message, and the shop's escalation rules (rules.yml).

The router computes them for each message, stores them per turn, and sends them to Rasa as
metadata; a rule that fires hands the conversation to a human.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).with_name("rules.yml")
RULE_KINDS = ("keywords", "anger_above", "anger_rising", "repeated_question")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
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
    keywords: tuple[str, ...] = ()
    threshold: float = 0.0
    turns: int = 0


@dataclass(frozen=True)
class Escalation:
    rule_id: str
    priority: int
    team: str
    reason: str
    matched: str


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


def detect_language(text: str) -> str:
    """English when the message has English words and no Chinese characters; else Chinese."""
    if _HAN.search(text):
        return "zh"
    return "en" if _LATIN_WORD.search(text) else "zh"


def normalise_question(text: str) -> str:
    return _PUNCTUATION.sub("", text.lower()).lstrip(_LEADING).rstrip(_TRAILING)


def load_rules(path: Path = RULES_FILE) -> tuple[Rule, ...]:
    """The shop's rules, checked: an unknown kind or a missing setting is a clear error."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = []
    for raw in document.get("rules", []):
        rule = Rule(
            id=str(raw["id"]),
            kind=str(raw.get("kind", "keywords")),
            priority=int(raw["priority"]),
            team=str(raw["team"]),
            reason=str(raw["reason"]),
            keywords=tuple(str(k).lower() for k in raw.get("keywords", ())),
            threshold=float(raw.get("threshold", 0.0)),
            turns=int(raw.get("turns", 0)),
        )
        if rule.kind not in RULE_KINDS:
            raise ValueError(f"{path}: rule {rule.id!r} has unknown kind {rule.kind!r}")
        if rule.kind == "keywords" and not rule.keywords:
            raise ValueError(f"{path}: rule {rule.id!r} needs keywords")
        if rule.kind in ("anger_rising", "repeated_question") and rule.turns < 2:
            raise ValueError(f"{path}: rule {rule.id!r} needs turns >= 2")
        rules.append(rule)
    return tuple(rules)


def compute_signals(
    text: str,
    rules: Sequence[Rule],
    *,
    anger: float = 0.0,
    negative: float = 0.0,
    history: Sequence[TurnSignals] = (),
) -> Signals:
    """Signals of one message; ``history`` holds the earlier turns, oldest first."""
    matched = [(rule, found) for rule in rules if (found := _match(rule, text, anger, history))]
    matched.sort(key=lambda pair: -pair[0].priority)  # stable: file order among equals
    escalation = None
    if matched:
        rule, found = matched[0]
        escalation = Escalation(rule.id, rule.priority, rule.team, rule.reason, found)
    return Signals(
        language=detect_language(text),
        negative=round(negative, 4),
        anger=round(anger, 4),
        fired=tuple(rule.id for rule, _ in matched),
        escalation=escalation,
    )


def _match(rule: Rule, text: str, anger: float, history: Sequence[TurnSignals]) -> str:
    """What made the rule fire (for the log and the agent), or "" when it does not."""
    if rule.kind == "keywords":
        lowered = text.lower()
        return next((k for k in rule.keywords if k in lowered), "")
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
    if (
        len(question) >= 2
        and len(earlier) == rule.turns - 1
        and all(q == question for q in earlier)
    ):
        return text[:50]
    return ""
