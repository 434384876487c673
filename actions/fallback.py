"""The two-stage fallback's own steps: the clarifying question offers the likeliest topics as
buttons, and giving up offers a person (or hands over, when the shop's case rule says so)."""

from __future__ import annotations

import json
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.backends import UsesBackends
from actions.conversation import (
    NOT_UNDERSTOOD,
    latest_message,
    misunderstood_in_a_row,
    reply_language,
)
from actions.handoff import hand_to_person
from handoff.signals import CaseFacts, case_escalation

CLARIFY_TOPICS = 3
MIN_TOPIC_CONFIDENCE = 0.05
# Never offered as a topic: code-only intents and the fallback's own answers.
NOT_TOPICS = frozenset({*NOT_UNDERSTOOD, "escalate", "handoff_closed", "affirm", "deny", "inform"})


class ActionAskAffirmation(Action):
    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = latest_message(tracker)
        language = reply_language(tracker)
        entities = {
            e["entity"]: e["value"]
            for e in message.get("entities", [])
            if e.get("entity") and e.get("value") is not None and e["entity"] != "language"
        }
        topics = [
            ranked["name"]
            for ranked in message.get("intent_ranking", [])
            if ranked.get("name") not in NOT_TOPICS
            and float(ranked.get("confidence") or 0) >= MIN_TOPIC_CONFIDENCE
        ][:CLARIFY_TOPICS]
        # The entities go with the chosen topic, so "订单2025..." is not asked for again (not
        # the reply language: the pipeline gives it with every message).
        suffix = json.dumps(entities, ensure_ascii=False) if entities else ""
        buttons = [
            {"title": title, "payload": f"/{intent}{suffix}"}
            for intent in topics
            if (title := response_text(domain, f"utter_intent_title_{intent}", language))
        ]
        none_of_these = response_text(domain, "utter_intent_title_out_of_scope", language)
        buttons.append({"title": none_of_these, "payload": "/out_of_scope"})
        dispatcher.utter_message(response="utter_ask_affirmation", buttons=buttons)
        return []


class ActionDefaultFallback(UsesBackends, Action):
    """Giving up: offer a person; when the shop's ``fallbacks_in_a_row`` rule fires, hand over."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        rules = await self._backends.rules()
        escalation = case_escalation(
            rules, CaseFacts(fallbacks_in_a_row=misunderstood_in_a_row(tracker))
        )
        if escalation is None:
            dispatcher.utter_message(response="utter_default")
            # As Rasa's own fallback: forget the message it could not place, then listen.
            return [UserUtteranceReverted()]
        dispatcher.utter_message(response="utter_default_handoff")
        return hand_to_person(escalation)


def response_text(domain: dict[str, Any], name: str, language: str) -> str:
    """A response's text in the customer's language (variants conditioned on the language
    slot; the unconditioned one is Chinese)."""
    variants = (domain.get("responses") or {}).get(name) or []
    for variant in variants:
        conditions = variant.get("condition") or []
        wanted = {c.get("value") for c in conditions if c.get("name") == "language"}
        if (language in wanted) or (not wanted and language == "zh"):
            return str(variant.get("text") or "")
    return str(variants[0].get("text") or "") if variants else ""
