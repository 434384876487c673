"""The human agents' ticket queue: open, claim and close atomically (Lua), priority then arrival."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from enum import StrEnum

from redis.asyncio import Redis

from core.keys import Keys
from core.records import Event, Owner
from handoff.facts import DEFAULT_TTL_SECONDS, FactStore
from handoff.metrics import ServiceMetrics
from handoff.models import Note, Ticket, TicketStatus

# Priority dominates the score; arrival time (ms, < 1e13 until the year 2286) breaks ties.
_PRIORITY_WEIGHT = 10**13
_SEQUENCE_TTL_SECONDS = 400 * 86400  # refreshed by every new ticket

# The end of an agent's hold on a ticket (closed, back in line, handed to another agent): the
# ticket leaves their set, and with their last one they leave the busy agents. A Lua function
# put in front of the scripts that need it.
_RELEASE_AGENT = """
local function release_agent(agent_tickets, busy_agents, ticket_id, agent)
  redis.call('SREM', agent_tickets, ticket_id)
  if redis.call('SCARD', agent_tickets) == 0 then redis.call('SREM', busy_agents, agent) end
end
"""

# A ticket for the conversation, unless it has one open: the key of the one it had when the
# caller looked (KEYS[6]) is passed in; if another was opened since, the caller looks again.
_OPEN = """
-- KEYS[1] conversation hash, KEYS[2] the waiting line, KEYS[3] the new ticket's hash,
-- KEYS[4] its packet, KEYS[5] every ticket by time, KEYS[6] the conversation's ticket seen
-- by the caller (any key when it had none)
-- ARGV[1] the new ticket id, ARGV[2] its score, ARGV[3] its fields as a JSON list,
-- ARGV[4] the packet JSON, ARGV[5] TTL seconds, ARGV[6] the ticket id the caller saw ('' none),
-- ARGV[7] events channel, ARGV[8] event JSON, ARGV[9] the time
-- Returns {ticket id, rank or -1, 1 when new / 0 when the open one}, or 'look_again'
local existing = redis.call('HGET', KEYS[1], 'ticket_id') or ''
if existing ~= ARGV[6] then return 'look_again' end
if existing ~= '' then
  local status = redis.call('HGET', KEYS[6], 'status')
  if status == 'queued' or status == 'claimed' then
    local rank = redis.call('ZRANK', KEYS[2], existing)
    return {existing, rank or -1, 0}
  end
end
redis.call('HSET', KEYS[3], unpack(cjson.decode(ARGV[3])))
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1], 'owner', 'queue', 'ticket_id', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[5], ARGV[9], ARGV[1])
redis.call('EXPIRE', KEYS[5], ARGV[5])
redis.call('PUBLISH', ARGV[7], ARGV[8])
return {ARGV[1], redis.call('ZRANK', KEYS[2], ARGV[1]), 1}
"""

# The capacity and team checks sit inside the script so that two claims by one agent at once
# cannot both pass them.
_CLAIM = """
-- KEYS[1] ticket hash, KEYS[2] the waiting line, KEYS[3] conversation hash,
-- KEYS[4] the agent's tickets, KEYS[5] busy agents
-- ARGV[1] ticket id, ARGV[2] agent, ARGV[3] the time, ARGV[4] TTL seconds,
-- ARGV[5] the agent's capacity (0: no limit), ARGV[6] their teams as ",a,b," ('*': every team),
-- ARGV[7] events channel, ARGV[8] event JSON
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return 'taken' end
local team = redis.call('HGET', KEYS[1], 'team') or ''
if ARGV[6] ~= '*' and not string.find(ARGV[6], ',' .. team .. ',', 1, true) then
  return 'other_team'
