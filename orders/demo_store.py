"""The embedded SQLite demo store: the default order backend."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from orders import demo_data
from orders.models import (
    Order,
    OrderError,
    OrderErrorKind,
    OrderLine,
    OrderStatus,
    Product,
    TrackingEvent,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT NOT NULL, address TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY, name TEXT NOT NULL, category TEXT NOT NULL,
    price_cents INTEGER NOT NULL, stock INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL, created_at TEXT NOT NULL, paid_at TEXT NOT NULL DEFAULT '',
    receiver_name TEXT NOT NULL, receiver_phone TEXT NOT NULL, address TEXT NOT NULL,
    courier TEXT NOT NULL DEFAULT '', tracking_no TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id TEXT NOT NULL REFERENCES orders(id), sku TEXT NOT NULL REFERENCES products(sku),
    quantity INTEGER NOT NULL, price_cents INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tracking_events (
    order_id TEXT NOT NULL REFERENCES orders(id), ts TEXT NOT NULL,
    location TEXT NOT NULL, description TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders(customer_id, created_at);
"""


class DemoOrderStore:
    """Reads run in a worker thread with a connection of their own (sqlite3 is blocking)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def ensure_seeded(self, now: datetime | None = None) -> bool:
        """Create and fill the store if it does not exist yet; True when it was created."""
        if self._path.exists():
            return False
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            partial = self._path.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            with closing_connection(partial) as db:
                db.executescript(_SCHEMA)
                seed(db, now or datetime.now().replace(microsecond=0))
            partial.replace(self._path)  # a crash mid-seed never leaves a half-filled store
        except (OSError, sqlite3.Error) as error:
            raise OrderError(OrderErrorKind.UNAVAILABLE, type(error).__name__) from error
        return True

    async def get_order(self, order_id: str) -> Order:
        return await asyncio.to_thread(self._get_order, order_id)

    async def orders_of(self, customer_id: str) -> list[Order]:
        return await asyncio.to_thread(self._orders_of, customer_id)

    async def products(self) -> list[Product]:
        return await asyncio.to_thread(self._products)

    async def set_stock(self, sku: str, quantity: int) -> tuple[int, Product]:
        """Set a product's stock; returns the previous quantity and the updated product."""
        return await asyncio.to_thread(self._set_stock, sku, quantity)

    async def all_orders(self) -> list[Order]:
        return await asyncio.to_thread(self._all_orders)

    def _get_order(self, order_id: str) -> Order:
        with self._connect() as db:
            row = db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
            if row is None:
                raise OrderError(OrderErrorKind.NOT_FOUND, "no_such_order")
            return _order(db, row)

    def _orders_of(self, customer_id: str) -> list[Order]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM orders WHERE customer_id = ? ORDER BY created_at DESC",
                (customer_id,),
            ).fetchall()
            return [_order(db, row) for row in rows]

    def _all_orders(self) -> list[Order]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM orders ORDER BY id").fetchall()
            return [_order(db, row) for row in rows]

    def _set_stock(self, sku: str, quantity: int) -> tuple[int, Product]:
        if quantity < 0:
            raise OrderError(OrderErrorKind.NOT_ALLOWED, "negative_stock")
        with self._connect() as db:
            row = db.execute("SELECT * FROM products WHERE sku = ?", (sku,)).fetchone()
            if row is None:
                raise OrderError(OrderErrorKind.NOT_FOUND, "no_such_product")
            db.execute("UPDATE products SET stock = ? WHERE sku = ?", (quantity, sku))
            return int(row["stock"]), Product(**{**dict(row), "stock": quantity})

    def _products(self) -> list[Product]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM products ORDER BY sku").fetchall()
            return [Product(**dict(row)) for row in rows]

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self._path.exists():
            raise OrderError(OrderErrorKind.UNAVAILABLE, "store_missing")
        try:
            with closing_connection(self._path) as db:
                yield db
        except sqlite3.Error as error:
            raise OrderError(OrderErrorKind.UNAVAILABLE, type(error).__name__) from error


@contextmanager
def closing_connection(path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(path, timeout=3)
    db.row_factory = sqlite3.Row
    try:
        with db:
            yield db
    finally:
        db.close()


def seed(db: sqlite3.Connection, now: datetime) -> None:
    rng = random.Random(demo_data.SEED)
    people = demo_data.customers(rng)
    db.executemany(
        "INSERT INTO customers VALUES (?, ?, ?, ?)",
        [(c.id, c.name, c.phone, c.address) for c in people],
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
    for order in demo_data.orders(rng, people, now):
        buyer = by_id[order.customer_id]
        db.execute(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                order.id,
                order.customer_id,
                order.status.value,
                order.created_at.isoformat(sep=" "),
                order.paid_at.isoformat(sep=" ") if order.paid_at else "",
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
        db.executemany(
            "INSERT INTO tracking_events VALUES (?, ?, ?, ?)",
            [(order.id, ts.isoformat(sep=" "), where, what) for ts, where, what in order.tracking],
        )


def _order(db: sqlite3.Connection, row: sqlite3.Row) -> Order:
    lines = db.execute(
        "SELECT l.sku, p.name, l.quantity, l.price_cents FROM order_lines l"
        " JOIN products p ON p.sku = l.sku WHERE l.order_id = ?",
        (row["id"],),
    ).fetchall()
    events = db.execute(
        "SELECT ts, location, description FROM tracking_events WHERE order_id = ? ORDER BY ts",
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
    )
