"""Conversation ownership, transcripts and customer messages awaiting the bot's answer, in Redis."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from redis.asyncio import Redis

from core.keys import Keys
from core.records import (
    TO_CUSTOMER,
    Button,
    ChatMessage,
    Conversation,
    Event,
    Owner,
    platform_of,
)

TRANSCRIPT_MAX_LEN = 5000
# The outbox stream holds wake-ups only (a conversation id each), acknowledged within seconds.
OUTBOX_MAX_LEN = 100_000

# A customer's message and, when the bot owns the conversation, its place among the messages
# awaiting the bot's answer, in one step: a message is never in the transcript but unanswered
# for lack of a pending record, whatever dies when. The channel's own id for the message
# (KEYS[5]) makes a message sent twice (a page resending after a lost acknowledgement) one.
_ACCEPT = """
-- KEYS[1] transcript stream, KEYS[2] conversation hash, KEYS[3] the conversation's pending
-- list, KEYS[4] the set of conversations with pending messages, KEYS[5] the sent-message id key,
-- KEYS[6] the events channel
-- ARGV[1] message JSON, ARGV[2] pending record JSON, ARGV[3] conversation id,
-- ARGV[4] TTL seconds, ARGV[5] transcript length kept, ARGV[6] sent-message id TTL seconds,
-- ARGV[7] the channel, ARGV[8] now, ARGV[9] and ARGV[10] the message's event JSON before and
-- after its stream id
-- Returns {stream id, owner, 1 when new or 0 when this message was accepted before}
redis.call('HSETNX', KEYS[2], 'owner', 'bot')
redis.call('HSET', KEYS[2], 'channel', ARGV[7], 'updated_at', ARGV[8])
redis.call('EXPIRE', KEYS[2], ARGV[4])
local owner = redis.call('HGET', KEYS[2], 'owner')
local seen = redis.call('GET', KEYS[5])
if seen then return {seen, owner, 0} end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 'm', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
if owner == 'bot' then
  redis.call('RPUSH', KEYS[3], ARGV[2])
  redis.call('EXPIRE', KEYS[3], ARGV[4])
  redis.call('SADD', KEYS[4], ARGV[3])
  redis.call('EXPIRE', KEYS[4], ARGV[4])
end
redis.call('SET', KEYS[5], id, 'EX', ARGV[6])
redis.call('PUBLISH', KEYS[6], ARGV[9] .. id .. ARGV[10])
return {id, owner, 1}
"""

# The answer to the oldest pending message and its removal, in one step, and only if it is
# still the oldest: whoever answers a message a second time (a process that was thought dead)
# stores nothing, so the customer sees each answer once.
_COMPLETE = """
-- KEYS[1] the conversation's pending list, KEYS[2] the set of conversations with pending
-- messages, KEYS[3] transcript stream, KEYS[4] the offered buttons, KEYS[5] the outbox stream,
-- KEYS[6] the events channel
-- ARGV[1] the answered message's id, ARGV[2] conversation id, ARGV[3] TTL seconds,
-- ARGV[4] transcript length kept, ARGV[5] the new offer JSON or '', ARGV[6] '1' when the
-- replies leave through the outbox, ARGV[7] outbox length kept, ARGV[8..] each reply as three:
-- its JSON, its event JSON before and after its stream id
-- Returns {messages still pending, the replies' stream ids...}, or false when the message was
-- answered already
local head = redis.call('LINDEX', KEYS[1], 0)
if not head or cjson.decode(head)['message_id'] ~= ARGV[1] then return false end
redis.call('LPOP', KEYS[1])
local left = redis.call('LLEN', KEYS[1])
if left == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
local answer = {left}
for i = 8, #ARGV, 3 do
  local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'm', ARGV[i])
  answer[#answer + 1] = id
  redis.call('PUBLISH', KEYS[6], ARGV[i + 1] .. id .. ARGV[i + 2])
end
redis.call('EXPIRE', KEYS[3], ARGV[3])
if ARGV[5] ~= '' then redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[3]) end
if ARGV[6] == '1' and #answer > 1 then
  redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[7], '*', 'c', ARGV[2])
end
return answer
"""

# Let go of a conversation only if it is still ours (a lease that ran out may be someone else's).
_RELEASE = """
-- KEYS[1] the answering lease; ARGV[1] our token
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
SENT_ID_TTL_SECONDS = 24 * 3600
_STREAM_ID = re.compile(r"\d{1,20}-\d{1,20}")
# Where a message event's stream id goes: the first key of its message (nothing before it in
# the event's JSON can hold this unescaped).
_MESSAGE_ID_SLOT = '"message": {"id": "'


def _event_around_id(message: ChatMessage) -> tuple[str, str]:
    """The live pages' event for ``message`` as JSON, split where its stream id goes (the
    scripts that store a message announce it with the id they give it)."""
    event = Event("message", conversation_id=message.conversation_id, message=message.to_wire())
    text = event.to_json()
    cut = text.index(_MESSAGE_ID_SLOT) + len(_MESSAGE_ID_SLOT)
    assert text[cut] == '"', "the message has no stream id before it is stored"
    return text[:cut], text[cut:]


