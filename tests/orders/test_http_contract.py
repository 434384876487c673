"""The HTTP contract: its JSON, and what the adapter makes of servers that misbehave."""

import asyncio
import socket
from datetime import datetime

import pytest
from aiohttp import web

from orders import wire
from orders.demo_store import DemoOrderStore
from orders.http_api import create_app
from orders.http_backend import HttpOrderBackend
from orders.models import OrderError, OrderErrorKind, OrderStatus

SHIPPED = "2025110300030"


async def failure(call) -> tuple[OrderErrorKind, str]:
    with pytest.raises(OrderError) as raised:
        await call
    return raised.value.kind, raised.value.reason


@pytest.fixture
async def remote(request):
    """An adapter for one test, closed afterwards; call it with the server's URL."""
    opened: list[HttpOrderBackend] = []

    def open_remote(url: object, **options) -> HttpOrderBackend:
        opened.append(HttpOrderBackend(str(url), **options))
        return opened[-1]

    yield open_remote
    for backend in opened:
        await backend.aclose()


async def test_an_order_is_json_with_cents_and_iso_times(aiohttp_client, store: DemoOrderStore):
    api = await aiohttp_client(create_app(store))
    response = await api.get(f"/orders/{SHIPPED}")
    body = await response.json()
    assert response.status == 200 and body["id"] == SHIPPED and body["status"] == "shipped"
    assert isinstance(body["total_cents"], int)
    assert body["total_cents"] == sum(
        line["quantity"] * line["price_cents"] for line in body["lines"]
    )
    assert datetime.fromisoformat(body["shipped_at"]) < datetime.fromisoformat(
        body["tracking"][-1]["ts"]
    )
    assert {"courier", "tracking_no", "receiver_phone", "address", "delivered_at"} <= set(body)


async def test_refusals_are_the_error_shape_with_the_right_status(
    aiohttp_client, store: DemoOrderStore
):
    api = await aiohttp_client(create_app(store))
    missing = await api.get("/orders/0000")
    assert missing.status == 404
    assert await missing.json() == {"error": "not_found", "reason": "no_such_order"}
    late = await api.post(f"/orders/{SHIPPED}/cancel", headers={"Idempotency-Key": "k"})
    assert late.status == 409
    assert await late.json() == {"error": "not_allowed", "reason": "already_shipped"}


async def test_a_change_without_an_idempotency_key_is_refused(
    aiohttp_client, store: DemoOrderStore
):
    api = await aiohttp_client(create_app(store))
    response = await api.post("/orders/2025110300012/cancel")
    assert response.status == 400
    assert await response.json() == {"error": "not_allowed", "reason": "invalid_argument"}
    assert (await store.get_order("2025110300012")).status is OrderStatus.PAID
    bad = await api.post(
        "/orders/2025110300012/address", data="{not json", headers={"Idempotency-Key": "k"}
    )
    assert bad.status == 400


async def test_the_token_is_required_when_the_server_has_one(
    aiohttp_server, remote, store: DemoOrderStore
):
    server = await aiohttp_server(create_app(store, token="s3cret"))
    anonymous = remote(server.make_url(""))
    assert await failure(anonymous.get_order(SHIPPED)) == (
        OrderErrorKind.UNAVAILABLE,
        "unauthorized",
    )
    trusted = remote(server.make_url(""), token="s3cret")
    assert (await trusted.get_order(SHIPPED)).id == SHIPPED


async def test_the_request_id_and_token_travel_as_headers(
    aiohttp_server, remote, store: DemoOrderStore
):
    seen: list[tuple[str, str]] = []

    async def recording(request: web.Request) -> web.StreamResponse:
        seen.append(
            (request.headers.get("Idempotency-Key", ""), request.headers.get("Authorization", ""))
        )
        return web.json_response(wire.encode(await store.get_order(request.match_info["id"])))

    app = web.Application()
    app.router.add_post("/orders/{id}/cancel", recording)
    backend = remote((await aiohttp_server(app)).make_url(""), token="t")
    await backend.cancel("2025110300012", request_id="req-42")
    assert seen == [("req-42", "Bearer t")]


def answering(status: int, text: str) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text=text, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (500, '{"error": "unavailable"}', (OrderErrorKind.UNAVAILABLE, "bad_response")),
        (502, "<html>Bad gateway</html>", (OrderErrorKind.UNAVAILABLE, "bad_response")),
        (200, "<html>not json</html>", (OrderErrorKind.UNAVAILABLE, "bad_response")),
        (200, '{"id": "2025110300030"}', (OrderErrorKind.UNAVAILABLE, "bad_response")),
        (200, '["a list"]', (OrderErrorKind.UNAVAILABLE, "bad_response")),
        (200, '{"status": "teleported"}', (OrderErrorKind.UNAVAILABLE, "bad_response")),
        (404, "gone", (OrderErrorKind.NOT_FOUND, "not_found")),
        (
            403,
            '{"error": "not_owner", "reason": "wrong_customer"}',
            (OrderErrorKind.NOT_OWNER, "wrong_customer"),
        ),
        (
            409,
            '{"error": "not_allowed", "reason": "already_shipped"}',
            (OrderErrorKind.NOT_ALLOWED, "already_shipped"),
        ),
    ],
)
async def test_what_the_server_answers_becomes_one_error_shape(
    aiohttp_server, remote, status, text, expected
):
    backend = remote((await aiohttp_server(answering(status, text))).make_url(""))
    assert await failure(backend.get_order(SHIPPED)) == expected


async def test_a_server_slower_than_the_timeout_is_unavailable_in_time(aiohttp_server, remote):
    release = asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/products", stuck)
    backend = remote((await aiohttp_server(app)).make_url(""), timeout=0.3)
    started = asyncio.get_running_loop().time()
    try:
        assert await failure(backend.products()) == (OrderErrorKind.UNAVAILABLE, "timeout")
    finally:
        release.set()  # lets the server shut down at once
    assert asyncio.get_running_loop().time() - started < 2


async def test_a_dropped_connection_is_unavailable(remote):
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        backend = remote(f"http://127.0.0.1:{port}")
        assert await failure(backend.get_order(SHIPPED)) == (
            OrderErrorKind.UNAVAILABLE,
            "bad_response",
        )
    finally:
        server.close()
        await server.wait_closed()


async def test_nobody_listening_is_unavailable(remote):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = remote(f"http://127.0.0.1:{port}")
    assert await failure(backend.cancel(SHIPPED, request_id="r")) == (
        OrderErrorKind.UNAVAILABLE,
        "bad_response",
    )
