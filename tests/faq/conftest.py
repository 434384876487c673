import shutil
from pathlib import Path

import pytest

from faq.encoders import UseEncoder
from faq.retriever import FaqRetriever

KB_DIR = Path(__file__).resolve().parents[2] / "faq" / "kb"


@pytest.fixture(scope="session")
def use_encoder() -> UseEncoder:
    """One USE model for the whole run (it loads in about a second)."""
    return UseEncoder()


@pytest.fixture(scope="session")
def shipped(use_encoder, tmp_path_factory) -> FaqRetriever:
    """The shipped knowledge base with the default encoder and thresholds."""
    return FaqRetriever(KB_DIR, tmp_path_factory.mktemp("faq-cache"), use_encoder).load()


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A copy of the shipped knowledge base that a test may edit."""
    return Path(shutil.copytree(KB_DIR, tmp_path / "kb"))
