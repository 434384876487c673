"""``OrderBackend`` over a shop's own order API (the contract in README, "Order backend";
``orders/http_api.py`` is its reference implementation).

Every failure to get an answer becomes OrderError(UNAVAILABLE): "timeout" past ``timeout``
seconds in total, "bad_response" for a refused or dropped connection, a 5xx, or a body that is
not the contract's JSON. The server's own refusals keep their kind and reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp

from orders import client, wire
from orders.http_api import IDEMPOTENCY_HEADER, UNAUTHORIZED
from orders.models import (
    Customer,
    FollowUp,
    Order,
    OrderError,
    OrderErrorKind,
    Product,
    ReturnRequest,
)

T = TypeVar("T")

# Answers whose body names the refusal; the kind comes from the status.
_KIND_OF_STATUS = {
    400: OrderErrorKind.NOT_ALLOWED,
    403: OrderErrorKind.NOT_OWNER,
    404: OrderErrorKind.NOT_FOUND,
    409: OrderErrorKind.NOT_ALLOWED,
    422: OrderErrorKind.NOT_ALLOWED,
}
_DEFAULT_REASON = {
    OrderErrorKind.NOT_ALLOWED: client.INVALID_ARGUMENT,
    OrderErrorKind.NOT_OWNER: "not_owner",
    OrderErrorKind.NOT_FOUND: "not_found",
}


class HttpOrderBackend:
    def __init__(self, base_url: str, token: str = "", timeout: float = 3.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_order(self, order_id: str) -> Order:
        return await self._call("GET", f"/orders/{quote(order_id, safe='')}", wire.decode_order)

    async def orders_of(self, customer_id: str) -> list[Order]:
        return await self._call(
            "GET",
            f"/customers/{quote(customer_id, safe='')}/orders",
            _listing("orders", wire.decode_order),
        )

    async def customer(self, customer_id: str) -> Customer:
        return await self._call(
            "GET", f"/customers/{quote(customer_id, safe='')}", wire.decode_customer
        )

    async def products(self) -> list[Product]:
        return await self._call("GET", "/products", _listing("products", wire.decode_product))

    async def unpaid_orders(self, older_than_hours: float) -> list[Order]:
        before = datetime.now() - timedelta(hours=older_than_hours)
        query = {
            "status": "unpaid",
            "created_before": before.isoformat(sep=" ", timespec="seconds"),
        }
        return await self._call(
            "GET", "/orders", _listing("orders", wire.decode_order), query=query
        )

    async def change_address(self, order_id: str, *, address: str, request_id: str) -> Order:
        return await self._change(
            order_id, "address", {"address": address}, request_id, wire.decode_order
        )

    async def change_phone(self, order_id: str, *, phone: str, request_id: str) -> Order:
        return await self._change(
            order_id, "phone", {"phone": phone}, request_id, wire.decode_order
        )

    async def cancel(self, order_id: str, *, request_id: str) -> Order:
        return await self._change(order_id, "cancel", {}, request_id, wire.decode_order)

    async def request_return(
        self, order_id: str, *, kind: str, reason: str, request_id: str
    ) -> ReturnRequest:
        body = {"kind": kind, "reason": reason}
        return await self._change(order_id, "returns", body, request_id, wire.decode_return)

    async def urge_delivery(
        self, order_id: str, *, request_id: str, follow_up_hours: float = 2
    ) -> FollowUp:
        body = {"follow_up_hours": follow_up_hours}
        return await self._change(order_id, "urge", body, request_id, wire.decode_follow_up)

    async def _change(
        self,
        order_id: str,
        action: str,
        body: dict[str, Any],
        request_id: str,
        decode: Callable[[wire.Json], T],
    ) -> T:
        return await self._call(
            "POST",
            f"/orders/{quote(order_id, safe='')}/{action}",
            decode,
            body=body,
            headers={IDEMPOTENCY_HEADER: request_id},
        )

    async def _call(
        self,
        method: str,
        path: str,
        decode: Callable[[wire.Json], T],
        *,
        query: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> T:
        if self._session is None:
            # Created here, inside the running loop, never at construction time.
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        try:
            async with self._session.request(
                method, self._base_url + path, params=query, json=body, headers=headers
            ) as response:
                status, text = response.status, await response.text()
        except TimeoutError:
            raise OrderError(OrderErrorKind.UNAVAILABLE, client.TIMEOUT) from None
        except (aiohttp.ClientError, UnicodeDecodeError) as error:
            raise OrderError(OrderErrorKind.UNAVAILABLE, client.BAD_RESPONSE) from error
        if status == 200:
            try:
                return decode(json.loads(text))
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise OrderError(OrderErrorKind.UNAVAILABLE, client.BAD_RESPONSE) from error
        if status == 401:
            raise OrderError(OrderErrorKind.UNAVAILABLE, UNAUTHORIZED)
        kind = _KIND_OF_STATUS.get(status)
        if kind is None:
            raise OrderError(OrderErrorKind.UNAVAILABLE, client.BAD_RESPONSE)
        raise OrderError(kind, _reason(text) or _DEFAULT_REASON[kind])


def _listing(field: str, decode: Callable[[wire.Json], T]) -> Callable[[wire.Json], list[T]]:
    def decode_all(body: wire.Json) -> list[T]:
        return [decode(item) for item in body[field]]

    return decode_all


def _reason(text: str) -> str:
    """The machine code of a refusal, when the body is the contract's error shape."""
    try:
        body = json.loads(text)
    except ValueError:
        return ""
    reason = body.get("reason") if isinstance(body, dict) else None
    return reason if isinstance(reason, str) else ""
