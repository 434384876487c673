"""Orders, products and the one error shape every order backend raises."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrderStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RETURN_REQUESTED = "return_requested"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class OrderErrorKind(StrEnum):
    NOT_FOUND = "not_found"
    NOT_OWNER = "not_owner"
    NOT_ALLOWED = "not_allowed"
    UNAVAILABLE = "unavailable"


class OrderError(Exception):
    """Raised by every backend; ``reason`` is a machine-readable code, never customer text."""

    def __init__(self, kind: OrderErrorKind, reason: str = "") -> None:
        super().__init__(f"{kind.value}: {reason}" if reason else kind.value)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    price_cents: int
    stock: int


@dataclass(frozen=True)
class OrderLine:
    sku: str
    name: str
    quantity: int
    price_cents: int


@dataclass(frozen=True)
class TrackingEvent:
    ts: str
    location: str
    description: str


@dataclass(frozen=True)
class Order:
    id: str
    customer_id: str
    status: OrderStatus
    created_at: str
    paid_at: str
    lines: tuple[OrderLine, ...]
    total_cents: int
    receiver_name: str
    receiver_phone: str
    address: str
    courier: str = ""
    tracking_no: str = ""
    tracking: tuple[TrackingEvent, ...] = ()

    @property
    def items_summary(self) -> str:
        return "、".join(f"{line.name} x{line.quantity}" for line in self.lines)