def _conversation(conversation_id: str, record: dict[str, str]) -> Conversation:
    if not record:
        return Conversation(conversation_id)
    return Conversation(
        conversation_id=conversation_id,
        owner=Owner(record.get("owner", Owner.BOT.value)),
        channel=record.get("channel", ""),
        ticket_id=record.get("ticket_id", ""),
        customer_id=record.get("customer_id", ""),
    )


def _next(conversation_id: str, head: str | None, record: dict[str, str]) -> Next:
    return Next(str(head) if head is not None else None, _conversation(conversation_id, record))


@dataclass(frozen=True)
class Completed:
    stored: list[ChatMessage]  # the replies as stored (with their stream ids)
    more: bool  # other messages of the conversation await an answer


@dataclass(frozen=True)
class Next:
    """The conversation's oldest message awaiting an answer (None: none), and who owns it."""

    pending: str | None
    conversation: Conversation


@dataclass(frozen=True)
class Accepted:
    message: ChatMessage  # as stored (with its stream id)
    owner: Owner  # who answers it: the bot (it is pending) or a person
    new: bool  # False: the channel had sent this message before; nothing was stored again


class ConversationStore:
    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds
        self._accept = redis.register_script(_ACCEPT)
        self._complete = redis.register_script(_COMPLETE)
        self._release = redis.register_script(_RELEASE)

    async def get(self, conversation_id: str) -> Conversation:
        record = await self._redis.hgetall(self._keys.conversation(conversation_id))
        return _conversation(conversation_id, record)

    async def identify(self, conversation_id: str, customer_id: str) -> None:
        """The channel vouched for the customer behind the conversation (a signed shop login):
        kept on the conversation, and the customer's latest conversation is this one."""
        key = self._keys.conversation(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "owner", Owner.BOT.value)
            pipe.hset(key, "customer_id", customer_id)
            pipe.expire(key, self._ttl)
            pipe.set(self._keys.customer_conversation(customer_id), conversation_id, ex=self._ttl)
            await pipe.execute()

    async def conversation_of(self, customer_id: str) -> str:
        """The identified customer's latest conversation, or ""."""
        value = await self._redis.get(self._keys.customer_conversation(customer_id))
        return str(value or "")

    async def append(self, message: ChatMessage) -> ChatMessage:
        """Add a message to the transcript and announce it to the live pages, atomically. A
        message with buttons replaces the conversation's offer: only those may be tapped now."""
        key = self._keys.transcript(message.conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(key, {"m": message.to_json()}, maxlen=TRANSCRIPT_MAX_LEN, approximate=True)
            pipe.expire(key, self._ttl)
            if message.buttons:
                offer = json.dumps([asdict(b) for b in message.buttons], ensure_ascii=False)
                pipe.set(self._keys.offered(message.conversation_id), offer, ex=self._ttl)
            if platform_of(message.conversation_id) and message.role in TO_CUSTOMER:
                self._wake_outbox(pipe, message.conversation_id)
            message_id, *_ = await pipe.execute()
        stored = replace(message, id=message_id)
        await self._announce(stored)
        return stored

    def _wake_outbox(self, pipe: Any, conversation_id: str) -> None:
        """What is said in a messaging-app conversation reaches the customer through the
        outbox (bot/channels/outbox.py), not the web chat's socket."""
        pipe.xadd(
            self._keys.outbox, {"c": conversation_id}, maxlen=OUTBOX_MAX_LEN, approximate=True
        )

    async def wake_outbox(self, conversation_id: str) -> None:
        """Ask the outbox to look at the conversation again."""
        async with self._redis.pipeline(transaction=False) as pipe:
            self._wake_outbox(pipe, conversation_id)
            await pipe.execute()

    async def _announce(self, message: ChatMessage) -> None:
        event = Event("message", conversation_id=message.conversation_id, message=message.to_wire())
        await self._redis.publish(self._keys.events, event.to_json())

    async def is_offered(self, conversation_id: str, button: Button) -> bool:
        """Whether the conversation's latest buttons include this one (its title and payload)."""
        offer = await self._redis.get(self._keys.offered(conversation_id))
        return bool(offer) and button in (Button(**b) for b in json.loads(offer))

    async def transcript(
        self, conversation_id: str, after: str = "", limit: int = 500
    ) -> list[ChatMessage]:
        """Messages in order; only those after the stream id ``after`` when given."""
        start = f"({after}" if after else "-"
        entries = await self._redis.xrange(
            self._keys.transcript(conversation_id), min=start, max="+", count=limit
        )
        return [ChatMessage.from_json(fields["m"], message_id) for message_id, fields in entries]

    async def message(self, conversation_id: str, message_id: str) -> ChatMessage | None:
        """One message of the transcript by its stream id, or None (unknown, or no stream id)."""
        if not _STREAM_ID.fullmatch(message_id):
            return None
        entries = await self._redis.xrange(
            self._keys.transcript(conversation_id), min=message_id, max=message_id, count=1
        )
        return ChatMessage.from_json(entries[0][1]["m"], entries[0][0]) if entries else None

    async def was_accepted(self, conversation_id: str, sent_id: str) -> bool:
        """Whether ``accept`` already stored the channel's message ``sent_id`` (a repeat)."""
        return bool(await self._redis.exists(self._keys.sent_message(conversation_id, sent_id)))

    async def accept(
        self, message: ChatMessage, pending: str, sent_id: str, *, channel: str
    ) -> Accepted:
        """Store a customer's message and, while the bot owns the conversation, ``pending`` (a
        JSON object with the message's ``message_id``) among the messages awaiting its answer;
        record the ``channel`` it came by (a new conversation is the bot's) and announce it to
        the live pages, all in one step. ``sent_id``: the channel's id for the message; a second
        message with it is not stored."""
        conversation_id = message.conversation_id
        stream_id, owner, new = await self._accept(
            keys=[
                self._keys.transcript(conversation_id),
                self._keys.conversation(conversation_id),
                self._keys.pending(conversation_id),
                self._keys.pending_conversations,
                self._keys.sent_message(conversation_id, sent_id),
                self._keys.events,
            ],
            args=[
                message.to_json(),
                pending,
                conversation_id,
                self._ttl,
                TRANSCRIPT_MAX_LEN,
                SENT_ID_TTL_SECONDS,
                channel,
                repr(time.time()),
                *_event_around_id(message),
            ],
        )
        return Accepted(replace(message, id=str(stream_id)), Owner(owner), bool(new))

    async def lease_next(self, conversation_id: str, token: str, seconds: int) -> Next | None:
        """Take the conversation's pending messages to answer, for ``seconds`` at most (a
        process killed while answering holds them no longer than that), and read the
        ``next_pending`` one, in one round trip; None when another holds the lease."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._keys.answering(conversation_id), token, nx=True, ex=seconds)
            self._read_next(pipe, conversation_id)
            granted, head, record = await pipe.execute()
        return _next(conversation_id, head, record) if granted else None

    async def next_pending(self, conversation_id: str) -> Next:
        """The oldest message awaiting the bot's answer and the conversation as it is now."""
        async with self._redis.pipeline(transaction=False) as pipe:
            self._read_next(pipe, conversation_id)
            head, record = await pipe.execute()
        return _next(conversation_id, head, record)

    def _read_next(self, pipe: Any, conversation_id: str) -> None:
        pipe.lindex(self._keys.pending(conversation_id), 0)
        pipe.hgetall(self._keys.conversation(conversation_id))

    async def oldest_pending(self, conversation_id: str) -> str | None:
        """The oldest message awaiting the bot's answer (its pending JSON), or None."""
        value = await self._redis.lindex(self._keys.pending(conversation_id), 0)
        return str(value) if value is not None else None

    async def pending_count(self, conversation_id: str) -> int:
        return int(await self._redis.llen(self._keys.pending(conversation_id)))

    async def conversations_with_pending(self) -> list[str]:
        return sorted(await self._redis.smembers(self._keys.pending_conversations))

    async def complete(
        self, conversation_id: str, message_id: str, replies: Sequence[ChatMessage]
    ) -> Completed | None:
        """Store the answer to the oldest pending message, announce it to the live pages and
        take the message off the list, in one step, if it is still ``message_id``; None when it
        was answered already (then nothing is stored)."""
        offers = [m.buttons for m in replies if m.buttons]
        offer = json.dumps([asdict(b) for b in offers[-1]], ensure_ascii=False) if offers else ""
        answer = await self._complete(
            keys=[
                self._keys.pending(conversation_id),
                self._keys.pending_conversations,
                self._keys.transcript(conversation_id),
                self._keys.offered(conversation_id),
                self._keys.outbox,
                self._keys.events,
            ],
            args=[
                message_id,
                conversation_id,
                self._ttl,
                TRANSCRIPT_MAX_LEN,
                offer,
                "1" if platform_of(conversation_id) else "",
                OUTBOX_MAX_LEN,
                *(part for m in replies for part in (m.to_json(), *_event_around_id(m))),
            ],
        )
        if answer is None:
            return None
        left, *ids = answer
        stored = [replace(m, id=str(i)) for m, i in zip(replies, ids, strict=True)]
        return Completed(stored, int(left) > 0)

    async def count_failure(self, message_id: str) -> int:
        """One more failed turn of a pending message; how many there have been."""
        key = self._keys.failed_turns(message_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self._ttl)
            failures, _ = await pipe.execute()
        return int(failures)

    async def release(self, conversation_id: str, token: str) -> None:
        await self._release(keys=[self._keys.answering(conversation_id)], args=[token])
