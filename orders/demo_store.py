"""The embedded SQLite demo store: the default order backend.

sqlite3 blocks, so every call runs in a worker thread with a connection of its own. Every
change is one ``BEGIN IMMEDIATE`` transaction that checks the request id, checks the order's
state, changes it and records the answer under the request id: two callers can never both
see "not cancelled yet", and a repeated request id gets the recorded answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from core.pasted import MOBILE
from orders import client, demo_data, wire
from orders.models import (
    BEFORE_DISPATCH,
    IN_TRANSIT,
    Customer,
    FollowUp,
    Order,
    OrderError,
    OrderErrorKind,
    OrderLine,
    OrderStatus,
    Product,
    Refund,
    ReturnKind,
    ReturnReason,
    ReturnRequest,
    TrackingEvent,
)

T = TypeVar("T")
R = TypeVar("R", bound=wire.Record)

# Bump when the tables change: an older store is demo data, so it is recreated, not migrated.
SCHEMA_VERSION = 2
# How long a writer waits for another one's transaction before the store counts as unavailable.
BUSY_TIMEOUT_SECONDS = 3.0
URGE_DELIVERY = "urge_delivery"
CANNOT_ADVANCE = "cannot_advance"

_SCHEMA = f"""
CREATE TABLE customers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT NOT NULL, address TEXT NOT NULL,
    vip INTEGER NOT NULL
);
CREATE TABLE products (
    sku TEXT PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL,
    price_cents INTEGER NOT NULL, stock INTEGER NOT NULL
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL, created_at TEXT NOT NULL, paid_at TEXT NOT NULL,
    shipped_at TEXT NOT NULL, delivered_at TEXT NOT NULL,
    receiver_name TEXT NOT NULL, receiver_phone TEXT NOT NULL, address TEXT NOT NULL,
    courier TEXT NOT NULL, tracking_no TEXT NOT NULL
);
CREATE TABLE order_lines (
    order_id TEXT NOT NULL REFERENCES orders(id), sku TEXT NOT NULL REFERENCES products(sku),
    quantity INTEGER NOT NULL, price_cents INTEGER NOT NULL
);
CREATE TABLE tracking_events (
    order_id TEXT NOT NULL REFERENCES orders(id), ts TEXT NOT NULL,
    location TEXT NOT NULL, description TEXT NOT NULL
);
CREATE TABLE returns (
    id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id), kind TEXT NOT NULL,
    reason TEXT NOT NULL, postage_paid_by TEXT NOT NULL, status TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE refunds (
    id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id),
    amount_cents INTEGER NOT NULL, cause TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE follow_ups (
    id TEXT PRIMARY KEY, order_id TEXT NOT NULL REFERENCES orders(id), kind TEXT NOT NULL,
    due_at TEXT NOT NULL, created_at TEXT NOT NULL, done INTEGER NOT NULL
);
-- One row per answered change: the answer (value or refusal) as JSON, replayed on a repeat.
CREATE TABLE operations (
    request_id TEXT PRIMARY KEY, operation TEXT NOT NULL, order_id TEXT NOT NULL,
    outcome TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX orders_by_customer ON orders(customer_id, created_at);
CREATE INDEX orders_by_status ON orders(status, created_at);
CREATE INDEX lines_by_order ON order_lines(order_id);
CREATE INDEX events_by_order ON tracking_events(order_id, ts);
PRAGMA user_version = {SCHEMA_VERSION};
"""


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat(sep=" ")


class DemoOrderStore:
    """An ``OrderBackend`` over one SQLite file.

    ``clock`` gives the shop's local time (tests pin it); ``seed_on_first_use`` creates the demo
    data on the first call instead of answering UNAVAILABLE("store_missing").
    """

    def __init__(
        self,
        path: Path,
        *,
        return_window_days: int = 7,
        clock: Callable[[], datetime] = datetime.now,
        seed_on_first_use: bool = False,
    ) -> None:
        self._path = path
        self._return_window = timedelta(days=return_window_days)
        self._clock = clock
        self._seed_on_first_use = seed_on_first_use
        self._seed_lock = threading.Lock()
        self._ready = False

    async def aclose(self) -> None:
        """Nothing is held open: every call opens its own connection."""

    # -- creating the store ------------------------------------------------------------------

    def ensure_seeded(self, now: datetime | None = None) -> bool:
        """Create and fill the store if it is missing or of an older schema; True when created."""
        with self._seed_lock:
            if self._path.exists() and _schema_version(self._path) == SCHEMA_VERSION:
                return False
            return self._create(now, replace_existing=self._path.exists())

    def reseed(self, now: datetime | None = None) -> None:
        """Throw the demo data away and start again from the seed."""
        with self._seed_lock:
            self._create(now, replace_existing=True)

    def _create(self, now: datetime | None, *, replace_existing: bool) -> bool:
        # Built aside and moved in whole, so a crash mid-seed never leaves a half-filled store;
        # the name is unique so that two processes seeding at once do not share the file.
        partial = self._path.with_name(
            f"{self._path.name}.{os.getpid()}.{threading.get_ident()}.partial"
        )
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(partial)
            db.row_factory = sqlite3.Row
            try:
                with db:
                    db.executescript(_SCHEMA)
                    seed(db, (now or self._clock()).replace(microsecond=0))
            finally:
                db.close()
            if replace_existing:
                partial.replace(self._path)
                return True
            try:
                # Creates the store only if nobody else has meanwhile (a link never overwrites).
                os.link(partial, self._path)
            except FileExistsError:
                return False
            return True
        except (OSError, sqlite3.Error) as error:
            raise OrderError(OrderErrorKind.UNAVAILABLE, type(error).__name__) from error
        finally:
            partial.unlink(missing_ok=True)

    # -- the OrderBackend interface -----------------------------------------------------------

    async def get_order(self, order_id: str) -> Order:
        return await asyncio.to_thread(self._read, lambda db: _order(db, _order_row(db, order_id)))

    async def orders_of(self, customer_id: str) -> list[Order]:
        return await asyncio.to_thread(
            self._read,
            lambda db: _orders(
                db, "WHERE customer_id = ? ORDER BY created_at DESC, id DESC", customer_id
            ),
        )

    async def customer(self, customer_id: str) -> Customer:
        return await asyncio.to_thread(self._read, lambda db: _customer(db, customer_id))

    async def products(self) -> list[Product]:
        return await asyncio.to_thread(self._read, _products)

    async def unpaid_orders(self, older_than_hours: float) -> list[Order]:
        def unpaid(db: sqlite3.Connection) -> list[Order]:
            before = iso(self._clock() - timedelta(hours=older_than_hours))
            return _orders(
                db,
                "WHERE status = ? AND created_at < ? ORDER BY created_at",
                OrderStatus.UNPAID.value,
                before,
            )

        return await asyncio.to_thread(self._read, unpaid)

    async def change_address(self, order_id: str, *, address: str, request_id: str) -> Order:
        address = address.strip()

        def change(db: sqlite3.Connection, order: sqlite3.Row) -> Order:
            _require_before_dispatch(order)
            if not address:
                raise OrderError(OrderErrorKind.NOT_ALLOWED, client.INVALID_ARGUMENT)
            db.execute("UPDATE orders SET address = ? WHERE id = ?", (address, order_id))
            return _order(db, _order_row(db, order_id))

        return await self._change_once(
            request_id, "change_address", order_id, change, wire.decode_order
        )

    async def change_phone(self, order_id: str, *, phone: str, request_id: str) -> Order:
        phone = re.sub(r"[\s-]", "", phone)

        def change(db: sqlite3.Connection, order: sqlite3.Row) -> Order:
            _require_before_dispatch(order)
            if not MOBILE.fullmatch(phone):
                raise OrderError(OrderErrorKind.NOT_ALLOWED, client.INVALID_ARGUMENT)
            db.execute("UPDATE orders SET receiver_phone = ? WHERE id = ?", (phone, order_id))
            return _order(db, _order_row(db, order_id))

        return await self._change_once(
            request_id, "change_phone", order_id, change, wire.decode_order
        )

    async def cancel(self, order_id: str, *, request_id: str) -> Order:
        def change(db: sqlite3.Connection, row: sqlite3.Row) -> Order:
            _require_before_dispatch(row)
            order = _order(db, row)
            now = iso(self._clock())
            db.execute(
                "UPDATE orders SET status = ? WHERE id = ?", (OrderStatus.CANCELLED.value, order_id)
            )
            if order.paid_at:
                _record_refund(db, order, "cancelled", now)
            return _order(db, _order_row(db, order_id))

        return await self._change_once(request_id, "cancel", order_id, change, wire.decode_order)

    async def request_return(
        self, order_id: str, *, kind: str, reason: str, request_id: str
    ) -> ReturnRequest:
        def change(db: sqlite3.Connection, order: sqlite3.Row) -> ReturnRequest:
            status = OrderStatus(order["status"])
            refusal = {
                OrderStatus.RETURN_REQUESTED: client.ALREADY_REQUESTED,
                OrderStatus.REFUNDED: client.ALREADY_REFUNDED,
                OrderStatus.CANCELLED: client.ALREADY_CANCELLED,
                OrderStatus.DELIVERED: None,
            }.get(status, client.NOT_DELIVERED)
            if refusal:
                raise OrderError(OrderErrorKind.NOT_ALLOWED, refusal)
            if kind not in set(ReturnKind) or reason not in set(ReturnReason):
                raise OrderError(OrderErrorKind.NOT_ALLOWED, client.INVALID_ARGUMENT)
            now = self._clock()
            if datetime.fromisoformat(order["delivered_at"]) + self._return_window < now:
                # Past the window a person decides, whatever the reason.
                raise OrderError(OrderErrorKind.NOT_ALLOWED, client.OUTSIDE_WINDOW)
            request = ReturnRequest(
                id=_next_id(db, "returns", "R", order_id),
                order_id=order_id,
                kind=ReturnKind(kind),
                reason=ReturnReason(reason),
                postage_paid_by=_postage_paid_by(ReturnReason(reason)),
                status="requested",
                created_at=iso(now),
            )
            _insert_return(db, request)
            db.execute(
                "UPDATE orders SET status = ? WHERE id = ?",
                (OrderStatus.RETURN_REQUESTED.value, order_id),
            )
            return request

        return await self._change_once(
            request_id, "request_return", order_id, change, wire.decode_return
        )

    async def urge_delivery(
        self, order_id: str, *, request_id: str, follow_up_hours: float = 2
    ) -> FollowUp:
        def change(db: sqlite3.Connection, order: sqlite3.Row) -> FollowUp:
            status = OrderStatus(order["status"])
            if status not in IN_TRANSIT:
                refusal = {
                    OrderStatus.UNPAID: client.NOT_PAID,
                    OrderStatus.PAID: client.NOT_SHIPPED,
                    OrderStatus.PACKED: client.NOT_SHIPPED,
                    OrderStatus.CANCELLED: client.ALREADY_CANCELLED,
                }.get(status, client.ALREADY_DELIVERED)
                raise OrderError(OrderErrorKind.NOT_ALLOWED, refusal)
            if follow_up_hours <= 0:
                raise OrderError(OrderErrorKind.NOT_ALLOWED, client.INVALID_ARGUMENT)
            # One open task per parcel: urging again does not pile up work for the agents.
            open_task = db.execute(
                "SELECT * FROM follow_ups WHERE order_id = ? AND kind = ? AND done = 0",
                (order_id, URGE_DELIVERY),
            ).fetchone()
            if open_task is not None:
                return _follow_up(open_task)
            now = self._clock()
            task = FollowUp(
                id=_next_id(db, "follow_ups", "F", order_id),
                order_id=order_id,
                kind=URGE_DELIVERY,
                due_at=iso(now + timedelta(hours=follow_up_hours)),
                created_at=iso(now),
            )
            db.execute(
                "INSERT INTO follow_ups VALUES (?, ?, ?, ?, ?, ?)",
                (task.id, task.order_id, task.kind, task.due_at, task.created_at, int(task.done)),
            )
            return task

        return await self._change_once(
            request_id, "urge_delivery", order_id, change, wire.decode_follow_up
        )

    # -- the demo shop's side: what the warehouse, the courier and the CLI do ------------------

    async def all_orders(self) -> list[Order]:
        return await asyncio.to_thread(self._read, lambda db: _orders(db, "ORDER BY id"))

    async def customers(self) -> list[tuple[Customer, str]]:
        """Every customer with their default address."""

        def everyone(db: sqlite3.Connection) -> list[tuple[Customer, str]]:
            rows = db.execute("SELECT * FROM customers ORDER BY id").fetchall()
            return [(_customer_from(row), row["address"]) for row in rows]

        return await asyncio.to_thread(self._read, everyone)

    async def returns(self) -> list[ReturnRequest]:
        def everything(db: sqlite3.Connection) -> list[ReturnRequest]:
            rows = db.execute("SELECT * FROM returns ORDER BY created_at, id").fetchall()
            return [_return(row) for row in rows]

        return await asyncio.to_thread(self._read, everything)

    async def refunds(self) -> list[Refund]:
        def everything(db: sqlite3.Connection) -> list[Refund]:
            rows = db.execute("SELECT * FROM refunds ORDER BY created_at, id").fetchall()
            return [Refund(**dict(row)) for row in rows]

        return await asyncio.to_thread(self._read, everything)

    async def follow_ups(self) -> list[FollowUp]:
        def everything(db: sqlite3.Connection) -> list[FollowUp]:
            rows = db.execute("SELECT * FROM follow_ups ORDER BY due_at, id").fetchall()
            return [_follow_up(row) for row in rows]

        return await asyncio.to_thread(self._read, everything)

    async def set_stock(self, sku: str, quantity: int) -> tuple[int, Product]:
        """Set a product's stock; returns the previous quantity and the updated product."""

        def update(db: sqlite3.Connection) -> tuple[int, Product]:
            if quantity < 0:
                raise OrderError(OrderErrorKind.NOT_ALLOWED, "negative_stock")
            row = db.execute("SELECT * FROM products WHERE sku = ?", (sku,)).fetchone()
            if row is None:
                raise OrderError(OrderErrorKind.NOT_FOUND, "no_such_product")
            db.execute("UPDATE products SET stock = ? WHERE sku = ?", (quantity, sku))
            return int(row["stock"]), Product(**{**dict(row), "stock": quantity})

        return await asyncio.to_thread(self._write, update)

    async def advance(self, order_id: str) -> Order:
        """The next step of the order's life: paid, packed, shipped (a courier, a tracking
        number and the pick-up scan), delivered (signed for)."""

        def step(db: sqlite3.Connection) -> Order:
            row = _order_row(db, order_id)
            status, now = OrderStatus(row["status"]), iso(self._clock())
            if status is OrderStatus.UNPAID:
                _set(db, order_id, status=OrderStatus.PAID.value, paid_at=now)
            elif status is OrderStatus.PAID:
                _set(db, order_id, status=OrderStatus.PACKED.value)
            elif status is OrderStatus.PACKED:
                courier, tracking_no = demo_data.tracking_number(order_id)
                _set(
                    db,
                    order_id,
                    status=OrderStatus.SHIPPED.value,
                    shipped_at=now,
                    courier=courier,
                    tracking_no=tracking_no,
                )
                _add_event(db, order_id, now, demo_data.WAREHOUSE, demo_data.PICKED_UP)
            elif status in IN_TRANSIT:
                _set(db, order_id, status=OrderStatus.DELIVERED.value, delivered_at=now)
                city = demo_data.city_of(row["address"])
                _add_event(db, order_id, now, city, demo_data.SIGNED)
            else:
                raise OrderError(OrderErrorKind.NOT_ALLOWED, CANNOT_ADVANCE)
            return _order(db, _order_row(db, order_id))

        return await asyncio.to_thread(self._write, step)

    async def pay(self, order_id: str) -> Order:
        """The customer pays an unpaid order."""

        def paying(db: sqlite3.Connection) -> Order:
            row = _order_row(db, order_id)
            if row["status"] != OrderStatus.UNPAID.value:
                raise OrderError(OrderErrorKind.NOT_ALLOWED, "already_paid")
            _set(db, order_id, status=OrderStatus.PAID.value, paid_at=iso(self._clock()))
            return _order(db, _order_row(db, order_id))

        return await asyncio.to_thread(self._write, paying)

    async def delay(self, order_id: str) -> Order:
        """The parcel of a shipped order stops moving."""

        def stalling(db: sqlite3.Connection) -> Order:
            row = _order_row(db, order_id)
            if row["status"] != OrderStatus.SHIPPED.value:
                raise OrderError(OrderErrorKind.NOT_ALLOWED, client.NOT_SHIPPED)
            _set(db, order_id, status=OrderStatus.DELAYED.value)
            return _order(db, _order_row(db, order_id))

        return await asyncio.to_thread(self._write, stalling)

    async def add_tracking_event(self, order_id: str, location: str, description: str) -> Order:
        """A courier's scan; a delayed parcel that is scanned again is moving again."""

        def scanning(db: sqlite3.Connection) -> Order:
            row = _order_row(db, order_id)
            if OrderStatus(row["status"]) not in IN_TRANSIT:
                raise OrderError(OrderErrorKind.NOT_ALLOWED, client.NOT_SHIPPED)
            _add_event(db, order_id, iso(self._clock()), location, description)
            _set(db, order_id, status=OrderStatus.SHIPPED.value)
            return _order(db, _order_row(db, order_id))

        return await asyncio.to_thread(self._write, scanning)

    async def finish_follow_up(self, follow_up_id: str) -> FollowUp:
        """A person has checked on the order again and told the customer: the task is done."""

        def finishing(db: sqlite3.Connection) -> FollowUp:
            row = db.execute("SELECT * FROM follow_ups WHERE id = ?", (follow_up_id,)).fetchone()
            if row is None:
                raise OrderError(OrderErrorKind.NOT_FOUND, "no_such_follow_up")
            db.execute("UPDATE follow_ups SET done = 1 WHERE id = ?", (follow_up_id,))
            return _follow_up(
                db.execute("SELECT * FROM follow_ups WHERE id = ?", (follow_up_id,)).fetchone()
            )

        return await asyncio.to_thread(self._write, finishing)

    # -- transactions ---------------------------------------------------------------------------

    def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        with self._transaction("BEGIN") as db:
            return query(db)

    def _write(self, change: Callable[[sqlite3.Connection], T]) -> T:
        with self._transaction("BEGIN IMMEDIATE") as db:
            return change(db)

    async def _change_once(
        self,
        request_id: str,
        operation: str,
        order_id: str,
        change: Callable[[sqlite3.Connection, sqlite3.Row], R],
        decode: Callable[[wire.Json], R],
    ) -> R:
        """Run ``change`` on the order unless ``request_id`` was answered already; either way
        answer what the first call answered. A refusal is an answer too: it is recorded and
        replayed (an unavailable store is not an answer, and nothing is recorded)."""
        if not request_id:
            raise OrderError(OrderErrorKind.NOT_ALLOWED, client.INVALID_ARGUMENT)

        def once(db: sqlite3.Connection) -> R | OrderError:
            done = db.execute(
                "SELECT operation, order_id, outcome FROM operations WHERE request_id = ?",
                (request_id,),
            ).fetchone()
            if done is not None:
                if (done["operation"], done["order_id"]) != (operation, order_id):
                    return OrderError(OrderErrorKind.NOT_ALLOWED, client.REQUEST_ID_REUSED)
                outcome = json.loads(done["outcome"])
                return (
                    wire.decode_error(outcome) if "error" in outcome else decode(outcome["value"])
                )
            db.execute("SAVEPOINT change")
            answer: R | OrderError
            try:
                answer = change(db, _order_row(db, order_id))
                outcome = {"value": wire.encode(answer)}
            except OrderError as refusal:
                if refusal.kind is OrderErrorKind.UNAVAILABLE:
                    raise
                db.execute("ROLLBACK TO change")  # a refusal leaves no half-made change
                answer, outcome = refusal, wire.encode_error(refusal)
            db.execute(
                "INSERT INTO operations VALUES (?, ?, ?, ?, ?)",
                (request_id, operation, order_id, json.dumps(outcome), iso(self._clock())),
            )
            return answer

        answer = await asyncio.to_thread(self._write, once)
        if isinstance(answer, OrderError):
            raise answer
        return answer

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        self._prepare()
        try:
            # isolation_level=None: the transactions are the explicit BEGIN ... COMMIT here.
            db = sqlite3.connect(self._path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except sqlite3.Error as error:
            raise OrderError(OrderErrorKind.UNAVAILABLE, type(error).__name__) from error
        db.row_factory = sqlite3.Row
        try:
            db.execute(begin)
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            db.execute("COMMIT")
        except sqlite3.Error as error:
            raise OrderError(OrderErrorKind.UNAVAILABLE, type(error).__name__) from error
        finally:
            db.close()

    def _prepare(self) -> None:
        if self._seed_on_first_use and not self._ready:
            self.ensure_seeded()
            self._ready = True
        elif not self._path.exists():
            raise OrderError(OrderErrorKind.UNAVAILABLE, "store_missing")


def _schema_version(path: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return int(db.execute("PRAGMA user_version").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return -1  # not a database at all: recreated like an old one


def _require_before_dispatch(order: sqlite3.Row) -> None:
    status = OrderStatus(order["status"])
    if status in BEFORE_DISPATCH:
        return
    reason = client.ALREADY_CANCELLED if status is OrderStatus.CANCELLED else client.ALREADY_SHIPPED
    raise OrderError(OrderErrorKind.NOT_ALLOWED, reason)


def _postage_paid_by(reason: ReturnReason) -> str:
    return "shop" if reason is ReturnReason.QUALITY else "customer"


def _next_id(db: sqlite3.Connection, table: str, prefix: str, order_id: str) -> str:
    """R2025110300038-1, F2025110300021-2: readable, and unique because the caller holds the
    write lock."""
    (count,) = db.execute(
        f"SELECT COUNT(*) FROM {table} WHERE order_id = ?", (order_id,)
    ).fetchone()
    return f"{prefix}{order_id}-{count + 1}"


def _record_refund(db: sqlite3.Connection, order: Order, cause: str, now: str) -> None:
    refund_id = _next_id(db, "refunds", "RF", order.id)
    db.execute(
        "INSERT INTO refunds VALUES (?, ?, ?, ?, ?)",
        (refund_id, order.id, order.total_cents, cause, now),
    )


def _insert_return(db: sqlite3.Connection, request: ReturnRequest) -> None:
    db.execute(
        "INSERT INTO returns VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            request.id,
            request.order_id,
            request.kind.value,
            request.reason.value,
            request.postage_paid_by,
            request.status,
            request.created_at,
        ),
    )


def _set(db: sqlite3.Connection, order_id: str, **columns: str) -> None:
    assignments = ", ".join(f"{name} = ?" for name in columns)
    db.execute(f"UPDATE orders SET {assignments} WHERE id = ?", (*columns.values(), order_id))


def _add_event(
    db: sqlite3.Connection, order_id: str, ts: str, location: str, description: str
) -> None:
    db.execute(
        "INSERT INTO tracking_events VALUES (?, ?, ?, ?)", (order_id, ts, location, description)
    )


def seed(db: sqlite3.Connection, now: datetime) -> None:
    rng = random.Random(demo_data.SEED)
    people = demo_data.customers(rng)
    db.executemany(
        "INSERT INTO customers VALUES (?, ?, ?, ?, ?)",
        [(c.id, c.name, c.phone, c.address, int(c.vip)) for c in people],
    )
    db.executemany(
        "INSERT INTO products VALUES (?, ?, ?, ?, ?)",
        [
            (sku, name, cat, yuan * 100, stock)
            for sku, name, cat, yuan, stock in demo_data.CATALOGUE
        ],
    )
    prices = {sku: yuan * 100 for sku, _, _, yuan, _ in demo_data.CATALOGUE}
    by_id = {c.id: c for c in people}

    def when(moment: datetime | None) -> str:
        return iso(moment) if moment else ""

    for order in demo_data.orders(rng, people, now):
        buyer = by_id[order.customer_id]
        db.execute(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                order.id,
                order.customer_id,
                order.status.value,
                when(order.created_at),
                when(order.paid_at),
                when(order.shipped_at),
                when(order.delivered_at),
                buyer.name,
                buyer.phone,
                buyer.address,
                order.courier,
                order.tracking_no,
            ),
        )
        db.executemany(
            "INSERT INTO order_lines VALUES (?, ?, ?, ?)",
            [(order.id, sku, quantity, prices[sku]) for sku, quantity in order.lines],
        )
        for ts, where, what in order.tracking:
            _add_event(db, order.id, iso(ts), where, what)
        seeded = _order(db, _order_row(db, order.id))
        if order.cancelled_at and order.paid_at:
            _record_refund(db, seeded, "cancelled", iso(order.cancelled_at))
        if order.after_sale:
            after_sale = order.after_sale
            _insert_return(
                db,
                ReturnRequest(
                    id=_next_id(db, "returns", "R", order.id),
                    order_id=order.id,
                    kind=after_sale.kind,
                    reason=after_sale.reason,
                    postage_paid_by=_postage_paid_by(after_sale.reason),
                    status="refunded" if after_sale.refunded_at else "requested",
                    created_at=iso(after_sale.requested_at),
                ),
            )
            if after_sale.refunded_at:
                _record_refund(db, seeded, "returned", iso(after_sale.refunded_at))


def _order_row(db: sqlite3.Connection, order_id: str) -> sqlite3.Row:
    row = db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
    if row is None:
        raise OrderError(OrderErrorKind.NOT_FOUND, "no_such_order")
    return row


def _orders(db: sqlite3.Connection, clause: str, *parameters: str) -> list[Order]:
    rows = db.execute(f"SELECT * FROM orders {clause}", parameters).fetchall()
    return [_order(db, row) for row in rows]


def _order(db: sqlite3.Connection, row: sqlite3.Row) -> Order:
    lines = db.execute(
        "SELECT l.sku, p.name, l.quantity, l.price_cents FROM order_lines l"
        " JOIN products p ON p.sku = l.sku WHERE l.order_id = ? ORDER BY l.rowid",
        (row["id"],),
    ).fetchall()
    events = db.execute(
        "SELECT ts, location, description FROM tracking_events WHERE order_id = ?"
        " ORDER BY ts, rowid",
        (row["id"],),
    ).fetchall()
    order_lines = tuple(OrderLine(**dict(line)) for line in lines)
    return Order(
        id=row["id"],
        customer_id=row["customer_id"],
        status=OrderStatus(row["status"]),
        created_at=row["created_at"],
        paid_at=row["paid_at"],
        lines=order_lines,
        total_cents=sum(line.quantity * line.price_cents for line in order_lines),
        receiver_name=row["receiver_name"],
        receiver_phone=row["receiver_phone"],
        address=row["address"],
        courier=row["courier"],
        tracking_no=row["tracking_no"],
        tracking=tuple(TrackingEvent(**dict(event)) for event in events),
        shipped_at=row["shipped_at"],
        delivered_at=row["delivered_at"],
    )


def _customer(db: sqlite3.Connection, customer_id: str) -> Customer:
    row = db.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        raise OrderError(OrderErrorKind.NOT_FOUND, "no_such_customer")
    return _customer_from(row)


def _customer_from(row: sqlite3.Row) -> Customer:
    return Customer(id=row["id"], name=row["name"], phone=row["phone"], vip=bool(row["vip"]))


def _products(db: sqlite3.Connection) -> list[Product]:
    rows = db.execute("SELECT * FROM products ORDER BY sku").fetchall()
    return [Product(**dict(row)) for row in rows]


def _return(row: sqlite3.Row) -> ReturnRequest:
    return ReturnRequest(
        **{**dict(row), "kind": ReturnKind(row["kind"]), "reason": ReturnReason(row["reason"])}
    )


def _follow_up(row: sqlite3.Row) -> FollowUp:
    return FollowUp(**{**dict(row), "done": bool(row["done"])})
