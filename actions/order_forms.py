"""Validation of the order forms: which order, is it the customer's, then each flow's own steps.

Every order form runs the same first two steps on every turn. The order: the number given, or
for a customer the channel identified, "my latest order". Ownership: the identified customer
is the buyer, or the customer gives the last 4 digits of the order's phone (3 wrong tries lock
the order for 15 minutes in this conversation). Only then does a form ask for its own slots.
A step that must end the flow (unknown number twice, locked, backend down) says why and sets
``order_check``; the form then finishes and the flow's action only tidies up.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backends import Backends
from actions.conversation import channel_customer, latest_message, latest_text
from actions.order_flow import (
    CHECK_LOCKED,
    CHECK_NOT_FOUND,
    CHECK_UNAVAILABLE,
    LOOKUP_MISSES_BEFORE_HUMAN,
    VERIFY_ATTEMPTS,
    UsesOrderDesk,
    asks_for_latest,
)
from core.pasted import MOBILE
from orders.models import BEFORE_DISPATCH, Order, OrderError, OrderErrorKind, OrderStatus

_FOUR_DIGITS = re.compile(r"(?<!\d)\d{4}(?!\d)")
# Not 号码 / "number" alone: "订单号码", "order number" name the order, not the phone.
_WANTS_PHONE = re.compile(r"电话|手机|联系方式|phone|mobile", re.IGNORECASE)
_WANTS_ADDRESS = re.compile(r"地址|收货地|寄到|送到|收件|address", re.IGNORECASE)
_KIND_WORDS = (
    ("exchange", re.compile(r"换货|换一[件个双]|换[个大小码色颜]|调换|exchange|swap", re.I)),
    ("refund", re.compile(r"仅退款|只退款|退款|退钱|refund", re.I)),
    ("return", re.compile(r"退货|退掉|退回|寄回|return", re.I)),
)
_REASON_WORDS = (
    (
        "quality",
        re.compile(
            r"质量|坏|破|瑕疵|开线|脱线|掉色|褪色|起球|有问题|次品|残次|不能用|用不了|漏|裂|"
            r"defect|broken|damaged|faulty|quality",
            re.I,
        ),
    ),
    (
        "no_reason",
        re.compile(
            r"无理由|不想要|不要了|不喜欢|不合适|不合身|尺码|太大|太小|买错|拍错|多拍|"
            r"no reason|changed my mind|don't want|doesn't fit|wrong size",
            re.I,
        ),
    ),
)
# An address names at least one of its parts (province, city, road, number, building...).
_ADDRESS_PART = re.compile(
    r"[省市区县镇乡村路街道巷弄号栋幢楼室]|单元|小区|street|road|avenue|district|city", re.I
)
# The slot that holds the new value of each field an order's buyer can change before dispatch.
NEW_VALUE_SLOT = {"phone": "new_phone", "address": "new_address"}
ADDRESS_MIN_CHARS = 8
ADDRESS_MAX_CHARS = 120


@dataclass
class Step:
    """What this turn of the form decided: slot updates and the next slot to ask (None: done)."""

    updates: dict[str, Any] = field(default_factory=dict)
    next_slot: str | None = None

    def stop(self, check: str) -> None:
        """End the form now for a reason the customer was just told (``order_check``)."""
        self.updates["order_check"] = check
        self.next_slot = None

    def events(self) -> list[dict[str, Any]]:
        events = [SlotSet(name, value) for name, value in self.updates.items()]
        return [*events, SlotSet("requested_slot", self.next_slot)]


class OrderFormValidation(UsesOrderDesk, Action, ABC):
    """``validate_<form>``: the shared order and ownership steps, then ``own_steps``."""

    form_name = ""
    # The form's own slots: a starting form keeps only what the customer's message says.
    own_slots: tuple[str, ...] = ()

    def name(self) -> str:
        return f"validate_{self.form_name}"

    @property
    def backends(self) -> Backends:
        return self._backends

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        step = Step()
        if _asked(tracker) is None:
            said = {e.get("entity") for e in latest_message(tracker).get("entities", [])}
            for slot in self.own_slots:
                if slot not in said and tracker.get_slot(slot) is not None:
                    step.updates[slot] = None
                    tracker.slots[slot] = None
        for slot, value in self.said_in_passing(tracker).items():
            step.updates[slot] = value
            tracker.slots[slot] = value
        try:
            order = await self._which_order(dispatcher, tracker, step)
            if order is not None and await self._is_owner(dispatcher, tracker, order, step):
                step.updates["order_id"] = order.id
                step.next_slot = await self.own_steps(dispatcher, tracker, order, step)
        except OrderError as error:
            if error.kind is not OrderErrorKind.UNAVAILABLE:
                raise
            dispatcher.utter_message(response="utter_order_backend_down")
            step.stop(CHECK_UNAVAILABLE)
        return step.events()

    def said_in_passing(self, tracker: Tracker) -> dict[str, Any]:
        """What this message says for the form's own slots before they are asked ("我要退货,
        衣服破了" names the kind and the reason): kept, so the customer never repeats it."""
        return {}

    @abstractmethod
    async def own_steps(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order, step: Step
    ) -> str | None:
        """The form's own slots once the order is known to be the customer's; the next one to
        ask for, or None when the form is done."""

    async def _which_order(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, step: Step
    ) -> Order | None:
        order_id = tracker.get_slot("order_id")
        customer = channel_customer(tracker)
        if not order_id and customer and asks_for_latest(latest_text(tracker)):
            latest = await self._desk.latest_orders(customer, limit=1)
            order_id = latest[0].id if latest else None
        if not order_id:
            step.next_slot = "order_id"
            return None
        try:
            return await self._desk.order(str(order_id))
        except OrderError as error:
            if error.kind is not OrderErrorKind.NOT_FOUND:
                raise
        misses = int(tracker.get_slot("lookup_misses") or 0) + 1
        step.updates.update(order_id=None, lookup_misses=misses)
        if misses >= LOOKUP_MISSES_BEFORE_HUMAN:
            dispatcher.utter_message(response="utter_order_not_found_twice", order_id=order_id)
            step.stop(CHECK_NOT_FOUND)
        else:
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            step.next_slot = "order_id"
        return None

    async def _is_owner(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order, step: Step
    ) -> bool:
        if tracker.get_slot("verified_order") == order.id:
            return True
        if channel_customer(tracker) == order.customer_id:
            step.updates["verified_order"] = order.id
            return True
        conversation = tracker.sender_id
        # Digits count only once: never carried over to another order or another flow.
        digits = _given_digits(tracker)
        if tracker.get_slot("phone_last4") is not None:
            step.updates["phone_last4"] = None
        if await self._desk.failures(conversation, order.id) >= VERIFY_ATTEMPTS:
            dispatcher.utter_message(response="utter_order_verify_locked", order_id=order.id)
            step.stop(CHECK_LOCKED)
            return False
        if digits is None:
            step.next_slot = "phone_last4"
            return False
        if digits == order.receiver_phone[-4:]:
            await self._desk.clear_failures(conversation, order.id)
            step.updates["verified_order"] = order.id
            return True
        failures = await self._desk.record_failure(conversation, order.id)
        if failures >= VERIFY_ATTEMPTS:
            dispatcher.utter_message(response="utter_order_verify_locked", order_id=order.id)
            step.stop(CHECK_LOCKED)
        else:
            dispatcher.utter_message(
                response="utter_phone_last4_wrong", remaining=VERIFY_ATTEMPTS - failures
            )
            step.next_slot = "phone_last4"
        return False


