"""The language a customer writes in: Chinese, or English when there is English and no Chinese."""

from __future__ import annotations

import re

# Chinese characters, and an English word: what tells the two languages apart.
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def detect_language(text: str) -> str:
    """English when the message has English words and no Chinese characters; else Chinese."""
    return language_of(text) or "zh"


def language_of(text: str) -> str | None:
    """The message's language, or None when it has no words to tell (digits, emoji, "?")."""
    if HAN.search(text):
        return "zh"
    return "en" if LATIN_WORD.search(text) else None
