"""The channels' own texts (core/messages.yml), in the customer's language."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

MESSAGES_FILE = Path(__file__).with_name("messages.yml")


@dataclass(frozen=True)
class Texts:
    messages: dict[str, dict[str, str]]

    @classmethod
    def load(cls, path: Path = MESSAGES_FILE) -> Texts:
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def get(self, key: str, language: str = "zh", **values: object) -> str:
        variants = self.messages[key]
        return variants.get(language, variants["zh"]).format(**values)