class ValidateOrderIdForm(OrderFormValidation):
    """Status and logistics: the order and its owner are all it needs."""

    form_name = "order_id_form"

    async def own_steps(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order, step: Step
    ) -> str | None:
        return None


class ValidateOrderCancelForm(OrderFormValidation):
    form_name = "order_cancel_form"
    own_slots = ("confirmed",)

    async def own_steps(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order, step: Step
    ) -> str | None:
        if order.status not in BEFORE_DISPATCH:
            return None  # too late: the flow's action explains refusal on delivery or a return
        return _confirmation(tracker, step)


class ValidateOrderChangeForm(OrderFormValidation):
    form_name = "order_change_form"
    own_slots = ("change_field", "new_phone", "new_address", "confirmed")

    def said_in_passing(self, tracker: Tracker) -> dict[str, Any]:
        text = latest_text(tracker)
        said: dict[str, Any] = {}
        if tracker.get_slot("change_field") is None:
            if _WANTS_PHONE.search(text) or MOBILE.search(text):
                said["change_field"] = "phone"
            elif _WANTS_ADDRESS.search(text):
                said["change_field"] = "address"
        mobile = MOBILE.search(text)
        if mobile and tracker.get_slot("new_phone") is None:
            said["new_phone"] = mobile.group()
        return said

    async def own_steps(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order, step: Step
    ) -> str | None:
        if order.status not in BEFORE_DISPATCH:
            return None
        change = tracker.get_slot("change_field")
        if change not in ("phone", "address"):
            step.updates["change_field"] = None
            return "change_field"
        step.updates["change_field"] = change
        slot = NEW_VALUE_SLOT[change]
        value = tracker.get_slot(slot) if change == "phone" else _new_address(tracker)
        if value is None:
            if _asked(tracker) == slot:
                dispatcher.utter_message(response=f"utter_{slot}_invalid")
            step.updates[slot] = None
            return slot
        step.updates[slot] = value
        return _confirmation(tracker, step)


