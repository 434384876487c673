"""The corpora behind the emotion signals, their fixed split, and the evaluation report.

``python -m tools.signals.evaluate eval [--data-dir DIR]`` prints accuracy and F1 of the committed
weights on the held-out split of each training corpus (read from ``../shared/data``; skipped
with a message when that folder is absent) and on the shop-chat evaluation set in
``tests/handoff/shop_chat_eval.jsonl``. Needs only numpy: no scikit-learn.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from handoff.sentiment import EmotionModel, normalize

REPO_ROOT = Path(__file__).resolve().parents[2]
SHOP_CHAT_EVAL = REPO_ROOT / "tests" / "handoff" / "shop_chat_eval.jsonl"
SHOP_CHAT_TRAIN = REPO_ROOT / "handoff" / "signals_data" / "shop_chat_train.jsonl"
SENTIMENT_FILE = "sentiment_train.jsonl"
EMOTION_FILE = "emotion_train.jsonl"
HELD_OUT_BUCKETS = 5  # one bucket in five (20 %) is held out
THRESHOLD = 0.5
NLU_TEST_DIR = REPO_ROOT / "tests" / "nlu"
FAQ_DEV_SET = REPO_ROOT / "tests" / "faq" / "dev.jsonl"
# The intents of everyday, calm messages; the `angry` rule of handoff/rules.yml must not fire.
CALM_INTENTS = frozenset(
    {"greet", "goodbye", "thanks", "affirm", "bot_challenge", "faq", "stock_query", "inform"}
)
ANGRY_RULE_THRESHOLD = 0.85  # handoff/rules.yml, rule `angry`
_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def default_data_dir(repo_root: Path = REPO_ROOT) -> Path:
    return Path(repo_root).parent / "shared" / "data"


def is_held_out(normalized_text: str) -> bool:
    """The fixed split: a hash of the normalized text, so it needs no seed and no row order,
    and copies of one text always fall on the same side."""
    digest = hashlib.sha1(normalized_text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % HELD_OUT_BUCKETS == 0


@dataclass(frozen=True)
class Corpus:
    name: str
    train: list[tuple[str, int]]  # (normalized text, label)
    held_out: list[tuple[str, int]]
    rows: int
    dropped_conflicts: int
    dropped_duplicates: int
    dropped_empty: int


def read_corpus(path: Path, label_of: Callable[[dict], int]) -> Corpus:
    """Rows of a JSONL corpus, normalized and de-duplicated: a text that occurs with conflicting
    labels is dropped altogether, repeated copies of a text are kept once."""
    labels: dict[str, set[int]] = defaultdict(set)
    rows = 0
    empty = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            rows += 1
            text = normalize(str(row["text"]))
            if not text:
                empty += 1
                continue
            labels[text].add(label_of(row))
    train: list[tuple[str, int]] = []
    held_out: list[tuple[str, int]] = []
    conflicts = 0
    for text, seen in labels.items():
        if len(seen) > 1:
            conflicts += 1
            continue
        (train, held_out)[is_held_out(text)].append((text, next(iter(seen))))
    return Corpus(
        name=path.name,
        train=train,
        held_out=held_out,
        rows=rows,
        dropped_conflicts=conflicts,
        dropped_duplicates=rows - empty - len(labels),
        dropped_empty=empty,
    )


def negative_label(row: dict) -> int:
    """sentiment_train.jsonl: label 1 is positive; the model scores the negative class."""
    return 1 - int(row["label"])


def angry_label(row: dict) -> int:
    return int(row["emotion"] == "angry")


def read_sentiment(data_dir: Path) -> Corpus:
    return read_corpus(data_dir / SENTIMENT_FILE, negative_label)


def read_emotion(data_dir: Path) -> Corpus:
    return read_corpus(data_dir / EMOTION_FILE, angry_label)


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@dataclass(frozen=True)
class Metrics:
    n: int
    accuracy: float
    precision: float
    recall: float
    f1: float

    def line(self, name: str) -> str:
        return (
            f"  {name:<28} n={self.n:<6} accuracy {self.accuracy:.4f}  F1 {self.f1:.4f}"
            f"  precision {self.precision:.4f}  recall {self.recall:.4f}"
        )


def metrics(truth: Sequence[int], predicted: Sequence[int]) -> Metrics:
    tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t and p)
    fp = sum(1 for t, p in zip(truth, predicted, strict=True) if not t and p)
    fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t and not p)
    correct = sum(1 for t, p in zip(truth, predicted, strict=True) if bool(t) == bool(p))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n = len(truth)
    return Metrics(n, correct / n if n else 0.0, precision, recall, f1)


def _predict(model: EmotionModel, texts: Iterable[str], field: str) -> list[int]:
    return [int(getattr(model.score(text), field) >= THRESHOLD) for text in texts]


def evaluate(model: EmotionModel, data_dir: Path, shop_eval: Path = SHOP_CHAT_EVAL) -> list[str]:
    """The report, one line per number."""
    out = [f"weights: {model.meta.get('trained', '?')}, threshold {THRESHOLD}"]
    if data_dir.is_dir():
        reviews = read_sentiment(data_dir)
        truth = [label for _, label in reviews.held_out]
        out.append(f"{SENTIMENT_FILE} held-out split (negative = positive class):")
        predicted = _predict(model, (text for text, _ in reviews.held_out), "negative")
        out.append(metrics(truth, predicted).line("sentiment"))
        weibo = read_emotion(data_dir)
        truth = [label for _, label in weibo.held_out]
        out.append(f"{EMOTION_FILE} held-out split (angry vs the rest):")
        predicted = _predict(model, (text for text, _ in weibo.held_out), "anger")
        out.append(metrics(truth, predicted).line("anger"))
    else:
        out.append(f"training corpora not found in {data_dir}: held-out splits skipped")
    if shop_eval.is_file():
        rows = read_jsonl(shop_eval)
        texts = [str(row["text"]) for row in rows]
        started = time.perf_counter()
        scores = [model.score(text) for text in texts]
        per_message = (time.perf_counter() - started) / max(1, len(texts))
        out.append(f"{shop_eval.name} ({len(rows)} messages):")
        negative = [int(s.negative >= THRESHOLD) for s in scores]
        angry = [int(s.anger >= THRESHOLD) for s in scores]
        out.append(metrics([r["negative"] for r in rows], negative).line("sentiment (negative)"))
        out.append(metrics([r["angry"] for r in rows], angry).line("anger"))
        kinds: dict[str, list[int]] = defaultdict(list)
        for index, row in enumerate(rows):
            kinds[str(row.get("kind", "-"))].append(index)
        for kind, members in kinds.items():
            both = sum(
                1
                for i in members
                if negative[i] == rows[i]["negative"] and angry[i] == rows[i]["angry"]
            )
            out.append(f"    {kind:<10} {both}/{len(members)} with both labels right")
        out.append(f"  scoring latency: {per_message * 1000:.3f} ms per message (mean)")
    else:
        out.append(f"{shop_eval} not found: shop-chat evaluation skipped")
    out += calm_question_report(model)
    return out


def calm_questions(nlu_dir: Path = NLU_TEST_DIR, faq_dev: Path = FAQ_DEV_SET) -> list[str]:
    """Everyday customer messages written for the other test sets: the calm intents of the NLU
    test set and the shop-policy questions of the FAQ dev set. None of them should look angry
    enough to send the customer to the complaints team."""
    texts = [str(row["text"]) for row in read_jsonl(faq_dev) if row.get("faq_id")]
    for path in sorted(nlu_dir.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if block.get("intent") in CALM_INTENTS:
                for line in str(block.get("examples", "")).splitlines():
                    text = _ANNOTATION.sub(r"\1", line.strip().removeprefix("- ").strip())
                    if text:
                        texts.append(text)
    return texts


def calm_question_report(model: EmotionModel, threshold: float = ANGRY_RULE_THRESHOLD) -> list[str]:
    texts = calm_questions()
    if not texts:
        return [f"no calm questions found in {NLU_TEST_DIR}: false-alarm check skipped"]
    alarms = [text for text in texts if model.score(text).anger >= threshold]
    line = f"calm questions (NLU test set, FAQ dev set): {len(alarms)}/{len(texts)} at anger >= {threshold}"
    return [line, *(f"    false alarm: {text}" for text in alarms)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff.signals", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("eval", help="evaluate the committed sentiment and anger weights")
    run.add_argument("--data-dir", type=Path, default=None, help="default: ../shared/data")
    run.add_argument("--shop-eval", type=Path, default=SHOP_CHAT_EVAL)
    args = parser.parse_args(argv)
    data_dir = args.data_dir if args.data_dir is not None else default_data_dir()
    for line in evaluate(EmotionModel.load(), data_dir, args.shop_eval):
        print(line)
    return 0


if __name__ == "__main__":
    # python -m tools.signals.evaluate eval
    import sys

    sys.exit(main())
