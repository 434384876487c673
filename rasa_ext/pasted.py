"""Classify what the customer wrote, not what the channel pasted (see ``core.pasted``).

``PastedContentReader`` runs first in the pipeline: it replaces the message's text with the
customer's own words (an order card becomes "订单号", a link "链接", a phone number "电话")
so that every later component reads those words, and it extracts the order and tracking
numbers it found as ``order_id`` / ``tracking_no`` entities. ``OriginalTextRestorer`` runs
last and puts the original text back, so the tracker, the actions (which read a new phone
number or address from the text) and the transcript keep what the customer sent; the
words the model read travel along as ``customer_words``.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from core.pasted import read
from rasa_ext import StatelessComponent

ORIGINAL_TEXT = "original_text"
CUSTOMER_WORDS = "customer_words"
ENTITY_KINDS = {"order_id": "order_id", "tracking_no": "tracking_no"}
EXTRACTOR = "PastedContentReader"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class PastedContentReader(StatelessComponent):
    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._read(message, with_entities=False)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._read(message, with_entities=True)
        return messages

    @staticmethod
    def _read(message: Message, with_entities: bool) -> None:
        text = message.get(TEXT)
        if not text:
            return
        reading = read(text)
        message.set(ORIGINAL_TEXT, text)
        message.set(CUSTOMER_WORDS, reading.words, add_to_output=with_entities)
        # An empty reading (a message that was only boilerplate) keeps a word to classify.
        message.set(TEXT, reading.words or text)
        if not with_entities:
            return  # training examples carry their own annotations
        found = [
            {
                "entity": ENTITY_KINDS[span.kind],
                "value": span.value,
                "start": span.start,
                "end": span.end,
                "extractor": EXTRACTOR,
            }
            for span in reading.spans
            if span.kind in ENTITY_KINDS
        ]
        if found:
            message.set(ENTITIES, [*message.get(ENTITIES, []), *found], add_to_output=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class OriginalTextRestorer(StatelessComponent):
    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            original = message.get(ORIGINAL_TEXT)
            if original is not None:
                message.set(TEXT, original)
        return messages
