"""Every customer message goes through here: to the bot, or to the human who owns the conversation."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError

from bot.availability import ServiceHours, callback_promise
from bot.rasa_client import BotReply, BotTurn, RasaClient, RasaUnavailable, TurnFailed
from core.records import ChatMessage, Conversation, Owner, Role
from core.store import Accepted, Completed, ConversationStore, Next
from core.texts import Texts
from handoff.agents import AgentDirectory
from handoff.facts import FactStore
from handoff.metrics import ServiceMetrics
from handoff.packet import Turn, build_packet
from handoff.queue import TicketQueue
from handoff.sentiment import EmotionModel
from handoff.signals import Rule, Signals, compute_signals, system_escalation
from handoff.trajectory import SignalHistory

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


# A message nobody has started to answer this long after it was accepted is answered by the
# recovery loop (its process died, Rasa was down, or the answer could not be stored).
RECOVER_AFTER_SECONDS = 5.0
# Rasa failed to run the same message this often: a person answers it (and the conversation's
# later messages are no longer held up behind it).
MAX_FAILED_TURNS = 3


@dataclass(frozen=True)
class PendingMessage:
    """A customer message accepted for the bot and not yet answered (``ConversationStore``)."""

    text: str  # what the customer typed, or the title of the button they tapped
    channel: str
    ts: float
    signals: dict[str, Any]
    payload: str = ""  # the tapped button's payload, for Rasa
    # Carried to Rasa, which answers a message id once (a redelivered copy gets the first
    # answer), and to the actions' request ids: a copy changes no order twice.
    message_id: str = ""
    # A message the bot does not read (a photo, one too long): what the customer hears
    # instead, in their language; the agent sees what was sent.
    notice: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str) -> PendingMessage:
        return cls(**json.loads(data))


@dataclass(frozen=True)
class Acceptance:
    stored: Accepted
    language: str  # of the message: for what the customer is told about it


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
        history: SignalHistory,
        facts: FactStore,
        metrics: ServiceMetrics,
        *,
        lease_seconds: int = 35,
    ) -> None:
        """``lease_seconds``: how long answering one message may take at most (two calls to
        Rasa): a process killed while answering holds the conversation no longer."""
        self._store = store
        self._queue = queue
        self._rasa = rasa
        self._rules = rules
        self._texts = texts
        self._emotion = emotion
        self._history = history
        self._agents = agents
        self._hours = hours
        self._facts = facts
        self._metrics = metrics
        # One answer at a time per conversation in this process; the store's lease does the
        # same across processes (and outlives no process by more than its TTL).
        self._answering: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._lease_seconds = lease_seconds

    async def customer_message(
        self, conversation_id: str, channel: str, text: str, payload: str = "", sent_id: str = ""
    ) -> list[ChatMessage]:
        """Accept the message, then answer it: what the customer is told now (nothing while a
        human owns it). A tapped button comes as its title (``text``: the transcript, the
        signals) and its ``payload`` (for Rasa), which the channel has checked the bot offered."""
        accepted = await self.accept(conversation_id, channel, text, payload, sent_id)
        return await self.answer(accepted)

    async def accept(
        self,
        conversation_id: str,
        channel: str,
        text: str,
        payload: str = "",
        sent_id: str = "",
        *,
        notice: str = "",
    ) -> Acceptance:
        """Store the message durably as awaiting an answer (or for the agent who owns the
        conversation). Once this returns, the message is answered even if this process dies.
        ``sent_id``: the channel's id for it; the same id again is the same message.
        ``notice``: the bot does not read ``text`` (it describes a photo, say, or is too long)
        and answers with this instead."""
        signals = await self._assess(conversation_id, text)
        pending = PendingMessage(
            text,
            channel,
            time.time(),
            signals.to_metadata(),
            payload,
            secrets.token_hex(12),
            notice,
        )
        message = ChatMessage(conversation_id, Role.CUSTOMER, text, pending.ts, sent_id=sent_id)
        accepted = await self._store.accept(
            message, pending.to_json(), sent_id or pending.message_id, channel=channel
        )
        if accepted.new:
            self._metrics.customer_message(channel)
        if accepted.new and accepted.owner is Owner.BOT:
            try:
                await self._history.record(conversation_id, signals.turn(text))
            except RedisError:
                # The message is kept (it will be answered): only its trajectory is thinner.
                log.warning("signals of a message of %s not recorded", conversation_id)
            if signals.escalation:
                log.info(
                    "escalation for %s: %s (fired: %s; matched %r)",
                    conversation_id,
                    signals.escalation.rule_id,
                    ",".join(signals.fired),
                    signals.escalation.matched,
                )
        return Acceptance(accepted, signals.language)

    async def answer(self, acceptance: Acceptance) -> list[ChatMessage]:
        """Answer the conversation's pending messages, oldest first (this one among them);
        what was said. When that cannot happen now (Rasa or Redis down, another process at
        it), the customer is told their message is kept and the recovery loop answers it."""
        accepted = acceptance.stored
        conversation_id = accepted.message.conversation_id
        if not accepted.new or accepted.owner is not Owner.BOT:
            return []  # answered (or being answered) already, or the agent's console shows it
        try:
            said = await self._answer_pending(conversation_id)
        except (RasaUnavailable, RedisError) as error:
            log.warning("message of %s kept for later: %s", conversation_id, error)
            said = None
        if said is not None:
            return said
        notice = self._texts.get("rasa_unavailable", acceptance.language)
        try:
            return [await self._say(conversation_id, Role.SYSTEM, notice)]
        except RedisError:
            return [ChatMessage(conversation_id, Role.SYSTEM, notice, time.time())]

    async def answer_pending(self, older_than: float = RECOVER_AFTER_SECONDS) -> int:
        """The recovery loop's step: answer the messages nobody is answering (accepted more than
        ``older_than`` seconds ago), oldest first per conversation. How many conversations were."""
        answered = 0
        for conversation_id in await self._store.conversations_with_pending():
            oldest = await self._store.oldest_pending(conversation_id)
            if oldest is None or time.time() - PendingMessage.from_json(oldest).ts < older_than:
                continue
            try:
                said = await self._answer_pending(conversation_id)
            except TurnFailed as failed:  # this conversation's message; the others go on
                log.warning("a message of %s failed again: %s", conversation_id, failed)
                continue
            answered += 0 if said is None else 1
        return answered

    async def _answer_pending(self, conversation_id: str) -> list[ChatMessage] | None:
        """Every pending message of the conversation, in order; None when another process
        holds the conversation. Raises RasaUnavailable or RedisError, leaving the rest pending."""
        said: list[ChatMessage] = []
        async with self._turn(conversation_id) as next_one:
            if next_one is None:
                return None
            while next_one.pending is not None:
                pending = PendingMessage.from_json(next_one.pending)
                completed = await self._answer_one(next_one.conversation, pending)
                if completed is not None:  # None: answered already, by a process thought dead
                    said += completed.stored
                    if not completed.more:
                        break
                next_one = await self._store.next_pending(conversation_id)
        return said

    @asynccontextmanager
    async def _turn(self, conversation_id: str) -> AsyncIterator[Next | None]:
        """The conversation's lease, with its next pending message (None: another has it)."""
        lock = self._answering.get(conversation_id)
        if lock is None:
            lock = self._answering[conversation_id] = asyncio.Lock()
        async with lock:
            token = secrets.token_hex(8)
            next_one = await self._store.lease_next(conversation_id, token, self._lease_seconds)
            if next_one is None:
                yield None
                return
            try:
                yield next_one
            finally:
                try:
                    await self._store.release(conversation_id, token)
                except RedisError:
                    log.warning("could not release %s; its lease runs out", conversation_id)

    async def _answer_one(
        self, conversation: Conversation, pending: PendingMessage
    ) -> Completed | None:
        conversation_id = conversation.conversation_id
        replies: list[ChatMessage] = []
        if conversation.owner is Owner.BOT and pending.notice:
            replies = [self._message(conversation_id, Role.BOT, pending.notice)]
        elif conversation.owner is Owner.BOT:
            signals = Signals.from_metadata(pending.signals)
            try:
                replies = await self._to_bot(conversation, pending, signals)
            except TurnFailed:
                if await self._store.count_failure(pending.message_id) < MAX_FAILED_TURNS:
                    raise
                log.warning("Rasa keeps failing a message of %s: to a person", conversation_id)
                replies = await self._no_answer(conversation_id, pending.channel, signals)
        # Owned by a person meanwhile: the console shows the message; the bot says nothing.
        completed = await self._store.complete(conversation_id, pending.message_id, replies)
        if completed is not None and completed.stored:  # the bot's answer, stored by us
            self._metrics.reply(time.time() - pending.ts)
        return completed

    async def hand_back(self, conversation_id: str) -> list[ChatMessage]:
        """The agent closed the ticket: the bot greets the customer again."""
        try:
            replies = await self._rasa.trigger_intent(conversation_id, HANDBACK_INTENT)
        except RasaUnavailable as error:
            log.warning("hand-back greeting for %s not sent: %s", conversation_id, error)
            return []
        return [await self._say(conversation_id, Role.BOT, r.text, r) for r in replies]

    async def _assess(self, conversation_id: str, text: str) -> Signals:
        """This message's signals in the light of the earlier turns (``accept`` stores them)."""
        scores = self._emotion.score(text)
        history = await self._history.recent(conversation_id)
        return compute_signals(
            text, self._rules, anger=scores.anger, negative=scores.negative, history=history
        )

    async def _to_bot(
        self, conversation: Conversation, pending: PendingMessage, signals: Signals
    ) -> list[ChatMessage]:
        """The bot's answer, and the hand-over a rule asks for, not yet stored."""
        conversation_id = conversation.conversation_id
        metadata = {
            "channel": pending.channel,
            "signals": signals.to_metadata(),
            "sent_at": pending.ts,
            # Only a channel-verified identity travels here: the order actions trust it.
            "customer_id": conversation.customer_id,
        }
        if pending.payload:
            metadata["button_title"] = pending.text  # the agent's packet shows what was chosen
        message = pending.payload or as_words(pending.text)
        started = time.perf_counter()
        turn = await self._rasa.send(conversation_id, message, metadata, pending.message_id)
        self._metrics.rasa_call(time.perf_counter() - started)
        await self._record_turn(conversation, pending, signals, turn)
        replies = turn.replies
        if not replies:
            # Rasa ran the turn but nothing came of it (an action failed): a person answers.
            log.warning("the bot gave a message of %s no answer", conversation_id)
            return await self._no_answer(conversation_id, pending.channel, signals)
        said = [self._message(conversation_id, Role.BOT, r.text, r) for r in replies]
        if signals.escalation and (await self._store.get(conversation_id)).owner is Owner.BOT:
            said += await self._escalate(conversation_id, pending.channel, signals, said)
        conversation = await self._store.get(conversation_id)
        if conversation.owner is Owner.QUEUE and conversation.ticket_id:
            said += await self._promise_callback(conversation.ticket_id, signals.language)
        return said

    async def _record_turn(
        self, conversation: Conversation, pending: PendingMessage, signals: Signals, turn: BotTurn
    ) -> None:
        """The turn's facts for the reports; the customer's answer never waits on them."""
        try:
            await self._facts.record_turn(
                conversation.conversation_id,
                pending.channel,
                conversation.customer_id,
                pending.text,
                turn.reading,
                message_id=pending.message_id,
                language=signals.language,
            )
        except RedisError:
            log.warning("the facts of a turn of %s not recorded", conversation.conversation_id)

    async def _no_answer(
        self, conversation_id: str, channel: str, signals: Signals
    ) -> list[ChatMessage]:
        """The bot cannot answer this message: a person does (the shop's ``no_answer`` rule;
        without one, the customer hears nothing more and the message stays in the transcript)."""
        rule = system_escalation(self._rules, "no_answer")
        if rule is None:
            return []
        return await self._hand_over_here(
            conversation_id, channel, replace(signals, escalation=rule), []
        )

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
        return [self._message(ticket.conversation_id, Role.SYSTEM, notice)]

    async def _escalate(
        self, conversation_id: str, channel: str, signals: Signals, said: list[ChatMessage]
    ) -> list[ChatMessage]:
        """A rule fired: Rasa's handoff action builds the packet; without Rasa, build it here
        (from the transcript and ``said``, the bot's answer not yet stored)."""
        try:
            replies = await self._rasa.trigger_intent(conversation_id, ESCALATE_INTENT)
            if replies:
                return [self._message(conversation_id, Role.BOT, r.text, r) for r in replies]
        except RasaUnavailable:
            pass
        log.warning("escalating %s without Rasa", conversation_id)
        return await self._hand_over_here(conversation_id, channel, signals, said)

    async def _hand_over_here(
        self, conversation_id: str, channel: str, signals: Signals, said: list[ChatMessage]
    ) -> list[ChatMessage]:
        """The ticket and its packet built by kefu itself, from the transcript and ``said``."""
        assert signals.escalation is not None
        rule = signals.escalation
        turns = [
            Turn(m.role.value, m.text, m.ts)
            for m in [*await self._store.transcript(conversation_id), *said]
            if m.role in (Role.CUSTOMER, Role.BOT)
        ]
        packet = build_packet(
            conversation_id,
            channel,
            turns,
            reasons=(rule.reason,),
            reasons_en=(rule.reason_en,),
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
        return [self._message(conversation_id, Role.SYSTEM, notice)]

    @staticmethod
    def _message(
        conversation_id: str, role: Role, text: str, reply: BotReply | None = None
    ) -> ChatMessage:
        return ChatMessage(conversation_id, role, text, time.time(), reply.buttons if reply else ())

    async def _say(
        self, conversation_id: str, role: Role, text: str, reply: BotReply | None = None
    ) -> ChatMessage:
        return await self._store.append(self._message(conversation_id, role, text, reply))
