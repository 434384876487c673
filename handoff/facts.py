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
from collections.abc import Iterable
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
from handoff.models import Ticket

DAY_SECONDS = 86400
# A contact in progress outlives its idle time by far: an agent may hold it for days.
LIVE_TTL_SECONDS = 15 * DAY_SECONDS
# What Settings says unless told otherwise (KEFU_FACTS_TTL_DAYS, KEFU_CONTACT_IDLE_MINUTES).
DEFAULT_TTL_SECONDS = Settings.facts_ttl_days * DAY_SECONDS
DEFAULT_IDLE_SECONDS = Settings.contact_idle_minutes * 60
R = TypeVar("R", TurnFact, ContactFact, TicketFact)


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
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds
        self._idle = contact_idle_seconds

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
        seen = self._keys.turn_recorded(message_id)
        if not await self._redis.set(seen, "1", nx=True, ex=DAY_SECONDS):
            return None
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
        await self._close_if_idle(conversation_id, now)
        key = self._keys.live_contact(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            day_key = self._keys.facts_turns(day_of(now))
            pipe.rpush(day_key, fact.to_json())
            pipe.expire(day_key, self._ttl)
            self._touch_contact(pipe, conversation_id, channel, customer, now)
            pipe.hincrby(key, "messages", 1)
            pipe.rpush(key + ":intents", reading.intent)
            pipe.expire(key + ":intents", LIVE_TTL_SECONDS)
            if reading.topic:
                pipe.hsetnx(key, "topic", reading.topic)
            pipe.hset(key, "unanswered", "1" if reading.unanswered else "0")
            if reading.intent == REQUEST_HUMAN_INTENT:
                pipe.hset(key, "asked_for_person", "1")
            await pipe.execute()
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
            pipe.hset(day_key, ticket.id, fact.to_json())
            pipe.expire(day_key, self._ttl)
            if opened:
                key = self._keys.live_contact(ticket.conversation_id)
                self._touch_contact(pipe, ticket.conversation_id, ticket.channel, "", now)
                pipe.rpush(key + ":tickets", f"{ticket.id} {fact.rule}")
                pipe.expire(key + ":tickets", LIVE_TTL_SECONDS)
                if fact.rule == EXPLICIT_REQUEST_RULE:
                    pipe.hset(key, "asked_for_person", "1")
            await pipe.execute()

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

    async def _close_if_idle(self, conversation_id: str, now: float) -> None:
        """A message after a quiet spell starts a new contact: the last one ends first."""
        last = await self._redis.zscore(self._keys.live_contacts, conversation_id)
        if last is not None and now - float(last) > self._idle:
            await self._close(conversation_id, now)

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
                tickets=[t for t, _, _ in ticket_rules],
                unanswered=live.get("unanswered") == "1",
                asked_for_person=live.get("asked_for_person") == "1",
            ).value,
            asked_for_person=live.get("asked_for_person") == "1",
            handoff_rule=ticket_rules[0][2] if ticket_rules else "",
            tickets=[t for t, _, _ in ticket_rules],
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

    async def _hashes(self, kind: type[R], key_of: object, since: float, until: float) -> list[R]:
        days = days_between(since, until)
        async with self._redis.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hvals(key_of(day))  # type: ignore[operator]
            hashes = await pipe.execute()
        return [kind.from_json(record) for records in hashes for record in records]


def _within(records: Iterable[R], since: float, until: float, moment: str) -> list[R]:
    found = [r for r in records if since <= getattr(r, moment) <= until]
    return sorted(found, key=lambda r: getattr(r, moment))
