"""The order forms' questions that need the order's facts: which order (an identified customer
picks from their recent ones) and the confirmation before a change, with values masked."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import channel_customer
from actions.order_flow import UsesOrderDesk, return_kind_name
from core.masking import mask_address, mask_phone
from core.texts import Texts
from orders.models import OrderError


class ActionAskOrderId(UsesOrderDesk, Action):
    def name(self) -> str:
        return "action_ask_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        customer = channel_customer(tracker)
        recent = []
        if customer:
            try:
                recent = await self._desk.latest_orders(customer)
            except OrderError:
                recent = []  # the plain question still works
        if not recent:
            dispatcher.utter_message(response="utter_ask_order_id")
            return []
        buttons = [
            {
                "title": f"{order.id} {order.items_summary}"[:60],
                "payload": '/inform{"order_id":"' + order.id + '"}',
            }
            for order in recent
        ]
        dispatcher.utter_message(response="utter_ask_order_id_choose", buttons=buttons)
        return []


class ConfirmationQuestion(UsesOrderDesk, Action, ABC):
    """``action_ask_<form>_confirmed``: the question shows what will change, masked."""

    form_name = ""

    def name(self) -> str:
        return f"action_ask_{self.form_name}_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        response, values = await self.question(tracker)
        dispatcher.utter_message(response=response, order_id=tracker.get_slot("order_id"), **values)
        return []

    @abstractmethod
    async def question(self, tracker: Tracker) -> tuple[str, dict[str, str]]:
        """The response asking for the yes, and the values it shows."""


class AskCancelConfirmation(ConfirmationQuestion):
    form_name = "order_cancel_form"

    async def question(self, tracker: Tracker) -> tuple[str, dict[str, str]]:
        try:
            items = (await self._desk.order(str(tracker.get_slot("order_id")))).items_summary
        except OrderError:
            items = ""
        return "utter_ask_order_cancel_form_confirmed", {"items": items}


class AskChangeConfirmation(ConfirmationQuestion):
    form_name = "order_change_form"

    async def question(self, tracker: Tracker) -> tuple[str, dict[str, str]]:
        if tracker.get_slot("change_field") == "phone":
            phone = mask_phone(str(tracker.get_slot("new_phone")))
            return "utter_ask_order_change_form_confirmed_phone", {"phone": phone}
        address = mask_address(str(tracker.get_slot("new_address")))
        return "utter_ask_order_change_form_confirmed_address", {"address": address}


class AskReturnConfirmation(ConfirmationQuestion):
    form_name = "return_form"

    def __init__(self) -> None:
        super().__init__()
        self._texts = Texts.load()

    async def question(self, tracker: Tracker) -> tuple[str, dict[str, str]]:
        kind = return_kind_name(tracker, str(tracker.get_slot("return_kind")), self._texts)
        reason = "quality" if tracker.get_slot("return_reason") == "quality" else "no_reason"
        return f"utter_ask_return_form_confirmed_{reason}", {"kind": kind}
