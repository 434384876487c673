"""Hand the conversation to the human queue with its full context."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from redis.exceptions import RedisError

from actions.conversation import (
    faq_answers,
    mentioned_orders,
    reply_language,
    router_metadata,
    transcript,
    verified_orders,
)
from actions.order_flow import UsesOrderDesk
from core.masking import mask_address, mask_name, mask_phone
from handoff.packet import build_packet
from handoff.signals import Escalation
from orders.models import Order, OrderError

EXPLICIT_REQUEST_RULE = "explicit_request"
# Bookkeeping, not facts for the agent (the reasons, the order cards and the transcript say it).
RASA_INTERNAL_SLOTS = frozenset(
    {
        "session_started_metadata",
        "requested_slot",
        "case_escalation",
        "order_check",
        "lookup_misses",
    }
)
CASE_ESCALATION_SLOT = "case_escalation"
log = logging.getLogger(__name__)


class ActionHandoff(UsesOrderDesk, Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        escalation = (
            _case_escalation(tracker)
            or _router_escalation(tracker)
            or await self._explicit_request()
        )
        metadata = router_metadata(tracker)
        packet = build_packet(
            tracker.sender_id,
            metadata.get("channel", ""),
            transcript(tracker),
            reasons=(escalation.reason,),
            reasons_en=(escalation.reason_en,) if escalation.reason_en else (),
            priority=escalation.priority,
            team=escalation.team,
            language=reply_language(tracker),
            slots={
                name: value
                for name, value in tracker.current_slot_values().items()
                if name not in RASA_INTERNAL_SLOTS
            },
            orders=await self._order_cards(tracker),
            faq_answers=faq_answers(tracker),
        )
        try:
            place = await self._backends.queue().open(
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
        log.info(
            "handoff of %s to %s (priority %d): %s, matched %r",
            tracker.sender_id,
            escalation.team,
            escalation.priority,
            escalation.rule_id,
            escalation.matched,
        )
        dispatcher.utter_message(response="utter_handoff_queued", position=max(place.position, 1))
        return [SlotSet(CASE_ESCALATION_SLOT, None)]

    async def _order_cards(self, tracker: Tracker) -> tuple[dict[str, Any], ...]:
        """Masked snapshots of every order the conversation mentioned, for the agent's screen."""
        cards = []
        for order_id in mentioned_orders(tracker):
            try:
                order = await self._desk.order(order_id)
            except OrderError:
                continue  # the agent still has the number in the transcript
            cards.append(order_card(order, verified=order_id in verified_orders(tracker)))
        return tuple(cards)

    async def _explicit_request(self) -> Escalation:
        """The shop's rule for a customer who asks for a human in words the router did not match."""
        rule = next(r for r in await self._backends.rules() if r.id == EXPLICIT_REQUEST_RULE)
        return Escalation(rule.id, rule.priority, rule.team, rule.reason, "", rule.reason_en)


def order_card(order: Order, *, verified: bool) -> dict[str, Any]:
    """What the agent needs of an order, personal data masked."""
    return {
        "id": order.id,
        "status": order.status.value,
        "verified_owner": verified,
        "items": order.items_summary,
        "total_yuan": round(order.total_cents / 100, 2),
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "shipped_at": order.shipped_at,
        "delivered_at": order.delivered_at,
        "courier": order.courier,
        "tracking_no": order.tracking_no,
        "tracking": [
            f"{event.ts} {event.location} {event.description}" for event in order.tracking[-5:]
        ],
        "receiver": mask_name(order.receiver_name),
        "phone": mask_phone(order.receiver_phone),
        "address": mask_address(order.address),
    }


def hand_to_person(escalation: Escalation) -> list[dict[str, Any]]:
    """What an action returns to give the conversation to a person for the rule's reason: the
    rule goes in the ``case_escalation`` slot, read by the handoff that follows."""
    return [SlotSet(CASE_ESCALATION_SLOT, asdict(escalation)), FollowupAction("action_handoff")]


def _case_escalation(tracker: Tracker) -> Escalation | None:
    """A case rule an action matched (VIP, order value, refund outside policy, fallbacks)."""
    return _escalation(tracker.get_slot(CASE_ESCALATION_SLOT))


def _router_escalation(tracker: Tracker) -> Escalation | None:
    """The rule the router matched on the customer's latest message, if any."""
    return _escalation((router_metadata(tracker).get("signals") or {}).get("escalation"))


def _escalation(record: Any) -> Escalation | None:
    return Escalation(**record) if isinstance(record, dict) else None
