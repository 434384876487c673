"""python -m tools.real.copies: no training text of ours is a copy of a real customer's.

The project's examples must be its own writing. This compares every NLU example
(``data/nlu``), FAQ question and paraphrase (``faq/kb``) and shop-chat emotion example
(``handoff/signals_data/shop_chat_train.jsonl``) with every customer turn of the corpus and
lists those that repeat one: the same text, or nearly the same (a similarity ratio of at least
0.9) for texts long enough to be someone's sentence. Exit 1 when any is found; skipped with a
message when the corpus is absent.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import yaml

from tools.real.dataset import CORPUS, ROOT

ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]*\)")
MASK = re.compile(r"\[[^\[\]]{1,8}x\]")
MIN_CHARS = 10  # shorter texts (好的 谢谢, 我要转人工 你好) are everybody's words
NEAR = 0.9
GRAM = 4


def our_texts(root: Path = ROOT) -> Iterator[tuple[str, str]]:
    """(where, text) of every training text the project wrote."""
    for path in sorted((root / "data" / "nlu").glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in str(item.get("examples") or "").splitlines():
                text = line.strip().removeprefix("- ").strip()
                if text:
                    yield (
                        f"{path.relative_to(root)} ({item.get('intent')})",
                        ANNOTATION.sub(r"\1", text),
                    )
    for path in sorted((root / "faq" / "kb").glob("*.yml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if not isinstance(entry, dict) or "question" not in entry:
                continue  # policy.yml holds values, not questions
            where = f"{path.relative_to(root)} ({entry['id']})"
            yield where, str(entry["question"])
            for phrasings in (entry.get("paraphrases") or {}).values():
                for text in phrasings:
                    yield where, str(text)
    shop_chat = root / "handoff" / "signals_data" / "shop_chat_train.jsonl"
    for number, line in enumerate(shop_chat.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            yield f"{shop_chat.relative_to(root)}:{number}", json.loads(line)["text"]


def customer_turns(corpus: Path) -> list[str]:
    turns = []
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            for turn in json.loads(line)["turns"]:
                if turn["role"] == "customer":
                    turns.append(MASK.sub("", turn["text"]).strip())
    return turns


def copies(ours: list[tuple[str, str]], theirs: list[str]) -> list[tuple[str, str, str, float]]:
    """(where, our text, their text, similarity) for each text of ours that repeats theirs."""
    index: defaultdict[str, set[int]] = defaultdict(set)
    for number, text in enumerate(theirs):
        for gram in _grams(text):
            index[gram].add(number)
    exact = set(theirs)
    found = []
    for where, text in ours:
        if len(text) < MIN_CHARS:
            continue
        if text in exact:
            found.append((where, text, text, 1.0))
            continue
        candidates: Counter[int] = Counter()
        for gram in _grams(text):
            candidates.update(index.get(gram, ()))
        best = max(
            (
                (difflib.SequenceMatcher(None, text, theirs[n]).ratio(), n)
                for n, _ in candidates.most_common(20)
            ),
            default=(0.0, -1),
        )
        if best[0] >= NEAR:
            found.append((where, text, theirs[best[1]], best[0]))
    return found


def _grams(text: str) -> set[str]:
    return {text[i : i + GRAM] for i in range(len(text) - GRAM + 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.real.copies", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args(argv)
    if not args.corpus.exists():
        print(f"the real-chat corpus is not at {args.corpus}; copy check skipped")
        return 0
    ours = list(our_texts())
    found = copies(ours, customer_turns(args.corpus))
    for where, text, theirs, ratio in found:
        print(f"{where}: {text!r} repeats a customer turn ({ratio:.2f}): {theirs[:60]!r}")
    print(f"{len(ours)} texts of ours checked, {len(found)} repeat a real customer's")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
