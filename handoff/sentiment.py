"""Sentiment (negative) and anger scores for a customer message, from committed linear weights.

Two small classifiers trained by ``python -m tools.signals.train`` (see
``signals_data/PROVENANCE.md``): character n-gram TF-IDF + logistic regression. The weights ship
as one compressed ``.npz`` (no pickle); inference needs only numpy and reproduces the trained
scikit-learn pipelines exactly. Nothing is loaded at import time: call ``EmotionModel.load()``
once, from the worker that scores messages, and keep the instance.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

WEIGHTS_FILE = Path(__file__).with_name("signals_data") / "emotion_model.npz"
FORMAT_VERSION = 1
# Longer messages are cut; what matters for anger is almost always in the first lines.
MAX_CHARS = 1000

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@[^\s:：,，]{1,30}[:：]?")
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """The text both classifiers see, in training and at run time.

    NFKC (full-width letters, digits and punctuation to their ASCII forms), lower case, links and
    Weibo @mentions / repost marks removed, emoji and other pictographs as "?" (the training
    corpora lost their emoji as "?"), control characters as spaces, whitespace collapsed, and at
    most ``MAX_CHARS`` characters.
    """
    if not text:
        return ""
    # Bound the work before normalizing: NFKC can only expand a string by a small factor.
    text = unicodedata.normalize("NFKC", text[: MAX_CHARS * 2]).lower()
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text).replace("//", " ")
    chars = []
    for ch in text:
        if ch.isascii() or "\u3400" <= ch <= "\u9fff":
            chars.append(" " if ch < " " or ch == "\x7f" else ch)
            continue
        category = unicodedata.category(ch)
        if category == "So" or category == "Cs" or category == "Co":
            chars.append("?")
        elif category == "Cf" or (category == "Mn" and "\ufe00" <= ch <= "\ufe0f"):
            continue  # zero-width joiners, variation selectors
        elif category[0] == "C" or category == "Zl" or category == "Zp":
            chars.append(" ")
        else:
            chars.append(ch)
    return _SPACE.sub(" ", "".join(chars)).strip()[:MAX_CHARS]


def char_ngrams(text: str, max_n: int) -> list[str]:
    """All character n-grams of an already normalized text, n = 1..max_n."""
    grams: list[str] = []
    length = len(text)
    for n in range(1, max_n + 1):
        grams.extend(text[i : i + n] for i in range(length - n + 1))
    return grams


@dataclass(frozen=True)
class EmotionScores:
    """Probabilities in [0, 1]: the message is negative; the customer is angry or annoyed."""

    negative: float
    anger: float


@dataclass(frozen=True)
class _Linear:
    idf: np.ndarray  # float64 over the shared vocabulary; 0 where the model lacks the n-gram
    coef: np.ndarray
    intercept: float

    def decision(self, indices: np.ndarray, tf: np.ndarray) -> float:
        """TF-IDF (sublinear tf, l2 norm) of the counted n-grams, dotted with the weights."""
        values = tf * self.idf[indices]
        norm = math.sqrt(float(values @ values))
        if norm == 0.0:
            return self.intercept
        return float(values @ self.coef[indices]) / norm + self.intercept


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class EmotionModel:
    """Scores messages; build it with ``EmotionModel.load()`` (loads the weights once)."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        max_n: int,
        sentiment: _Linear,
        anger: _Linear,
        anger_stack: float,
        meta: dict[str, Any],
    ) -> None:
        self._vocabulary = vocabulary
        self._max_n = max_n
        self._sentiment = sentiment
        self._anger = anger
        # The anger model also sees the sentiment model's logit, as one extra feature.
        self._anger_stack = anger_stack
        self.meta = meta

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> EmotionModel:
        """The model in ``path`` (the committed weights by default); the caller keeps it."""
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            if meta.get("format") != FORMAT_VERSION:
                raise ValueError(f"{path}: unsupported weights format {meta.get('format')!r}")
            ngrams = archive["vocabulary"].tolist()
            sentiment = _Linear(
                archive["sentiment_idf"].astype(np.float64),
                archive["sentiment_coef"].astype(np.float64),
                float(archive["sentiment_intercept"]),
            )
            anger = _Linear(
                archive["anger_idf"].astype(np.float64),
                archive["anger_coef"].astype(np.float64),
                float(archive["anger_intercept"]),
            )
            anger_stack = float(archive["anger_stack"])
        vocabulary = {gram: index for index, gram in enumerate(ngrams)}
        return cls(vocabulary, int(meta["max_n"]), sentiment, anger, anger_stack, meta)

    def _features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        lookup = self._vocabulary.get
        counts = Counter(
            index
            for index in map(lookup, char_ngrams(normalize(text), self._max_n))
            if index is not None
        )
        if not counts:
            empty = np.zeros(0)
            return empty.astype(np.intp), empty
        indices = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        return indices, tf

    def logits(self, text: str) -> tuple[float, float]:
        """The two models' decision values (log-odds) for ``text``."""
        indices, tf = self._features(text if isinstance(text, str) else "")
        sentiment = self._sentiment.decision(indices, tf)
        anger = self._anger.decision(indices, tf) + self._anger_stack * sentiment
        return sentiment, anger

    def score(self, text: str) -> EmotionScores:
        sentiment, anger = self.logits(text)
        return EmotionScores(negative=_sigmoid(sentiment), anger=_sigmoid(anger))
