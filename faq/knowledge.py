"""Loading and validating the knowledge base: entries in ``kb/*.yml``, policy values in ``kb/policy.yml``."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KB_DIR = Path(__file__).with_name("kb")  # the shipped knowledge base
POLICY_FILE = "policy.yml"
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Entry:
    id: str
    question: str
    paraphrases: dict[str, tuple[str, ...]]
    answers: dict[str, str]  # language -> answer with policy values filled in
    tags: tuple[str, ...]

    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *(p for ps in self.paraphrases.values() for p in ps))


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    policy: dict[str, str]

    def entry(self, entry_id: str) -> Entry:
        return next(e for e in self.entries if e.id == entry_id)


class KnowledgeBaseError(ValueError):
    """Every problem found, each as ``file:line: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _LineLoader(yaml.SafeLoader):
    """Remembers the line of every mapping so that problems can point at it."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        return mapping


def load_policy(directory: Path) -> dict[str, str]:
    """The shop's policy values alone (service hours, dispatch hours...), for other parts."""
    raw = yaml.safe_load((directory / POLICY_FILE).read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def load(directory: Path) -> KnowledgeBase:
    """The validated knowledge base, or KnowledgeBaseError listing every problem."""
    problems: list[str] = []
    policy_path = directory / POLICY_FILE
    try:
        raw_policy = yaml.safe_load(policy_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise KnowledgeBaseError([_yaml_problem(policy_path, error)]) from None
    if not isinstance(raw_policy, dict):
        raise KnowledgeBaseError([f"{policy_path}:1: expected name: value lines"])
    policy = {str(k): str(v) for k, v in raw_policy.items()}
    entries: list[Entry] = []
    seen_ids: dict[str, str] = {}
    seen_phrasings: dict[str, str] = {}
    for path in sorted(directory.glob("*.yml")):
        if path.name == POLICY_FILE:
            continue
        try:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader) or []
        except yaml.YAMLError as error:
            problems.append(_yaml_problem(path, error))
            continue
        if not isinstance(document, list):
            problems.append(f"{path}:1: expected a list of entries")
            continue
        for raw in document:
            where = f"{path}:{raw.get('__line__', '?') if isinstance(raw, dict) else '?'}"
            entry = _entry(raw, policy, where, problems)
            if entry is None:
                continue
            if entry.id in seen_ids:
                problems.append(
                    f"{where}: duplicate id {entry.id!r} (first at {seen_ids[entry.id]})"
                )
            seen_ids.setdefault(entry.id, where)
            for phrasing in entry.phrasings():
                key = _normalise(phrasing)
                if key in seen_phrasings:
                    problems.append(
                        f"{where}: duplicate question {phrasing!r} (first at {seen_phrasings[key]})"
                    )
                seen_phrasings.setdefault(key, where)
            entries.append(entry)
    if problems:
        raise KnowledgeBaseError(problems)
    return KnowledgeBase(tuple(entries), policy)


def _entry(raw: Any, policy: dict[str, str], where: str, problems: list[str]) -> Entry | None:
    if not isinstance(raw, dict) or not raw.get("id"):
        problems.append(f"{where}: an entry needs an id")
        return None
    answers: dict[str, str] = {}
    raw_answers = raw.get("answer") or {}
    for language in LANGUAGES:
        template = raw_answers.get(language) if isinstance(raw_answers, dict) else None
        if not template:
            problems.append(f"{where}: entry {raw['id']!r} has no {language} answer")
            continue
        missing = [
            name
            for _, name, _, _ in string.Formatter().parse(template)
            if name and name not in policy
        ]
        if missing:
            problems.append(f"{where}: entry {raw['id']!r} uses unknown policy value(s) {missing}")
            continue
        answers[language] = template.format(**policy)
    if not raw.get("question"):
        problems.append(f"{where}: entry {raw['id']!r} has no question")
    raw_paraphrases = raw.get("paraphrases") or {}
    paraphrases = {
        language: tuple(str(p) for p in raw_paraphrases.get(language) or ())
        for language in LANGUAGES
    }
    return Entry(
        id=str(raw["id"]),
        question=str(raw.get("question", "")),
        paraphrases=paraphrases,
        answers=answers,
        tags=tuple(raw.get("tags") or ()),
    )


def _yaml_problem(path: Path, error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    line = f":{mark.line + 1}" if mark is not None else ""
    detail = getattr(error, "problem", None) or str(error)
    return f"{path}{line}: not valid YAML: {detail}"


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())
