"""The interface every order backend implements."""

from __future__ import annotations

from typing import Protocol

from orders.models import Order, Product


class OrderBackend(Protocol):
    async def get_order(self, order_id: str) -> Order:
        """The order, or OrderError(NOT_FOUND / UNAVAILABLE)."""
        ...

    async def orders_of(self, customer_id: str) -> list[Order]:
        """A customer's orders, newest first."""
        ...

    async def products(self) -> list[Product]: ...
