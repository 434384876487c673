"""A customer who asks for no more payment reminders gets none (bot/reminders.py checks)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from redis.exceptions import RedisError

from actions.backends import UsesBackends
from actions.conversation import channel_customer

# The wish is kept a year; asked again after that, it is simply kept again.
OPT_OUT_SECONDS = 365 * 24 * 3600


class ActionReminderOptOut(UsesBackends, Action):
    def name(self) -> str:
        return "action_reminder_opt_out"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        customer = channel_customer(tracker)
        if not customer:
            # Reminders only ever go to identified customers: nothing to switch off.
            dispatcher.utter_message(response="utter_reminder_opted_out")
            return []
        try:
            await self._backends.redis().set(
                self._backends.keys.reminder_opt_out(customer), "1", ex=OPT_OUT_SECONDS
            )
        except RedisError:
            dispatcher.utter_message(response="utter_reminder_opt_out_failed")
            return []
        dispatcher.utter_message(response="utter_reminder_opted_out")
        return []
