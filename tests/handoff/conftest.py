"""The agent console app against a real Redis, for the console and access tests."""

import functools
import time
from pathlib import Path

import pytest
from aiohttp import web
from redis.asyncio import Redis

from core.keys import Keys
from core.records import ChatMessage, Role
from core.store import ConversationStore
from faq.canned import standard_answers
from handoff.access import AgentAudience
from handoff.agents import AgentDirectory, AgentRole, Session
from handoff.console import CONSOLE, ConsoleHooks, ConsoleServices, add_console
from handoff.facts import FactStore
from handoff.live import LiveHub
from handoff.login_throttle import LoginThrottle
from handoff.models import Ticket
from handoff.queue import TicketQueue
from handoff.supervision import Supervision

PASSWORD = "correct horse battery"
KB_DIR = Path(__file__).resolve().parents[2] / "faq" / "kb"


@pytest.fixture
async def console(aiohttp_client, redis: Redis, keys: Keys):
    events: list[tuple[str, str]] = []

    async def on_claimed(ticket: Ticket, session: Session) -> None:
        events.append(("claimed", ticket.id))

    async def on_closed(ticket: Ticket) -> None:
        events.append(("closed", ticket.id))

    store, queue = ConversationStore(redis, keys, 600), TicketQueue(redis, keys, 600)
    agents = AgentDirectory(redis, keys)
    await agents.add("alice", PASSWORD, display_name="小爱")
    await agents.add("bob", PASSWORD)
    await agents.add("sue", PASSWORD, AgentRole.SUPERVISOR)
    await agents.add("carol", PASSWORD, teams=("complaints",))
    app = web.Application()
    app[CONSOLE] = ConsoleServices(
        agents,
        queue,
        store,
        LiveHub(AgentAudience(agents, queue, store)),
        ConsoleHooks(on_claimed, on_closed),
        secure_cookies=False,
        canned=functools.partial(standard_answers, KB_DIR),
        supervision=Supervision(redis, keys, queue, 600),
        throttle=LoginThrottle(redis, keys),
        facts=FactStore(redis, keys),
    )
    add_console(app)
    client = await aiohttp_client(app)
    client.events = events
    client.store, client.queue, client.agents = store, queue, agents
    client.app_hub = app[CONSOLE].hub
    return client


async def log_in(client, name="alice") -> str:
    response = await client.post(
        "/agent/login", data={"username": name, "password": PASSWORD}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/agent"
    me = await (await client.get("/api/agent/me")).json()
    return me["csrf_token"]


async def waiting_ticket(
    client,
    text="<img src=x onerror=alert(1)> 我要退货",
    conversation="conv-1",
    team="after_sale",
    reason="explicit_request",
) -> str:
    await client.store.append(ChatMessage(conversation, Role.CUSTOMER, text, time.time()))
    place = await client.queue.open(
        conversation,
        "web",
        priority=2,
        team=team,
        reasons=(reason,),
        summary="summary",
        packet={"turns": []},
    )
    return place.ticket_id
