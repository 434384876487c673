"""Scoring the retriever on a labelled file: ``{"text": ..., "faq_id": "<id>" or null}`` a line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from faq.retriever import FaqRetriever, Match, Result, Thresholds, decide


@dataclass(frozen=True)
class Example:
    text: str
    faq_id: str | None
    line: int


@dataclass
class Report:
    positives: int = 0
    negatives: int = 0
    top1: int = 0
    top3: int = 0
    answered_right: int = 0
    answered_wrong: int = 0
    clarified_with_gold: int = 0
    clarified_without_gold: int = 0
    no_match_right: int = 0  # no match, and the label is null
    no_match_wrong: int = 0  # no match, but the label names an entry
    misses: list[str] = field(default_factory=list)

    @property
    def top1_rate(self) -> float:
        return _ratio(self.top1, self.positives)

    @property
    def top3_rate(self) -> float:
        return _ratio(self.top3, self.positives)

    @property
    def no_match_precision(self) -> float:
        return _ratio(self.no_match_right, self.no_match_right + self.no_match_wrong)

    @property
    def no_match_recall(self) -> float:
        return _ratio(self.no_match_right, self.negatives)

    def lines(self) -> list[str]:
        total = self.positives + self.negatives
        return [
            f"examples: {total} ({self.positives} with an entry, {self.negatives} without)",
            f"top-1: {self.top1_rate:.3f}  top-3: {self.top3_rate:.3f}",
            f"no-match precision: {self.no_match_precision:.3f}  recall: {self.no_match_recall:.3f}",
            f"outcomes on messages with an entry: answered right {self.answered_right}, "
            f"answered wrong {self.answered_wrong}, clarify with it {self.clarified_with_gold}, "
            f"clarify without it {self.clarified_without_gold}, no match {self.no_match_wrong}",
            f"misses: {len(self.misses)}",
            *(f"  {miss}" for miss in self.misses),
        ]


def read_examples(path: Path) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            examples.append(Example(str(record["text"]), record.get("faq_id"), number))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a {{text, faq_id}} record: {error}") from None
    return examples


def ranked_outcomes(
    retriever: FaqRetriever, examples: list[Example]
) -> list[tuple[list[Match], Result | None]]:
    """Per example: the ranking, and the guard's verdict when a guard already decided."""
    out: list[tuple[list[Match], Result | None]] = []
    for example in examples:
        guarded = retriever.search(example.text)
        if guarded.outcome == "no_match" and guarded.reason != "low_score":
            out.append(([], guarded))
        else:
            out.append((retriever.rank(example.text), None))
    return out


def score(
    examples: list[Example],
    ranked: list[tuple[list[Match], Result | None]],
    thresholds: Thresholds,
) -> Report:
    report = Report()
    for example, (matches, guarded) in zip(examples, ranked, strict=True):
        result = guarded or decide(matches, thresholds)
        ids = [m.entry.id for m in matches]
        offered = [m.entry.id for m in result.candidates]
        where = f"line {example.line}: {example.text[:60]!r} (expected {example.faq_id})"
        if example.faq_id is None:
            report.negatives += 1
            if result.outcome == "no_match":
                report.no_match_right += 1
            else:
                report.misses.append(f"{where} -> {result.outcome} {offered}")
            continue
        report.positives += 1
        report.top1 += bool(ids[:1] == [example.faq_id])
        report.top3 += example.faq_id in ids[:3]
        if result.outcome == "answer":
            if offered == [example.faq_id]:
                report.answered_right += 1
                continue
            report.answered_wrong += 1
        elif result.outcome == "clarify":
            if example.faq_id in offered:
                report.clarified_with_gold += 1
                if ids[:1] == [example.faq_id]:
                    continue
            else:
                report.clarified_without_gold += 1
        else:
            report.no_match_wrong += 1
        top = ", ".join(f"{m.entry.id}:{m.score:.2f}" for m in matches[:3])
        report.misses.append(f"{where} -> {result.outcome} {offered or result.reason} [{top}]")
    return report


def evaluate(retriever: FaqRetriever, path: Path) -> Report:
    examples = read_examples(path)
    return score(examples, ranked_outcomes(retriever, examples), retriever.thresholds)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
