from datetime import datetime
from pathlib import Path

import pytest

from orders.demo_store import DemoOrderStore

# The demo data is timed relative to the moment of seeding; the store's clock stays there.
NOW = datetime(2026, 11, 22, 12, 0)


def pinned_store(path: Path, **options: int) -> DemoOrderStore:
    store = DemoOrderStore(path, clock=lambda: NOW, **options)
    store.ensure_seeded()
    return store


@pytest.fixture
def store(tmp_path: Path) -> DemoOrderStore:
    return pinned_store(tmp_path / "orders.sqlite3")
