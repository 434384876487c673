"""The JSON form of the order records: the HTTP contract and the demo store's record of
answered requests use the same one. Money is in cents, times are ISO 8601 strings."""

from __future__ import annotations

import dataclasses
from typing import Any

from orders.models import (
    Customer,
    FollowUp,
    Order,
    OrderError,
    OrderErrorKind,
    OrderLine,
    OrderStatus,
    Product,
    ReturnKind,
    ReturnReason,
    ReturnRequest,
    TrackingEvent,
)

Json = dict[str, Any]
Record = Order | Customer | Product | ReturnRequest | FollowUp


def encode(record: Record) -> Json:
    return dataclasses.asdict(record)


def encode_error(error: OrderError) -> Json:
    return {"error": error.kind.value, "reason": error.reason}


def decode_error(body: Json) -> OrderError:
    return OrderError(OrderErrorKind(body["error"]), str(body.get("reason", "")))


def decode_order(body: Json) -> Order:
    return Order(
        id=str(body["id"]),
        customer_id=str(body["customer_id"]),
        status=OrderStatus(body["status"]),
        created_at=str(body["created_at"]),
        paid_at=str(body.get("paid_at") or ""),
        lines=tuple(
            OrderLine(
                sku=str(line["sku"]),
                name=str(line["name"]),
                quantity=int(line["quantity"]),
                price_cents=int(line["price_cents"]),
            )
            for line in body["lines"]
        ),
        total_cents=int(body["total_cents"]),
        receiver_name=str(body["receiver_name"]),
        receiver_phone=str(body["receiver_phone"]),
        address=str(body["address"]),
        courier=str(body.get("courier") or ""),
        tracking_no=str(body.get("tracking_no") or ""),
        tracking=tuple(
            TrackingEvent(
                ts=str(event["ts"]),
                location=str(event["location"]),
                description=str(event["description"]),
            )
            for event in body.get("tracking") or ()
        ),
        shipped_at=str(body.get("shipped_at") or ""),
        delivered_at=str(body.get("delivered_at") or ""),
    )


def decode_customer(body: Json) -> Customer:
    vip = body.get("vip", False)
    if not isinstance(vip, bool):
        raise TypeError("vip must be a boolean")
    return Customer(id=str(body["id"]), name=str(body["name"]), phone=str(body["phone"]), vip=vip)


def decode_product(body: Json) -> Product:
    return Product(
        sku=str(body["sku"]),
        name=str(body["name"]),
        category=str(body["category"]),
        price_cents=int(body["price_cents"]),
        stock=int(body["stock"]),
    )


def decode_return(body: Json) -> ReturnRequest:
    return ReturnRequest(
        id=str(body["id"]),
        order_id=str(body["order_id"]),
        kind=ReturnKind(body["kind"]),
        reason=ReturnReason(body["reason"]),
        postage_paid_by=str(body["postage_paid_by"]),
        status=str(body["status"]),
        created_at=str(body["created_at"]),
    )


def decode_follow_up(body: Json) -> FollowUp:
    done = body.get("done", False)
    if not isinstance(done, bool):
        raise TypeError("done must be a boolean")
    return FollowUp(
        id=str(body["id"]),
        order_id=str(body["order_id"]),
        kind=str(body["kind"]),
        due_at=str(body["due_at"]),
        created_at=str(body["created_at"]),
        done=done,
    )
