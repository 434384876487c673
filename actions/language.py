"""The reply language, decided per message (the router's signal, else the text itself)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from core.language import language_of

# How Rasa writes the text of an external intent ("EXTERNAL: escalate") or a "/intent" payload.
EXTERNAL_PREFIXES = ("EXTERNAL: ", "/")


class ActionDetectLanguage(Action):
    def name(self) -> str:
        return "action_detect_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        if text.startswith(EXTERNAL_PREFIXES):
            return []  # an external intent (escalation, hand-back) keeps the customer's language
        if language_of(text) is None:
            return []  # phone digits or an order number say nothing: keep the customer's language
        signals = (message.get("metadata") or {}).get("signals") or {}
        language = signals.get("language") or language_of(text)
        if language == tracker.get_slot("language"):
            return []
        return [SlotSet("language", language)]
