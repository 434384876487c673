"""The embedding index: one row per question and paraphrase, cached on disk.

The cache file is named by a SHA-256 of the encoder's name and every embedded text with its
entry id (the part of the knowledge base that shapes the vectors; editing an answer or a
policy value does not force re-encoding, editing a question does). A hit loads the matrix
and skips the encoder entirely; a miss encodes and writes the file atomically, so two
processes building at once never read half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faq.encoders import Encoder
from faq.knowledge import KnowledgeBase
from faq.text import clean

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
BATCH = 128

Progress = Callable[[int, int], None]  # (texts encoded so far, total)


@dataclass(frozen=True)
class EmbeddingIndex:
    entry_ids: tuple[str, ...]  # one per row
    texts: tuple[str, ...]
    vectors: np.ndarray  # (rows, dim), L2-normalised
    key: str
    from_cache: bool

    @classmethod
    def build(
        cls,
        knowledge: KnowledgeBase,
        encoder: Encoder,
        cache_dir: Path | None = None,
        progress: Progress | None = None,
    ) -> EmbeddingIndex:
        pairs = [(e.id, clean(p)) for e in knowledge.entries for p in e.phrasings()]
        ids = tuple(i for i, _ in pairs)
        texts = tuple(t for _, t in pairs)
        key = cache_key(encoder.name, pairs)
        prefix = f"faq-{_slug(encoder.name)}-"
        path = cache_dir / f"{prefix}{key[:32]}.npy" if cache_dir else None
        if path is not None and path.exists():
            try:
                vectors = np.load(path, allow_pickle=False)
                if vectors.shape[0] == len(texts):
                    return cls(ids, texts, vectors, key, from_cache=True)
            except (OSError, ValueError) as error:
                log.warning("ignoring unreadable FAQ index cache %s: %s", path, error)
        vectors = encode_all(encoder, list(texts), progress)
        if path is not None:
            _write(path, vectors)
            _remove_stale(path, prefix)
        return cls(ids, texts, vectors, key, from_cache=False)

    def scores(self, query: np.ndarray) -> dict[str, float]:
        """Each entry's best cosine similarity to the (normalised) query vector."""
        similarities = self.vectors @ query.reshape(-1)
        best: dict[str, float] = {}
        for entry_id, score in zip(self.entry_ids, similarities.tolist(), strict=True):
            if score > best.get(entry_id, -1.0):
                best[entry_id] = score
        return best


def cache_key(encoder_name: str, pairs: Sequence[tuple[str, str]]) -> str:
    payload = json.dumps([CACHE_FORMAT, encoder_name, list(pairs)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def encode_all(encoder: Encoder, texts: list[str], progress: Progress | None = None) -> np.ndarray:
    parts = []
    for start in range(0, len(texts), BATCH):
        parts.append(encoder.encode(texts[start : start + BATCH]))
        if progress is not None:
            progress(min(start + BATCH, len(texts)), len(texts))
    if not parts:
        return encoder.encode([])
    return np.vstack(parts).astype(np.float32)


def _write(path: Path, vectors: np.ndarray) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            np.save(file, vectors, allow_pickle=False)
        os.replace(temporary, path)
    except OSError as error:  # a read-only cache only costs the next start some seconds
        log.warning("could not write the FAQ index cache %s: %s", path, error)


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)[-40:]


def _remove_stale(current: Path, prefix: str) -> None:
    """Older indexes of the same encoder: a knowledge base edited often leaves no trail."""
    for old in current.parent.glob(f"{prefix}*.npy"):
        if old != current:
            old.unlink(missing_ok=True)
