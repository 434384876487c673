"""What every order action shares: the backend behind a 3 s limit, the customer the channel
vouched for, ownership checks with their lock, request ids, and the flow's slots."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from redis.exceptions import RedisError

from actions.backends import Backends, UsesBackends
from actions.conversation import latest_customer_event, reply_language
from core.texts import Texts
from orders.client import TIMEOUT, OrderBackend
from orders.models import Order, OrderError, OrderErrorKind

T = TypeVar("T")

BACKEND_TIMEOUT_SECONDS = 3.0
# SERVICE-NORMS / issue 5: three wrong tries lock that order for 15 minutes in that conversation.
VERIFY_ATTEMPTS = 3
VERIFY_LOCK_SECONDS = 15 * 60
# Two unknown order numbers in a row: a person looks instead.
LOOKUP_MISSES_BEFORE_HUMAN = 2

# Slots the order forms fill; cleared when a flow ends so the next flow starts clean.
FLOW_SLOTS = (
    "phone_last4",
    "confirmed",
    "change_field",
    "new_phone",
    "new_address",
    "return_kind",
    "return_reason",
    "order_check",
    "lookup_misses",
)
# What a form found that ends it early; the validation already told the customer.
CHECK_LOCKED = "locked"
CHECK_NOT_FOUND = "not_found"
CHECK_UNAVAILABLE = "unavailable"

RETURN_KINDS = ("return", "exchange", "refund")
_LATEST = re.compile(r"最近|最新|刚[买下拍]|上一[单个笔]|latest|last order|recent", re.IGNORECASE)

# One INCR and the lock's clock in one step: the 15 minutes run from the third wrong try.
_RECORD_FAILURE = """
-- KEYS[1] the order's wrong tries in this conversation
-- ARGV[1] the lock's seconds, ARGV[2] the tries that lock it
-- Returns the wrong tries so far
local failures = redis.call('INCR', KEYS[1])
if failures == 1 or failures == tonumber(ARGV[2]) then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return failures
"""


def asks_for_latest(text: str) -> bool:
    return bool(_LATEST.search(text))


def request_id(tracker: Tracker, operation: str, order_id: str) -> str:
    """The same for a retried action on the same customer message, different for a new one:
    the backend then changes the order at most once per confirmation. The message is known by
    the id kefu gave it (a copy kefu sends again carries the same), else by its time."""
    latest = latest_customer_event(tracker)
    confirmation = str(latest.get("message_id") or repr(latest.get("timestamp"))) if latest else ""
    raw = f"{tracker.sender_id}|{operation}|{order_id}|{confirmation}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def end_of_flow() -> list[dict[str, Any]]:
    return [SlotSet(name, None) for name in FLOW_SLOTS]


def return_kind_name(tracker: Tracker, kind: str, texts: Texts) -> str:
    """How the customer's language names the request (core/messages.yml)."""
    language = reply_language(tracker)
    return texts.get(f"return_kind_{kind}", language) if kind in RETURN_KINDS else ""


class OrderDesk:
    """The actions' way to the order backend and the verification state in Redis."""

    def __init__(self, backends: Backends) -> None:
        self._backends = backends

    async def call(self, pending: Awaitable[T]) -> T:
        """The backend's answer within 3 s; slow is as good as down (UNAVAILABLE)."""
        try:
            return await asyncio.wait_for(pending, BACKEND_TIMEOUT_SECONDS)
        except TimeoutError:
            raise OrderError(OrderErrorKind.UNAVAILABLE, TIMEOUT) from None

    async def backend(self) -> OrderBackend:
        return await self._backends.orders()

    async def order(self, order_id: str) -> Order:
        return await self.call(self._fetch_order(order_id))

    async def latest_orders(self, customer_id: str, limit: int = 3) -> list[Order]:
        return (await self.call(self._fetch_orders_of(customer_id)))[:limit]

    async def failures(self, conversation_id: str, order_id: str) -> int:
        """Wrong digits so far; UNAVAILABLE when the count cannot be read, since verifying
        without counting would allow unlimited guesses."""
        with _verification_store():
            value = await self._backends.redis().get(self._failures_key(conversation_id, order_id))
        return int(value or 0)

    async def record_failure(self, conversation_id: str, order_id: str) -> int:
        with _verification_store():
            return int(
                await self._backends.script(_RECORD_FAILURE)(
                    keys=[self._failures_key(conversation_id, order_id)],
                    args=[str(VERIFY_LOCK_SECONDS), str(VERIFY_ATTEMPTS)],
                )
            )

    async def clear_failures(self, conversation_id: str, order_id: str) -> None:
        with _verification_store():
            await self._backends.redis().delete(self._failures_key(conversation_id, order_id))

    def _failures_key(self, conversation_id: str, order_id: str) -> str:
        return self._backends.keys.verify_failures(conversation_id, order_id)

    async def _fetch_order(self, order_id: str) -> Order:
        return await (await self.backend()).get_order(order_id)

    async def _fetch_orders_of(self, customer_id: str) -> list[Order]:
        return await (await self.backend()).orders_of(customer_id)


@contextmanager
def _verification_store() -> Iterator[None]:
    """Redis trouble while checking ownership is the order desk being unavailable."""
    try:
        yield
    except RedisError as error:
        raise OrderError(OrderErrorKind.UNAVAILABLE, "verification_store") from error


class UsesOrderDesk(UsesBackends):
    """An action that reaches the orders through the desk (over whichever backends it has)."""

    @property
    def _desk(self) -> OrderDesk:
        return OrderDesk(self._backends)
