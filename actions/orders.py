"""The order flows' last step, once the form has the order and knows it is the customer's:
status and logistics, cancelling, changing the address or phone, returns. Replies come from the
domain's responses; the backend's answer decides which one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import asked_about_logistics, look_up_words, open_problems
from actions.handoff import hand_to_person
from actions.order_flow import UsesOrderDesk, end_of_flow, request_id, return_kind_name
from actions.order_forms import NEW_VALUE_SLOT, within_return_window
from core.masking import mask_address, mask_phone
from core.texts import Texts
from handoff.signals import CaseFacts, Escalation, case_escalation
from orders.client import (
    ALREADY_CANCELLED,
    ALREADY_REFUNDED,
    ALREADY_REQUESTED,
    OUTSIDE_WINDOW,
)
from orders.models import (
    BEFORE_DISPATCH,
    IN_TRANSIT,
    Order,
    OrderError,
    OrderErrorKind,
    OrderStatus,
)

TIMELINE_EVENTS = 4


class OrderAction(UsesOrderDesk, Action, ABC):
    """The flow's final action: stops early when the form already ended the flow."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("order_check"):
            return end_of_flow()  # the form said why (locked, unknown twice, backend down)
        order_id = tracker.get_slot("order_id")
        if not order_id or tracker.get_slot("verified_order") != order_id:
            dispatcher.utter_message(response="utter_ask_order_id")
            return end_of_flow()
        try:
            order = await self._desk.order(str(order_id))
            events = await self.answer(dispatcher, tracker, order)
        except OrderError as error:
            dispatcher.utter_message(
                response="utter_order_not_found"
                if error.kind is OrderErrorKind.NOT_FOUND
                else "utter_order_backend_down",
                order_id=order_id,
            )
            events = []
        return [*end_of_flow(), *events]

    @abstractmethod
    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order
    ) -> list[dict[str, Any]]:
        """What the flow does with the customer's own order."""

    async def escalate_case(
        self, tracker: Tracker, order: Order, **facts: Any
    ) -> Escalation | None:
        """The shop's case rules (VIP, order value, refund outside policy, several open
        problems) for this order."""
        customer_vip = False
        try:
            buyer = await self._desk.call((await self._desk.backend()).customer(order.customer_id))
            customer_vip = buyer.vip
        except OrderError:
            pass  # the rules still see the order's value
        return case_escalation(
            await self._backends.rules(),
            CaseFacts(
                vip=customer_vip,
                order_total_cents=order.total_cents,
                open_problems=len(open_problems(tracker, self.problem)),
                **facts,
            ),
        )

    async def specialist_takes_over(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order
    ) -> list[dict[str, Any]]:
        """Before changing the order: a case rule (VIP, high value, several problems) gives it
        to a person with the order attached; [] when the bot goes ahead."""
        escalation = await self.escalate_case(tracker, order)
        if escalation is None:
            return []
        dispatcher.utter_message(response="utter_order_to_specialist", order_id=order.id)
        return hand_to_person(escalation)

    # The problem this flow is about, counted with the conversation's others.
    problem = ""


# What counts as an open problem: the customer's own requests, a delayed parcel they were told
# about, and a damaged / missing / wrong item the router's rule saw.
def status_reply(dispatcher: CollectingDispatcher, order: Order) -> None:
    dispatcher.utter_message(
        response=f"utter_order_status_{order.status.value}",
        order_id=order.id,
        items=order.items_summary,
        courier=order.courier,
        tracking_no=order.tracking_no,
    )


