"""The service's facts in Redis (records in core/facts.py): written as things happen, read by
the reports.

Why Redis and not an SQLite file: every kefu process and action server, on one machine or many,
already shares the Redis (embedded or a server) and writes facts at once; Redis keeps them
across restarts (the embedded server's append-only file, a server's own persistence). Facts are
bucketed by day (shop time) with a TTL (``KEFU_FACTS_TTL_DAYS``), so a report over a week
reads seven lists and hashes, whatever the store holds besides.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TypeVar

from redis.asyncio import Redis

from core.facts import (
    EXPLICIT_REQUEST_RULE,
    RECONTACT_LONG_SECONDS,
    REQUEST_HUMAN_INTENT,
    ContactFact,
    TicketFact,
    TurnFact,
    TurnReading,
    contact_outcome,
    is_recontact,
)
from core.keys import Keys
from core.masking import mask_text
from core.settings import Settings
from handoff.metrics import ServiceMetrics
from handoff.models import Ticket

DAY_SECONDS = 86400
# A contact in progress outlives its idle time by far: an agent may hold it for days.
LIVE_TTL_SECONDS = 15 * DAY_SECONDS
# What Settings says unless told otherwise (KEFU_FACTS_TTL_DAYS, KEFU_CONTACT_IDLE_MINUTES).
DEFAULT_TTL_SECONDS = Settings.facts_ttl_days * DAY_SECONDS
DEFAULT_IDLE_SECONDS = Settings.contact_idle_minutes * 60
R = TypeVar("R", TurnFact, ContactFact, TicketFact)

# One round trip per turn: the turn's fact, and its part in the contact in progress.
_RECORD_TURN = """
-- KEYS[1] the message's recorded marker, KEYS[2] the day's turn facts, KEYS[3] the contact in
-- progress, KEYS[4] its intents, KEYS[5] every contact in progress by last activity
-- ARGV[1] the turn fact JSON, ARGV[2] facts TTL, ARGV[3] contact-in-progress TTL, ARGV[4] now,
-- ARGV[5] idle seconds, ARGV[6] conversation id, ARGV[7] channel, ARGV[8] customer ('' none),
-- ARGV[9] intent, ARGV[10] topic ('' none), ARGV[11] '1' unanswered, ARGV[12] '1' asked for a
-- person, ARGV[13] marker TTL
-- Returns 'seen' (recorded before), 'idle' (the contact in progress went quiet: end it, then
-- call again) or 'ok'.
if redis.call('EXISTS', KEYS[1]) == 1 then return 'seen' end
local last = redis.call('ZSCORE', KEYS[5], ARGV[6])
if last and tonumber(ARGV[4]) - tonumber(last) > tonumber(ARGV[5]) then return 'idle' end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[13])
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('HSETNX', KEYS[3], 'started_at', ARGV[4])
redis.call('HSETNX', KEYS[3], 'channel', ARGV[7])
if ARGV[8] ~= '' then redis.call('HSET', KEYS[3], 'customer', ARGV[8]) end
redis.call('HSET', KEYS[3], 'last_at', ARGV[4], 'unanswered', ARGV[11])
redis.call('HINCRBY', KEYS[3], 'messages', 1)
if ARGV[10] ~= '' then redis.call('HSETNX', KEYS[3], 'topic', ARGV[10]) end
if ARGV[12] == '1' then redis.call('HSET', KEYS[3], 'asked_for_person', '1') end
redis.call('EXPIRE', KEYS[3], ARGV[3])
redis.call('RPUSH', KEYS[4], ARGV[9])
redis.call('EXPIRE', KEYS[4], ARGV[3])
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[6])
return 'ok'
"""


def day_of(ts: float) -> str:
    """The shop-time day of a moment, as its facts are filed."""
    return time.strftime("%Y-%m-%d", time.localtime(ts))


def days_between(since: float, until: float) -> list[str]:
    """Every day from the one of ``since`` to the one of ``until``, oldest first."""
    days: list[str] = []
    moment = since
    while True:
        day = day_of(moment)
        if not days or days[-1] != day:
            days.append(day)
        if moment >= until:
            return days
        moment = min(moment + 3600 * 6, until)  # steps shorter than a day: DST-safe


class FactStore:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        contact_idle_seconds: float = DEFAULT_IDLE_SECONDS,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        """``metrics``: counts what is recorded (hand-overs, claims, first responses, contacts)."""
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds
        self._idle = contact_idle_seconds
        self._metrics = metrics
        self._record_turn = redis.register_script(_RECORD_TURN)

    # ---- writing --------------------------------------------------------------------------

    async def record_turn(
        self,
        conversation_id: str,
        channel: str,
        customer: str,
        text: str,
        reading: TurnReading,
        *,
        message_id: str,
        language: str = "",
        ts: float | None = None,
    ) -> TurnFact | None:
        """A customer message the bot answered, and its part in the contact in progress; once
        per ``message_id`` (a turn run again after a failure is not counted twice)."""
        now = time.time() if ts is None else ts
        fact = TurnFact(
            ts=now,
            conversation_id=conversation_id,
            channel=channel,
            intent=reading.intent,
            confidence=round(reading.confidence, 4),
            faq=reading.faq.value,
            fallback=reading.fallback,
            topic=reading.topic,
            question=mask_text(text)[:500] if reading.unanswered else "",
            language=language,
        )
        live = self._keys.live_contact(conversation_id)
        for _ in range(2):
            answer = await self._record_turn(
                keys=[
                    self._keys.turn_recorded(message_id),
                    self._keys.facts_turns(day_of(now)),
                    live,
                    live + ":intents",
                    self._keys.live_contacts,
                ],
                args=[
                    fact.to_json(),
                    str(self._ttl),
                    str(LIVE_TTL_SECONDS),
                    repr(now),
                    repr(self._idle),
                    conversation_id,
                    channel,
                    customer,
                    reading.intent,
                    reading.topic,
                    "1" if reading.unanswered else "0",
                    "1" if reading.intent == REQUEST_HUMAN_INTENT else "0",
                    str(DAY_SECONDS),
                ],
            )
            if answer == "seen":
                return None
            if answer == "ok":
                break
            # The contact in progress went quiet before this message: it ends first.
            await self._close(conversation_id, now)
        return fact

    async def record_ticket(self, ticket: Ticket, *, opened: bool = False) -> None:
        """The ticket as it is now; ``opened``: it was just opened, in its conversation's
        contact in progress."""
        fact = TicketFact(
            id=ticket.id,
            conversation_id=ticket.conversation_id,
            channel=ticket.channel,
            team=ticket.team,
            rule=ticket.reasons[0] if ticket.reasons else "",
            created_at=ticket.created_at,
            status=ticket.status.value,
            agent=ticket.agent,
            claimed_at=ticket.claimed_at,
            first_response_at=ticket.first_response_at,
            closed_at=ticket.closed_at,
            transfers=ticket.transfers,
            outcome=ticket.outcome,
            satisfaction=ticket.satisfaction,
            overdue_at=ticket.overdue_at,
        )
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            day_key = self._keys.facts_tickets(day_of(ticket.created_at))
            pipe.hget(day_key, ticket.id)  # what it was: which change this is, for the metrics
            pipe.hset(day_key, ticket.id, fact.to_json())
            pipe.expire(day_key, self._ttl)
            if opened:
                key = self._keys.live_contact(ticket.conversation_id)
                self._touch_contact(pipe, ticket.conversation_id, ticket.channel, "", now)
                pipe.rpush(key + ":tickets", f"{ticket.id} {fact.rule}")
                pipe.expire(key + ":tickets", LIVE_TTL_SECONDS)
                if fact.rule == EXPLICIT_REQUEST_RULE:
                    pipe.hset(key, "asked_for_person", "1")
            before, *_ = await pipe.execute()
        if self._metrics is not None:
            earlier = TicketFact.from_json(before) if before else None
            self._metrics.ticket_recorded(earlier, fact, opened=opened)

    def _touch_contact(
        self, pipe: Redis, conversation_id: str, channel: str, customer: str, now: float
    ) -> None:
        key = self._keys.live_contact(conversation_id)
        pipe.hsetnx(key, "started_at", repr(now))
        pipe.hsetnx(key, "channel", channel)
        if customer:
            pipe.hset(key, "customer", customer)
        pipe.hset(key, "last_at", repr(now))
        pipe.expire(key, LIVE_TTL_SECONDS)
        pipe.zadd(self._keys.live_contacts, {conversation_id: now})

    async def close_idle(self, now: float | None = None) -> list[ContactFact]:
        """Record the contacts whose customers have been quiet for the idle time and whose
        conversations are the bot's again (no ticket open); several processes may run this at
        once: each contact is recorded by one of them."""
        now = time.time() if now is None else now
        quiet = await self._redis.zrangebyscore(self._keys.live_contacts, "-inf", now - self._idle)
        closed = []
        for conversation_id in quiet:
            contact = await self._close(str(conversation_id), now)
            if contact is not None:
                closed.append(contact)
        return closed

    async def _close(self, conversation_id: str, now: float) -> ContactFact | None:
        owner = await self._redis.hget(self._keys.conversation(conversation_id), "owner")
        if owner not in (None, "", "bot"):  # a person has it: the contact goes on
            await self._redis.zadd(self._keys.live_contacts, {conversation_id: now}, xx=True)
            return None
        # Whoever removes it records it: one process per contact.
        if not await self._redis.zrem(self._keys.live_contacts, conversation_id):
            return None
        key = self._keys.live_contact(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.lrange(key + ":intents", 0, -1)
            pipe.lrange(key + ":tickets", 0, -1)
            live, intents, tickets = await pipe.execute()
        if not live:
            return None
        started = float(live.get("started_at") or now)
        ticket_rules = [entry.partition(" ") for entry in tickets]
        ticket_ids = [ticket_id for ticket_id, _, _ in ticket_rules]
        asked_for_person = live.get("asked_for_person") == "1"
        contact = ContactFact(
            id=f"{conversation_id}@{started:.3f}",
            conversation_id=conversation_id,
            customer=live.get("customer") or conversation_id,
            channel=live.get("channel", ""),
            started_at=started,
            ended_at=float(live.get("last_at") or started),
            messages=int(live.get("messages") or 0),
            topic=live.get("topic", ""),
            intents=list(intents),
            outcome=contact_outcome(
                tickets=ticket_ids,
                unanswered=live.get("unanswered") == "1",
                asked_for_person=asked_for_person,
            ).value,
            asked_for_person=asked_for_person,
            handoff_rule=ticket_rules[0][2] if ticket_rules else "",
            tickets=ticket_ids,
        )
        await self._mark_recontacts(contact)
        history = self._keys.customer_contacts(contact.customer)
        async with self._redis.pipeline(transaction=True) as pipe:
            day_key = self._keys.facts_contacts(day_of(contact.started_at))
            pipe.hset(day_key, contact.id, contact.to_json())
            pipe.expire(day_key, self._ttl)
            pipe.zadd(history, {f"{day_of(contact.started_at)} {contact.id}": contact.ended_at})
            pipe.zremrangebyscore(history, "-inf", contact.ended_at - RECONTACT_LONG_SECONDS)
            pipe.expire(history, RECONTACT_LONG_SECONDS + DAY_SECONDS)
            pipe.delete(key, key + ":intents", key + ":tickets")
            await pipe.execute()
        if self._metrics is not None:
            self._metrics.contact_closed(contact)
        return contact

    async def _mark_recontacts(self, later: ContactFact) -> None:
        """The customer's latest resolved contact on the same topic, if this one comes back to
        it within a week: its resolution did not last."""
        history = self._keys.customer_contacts(later.customer)
        entries = await self._redis.zrevrangebyscore(
            history, later.started_at, later.started_at - RECONTACT_LONG_SECONDS
        )
        for entry in entries:
            day, _, contact_id = str(entry).partition(" ")
            data = await self._redis.hget(self._keys.facts_contacts(day), contact_id)
            if data is None:
                continue
            earlier = ContactFact.from_json(data)
            window = is_recontact(earlier, later.started_at, later.topic)
            if not window:
                continue
            if earlier.outcome == "resolved":
                marked = replace(
                    earlier,
                    recontact_24h=earlier.recontact_24h or window == "24h",
                    recontact_7d=True,
                )
                await self._redis.hset(self._keys.facts_contacts(day), contact_id, marked.to_json())
            return

    # ---- reading --------------------------------------------------------------------------

    async def turns(self, since: float, until: float) -> list[TurnFact]:
        days = days_between(since, until)
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.lrange(self._keys.facts_turns(day), 0, -1)
            lists = await pipe.execute()
        return _within(
            (TurnFact.from_json(r) for records in lists for r in records), since, until, "ts"
        )

    async def contacts(self, since: float, until: float) -> list[ContactFact]:
        return _within(
            await self._hashes(ContactFact, self._keys.facts_contacts, since, until),
            since,
            until,
            "started_at",
        )

    async def tickets(self, since: float, until: float) -> list[TicketFact]:
        return _within(
            await self._hashes(TicketFact, self._keys.facts_tickets, since, until),
            since,
            until,
            "created_at",
        )

    async def _hashes(
        self, kind: type[R], key_of: Callable[[str], str], since: float, until: float
    ) -> list[R]:
        days = days_between(since, until)
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hvals(key_of(day))
            hashes = await pipe.execute()
        return [kind.from_json(record) for records in hashes for record in records]


def _within(records: Iterable[R], since: float, until: float, moment: str) -> list[R]:
    found = [r for r in records if since <= getattr(r, moment) <= until]
    return sorted(found, key=lambda r: getattr(r, moment))
