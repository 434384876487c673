from pathlib import Path

from core.settings import load
from orders.demo_store import DemoOrderStore
from orders.factory import open_backend
from orders.http_api import create_app
from orders.http_backend import HttpOrderBackend
from orders.models import OrderStatus


def settings_for(tmp_path: Path, **environ: str):
    return load(
        {"KEFU_ORDERS_DB": str(tmp_path / "var" / "orders.sqlite3"), **environ},
        dotenv=tmp_path / "none",
    )


def test_opening_a_backend_touches_nothing(tmp_path: Path):
    open_backend(settings_for(tmp_path))
    open_backend(
        settings_for(tmp_path, KEFU_ORDERS_BACKEND="http", KEFU_ORDERS_API_URL="http://127.0.0.1:9")
    )
    assert not (tmp_path / "var").exists()


async def test_the_demo_store_is_seeded_on_first_use_with_the_shops_return_window(tmp_path: Path):
    backend = open_backend(settings_for(tmp_path, KEFU_RETURN_WINDOW_DAYS="60"))
    assert isinstance(backend, DemoOrderStore)
    assert (await backend.get_order("2025110300030")).status is OrderStatus.SHIPPED
    assert (tmp_path / "var" / "orders.sqlite3").exists()
    # Delivered a month ago: inside a 60-day window.
    created = await backend.request_return(
        "2025110300049", kind="return", reason="no_reason", request_id="r"
    )
    assert created.order_id == "2025110300049"


async def test_the_http_backend_calls_the_configured_api_with_its_token(
    tmp_path: Path, aiohttp_server, store: DemoOrderStore
):
    server = await aiohttp_server(create_app(store, token="shop-token"))
    backend = open_backend(
        settings_for(
            tmp_path,
            KEFU_ORDERS_BACKEND="http",
            KEFU_ORDERS_API_URL=str(server.make_url("/")),
            KEFU_ORDERS_API_TOKEN="shop-token",
        )
    )
    assert isinstance(backend, HttpOrderBackend)
    try:
        assert (await backend.get_order("2025110300030")).status is OrderStatus.SHIPPED
    finally:
        await backend.aclose()
