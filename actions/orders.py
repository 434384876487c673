"""Order look-ups through the order backend, answered with the domain's responses."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.backends import Backends
from orders.models import OrderError, OrderErrorKind

BACKEND_TIMEOUT_SECONDS = 3.0


class ActionOrderStatus(Action):
    def __init__(self) -> None:
        self._backends = Backends()

    def name(self) -> str:
        return "action_order_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        order_id = next(tracker.get_latest_entity_values("order_id"), None) or tracker.get_slot(
            "order_id"
        )
        if not order_id:
            dispatcher.utter_message(response="utter_ask_order_id")
            return []
        try:
            order = await asyncio.wait_for(
                (await self._backends.orders()).get_order(str(order_id)), BACKEND_TIMEOUT_SECONDS
            )
        except OrderError as error:
            if error.kind is OrderErrorKind.NOT_FOUND:
                dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
                return [SlotSet("order_id", None)]
            dispatcher.utter_message(response="utter_order_backend_down")
            return []
        except TimeoutError:
            dispatcher.utter_message(response="utter_order_backend_down")
            return []
        dispatcher.utter_message(
            response=f"utter_order_status_{order.status.value}",
            order_id=order.id,
            items=order.items_summary,
            courier=order.courier,
            tracking_no=order.tracking_no,
        )
        return [SlotSet("order_id", order.id)]
