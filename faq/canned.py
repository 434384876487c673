"""The knowledge base's answers as canned replies for the agents' console."""

from __future__ import annotations

from pathlib import Path

from faq.knowledge import load
from faq.retriever import CharNgramScorer


def standard_answers(kb_dir: Path, query: str, limit: int = 8) -> list[dict[str, str]]:
    """Entries matching ``query`` best first (all, in file order, for an empty query). Reads the
    knowledge base afresh, so the console always offers the shop's current wording. Blocking."""
    knowledge = load(kb_dir)
    if query.strip():
        ranked = CharNgramScorer(knowledge).rank(query)
        entries = [match.entry for match in ranked if match.score > 0][:limit]
    else:
        entries = list(knowledge.entries[:limit])
    return [
        {"id": e.id, "question": e.question, "zh": e.answers["zh"], "en": e.answers["en"]}
        for e in entries
    ]
