"""The customer's satisfaction (1-5) after a human agent closed the conversation."""

from __future__ import annotations

import contextlib
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from redis.exceptions import RedisError

from actions.backends import UsesBackends


class ActionRecordSatisfaction(UsesBackends, Action):
    def name(self) -> str:
        return "action_record_satisfaction"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        raw = next(tracker.get_latest_entity_values("rating"), None)
        try:
            rating = int(str(raw))
        except ValueError:
            rating = 0
        if not 1 <= rating <= 5:
            dispatcher.utter_message(response="utter_ask_satisfaction")
            return []
        queue = self._backends.queue()
        # Redis down: the thanks still matter more to the customer than the statistic.
        with contextlib.suppress(RedisError):
            await queue.rate(tracker.sender_id, rating)
        dispatcher.utter_message(
            response="utter_thanks_for_rating" if rating >= 4 else "utter_sorry_for_rating"
        )
        return []