end
local capacity = tonumber(ARGV[5])
if capacity > 0 and redis.call('SCARD', KEYS[4]) >= capacity then return 'at_capacity' end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then return 'taken' end
redis.call('HSET', KEYS[1], 'status', 'claimed', 'agent', ARGV[2], 'claimed_at', ARGV[3])
redis.call('HSET', KEYS[3], 'owner', 'agent')
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('EXPIRE', KEYS[4], ARGV[4])
redis.call('SADD', KEYS[5], ARGV[2])
redis.call('EXPIRE', KEYS[5], ARGV[4])
redis.call('PUBLISH', ARGV[7], ARGV[8])
return 'claimed'
"""

# Waited too long: the supervisor team gets it at top priority, still in arrival order.
_ESCALATE_OVERDUE = """
-- KEYS[1] ticket hash, KEYS[2] the waiting line
-- ARGV[1] ticket id, ARGV[2] the time, ARGV[3] team, ARGV[4] priority, ARGV[5] score,
-- ARGV[6] events channel, ARGV[7] event JSON
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'overdue_at') or '0') > 0 then return 0 end
redis.call('HSET', KEYS[1], 'overdue_at', ARGV[2], 'team', ARGV[3], 'priority', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1
"""

_CLOSE = (
    _RELEASE_AGENT
    + """
-- KEYS[1] ticket hash, KEYS[2] conversation hash, KEYS[3] the agent's tickets,
-- KEYS[4] busy agents
-- ARGV[1] ticket id, ARGV[2] agent, ARGV[3] the time, ARGV[4] outcome,
-- ARGV[5] events channel, ARGV[6] event JSON
if redis.call('HGET', KEYS[1], 'status') ~= 'claimed' then return 0 end
if redis.call('HGET', KEYS[1], 'agent') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'closed', 'closed_at', ARGV[3], 'outcome', ARGV[4])
if redis.call('HGET', KEYS[2], 'ticket_id') == ARGV[1] then
  redis.call('HSET', KEYS[2], 'owner', 'bot', 'last_ticket_id', ARGV[1])
  redis.call('HDEL', KEYS[2], 'ticket_id')
