from datetime import datetime
from pathlib import Path

import pytest

from orders.demo_store import DemoOrderStore
from orders.http_api import create_app
from orders.http_backend import HttpOrderBackend

# The demo data is timed relative to the moment of seeding; the store's clock stays there.
NOW = datetime(2026, 11, 22, 12, 0)


def pinned_store(path: Path, **options: int) -> DemoOrderStore:
    store = DemoOrderStore(path, clock=lambda: NOW, **options)
    store.ensure_seeded()
    return store


@pytest.fixture
def store(tmp_path: Path) -> DemoOrderStore:
    return pinned_store(tmp_path / "orders.sqlite3")


@pytest.fixture(params=["demo", "http"])
async def backend(request: pytest.FixtureRequest, store: DemoOrderStore, aiohttp_server):
    """The same behaviour from the demo store directly and through the HTTP contract."""
    if request.param == "demo":
        yield store
        return
    server = await aiohttp_server(create_app(store))
    remote = HttpOrderBackend(str(server.make_url("")))
    yield remote
    await remote.aclose()
