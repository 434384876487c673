"""Custom components of the Rasa NLU pipeline (loaded by the Rasa server, Python 3.10).

They import only the standard library, Rasa, numpy and ``core`` (pure standard library), so
the Rasa environment needs nothing of the kefu environment.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


class StatelessComponent(GraphComponent):
    """A component with no configuration, nothing trained and nothing stored."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls()