class ActionOrderStatus(OrderAction):
    def name(self) -> str:
        return "action_order_status"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order
    ) -> list[dict[str, Any]]:
        if order.status is OrderStatus.DELIVERED:
            facts = CaseFacts(delivered_order_words=look_up_words(tracker))
            escalation = case_escalation(await self._backends.rules(), facts)
            if escalation is not None:
                # Not "it was delivered": the customer has just said it was not. Apologise,
                # say what the system shows, and give it to a person who can trace it.
                dispatcher.utter_message(
                    response="utter_order_delivered_not_received",
                    order_id=order.id,
                    delivered=_local_time(order.delivered_at),
                    courier=order.courier,
                    tracking_no=order.tracking_no,
                )
                return [SlotSet("order_id", order.id), *hand_to_person(escalation)]
        if asked_about_logistics(tracker) and order.tracking:
            if order.status is OrderStatus.DELAYED:
                # SERVICE-NORMS: a late parcel gets the apology first, then the facts and a plan.
                dispatcher.utter_message(response="utter_order_delay_apology")
            dispatcher.utter_message(
                response="utter_order_logistics",
                order_id=order.id,
                courier=order.courier,
                tracking_no=order.tracking_no,
                timeline=timeline(order),
            )
        else:
            status_reply(dispatcher, order)
        if order.status is OrderStatus.DELAYED:
            await self._plan_for_delay(dispatcher, tracker, order)
        return [SlotSet("order_id", order.id)]

    async def _plan_for_delay(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order
    ) -> None:
        """SERVICE-NORMS: a delayed parcel gets an apology, then a plan within 2 hours."""
        try:
            backend = await self._desk.backend()
            follow_up = await self._desk.call(
                backend.urge_delivery(order.id, request_id=request_id(tracker, "urge", order.id))
            )
        except OrderError:
            dispatcher.utter_message(response="utter_order_delay_no_plan")
            return
        due = datetime.fromisoformat(follow_up.due_at)
        dispatcher.utter_message(response="utter_order_delay_plan", due=due.strftime("%H:%M"))


class ActionCancelOrder(OrderAction):
    problem = "cancel"

    def name(self) -> str:
        return "action_cancel_order"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order
    ) -> list[dict[str, Any]]:
        if order.status is OrderStatus.CANCELLED:
            dispatcher.utter_message(response="utter_order_already_cancelled", order_id=order.id)
            return []
        if order.status not in BEFORE_DISPATCH:
            _too_late(dispatcher, order, "utter_order_cancel_too_late")
            return []
        if tracker.get_slot("confirmed") is not True:
            dispatcher.utter_message(response="utter_order_cancel_kept", order_id=order.id)
            return []
        if handed := await self.specialist_takes_over(dispatcher, tracker, order):
            return handed
        backend = await self._desk.backend()
        try:
            cancelled = await self._desk.call(
                backend.cancel(order.id, request_id=request_id(tracker, "cancel", order.id))
            )
        except OrderError as error:
            if error.kind is not OrderErrorKind.NOT_ALLOWED:
                raise
            if error.reason == ALREADY_CANCELLED:
                dispatcher.utter_message(
                    response="utter_order_already_cancelled", order_id=order.id
                )
            else:
                _too_late(
                    dispatcher, await self._desk.order(order.id), "utter_order_cancel_too_late"
                )
            return []
        dispatcher.utter_message(
            response="utter_order_cancelled_refund" if order.paid_at else "utter_order_cancelled",
            order_id=cancelled.id,
            amount=_yuan(order.total_cents),
        )
        return []


class ActionChangeOrder(OrderAction):
    def name(self) -> str:
        return "action_change_order"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order
    ) -> list[dict[str, Any]]:
        if order.status not in BEFORE_DISPATCH:
            _too_late(dispatcher, order, "utter_order_change_too_late")
            return []
        if tracker.get_slot("confirmed") is not True:
            dispatcher.utter_message(response="utter_order_change_kept", order_id=order.id)
            return []
        backend = await self._desk.backend()
        change = str(tracker.get_slot("change_field"))
        value = str(tracker.get_slot(NEW_VALUE_SLOT[change]))
        operation = request_id(tracker, f"change_{change}", order.id)
        try:
            if change == "phone":
                pending = backend.change_phone(order.id, phone=value, request_id=operation)
                masked = mask_phone(value)
            else:
                pending = backend.change_address(order.id, address=value, request_id=operation)
                masked = mask_address(value)
            await self._desk.call(pending)
            # utter_order_phone_changed / utter_order_address_changed show {phone} / {address}.
            dispatcher.utter_message(
                response=f"utter_order_{change}_changed", order_id=order.id, **{change: masked}
            )
        except OrderError as error:
            if error.kind is not OrderErrorKind.NOT_ALLOWED:
                raise
            _too_late(dispatcher, await self._desk.order(order.id), "utter_order_change_too_late")
        return []


