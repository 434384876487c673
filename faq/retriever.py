"""Matching a customer's question to a knowledge-base entry.

The scorer sits behind one small interface so that sentence encoders can replace or join
the lexical one without touching the callers.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from faq.knowledge import Entry, KnowledgeBase

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Match:
    entry: Entry
    score: float


class Scorer(Protocol):
    def rank(self, text: str) -> list[Match]:
        """Entries best first, each with a score in [0, 1]."""
        ...


class CharNgramScorer:
    """Cosine similarity of character 1-2-gram TF-IDF vectors: robust to Chinese without a segmenter."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self._phrasings: list[tuple[Entry, Counter[str]]] = []
        documents = [(e, _grams(p)) for e in knowledge.entries for p in e.phrasings()]
        frequency: Counter[str] = Counter(g for _, grams in documents for g in set(grams))
        total = len(documents)
        self._idf = {g: math.log((1 + total) / (1 + n)) + 1 for g, n in frequency.items()}
        self._phrasings = documents

    def rank(self, text: str) -> list[Match]:
        query = self._weights(_grams(text))
        best: dict[str, Match] = {}
        for entry, grams in self._phrasings:
            score = _cosine(query, self._weights(grams))
            if entry.id not in best or score > best[entry.id].score:
                best[entry.id] = Match(entry, score)
        return sorted(best.values(), key=lambda m: m.score, reverse=True)

    def _weights(self, grams: Counter[str]) -> dict[str, float]:
        return {g: n * self._idf.get(g, 1.0) for g, n in grams.items()}


class Retriever:
    def __init__(self, scorer: Scorer, threshold: float) -> None:
        self._scorer = scorer
        self._threshold = threshold

    def best(self, text: str) -> Match | None:
        """The confident match, or None when nothing is close enough."""
        ranked = self._scorer.rank(text)
        if ranked and ranked[0].score >= self._threshold:
            return ranked[0]
        return None


def _grams(text: str) -> Counter[str]:
    cleaned = _NOISE.sub("", text.lower())
    grams: Counter[str] = Counter(cleaned)
    grams.update(cleaned[i : i + 2] for i in range(len(cleaned) - 1))
    return grams


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(weight * b.get(g, 0.0) for g, weight in a.items())
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0
