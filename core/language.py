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


# How Rasa writes the text of an external intent ("EXTERNAL: escalate") or a "/intent" payload.
EXTERNAL_PREFIXES = ("EXTERNAL: ", "/")


def reply_language(text: str, signalled: str | None) -> str | None:
    """The reply language a customer message says, or None when it says none and the current
    one stays: an external intent (escalation, hand-back) or a button's payload, or a message
    with no words to tell (phone digits, an order number, emoji). The router's signal
    (``signalled``) decides, else the text itself."""
    if text.startswith(EXTERNAL_PREFIXES) or language_of(text) is None:
        return None
    return signalled or language_of(text)
