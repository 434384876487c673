"""Every customer message goes through here: to the bot, or to the human who owns the conversation."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from bot.availability import ServiceHours, callback_promise
from bot.rasa_client import BotReply, RasaClient, RasaUnavailable
from bot.texts import Texts
from handoff.agents import AgentDirectory
from handoff.models import ChatMessage, Conversation, Owner, Role
from handoff.packet import Turn, build_packet
from handoff.queue import TicketQueue
from handoff.sentiment import EmotionModel
from handoff.signals import Rule, Signals, compute_signals
from handoff.store import ConversationStore

log = logging.getLogger(__name__)

ESCALATE_INTENT = "escalate"
HANDBACK_INTENT = "handoff_closed"
# Triggered by the kefu server itself, never by a customer, whatever a button offers.
EXTERNAL_INTENTS = frozenset({ESCALATE_INTENT, HANDBACK_INTENT})
# How Rasa reads a message as an intent (YAMLStoryReader): "/name", then "@confidence" or "{entities}".
_INTENT_MESSAGE = re.compile(r"/(?P<intent>[^{@]+)")


def payload_intent(payload: str) -> str:
    """The intent a message asks Rasa for directly ("" for words NLU must understand)."""
    match = _INTENT_MESSAGE.match(payload.strip())
    return match["intent"].strip() if match else ""


def as_words(text: str) -> str:
    """Typed text as Rasa must read it: as words. Rasa takes a leading "/" as an intent with
    entities, which only a button the bot offered may send; a full-width slash reads the same."""
    stripped = text.strip()
    return "\uff0f" + stripped[1:] if stripped.startswith("/") else stripped


@dataclass(frozen=True)
class HeldMessage:
    """A customer message accepted while Rasa was unreachable, delivered when it is back."""

    text: str  # what the customer typed, or the title of the button they tapped
    channel: str
    ts: float
    signals: dict[str, Any]
    payload: str = ""  # the tapped button's payload, for Rasa

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> HeldMessage:
        return cls(**json.loads(data))


class Router:
    def __init__(
        self,
        store: ConversationStore,
        queue: TicketQueue,
        rasa: RasaClient,
        rules: tuple[Rule, ...],
        texts: Texts,
        emotion: EmotionModel,
        agents: AgentDirectory,
        hours: ServiceHours,
    ) -> None:
        self._store = store
        self._queue = queue
        self._rasa = rasa
        self._rules = rules
        self._texts = texts
        self._emotion = emotion
        self._agents = agents
        self._hours = hours

    async def customer_message(
        self, conversation_id: str, channel: str, text: str, payload: str = ""
    ) -> list[ChatMessage]:
        """Record the message and return what the customer is told now (nothing while a human
        owns it). A tapped button comes as its title (``text``: the transcript, the signals) and
        its ``payload`` (for Rasa), which the channel has checked the bot offered."""
        await self._store.touch(conversation_id, channel)
        await self._store.append(ChatMessage(conversation_id, Role.CUSTOMER, text, time.time()))
        conversation = await self._store.get(conversation_id)
        if conversation.owner is not Owner.BOT:
            return []  # the agent's console shows it; the bot stays silent
        signals = await self._assess(conversation_id, text)
        held = HeldMessage(text, channel, time.time(), signals.to_metadata(), payload)
        # Earlier messages still waiting for Rasa go first: this one queues behind them.
        if not await self._store.has_held(conversation_id):
            try:
                return await self._to_bot(conversation, held, signals)
            except RasaUnavailable as error:
                log.warning("Rasa unavailable, holding message of %s: %s", conversation_id, error)
        await self._store.hold(conversation_id, held.to_json())
        notice = self._texts.get("rasa_unavailable", signals.language)
        return [await self._say(conversation_id, Role.SYSTEM, notice)]

    async def deliver_held(self) -> int:
        """Send held messages to Rasa, oldest first per conversation; stops at the first failure."""
        delivered = 0
        for conversation_id in await self._store.conversations_with_held():
            while (payload := await self._store.oldest_held(conversation_id)) is not None:
                held = HeldMessage.from_json(payload)
                conversation = await self._store.get(conversation_id)
                if conversation.owner is Owner.BOT:
                    await self._to_bot(conversation, held, Signals.from_metadata(held.signals))
                await self._store.release_oldest(conversation_id)
                delivered += 1
        return delivered

    async def hand_back(self, conversation_id: str) -> list[ChatMessage]:
        """The agent closed the ticket: the bot greets the customer again."""
        try:
            replies = await self._rasa.trigger_intent(conversation_id, HANDBACK_INTENT)
        except RasaUnavailable as error:
            log.warning("hand-back greeting for %s not sent: %s", conversation_id, error)
            return []
        return [await self._say(conversation_id, Role.BOT, r.text, r) for r in replies]

    async def _assess(self, conversation_id: str, text: str) -> Signals:
        """This message's signals in the light of the earlier turns; stored, and logged with the
        reason codes when a rule fires."""
        scores = self._emotion.score(text)
        history = await self._store.recent_signals(conversation_id)
        signals = compute_signals(
            text, self._rules, anger=scores.anger, negative=scores.negative, history=history
        )
        await self._store.record_signals(conversation_id, signals.turn(text))
        if signals.escalation:
            log.info(
                "escalation for %s: %s (fired: %s; matched %r)",
                conversation_id,
                signals.escalation.rule_id,
                ",".join(signals.fired),
                signals.escalation.matched,
            )
        return signals

    async def _to_bot(
        self, conversation: Conversation, held: HeldMessage, signals: Signals
    ) -> list[ChatMessage]:
        conversation_id = conversation.conversation_id
        metadata = {
            "channel": held.channel,
            "signals": signals.to_metadata(),
            "sent_at": held.ts,
            # Only a channel-verified identity travels here: the order actions trust it.
            "customer_id": conversation.customer_id,
        }
        if held.payload:
            metadata["button_title"] = held.text  # the agent's packet shows what was chosen
        message = held.payload or as_words(held.text)
        replies = await self._rasa.send(conversation_id, message, metadata)
        said = [await self._say(conversation_id, Role.BOT, r.text, r) for r in replies]
        if signals.escalation and (await self._store.get(conversation_id)).owner is Owner.BOT:
            said += await self._escalate(conversation_id, held.channel, signals)
        conversation = await self._store.get(conversation_id)
        if conversation.owner is Owner.QUEUE and conversation.ticket_id:
            said += await self._promise_callback(conversation.ticket_id, signals.language)
        return said

    async def _promise_callback(self, ticket_id: str, language: str) -> list[ChatMessage]:
        """Nobody can answer now: register a callback time on the ticket and tell the customer."""
        ticket = await self._queue.get(ticket_id)
        if ticket is None or ticket.callback_by:
            return []
        now = datetime.now()
        promise = callback_promise(now, self._hours, await self._agents.online_count())
        if promise is None:
            return []
        await self._queue.promise_callback(ticket_id, promise.timestamp())
        when = (
            promise.strftime("%H:%M")
            if promise.date() == now.date()
            else promise.strftime("%m-%d %H:%M")
        )
        notice = self._texts.get("callback_promised", language, when=when)
        return [await self._say(ticket.conversation_id, Role.SYSTEM, notice)]

    async def _escalate(
        self, conversation_id: str, channel: str, signals: Signals
    ) -> list[ChatMessage]:
        """A rule fired: Rasa's handoff action builds the packet; without Rasa, build it here."""
        try:
            replies = await self._rasa.trigger_intent(conversation_id, ESCALATE_INTENT)
            return [await self._say(conversation_id, Role.BOT, r.text, r) for r in replies]
        except RasaUnavailable:
            log.warning("escalating %s without Rasa", conversation_id)
        assert signals.escalation is not None
        rule = signals.escalation
        turns = [
            Turn(m.role.value, m.text, m.ts)
            for m in await self._store.transcript(conversation_id)
            if m.role in (Role.CUSTOMER, Role.BOT)
        ]
        packet = build_packet(
            conversation_id,
            channel,
            turns,
            reasons=(rule.reason,),
            priority=rule.priority,
            team=rule.team,
            language=signals.language,
        )
        place = await self._queue.open(
            conversation_id,
            channel,
            priority=rule.priority,
            team=rule.team,
            reasons=(rule.rule_id,),
            summary=packet.summary,
            packet=packet.to_dict(),
        )
        notice = self._texts.get(
            "handoff_direct", signals.language, position=max(place.position, 1)
        )
        return [await self._say(conversation_id, Role.SYSTEM, notice)]

    async def _say(
        self, conversation_id: str, role: Role, text: str, reply: BotReply | None = None
    ) -> ChatMessage:
        buttons = reply.buttons if reply else ()
        message = ChatMessage(conversation_id, role, text, time.time(), buttons)
        return await self._store.append(message)
