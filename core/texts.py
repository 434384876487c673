"""The wording of the system itself, in data files, each entry in Chinese and English:
core/messages.yml (the channels' texts, in the customer's language), core/errors.yml (the HTTP
APIs' error messages) and core/console.yml (what the system writes for the agents)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

MESSAGES_FILE = Path(__file__).with_name("messages.yml")
ERRORS_FILE = Path(__file__).with_name("errors.yml")
CONSOLE_FILE = Path(__file__).with_name("console.yml")
TEXT_FILES = (MESSAGES_FILE, ERRORS_FILE, CONSOLE_FILE)
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Texts:
    messages: dict[str, dict[str, str]]

    @classmethod
    def load(cls, path: Path = MESSAGES_FILE) -> Texts:
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def get(self, key: str, language: str = "zh", **values: object) -> str:
        variants = self.messages[key]
        return variants.get(language, variants["zh"]).format(**values)

    def both(self, key: str, **values: object) -> str:
        """Chinese, then English, for a reader whose language is not known: ``中文 / English``."""
        return " / ".join(self.get(key, language, **values) for language in LANGUAGES)


@functools.cache
def error_texts() -> Texts:
    """The error messages, read once per process (the servers read them when they create their
    app; the helpers that raise the errors have no app at hand)."""
    return Texts.load(ERRORS_FILE)


@functools.cache
def console_texts() -> Texts:
    """What the system writes for the agents, read once per process (at app creation)."""
    return Texts.load(CONSOLE_FILE)
