"""Signals computed for every customer message, and the shop's keyword escalation rules."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

RULES_FILE = Path(__file__).with_name("rules.yml")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True)
class KeywordRule:
    id: str
    priority: int
    team: str
    reason: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Escalation:
    rule_id: str
    priority: int
    team: str
    reason: str
    matched: str


@dataclass(frozen=True)
class Signals:
    language: str
    escalation: Escalation | None

    def to_metadata(self) -> dict[str, Any]:
        return asdict(self)


def detect_language(text: str) -> str:
    """English when the message has English words and no Chinese characters; else Chinese."""
    if _HAN.search(text):
        return "zh"
    return "en" if _LATIN_WORD.search(text) else "zh"


def load_rules(path: Path = RULES_FILE) -> tuple[KeywordRule, ...]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple(
        KeywordRule(
            id=rule["id"],
            priority=int(rule["priority"]),
            team=rule["team"],
            reason=rule["reason"],
            keywords=tuple(str(k).lower() for k in rule["keywords"]),
        )
        for rule in document.get("rules", [])
    )


def compute_signals(text: str, rules: tuple[KeywordRule, ...]) -> Signals:
    lowered = text.lower()
    for rule in rules:
        for keyword in rule.keywords:
            if keyword in lowered:
                escalation = Escalation(rule.id, rule.priority, rule.team, rule.reason, keyword)
                return Signals(detect_language(text), escalation)
    return Signals(detect_language(text), None)


if __name__ == "__main__":
    # python -m handoff.signals eval: accuracy and F1 of the sentiment and anger weights.
    import sys

    from handoff.signals_eval import main

    sys.exit(main())
