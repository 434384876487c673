"""Payment reminders: an order left unpaid for more than 12 hours gets one reminder, in the chat
of the customer the channel identified, unless they asked for none (SERVICE-NORMS: "Unpaid
orders: a reminder after 12 hours")."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from core.keys import Keys
from core.language import detect_language
from core.records import Button, ChatMessage, Role
from core.store import ConversationStore
from core.texts import Texts
from orders.client import OrderBackend

log = logging.getLogger(__name__)

OPT_OUT_PAYLOAD = "/reminder_opt_out"
# A reminder is sent once per order: the mark outlives any order still worth reminding about.
SENT_MARK_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class ReminderPolicy:
    unpaid_after_hours: float = 12.0


class PaymentReminders:
    def __init__(
        self,
        orders: OrderBackend,
        store: ConversationStore,
        redis: Redis,
        keys: Keys,
        texts: Texts,
        policy: ReminderPolicy,
    ) -> None:
        self._orders = orders
        self._store = store
        self._redis = redis
        self._keys = keys
        self._texts = texts
        self._policy = policy

    async def tick(self) -> int:
        """Remind every customer due a reminder; returns how many were sent. Raises OrderError
        or RedisError (the caller tries again on its next tick)."""
        sent = 0
        for order in await self._orders.unpaid_orders(self._policy.unpaid_after_hours):
            conversation_id = await self._store.conversation_of(order.customer_id)
            if not conversation_id:
                continue  # no chat of theirs to write to: the shop's own channels remind them
            if await self._redis.exists(self._keys.reminder_opt_out(order.customer_id)):
                continue
            # Set-if-absent first: two kefu processes never both remind for the same order.
            claimed = await self._redis.set(
                self._keys.reminder_sent(order.id), "1", nx=True, ex=SENT_MARK_SECONDS
            )
            if not claimed:
                continue
            language = await self._language_of(conversation_id)
            text = self._texts.get(
                "payment_reminder", language, order_id=order.id, items=order.items_summary
            )
            stop = Button(self._texts.get("payment_reminder_stop", language), OPT_OUT_PAYLOAD)
            await self._store.append(
                ChatMessage(conversation_id, Role.BOT, text, time.time(), buttons=(stop,))
            )
            log.info("payment reminder for order %s sent to %s", order.id, conversation_id)
            sent += 1
        return sent

    async def _language_of(self, conversation_id: str) -> str:
        """The language the customer last wrote in (Chinese when they have not written)."""
        for message in reversed(await self._store.transcript(conversation_id)):
            if message.role is Role.CUSTOMER:
                return detect_language(message.text)
        return "zh"