class ValidateReturnForm(OrderFormValidation):
    form_name = "return_form"
    own_slots = ("return_kind", "return_reason", "confirmed")

    def said_in_passing(self, tracker: Tracker) -> dict[str, Any]:
        text = latest_text(tracker)
        said = {}
        for slot, words in (("return_kind", _KIND_WORDS), ("return_reason", _REASON_WORDS)):
            if tracker.get_slot(slot) is None and (found := _first_match(words, text)):
                said[slot] = found
        return said

    async def own_steps(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order, step: Step
    ) -> str | None:
        if order.status is not OrderStatus.DELIVERED or not within_return_window(
            order, await self._backends.return_window_days()
        ):
            return None  # in progress, refunded, not delivered or too late: the action explains
        kind = tracker.get_slot("return_kind")
        if kind is None:
            return "return_kind"
        step.updates["return_kind"] = kind
        reason = tracker.get_slot("return_reason")
        if reason is None:
            return "return_reason"
        step.updates["return_reason"] = reason
        return _confirmation(tracker, step)


def within_return_window(order: Order, window_days: int, now: datetime | None = None) -> bool:
    if not order.delivered_at:
        return False
    delivered = datetime.fromisoformat(order.delivered_at)
    return (now or datetime.now()) <= delivered + timedelta(days=window_days)


def _asked(tracker: Tracker) -> str | None:
    """The slot the form asked for before this message (None when the form is just starting)."""
    return tracker.get_slot("requested_slot")


def _confirmation(tracker: Tracker, step: Step) -> str | None:
    """Changes need an explicit yes or no given to the confirmation question itself."""
    if _asked(tracker) == "confirmed" and "confirmed" in tracker.slots_to_validate():
        step.updates["confirmed"] = tracker.get_slot("confirmed")
        return None
    step.updates["confirmed"] = None
    return "confirmed"


def _given_digits(tracker: Tracker) -> str | None:
    """The last 4 phone digits the customer has just given, if any."""
    if "phone_last4" in tracker.slots_to_validate():
        found = _FOUR_DIGITS.search(str(tracker.get_slot("phone_last4") or ""))
        if found:
            return found.group()
    if _asked(tracker) == "phone_last4":
        found = _FOUR_DIGITS.fullmatch(latest_text(tracker).strip())
        if found:
            return found.group()
    return None


def _new_address(tracker: Tracker) -> str | None:
    if _asked(tracker) != "new_address":
        return tracker.get_slot("new_address")
    address = re.sub(r"\s+", " ", latest_text(tracker)).strip()
    if not ADDRESS_MIN_CHARS <= len(address) <= ADDRESS_MAX_CHARS:
        return None
    return address if _ADDRESS_PART.search(address) else None


def _first_match(words: tuple[tuple[str, re.Pattern[str]], ...], text: str) -> str | None:
    return next((value for value, pattern in words if pattern.search(text)), None)
