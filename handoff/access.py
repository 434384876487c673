"""What an agent may see: a ticket (its transcript, notes and packet) and its live events.

A ticket is for its team's agents, the agent who holds it and supervisors. A conversation
still with the bot is for nobody: its messages reach the console only once it is handed over.
Every check reads the account as it is now (``AgentDirectory.session``), so a removed agent or a
demoted supervisor loses access at their next request or live frame, not at the next login.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from core.records import Event, Owner
from core.store import ConversationStore
from handoff.agents import Agent, AgentDirectory
from handoff.models import Ticket
from handoff.queue import TicketQueue


def may_see(agent: Agent, ticket: Ticket) -> bool:
    return agent.sees_all_teams or ticket.agent == agent.name or ticket.team in agent.teams


@dataclass(frozen=True)
class Audience:
    """The live sessions an event may go to, and those that ended (their sockets close)."""

    allowed: frozenset[str]
    ended: frozenset[str]


class AgentAudience:
    """Decides, for each live event, which agent sessions receive it."""

    def __init__(self, agents: AgentDirectory, queue: TicketQueue, store: ConversationStore):
        self._agents = agents
        self._queue = queue
        self._store = store

    async def __call__(self, event: Event, session_ids: Collection[str]) -> Audience:
        allowed, ended = set(), set()
        ticket = await self._ticket_of(event)
        for session_id in set(session_ids):
            session = await self._agents.session(session_id)
            if session is None:
                ended.add(session_id)
            elif ticket is not None and may_see(session.agent, ticket):
                allowed.add(session_id)
        return Audience(frozenset(allowed), frozenset(ended))

    async def _ticket_of(self, event: Event) -> Ticket | None:
        if event.ticket_id:
            return await self._queue.get(event.ticket_id)
        if not event.conversation_id:
            return None
        conversation = await self._store.get(event.conversation_id)
        if conversation.owner is Owner.BOT or not conversation.ticket_id:
            return None
        return await self._queue.get(conversation.ticket_id)
