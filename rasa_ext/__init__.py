"""Custom components of the Rasa NLU pipeline, and kefu's input channel (``channel``): loaded
by the Rasa server, Python 3.10.

They import only the standard library, Rasa, numpy and ``core`` (pure standard library), so
the Rasa environment needs nothing of the kefu environment.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

_OWN_CODE = (Path(__file__).parent, Path(__file__).parent.parent / "core")
# Not part of the pipeline: editing it must not retrain (the Makefile leaves it out too).
_NOT_PIPELINE = {"channel.py"}


def own_code_digest() -> str:
    """A digest of the pipeline's own code (``rasa_ext``, ``core``). Rasa caches what a
    component made of the training data under a fingerprint of its class and configuration,
    not of its code: with this in the configuration, editing ``core/pasted.py`` retrains."""
    digest = hashlib.sha256()
    for folder in _OWN_CODE:
        for path in sorted(folder.glob("*.py")):
            if path.name not in _NOT_PIPELINE:
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class StatelessComponent(GraphComponent):
    """A component with nothing trained and nothing stored; its configuration is the digest
    of the pipeline's own code (see ``own_code_digest``)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"code": own_code_digest()}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls()
