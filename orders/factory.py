"""The order backend the settings name: the demo store (default) or the shop's HTTP API."""

from __future__ import annotations

from core.settings import Settings
from orders.client import OrderBackend
from orders.demo_store import DemoOrderStore
from orders.http_backend import HttpOrderBackend


def open_backend(settings: Settings) -> OrderBackend:
    """Cheap and safe outside a running loop: nothing is opened before the first call (the demo
    store seeds itself then, in its worker thread; the HTTP session is made in the caller's
    loop)."""
    if settings.orders_backend == "http":
        return HttpOrderBackend(settings.orders_api_url, token=settings.orders_api_token)
    return DemoOrderStore(
        settings.orders_db,
        return_window_days=settings.return_window_days,
        seed_on_first_use=True,
    )
