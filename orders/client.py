"""The interface every order backend implements (the demo store, the HTTP adapter).

Every method raises ``OrderError`` and nothing else. Every change takes a ``request_id``: the
same id always gets the first call's answer, value or error, and changes the order at most
once, so a retried or doubled request is harmless. A refusal is NOT_ALLOWED with one of the
reason codes below; a backend that cannot answer is UNAVAILABLE ("timeout", "bad_response").
"""

from __future__ import annotations

from typing import Protocol

from orders.models import Customer, FollowUp, Order, Product, ReturnRequest

# Reason codes of NOT_ALLOWED, shared by every backend.
ALREADY_SHIPPED = "already_shipped"
ALREADY_CANCELLED = "already_cancelled"
ALREADY_REQUESTED = "already_requested"
ALREADY_REFUNDED = "already_refunded"
ALREADY_DELIVERED = "already_delivered"
NOT_PAID = "not_paid"
NOT_SHIPPED = "not_shipped"
NOT_DELIVERED = "not_delivered"
OUTSIDE_WINDOW = "outside_window"
INVALID_ARGUMENT = "invalid_argument"
REQUEST_ID_REUSED = "request_id_reused"
# Reason codes of UNAVAILABLE.
TIMEOUT = "timeout"
BAD_RESPONSE = "bad_response"


class OrderBackend(Protocol):
    async def get_order(self, order_id: str) -> Order:
        """The order, or OrderError(NOT_FOUND / UNAVAILABLE)."""
        ...

    async def orders_of(self, customer_id: str) -> list[Order]:
        """A customer's orders, newest first (empty for an unknown customer)."""
        ...

    async def customer(self, customer_id: str) -> Customer:
        """The buyer, or NOT_FOUND."""
        ...

    async def products(self) -> list[Product]: ...

    async def change_address(self, order_id: str, *, address: str, request_id: str) -> Order:
        """Before dispatch only: NOT_ALLOWED already_shipped / already_cancelled."""
        ...

    async def change_phone(self, order_id: str, *, phone: str, request_id: str) -> Order:
        """The receiver's phone, before dispatch only (as ``change_address``)."""
        ...

    async def cancel(self, order_id: str, *, request_id: str) -> Order:
        """Before dispatch only; a paid order is refunded in full. NOT_ALLOWED
        already_shipped / already_cancelled."""
        ...

    async def request_return(
        self, order_id: str, *, kind: str, reason: str, request_id: str
    ) -> ReturnRequest:
        """``kind`` return | exchange | refund, ``reason`` no_reason | quality; delivered orders
        within the return window only. NOT_ALLOWED not_delivered / outside_window /
        already_requested / already_refunded / invalid_argument."""
        ...

    async def urge_delivery(
        self, order_id: str, *, request_id: str, follow_up_hours: float = 2
    ) -> FollowUp:
        """Urge the courier of a shipped or delayed parcel and open a follow-up task due in
        ``follow_up_hours``; an order that already has an open one gets that one back.
        NOT_ALLOWED not_paid / not_shipped / already_delivered / already_cancelled."""
        ...

    async def unpaid_orders(self, older_than_hours: float) -> list[Order]:
        """Unpaid orders created more than ``older_than_hours`` ago, oldest first."""
        ...

    async def aclose(self) -> None:
        """Release what the backend holds open (connections); called once, at the end."""
        ...
