"""The order API contract served from any ``OrderBackend``: the reference implementation of what
``HttpOrderBackend`` expects from a shop's own order system (README, "Order backend").

``python -m orders serve`` runs it over the demo store.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from orders import client, wire
from orders.client import OrderBackend
from orders.models import OrderError, OrderErrorKind, OrderStatus

IDEMPOTENCY_HEADER = "Idempotency-Key"
STATUS_OF_ERROR = {
    OrderErrorKind.NOT_FOUND: 404,
    OrderErrorKind.NOT_OWNER: 403,
    OrderErrorKind.NOT_ALLOWED: 409,
    OrderErrorKind.UNAVAILABLE: 503,
}
UNAUTHORIZED = "unauthorized"

_BACKEND = web.AppKey("backend", OrderBackend)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(backend: OrderBackend, *, token: str = "") -> web.Application:
    """With a ``token``, every call must carry ``Authorization: Bearer <token>``."""
    middlewares: list[Middleware] = [_errors_as_json]
    if token:
        middlewares.append(_bearer(token))
    app = web.Application(middlewares=middlewares)
    app[_BACKEND] = backend
    app.router.add_get("/orders", _unpaid_orders)
    app.router.add_get("/orders/{order_id}", _get_order)
    app.router.add_get("/customers/{customer_id}", _customer)
    app.router.add_get("/customers/{customer_id}/orders", _orders_of)
    app.router.add_get("/products", _products)
    app.router.add_post("/orders/{order_id}/address", _change_address)
    app.router.add_post("/orders/{order_id}/phone", _change_phone)
    app.router.add_post("/orders/{order_id}/cancel", _cancel)
    app.router.add_post("/orders/{order_id}/returns", _request_return)
    app.router.add_post("/orders/{order_id}/urge", _urge_delivery)
    return app


@web.middleware
async def _errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OrderError as error:
        return web.json_response(wire.encode_error(error), status=STATUS_OF_ERROR[error.kind])


def _bearer(token: str) -> Middleware:
    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {token}":
            body = {"error": OrderErrorKind.UNAVAILABLE.value, "reason": UNAUTHORIZED}
            return web.json_response(body, status=401)
        return await handler(request)

    return check


def _invalid() -> web.HTTPBadRequest:
    """A request that is not the contract's (no idempotency key, not JSON): 400, not 409."""
    body = {"error": OrderErrorKind.NOT_ALLOWED.value, "reason": client.INVALID_ARGUMENT}
    return web.HTTPBadRequest(text=json.dumps(body), content_type="application/json")


async def _body(request: web.Request, *fields: str) -> tuple[str, dict[str, Any]]:
    """The idempotency key and the JSON body of a change, with its required string fields."""
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if not key:
        raise _invalid()
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        raise _invalid() from None
    if not isinstance(body, dict) or not all(isinstance(body.get(f), str) for f in fields):
        raise _invalid()
    return key, body


async def _get_order(request: web.Request) -> web.Response:
    order = await request.app[_BACKEND].get_order(request.match_info["order_id"])
    return web.json_response(wire.encode(order))


async def _unpaid_orders(request: web.Request) -> web.Response:
    """``?status=unpaid&created_before=ISO``: the only listing the assistant needs."""
    if request.query.get("status") != OrderStatus.UNPAID.value:
        raise _invalid()
    try:
        before = datetime.fromisoformat(request.query["created_before"])
    except (KeyError, ValueError):
        raise _invalid() from None
    hours = (datetime.now() - before).total_seconds() / 3600
    orders = await request.app[_BACKEND].unpaid_orders(older_than_hours=hours)
    return web.json_response({"orders": [wire.encode(o) for o in orders]})


async def _customer(request: web.Request) -> web.Response:
    customer = await request.app[_BACKEND].customer(request.match_info["customer_id"])
    return web.json_response(wire.encode(customer))


async def _orders_of(request: web.Request) -> web.Response:
    orders = await request.app[_BACKEND].orders_of(request.match_info["customer_id"])
    return web.json_response({"orders": [wire.encode(o) for o in orders]})


async def _products(request: web.Request) -> web.Response:
    products = await request.app[_BACKEND].products()
    return web.json_response({"products": [wire.encode(p) for p in products]})


async def _change_address(request: web.Request) -> web.Response:
    key, body = await _body(request, "address")
    order = await request.app[_BACKEND].change_address(
        request.match_info["order_id"], address=body["address"], request_id=key
    )
    return web.json_response(wire.encode(order))


async def _change_phone(request: web.Request) -> web.Response:
    key, body = await _body(request, "phone")
    order = await request.app[_BACKEND].change_phone(
        request.match_info["order_id"], phone=body["phone"], request_id=key
    )
    return web.json_response(wire.encode(order))


async def _cancel(request: web.Request) -> web.Response:
    key, _ = await _body(request)
    order = await request.app[_BACKEND].cancel(request.match_info["order_id"], request_id=key)
    return web.json_response(wire.encode(order))


async def _request_return(request: web.Request) -> web.Response:
    key, body = await _body(request, "kind", "reason")
    created = await request.app[_BACKEND].request_return(
        request.match_info["order_id"], kind=body["kind"], reason=body["reason"], request_id=key
    )
    return web.json_response(wire.encode(created))


async def _urge_delivery(request: web.Request) -> web.Response:
    key, body = await _body(request)
    hours = body.get("follow_up_hours", 2)
    if not isinstance(hours, int | float) or isinstance(hours, bool):
        raise _invalid()
    follow_up = await request.app[_BACKEND].urge_delivery(
        request.match_info["order_id"], request_id=key, follow_up_hours=float(hours)
    )
    return web.json_response(wire.encode(follow_up))
