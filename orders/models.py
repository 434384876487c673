"""Orders, customers, products, the records of after-sale requests, and the one error shape
every order backend raises."""

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


# The address, the phone and the order itself can change only while the parcel is still in
# the warehouse (SERVICE-NORMS: "modify the address or cancel only before dispatch").
BEFORE_DISPATCH = frozenset({OrderStatus.UNPAID, OrderStatus.PAID, OrderStatus.PACKED})
IN_TRANSIT = frozenset({OrderStatus.SHIPPED, OrderStatus.DELAYED})


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


class ReturnKind(StrEnum):
    RETURN = "return"  # 退货退款
    EXCHANGE = "exchange"  # 换货
    REFUND = "refund"  # 仅退款


class ReturnReason(StrEnum):
    NO_REASON = "no_reason"  # 七天无理由: the customer pays the postage
    QUALITY = "quality"  # 质量问题: the shop pays the postage both ways


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    price_cents: int
    stock: int


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    phone: str
    vip: bool = False


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
    """Times are ISO 8601 local shop time ("2026-11-22 12:00:00"), empty when not reached yet."""

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
    shipped_at: str = ""
    delivered_at: str = ""

    @property
    def items_summary(self) -> str:
        return "、".join(f"{line.name} x{line.quantity}" for line in self.lines)


@dataclass(frozen=True)
class ReturnRequest:
    id: str
    order_id: str
    kind: ReturnKind
    reason: ReturnReason
    postage_paid_by: str  # "shop" or "customer"
    status: str  # "requested" until a person accepts it; "refunded" once the money is back
    created_at: str


@dataclass(frozen=True)
class Refund:
    id: str
    order_id: str
    amount_cents: int
    cause: str  # "cancelled" or "returned"
    created_at: str


@dataclass(frozen=True)
class FollowUp:
    """A task for a person: check on the order again by ``due_at`` and tell the customer."""

    id: str
    order_id: str
    kind: str  # "urge_delivery"
    due_at: str
    created_at: str
    done: bool = False