end
release_agent(KEYS[3], KEYS[4], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
"""
)

# The agent went away, or handed the ticket to another team: it waits again, at its place by
# priority and arrival, for that team.
_REQUEUE = (
    _RELEASE_AGENT
    + """
-- KEYS[1] ticket hash, KEYS[2] the waiting line, KEYS[3] conversation hash,
-- KEYS[4] the agent's tickets, KEYS[5] busy agents
-- ARGV[1] ticket id, ARGV[2] agent, ARGV[3] score, ARGV[4] team,
-- ARGV[5] events channel, ARGV[6] event JSON
if redis.call('HGET', KEYS[1], 'status') ~= 'claimed' then return 0 end
if redis.call('HGET', KEYS[1], 'agent') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'agent', '', 'claimed_at', '0', 'team', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
if redis.call('HGET', KEYS[3], 'ticket_id') == ARGV[1] then
  redis.call('HSET', KEYS[3], 'owner', 'queue')
end
release_agent(KEYS[4], KEYS[5], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
"""
)

# One agent hands a claimed ticket straight to another, within that agent's capacity.
_REASSIGN = (
    _RELEASE_AGENT
    + """
-- KEYS[1] ticket hash, KEYS[2] the giving agent's tickets, KEYS[3] the receiver's tickets,
-- KEYS[4] busy agents
-- ARGV[1] ticket id, ARGV[2] the giving agent, ARGV[3] the receiver, ARGV[4] TTL seconds,
-- ARGV[5] the receiver's capacity (0: no limit), ARGV[6] events channel, ARGV[7] event JSON
if redis.call('HGET', KEYS[1], 'status') ~= 'claimed' then return 'taken' end
if redis.call('HGET', KEYS[1], 'agent') ~= ARGV[2] then return 'taken' end
local capacity = tonumber(ARGV[5])
if capacity > 0 and redis.call('SCARD', KEYS[3]) >= capacity then return 'at_capacity' end
redis.call('HSET', KEYS[1], 'agent', ARGV[3])
release_agent(KEYS[2], KEYS[4], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 'claimed'
"""
)


def _score(priority: int, created_at: float) -> str:
    """The place in the line: priority first, then arrival (ms)."""
    return str(-priority * _PRIORITY_WEIGHT + int(created_at * 1000))


_FIRST_RESPONSE = """
-- KEYS[1] ticket hash
-- ARGV[1] the time of the agent's message
-- Returns 1 when it was the ticket's first response (now recorded), else 0.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'first_response_at') or '0') > 0 then return 0 end
redis.call('HSET', KEYS[1], 'first_response_at', ARGV[1])
return 1
"""


class ClaimResult(StrEnum):
    """How a claim (or a hand-over to another agent) ended; truthy only when it took place."""

    CLAIMED = "claimed"
    TAKEN = "taken"  # no longer waiting (someone else has it, or it was closed)
    AT_CAPACITY = "at_capacity"  # the agent already works as many conversations as allowed
    OTHER_TEAM = "other_team"  # it waits for a team the agent is not in

    def __bool__(self) -> bool:
        return self is ClaimResult.CLAIMED


@dataclass(frozen=True)
class QueuePlace:
    ticket_id: str
    position: int  # 1-based place in the waiting line; 0 once an agent has it
    created: bool


class TicketQueue:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        ttl_seconds: int,
        *,
        facts_ttl_seconds: int = DEFAULT_TTL_SECONDS,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        """``ttl_seconds``: of tickets and their notes; ``facts_ttl_seconds``: of the facts
        every change of a ticket records for the reports (handoff/facts.py), and counts in
        ``metrics``."""
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds
        self._facts = FactStore(redis, keys, ttl_seconds=facts_ttl_seconds, metrics=metrics)
        self._open = redis.register_script(_OPEN)
        self._first_response = redis.register_script(_FIRST_RESPONSE)
        self._scripts = {
            source: redis.register_script(source)
            for source in (_CLAIM, _ESCALATE_OVERDUE, _CLOSE, _REQUEUE, _REASSIGN)
        }

    async def open(
        self,
        conversation_id: str,
        channel: str,
        *,
        priority: int,
        team: str,
        reasons: tuple[str, ...],
        summary: str,
        packet: dict[str, object],
    ) -> QueuePlace:
        """Queue a ticket and give the conversation to the queue; an open ticket is reused."""
        now = time.time()
        # A shop-wide counter: readable ids, and equal scores (same millisecond) sort by arrival.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._keys.ticket_sequence)
            pipe.expire(self._keys.ticket_sequence, _SEQUENCE_TTL_SECONDS)
            sequence, _ = await pipe.execute()
        ticket = Ticket(
            id=time.strftime("T%Y%m%d-", time.localtime(now)) + f"{sequence:07d}",
            conversation_id=conversation_id,
            channel=channel,
            status=TicketStatus.QUEUED,
            priority=priority,
            team=team,
            reasons=reasons,
            summary=summary,
            created_at=now,
        )
        fields = [item for pair in ticket.to_hash().items() for item in pair]
        event = Event("ticket_opened", conversation_id=conversation_id, ticket_id=ticket.id)
        while True:
            seen = await self._redis.hget(self._keys.conversation(conversation_id), "ticket_id")
            answer = await self._open(
                keys=[
                    self._keys.conversation(conversation_id),
                    self._keys.queue,
                    self._keys.ticket(ticket.id),
                    self._keys.packet(ticket.id),
                    self._keys.all_tickets,
                    self._keys.ticket(seen or ticket.id),
                ],
                args=[
                    ticket.id,
                    _score(priority, now),
                    json.dumps(fields, ensure_ascii=False),
                    json.dumps(packet, ensure_ascii=False),
                    str(self._ttl),
                    seen or "",
                    self._keys.events,
                    event.to_json(),
                    repr(now),
                ],
            )
            if answer != "look_again":  # another ticket was opened meanwhile: look again
                ticket_id, rank, created = answer
                if created:
                    await self._facts.record_ticket(ticket, opened=True)
                return QueuePlace(str(ticket_id), int(rank) + 1, bool(created))

    async def get(self, ticket_id: str) -> Ticket | None:
        record = await self._redis.hgetall(self._keys.ticket(ticket_id))
        return Ticket.from_hash(record) if record else None

    async def packet(self, ticket_id: str) -> dict[str, object]:
        data = await self._redis.get(self._keys.packet(ticket_id))
        return json.loads(data) if data else {}

    async def position(self, ticket_id: str) -> int:
        rank = await self._redis.zrank(self._keys.queue, ticket_id)
        return int(rank) + 1 if rank is not None else 0

    async def waiting(self, teams: Collection[str] | None = None, limit: int = 200) -> list[Ticket]:
        """The line, first to be served first: every team's, or only ``teams``' tickets."""
        ticket_ids = await self._redis.zrange(self._keys.queue, 0, limit - 1)
        tickets = await self._tickets(ticket_ids)
        return tickets if teams is None else [t for t in tickets if t.team in teams]

    async def claimed_by(self, agent: str) -> list[Ticket]:
        ticket_ids = sorted(await self._redis.smembers(self._keys.agent_tickets(agent)))
        return await self._tickets(ticket_ids)

    async def claim(
        self,
        ticket_id: str,
        agent: str,
        *,
        capacity: int = 0,
        teams: Collection[str] | None = None,
    ) -> ClaimResult:
        """Give a waiting ticket to ``agent``; of simultaneous claims exactly one wins. Refused
        when the agent already holds ``capacity`` open tickets (0: no limit) or the ticket waits
        for a team not in ``teams`` (None: any team)."""
        allowed = "*" if teams is None else "," + ",".join(teams) + ","
        return await self._claiming(
            _CLAIM,
            ticket_id,
            Event("ticket_claimed", ticket_id=ticket_id, owner=Owner.AGENT.value),
            lambda ticket: [
                self._keys.ticket(ticket_id),
                self._keys.queue,
                self._keys.conversation(ticket.conversation_id),
                self._keys.agent_tickets(agent),
                self._keys.busy_agents,
            ],
            [agent, repr(time.time()), str(self._ttl), str(capacity), allowed],
        )

    async def close(self, ticket_id: str, agent: str, outcome: str) -> bool:
        """Close the agent's ticket and give the conversation back to the bot."""
        return await self._transition(
            _CLOSE,
            ticket_id,
            Event("ticket_closed", ticket_id=ticket_id, owner=Owner.BOT.value),
            lambda ticket: [
                self._keys.ticket(ticket_id),
                self._keys.conversation(ticket.conversation_id),
                self._keys.agent_tickets(agent),
                self._keys.busy_agents,
            ],
            [agent, repr(time.time()), outcome],
        )

    async def since(self, start: float) -> list[Ticket]:
        """Every ticket opened since ``start``, oldest first (for the supervisors' views)."""
        ticket_ids = await self._redis.zrangebyscore(self._keys.all_tickets, start, "+inf")
        return await self._tickets(ticket_ids)

    async def rate(self, conversation_id: str, rating: int) -> str:
        """The customer's 1-5 satisfaction with the conversation's last closed ticket; returns the
        ticket id, or "" when there is none to rate."""
        ticket_id = await self._redis.hget(
            self._keys.conversation(conversation_id), "last_ticket_id"
        )
        if not ticket_id:
            return ""
        await self._redis.hset(self._keys.ticket(ticket_id), "satisfaction", str(rating))
        await self._record(ticket_id)
        return str(ticket_id)

    async def first_response(self, ticket_id: str, at: float | None = None) -> None:
        """A person wrote to the customer: the ticket's first response time, set once."""
        at = time.time() if at is None else at
        if await self._first_response(keys=[self._keys.ticket(ticket_id)], args=[repr(at)]):
            await self._record(ticket_id)

    async def promise_callback(self, ticket_id: str, at: float) -> None:
        await self._redis.hset(self._keys.ticket(ticket_id), "callback_by", repr(at))

    async def busy_agents(self) -> list[str]:
        return sorted(await self._redis.smembers(self._keys.busy_agents))

    async def requeue(self, ticket: Ticket, agent: str, team: str = "") -> bool:
        """Put an agent's ticket back in the line (priority, then original arrival), for
        ``team`` when given (a transfer), else for the same team (the agent went away)."""
        moved = await self._transition(
            _REQUEUE,
            ticket.id,
            Event("ticket_requeued", ticket_id=ticket.id, owner=Owner.QUEUE.value),
            lambda found: [
                self._keys.ticket(found.id),
                self._keys.queue,
                self._keys.conversation(found.conversation_id),
                self._keys.agent_tickets(agent),
                self._keys.busy_agents,
            ],
            [agent, _score(ticket.priority, ticket.created_at), team or ticket.team],
        )
        if moved and team:
            await self._count_transfer(ticket.id)
        return moved

    async def reassign(
        self, ticket: Ticket, agent: str, to_agent: str, *, capacity: int = 0
    ) -> ClaimResult:
        """Hand a claimed ticket from ``agent`` straight to ``to_agent``, unless ``to_agent``
        already holds ``capacity`` open tickets (0: no limit)."""
        result = await self._claiming(
            _REASSIGN,
            ticket.id,
            Event("ticket_transferred", ticket_id=ticket.id, owner=Owner.AGENT.value),
            lambda found: [
                self._keys.ticket(found.id),
                self._keys.agent_tickets(agent),
                self._keys.agent_tickets(to_agent),
                self._keys.busy_agents,
            ],
            [agent, to_agent, str(self._ttl), str(capacity)],
        )
        if result:
            await self._count_transfer(ticket.id)
        return result

    async def _count_transfer(self, ticket_id: str) -> None:
        await self._redis.hincrby(self._keys.ticket(ticket_id), "transfers", 1)
        await self._record(ticket_id)

    async def _record(self, ticket_id: str) -> None:
        ticket = await self.get(ticket_id)
        if ticket is not None:
            await self._facts.record_ticket(ticket)

    async def add_note(self, ticket_id: str, note: Note) -> None:
        key = self._keys.notes(ticket_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, note.to_json())
            pipe.expire(key, self._ttl)
            await pipe.execute()

    async def notes(self, ticket_id: str) -> list[Note]:
        return [
            Note.from_json(n) for n in await self._redis.lrange(self._keys.notes(ticket_id), 0, -1)
        ]

    async def escalate_overdue(
        self, ticket: Ticket, *, team: str, priority: int, now: float | None = None
    ) -> bool:
        """Re-offer a ticket nobody answered in time to ``team`` at ``priority``; once only."""
        now = time.time() if now is None else now
        return await self._transition(
            _ESCALATE_OVERDUE,
            ticket.id,
            Event("ticket_overdue", ticket_id=ticket.id),
            lambda found: [self._keys.ticket(found.id), self._keys.queue],
            [repr(now), team, str(priority), _score(priority, ticket.created_at)],
        )

    async def _transition(
        self,
        script: str,
        ticket_id: str,
        event: Event,
        keys_of: Callable[[Ticket], list[str]],
        args: list[str],
    ) -> bool:
        """Run a state-change script: ARGV is the ticket id, ``args``, the channel, the event."""
        return bool(await self._run(script, ticket_id, event, keys_of, args))

    async def _claiming(
        self,
        script: str,
        ticket_id: str,
        event: Event,
        keys_of: Callable[[Ticket], list[str]],
        args: list[str],
    ) -> ClaimResult:
        """Run a script that gives a ticket to an agent and answers with a ClaimResult value."""
        answer = await self._run(script, ticket_id, event, keys_of, args)
        return ClaimResult(str(answer)) if answer else ClaimResult.TAKEN

    async def _run(
        self,
        script: str,
        ticket_id: str,
        event: Event,
        keys_of: Callable[[Ticket], list[str]],
        args: list[str],
    ) -> object:
        ticket = await self.get(ticket_id)
        if ticket is None:
            return None
        event = replace(event, conversation_id=ticket.conversation_id)
        answer = await self._scripts[script](
            keys=keys_of(ticket), args=[ticket_id, *args, self._keys.events, event.to_json()]
        )
        if answer:
            await self._record(ticket_id)
        return answer

    async def _tickets(self, ticket_ids: list[str]) -> list[Ticket]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for ticket_id in ticket_ids:
                pipe.hgetall(self._keys.ticket(ticket_id))
            records = await pipe.execute()
        return [Ticket.from_hash(record) for record in records if record]
