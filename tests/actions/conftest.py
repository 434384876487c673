from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker


def tracker(
    text: str = "",
    *,
    intent: str = "",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    sender: str = "web-test-conversation",
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
        "metadata": metadata or {},
    }
    return Tracker(
        sender_id=sender,
        slots={"language": "zh", "order_id": None, **(slots or {})},
        latest_message=latest,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture
def make_tracker():
    return tracker


@pytest.fixture(scope="session")
def faq_index_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One FAQ index cache for the session: encoding the knowledge base takes about 20 s, and
    every test's fresh action would otherwise encode it again."""
    return tmp_path_factory.mktemp("faq-cache")


@pytest.fixture(autouse=True)
def scratch_var_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, faq_index_cache: Path
):
    """Caches and stores the actions write go to a scratch directory, not the project's var/."""
    var = tmp_path_factory.mktemp("var")
    (var / "faq-cache").symlink_to(faq_index_cache, target_is_directory=True)
    monkeypatch.setenv("KEFU_VAR_DIR", str(var))
