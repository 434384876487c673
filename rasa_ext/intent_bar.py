"""Intents that hand a conversation to a person need more certainty than the rest.

A complaint goes to the complaints team at once, so reading one into a calm message ("快一点",
"对的 我需要寄回去吗") sends a customer who only wanted an answer into a queue. On real shop chat
(JDDC dev, test and studied sessions, ``python -m tools.real``) the messages the classifier read
as a complaint with less than 0.9 confidence were, 20 times in 21, not complaints. The same holds
for a request for a person: messages that only mention the staff ("有客服回答了", "让售后联系我吗")
are read as one, and of those read with less than 0.9 confidence 7 in 12 were not; the plain
requests (人工, 转人工, 人工客服) are read at 0.9 or more, and the router's keyword rule
catches them whatever the classifier says. Below its bar such a message becomes ``nlu_fallback``:
the two-stage fallback asks what the customer meant, with the intent among the buttons, instead
of guessing either way.

Runs last in the pipeline (after the follow-up reading); a button's payload is never touched (it names its
intent).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from rasa_ext import StatelessComponent

NLU_FALLBACK = "nlu_fallback"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class IntentConfidenceBar(StatelessComponent):
    def __init__(self, bars: dict[str, float]) -> None:
        self._bars = bars

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**StatelessComponent.get_default_config(), "min_confidence": {}}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        bars = {str(name): float(bar) for name, bar in (config["min_confidence"] or {}).items()}
        if not all(0.0 < bar <= 1.0 for bar in bars.values()):
            raise ValueError(f"IntentConfidenceBar: each bar must be in (0, 1], got {bars}")
        return cls(bars)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if (message.get(TEXT) or "").startswith("/"):
                continue
            predicted = message.get(INTENT) or {}
            bar = self._bars.get(str(predicted.get("name")))
            confidence = float(predicted.get("confidence") or 0.0)
            if bar is not None and confidence < bar:
                message.set(
                    INTENT, {"name": NLU_FALLBACK, "confidence": confidence}, add_to_output=True
                )
        return messages
