"""Hand the conversation to the human queue with its full context."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from redis.exceptions import RedisError

from actions.backends import Backends
from actions.language import EXTERNAL_PREFIXES
from handoff.packet import Turn, build_packet
from handoff.queue import TicketQueue
from handoff.signals import Escalation, load_rules

EXPLICIT_REQUEST_RULE = "explicit_request"
RASA_INTERNAL_SLOTS = frozenset({"session_started_metadata", "requested_slot"})


class ActionHandoff(Action):
    def __init__(self) -> None:
        self._backends = Backends()
        self._explicit: Escalation | None = None

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        escalation = _router_escalation(tracker) or await self._explicit_request()
        metadata = _latest_customer_metadata(tracker)
        packet = build_packet(
            tracker.sender_id,
            metadata.get("channel", ""),
            transcript(tracker),
            reasons=(escalation.reason,),
            priority=escalation.priority,
            team=escalation.team,
            language=tracker.get_slot("language") or "zh",
            slots={
                name: value
                for name, value in tracker.current_slot_values().items()
                if name not in RASA_INTERNAL_SLOTS
            },
        )
        try:
            place = await self._ticket_queue().open(
                tracker.sender_id,
                metadata.get("channel", ""),
                priority=escalation.priority,
                team=escalation.team,
                reasons=(escalation.rule_id,),
                summary=packet.summary,
                packet=packet.to_dict(),
            )
        except RedisError:
            dispatcher.utter_message(response="utter_handoff_failed")
            return []
        dispatcher.utter_message(response="utter_handoff_queued", position=max(place.position, 1))
        return []

    async def _explicit_request(self) -> Escalation:
        """The shop's rule for a customer who asks for a human in words the router did not match."""
        if self._explicit is None:
            rules = await asyncio.to_thread(load_rules)
            rule = next(r for r in rules if r.id == EXPLICIT_REQUEST_RULE)
            self._explicit = Escalation(rule.id, rule.priority, rule.team, rule.reason, "")
        return self._explicit

    def _ticket_queue(self) -> TicketQueue:
        backends = self._backends
        return TicketQueue(
            backends.redis(), backends.keys, backends.settings.conversation_ttl_seconds
        )


def transcript(tracker: Tracker) -> list[Turn]:
    """Every customer and bot message of the conversation, with intents and confidences."""
    turns = []
    for event in tracker.events:
        text = event.get("text") or ""
        if event.get("event") == "user" and text and not text.startswith(EXTERNAL_PREFIXES):
            intent = (event.get("parse_data") or {}).get("intent") or {}
            signals = (event.get("metadata") or {}).get("signals") or {}
            turns.append(
                Turn(
                    "customer",
                    event["text"],
                    float(event.get("timestamp") or 0),
                    intent.get("name") or "",
                    float(intent.get("confidence") or 0),
                    signals.get("anger"),
                    signals.get("negative"),
                )
            )
        elif event.get("event") == "bot" and event.get("text"):
            turns.append(Turn("bot", event["text"], float(event.get("timestamp") or 0)))
    return turns


def _latest_customer_metadata(tracker: Tracker) -> dict[str, Any]:
    """The kefu router's metadata on the latest customer message (an external intent's event
    carries only Rasa's own model metadata, so it is skipped)."""
    for event in reversed(tracker.events):
        metadata = event.get("metadata") or {}
        if event.get("event") == "user" and "signals" in metadata:
            return dict(metadata)
    return {}


def _router_escalation(tracker: Tracker) -> Escalation | None:
    """The rule the router matched on the customer's latest message, if any."""
    found = (_latest_customer_metadata(tracker).get("signals") or {}).get("escalation")
    if not found:
        return None
    return Escalation(
        found["rule_id"], int(found["priority"]), found["team"], found["reason"], found["matched"]
    )
