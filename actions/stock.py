"""Stock questions answered from the product catalogue, and restock alerts."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from redis.exceptions import RedisError

from actions.backends import UsesBackends
from actions.conversation import latest_text, reply_language
from orders.catalogue import alternative, match_product
from orders.models import OrderError
from orders.restock import RestockAlerts

RESTOCK_SLOT = "restock_sku"


class ActionCheckStock(UsesBackends, Action):
    def name(self) -> str:
        return "action_check_stock"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            products = await (await self._backends.orders()).products()
        except OrderError:
            dispatcher.utter_message(response="utter_order_backend_down")
            return []
        text = latest_text(tracker)
        product = match_product(text, list(tracker.get_latest_entity_values("product")), products)
        if product is None:
            dispatcher.utter_message(response="utter_ask_product")
            return []
        if product.stock > 0:
            dispatcher.utter_message(response="utter_stock_available", product=product.name)
            return [SlotSet(RESTOCK_SLOT, None)]
        similar = alternative(product, products)
        if similar is None:
            dispatcher.utter_message(
                response="utter_stock_sold_out", product=product.name, sku=product.sku
            )
        else:
            dispatcher.utter_message(
                response="utter_stock_sold_out_alternative",
                product=product.name,
                sku=product.sku,
                alternative=similar.name,
            )
        return [SlotSet(RESTOCK_SLOT, product.sku)]


class ActionSubscribeRestock(UsesBackends, Action):
    def name(self) -> str:
        return "action_subscribe_restock"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        sku = next(tracker.get_latest_entity_values("sku"), None) or tracker.get_slot(RESTOCK_SLOT)
        try:
            products = {p.sku: p for p in await (await self._backends.orders()).products()}
        except OrderError:
            dispatcher.utter_message(response="utter_order_backend_down")
            return []
        product = products.get(str(sku)) if sku else None
        if product is None:
            dispatcher.utter_message(response="utter_ask_product")
            return []
        if product.stock > 0:
            dispatcher.utter_message(response="utter_stock_available", product=product.name)
            return [SlotSet(RESTOCK_SLOT, None)]
        backends = self._backends
        alerts = RestockAlerts(
            backends.redis(), backends.keys, backends.settings.conversation_ttl_seconds
        )
        try:
            await alerts.subscribe(product.sku, tracker.sender_id, reply_language(tracker))
        except RedisError:
            dispatcher.utter_message(response="utter_restock_failed")
            return []
        dispatcher.utter_message(response="utter_restock_subscribed", product=product.name)
        return [SlotSet(RESTOCK_SLOT, None)]
