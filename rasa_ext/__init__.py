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

_HERE = Path(__file__).parent
# The pipeline's own code: these components and the modules of ``core`` they read (the rest of
# ``core`` is the kefu side's, and editing it must not retrain; nor must the channel or the
# server's tracker store). The Makefile's RASA_SOURCES lists the same files.
_SERVER_ONLY = (_HERE / "channel.py", _HERE / "server.py")
_CORE_READ = ("pasted.py", "followup.py", "language.py")


def own_code_digest() -> str:
    """A digest of the pipeline's own code. Rasa caches what a component made of the training
    data under a fingerprint of its class and configuration, not of its code: with this in the
    configuration, editing ``core/pasted.py`` retrains."""
    digest = hashlib.sha256()
    paths = [p for p in sorted(_HERE.glob("*.py")) if p not in _SERVER_ONLY]
    paths += [_HERE.parent / "core" / name for name in _CORE_READ]
    for path in paths:
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