class ActionRequestReturn(OrderAction):
    problem = "return"

    def __init__(self) -> None:
        super().__init__()
        self._texts = Texts.load()

    def name(self) -> str:
        return "action_request_return"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order
    ) -> list[dict[str, Any]]:
        if order.status in (OrderStatus.RETURN_REQUESTED, OrderStatus.REFUNDED):
            status_reply(dispatcher, order)  # the progress of the one already asked for
            return []
        if order.status is not OrderStatus.DELIVERED:
            _not_delivered_yet(dispatcher, order)
            return []
        if not within_return_window(order, await self._backends.return_window_days()):
            return await self._outside_window(dispatcher, tracker, order)
        if tracker.get_slot("confirmed") is not True:
            dispatcher.utter_message(response="utter_return_kept", order_id=order.id)
            return []
        if handed := await self.specialist_takes_over(dispatcher, tracker, order):
            return handed
        backend = await self._desk.backend()
        try:
            registered = await self._desk.call(
                backend.request_return(
                    order.id,
                    kind=str(tracker.get_slot("return_kind")),
                    reason=str(tracker.get_slot("return_reason")),
                    request_id=request_id(tracker, "return", order.id),
                )
            )
        except OrderError as error:
            if error.kind is not OrderErrorKind.NOT_ALLOWED:
                raise
            if error.reason == OUTSIDE_WINDOW:
                return await self._outside_window(dispatcher, tracker, order)
            if error.reason in (ALREADY_REQUESTED, ALREADY_REFUNDED):
                status_reply(dispatcher, await self._desk.order(order.id))
                return []
            raise
        dispatcher.utter_message(
            response=f"utter_return_registered_{registered.reason.value}",
            order_id=order.id,
            kind=return_kind_name(tracker, registered.kind.value, self._texts),
        )
        return []

    async def _outside_window(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order
    ) -> list[dict[str, Any]]:
        """Past the no-reason window a person decides (SERVICE-NORMS: never refuse flatly)."""
        dispatcher.utter_message(response="utter_return_outside_window", order_id=order.id)
        escalation = await self.escalate_case(tracker, order, refund_outside_policy=True)
        return hand_to_person(escalation) if escalation else [FollowupAction("action_handoff")]


def timeline(order: Order) -> str:
    """The latest tracking events, newest first, one a line."""
    lines = []
    for event in reversed(order.tracking[-TIMELINE_EVENTS:]):
        lines.append(f"{_local_time(event.ts)} {event.location} {event.description}".strip())
    return "\n".join(lines)


def _local_time(iso: str) -> str:
    """A shop-time ISO timestamp as the customer reads it: 11-28 14:05 ("" stays "")."""
    return datetime.fromisoformat(iso).strftime("%m-%d %H:%M") if iso else ""


def _too_late(dispatcher: CollectingDispatcher, order: Order, response: str) -> None:
    """After dispatch: refuse the parcel on delivery, or return it after (SERVICE-NORMS)."""
    if order.status is OrderStatus.CANCELLED:
        dispatcher.utter_message(response="utter_order_already_cancelled", order_id=order.id)
    elif order.status in IN_TRANSIT:
        dispatcher.utter_message(response=response, order_id=order.id)
    elif order.status in (OrderStatus.RETURN_REQUESTED, OrderStatus.REFUNDED):
        status_reply(dispatcher, order)  # already on its way back: say where it stands
    else:
        dispatcher.utter_message(response=f"{response}_delivered", order_id=order.id)


def _not_delivered_yet(dispatcher: CollectingDispatcher, order: Order) -> None:
    if order.status in IN_TRANSIT:
        dispatcher.utter_message(response="utter_return_in_transit", order_id=order.id)
    elif order.status is OrderStatus.CANCELLED:
        dispatcher.utter_message(response="utter_order_already_cancelled", order_id=order.id)
    else:
        dispatcher.utter_message(response="utter_return_before_dispatch", order_id=order.id)


def _yuan(cents: int) -> str:
    return f"{cents / 100:.2f}"
