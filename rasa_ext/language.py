"""The reply language, read in the pipeline: the ``language`` entity fills the ``language``
slot (domain/chitchat.yml), which chooses every response's variant.

It was a custom slot mapping (``action_detect_language``), one call to the action server in
every turn. The same decision (``core.language.reply_language``: the router's signal, else
the text; digits, emoji, payloads and external intents keep the language), from the message's
metadata. The entity comes with every message that says its language, even the current one:
the slot is set again inside the turn, after the two-stage fallback rewinds a message (which
the action, run again then, also did); only the same value is set once more in a turn.
``rasa test nlu`` gives it a report of its own (``LanguageReader_report.json``, as it does
``PastedContentReader``); the other extractors' scores are unchanged.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from core.language import reply_language
from rasa_ext import StatelessComponent

LANGUAGE = "language"
EXTRACTOR = "LanguageReader"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageReader(StatelessComponent):
    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            signals = (message.get("metadata") or {}).get("signals") or {}
            language = reply_language(text, signals.get(LANGUAGE))
            if language is None:
                continue
            entity = {
                "entity": LANGUAGE,
                "value": language,
                "start": 0,
                "end": len(text),
                "extractor": EXTRACTOR,
            }
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages
