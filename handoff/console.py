"""The agent console: login, the queue, claim, reply and close, live over a websocket."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from core.records import ChatMessage, Role
from core.store import ConversationStore
from core.texts import console_texts
from faq.encoders import Encoder, make_encoder
from handoff.access import may_see
from handoff.agents import AgentDirectory, AgentRole, Session
from handoff.facts import FactStore
from handoff.live import SESSION_ENDED, LiveHub
from handoff.login_throttle import LoginThrottle
from handoff.models import TEAMS, Note, Ticket, TicketStatus
from handoff.queue import ClaimResult, TicketQueue
from handoff.reports import CSV_TABLES, GAP_ENCODER, build_report, range_of_days, report_csv
from handoff.supervision import Supervision
from handoff.webutil import json_error, read_json_object, same_secret, string_field

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
SESSION_COOKIE = "kefu_agent"
MAX_REPLY_CHARS = 4000
PRESENCE_GRACE_SECONDS = 60
PRESENCE_REFRESH_SECONDS = 15
MAX_REPORT_DAYS = 90
LAST_MOMENT = 32_503_680_000  # the year 3000: past it a clock time cannot be read
# Installed by `make setup` from package.json (npm), served by kefu: never a CDN.
CHART_JS = (
    Path(__file__).resolve().parents[1] / "node_modules" / "chart.js" / "dist" / "chart.umd.js"
)
REPORT_TEXTS_PREFIX = "reports_"


@dataclass(frozen=True)
class ConsoleHooks:
    """What the rest of the system does when an agent takes or returns a conversation."""

    on_claimed: Callable[[Ticket, Session], Awaitable[None]]
    on_closed: Callable[[Ticket], Awaitable[None]]


@dataclass(frozen=True)
class ConsoleServices:
    agents: AgentDirectory
    queue: TicketQueue
    store: ConversationStore
    hub: LiveHub
    hooks: ConsoleHooks
    secure_cookies: bool
    canned: Callable[[str], list[dict[str, str]]]  # blocking: run in a thread
    supervision: Supervision
    throttle: LoginThrottle
    facts: FactStore
    # The follow-ups promised to customers (a delayed parcel checked again within 2 hours), open
    # ones, due first; None where the shop's own order system keeps them.
    promises: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None
    # How a messaging-app customer can be reached (reply window, undelivered messages); None
    # for a web-chat conversation.
    reach: Callable[[str], Awaitable[dict[str, Any] | None]] | None = None
    # Groups the report's knowledge-base gaps: one per app, its model loaded on the first
    # report (in a worker thread) and kept.
    gap_encoder: Encoder = field(default_factory=lambda: make_encoder(GAP_ENCODER))
    # The first-response target the report measures against (KEFU_FIRST_RESPONSE_SECONDS).
    first_response_target: float = 30.0


CONSOLE = web.AppKey("console", ConsoleServices)
routes = web.RouteTableDef()


def add_console(app: web.Application) -> None:
    app.add_routes(routes)
    app.router.add_static("/console-static/", STATIC_DIR, name="console_static")


def _services(request: web.Request) -> ConsoleServices:
    return request.app[CONSOLE]


async def _session(request: web.Request) -> Session | None:
    """The agent's session, with their account as it is now (removed: None)."""
    return await _services(request).agents.session(request.cookies.get(SESSION_COOKIE, ""))


async def _api_session(request: web.Request) -> Session:
    """The logged-in agent; state-changing calls must also carry the session's CSRF token."""
    session = await _session(request)
    if session is None:
        raise json_error(401, "not_logged_in")
    if request.method != "GET":
        token = request.headers.get("X-CSRF-Token", "")
        if not same_secret(token, session.csrf_token):
            raise json_error(403, "csrf")
    return session


async def _supervisor_session(request: web.Request) -> Session:
    session = await _api_session(request)
    if session.agent.role is not AgentRole.SUPERVISOR:
        raise json_error(403, "supervisors_only")
    return session


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


@routes.get("/agent/login")
async def login_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "login.html")


@routes.post("/agent/login")
async def login(request: web.Request) -> web.StreamResponse:
    if not _same_origin(request):
        raise json_error(403, "cross_origin")
    form = await request.post()
    name, password = str(form.get("username", ""))[:64], str(form.get("password", ""))[:1024]
    services = _services(request)
    address = request.remote or ""
    wait = await services.throttle.wait_seconds(name, address)
    if wait:
        log.warning("console login for %r from %s throttled", name[:40], address)
        raise web.HTTPSeeOther(f"/agent/login?error=throttled&minutes={math.ceil(wait / 60)}")
    agent = await services.agents.authenticate(name, password) if name and password else None
    if agent is None:
        log.info("failed console login for %r", name[:40])
        await services.throttle.failed(name, address)
        raise web.HTTPSeeOther("/agent/login?error=1")
    await services.throttle.succeeded(name)
    session = await services.agents.open_session(agent)
    response = web.HTTPSeeOther("/agent")
    response.set_cookie(
        SESSION_COOKIE,
        session.session_id,
        httponly=True,
        samesite="Strict",
        secure=services.secure_cookies,
        path="/",
    )
    raise response


@routes.post("/agent/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    session = await _api_session(request)
    await _services(request).agents.close_session(session.session_id)
    response = web.json_response({"ok": True})
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.get("/agent")
async def console_page(request: web.Request) -> web.StreamResponse:
    if await _session(request) is None:
        raise web.HTTPSeeOther("/agent/login")
    return web.FileResponse(STATIC_DIR / "console.html")


@routes.get("/api/agent/me")
async def me(request: web.Request) -> web.Response:
    session = await _api_session(request)
    agent = session.agent
    return web.json_response(
        {
            "name": agent.name,
            "display_name": agent.display_name,
            "role": agent.role.value,
            "teams": list(agent.teams),
            "capacity": agent.capacity,
            "csrf_token": session.csrf_token,
        }
    )


@routes.get("/api/agent/tickets")
async def tickets(request: web.Request) -> web.Response:
    """The lines of the agent's teams (supervisors: every line) and the agent's own tickets."""
    agent = (await _api_session(request)).agent
    queue = _services(request).queue
    waiting = await queue.waiting(None if agent.sees_all_teams else agent.teams)
    mine = await queue.claimed_by(agent.name)
    return web.json_response(
        {
            "waiting": [t.to_wire() for t in waiting],
            "mine": [t.to_wire() for t in mine],
            "capacity": agent.capacity,
        }
    )


@routes.get("/api/agent/tickets/{ticket_id}")
async def ticket_detail(request: web.Request) -> web.Response:
    session = await _api_session(request)
    services = _services(request)
    ticket = await _visible_ticket(request, session)
    transcript = await services.store.transcript(ticket.conversation_id)
    return web.json_response(
        {
            "ticket": ticket.to_wire(),
            "packet": await services.queue.packet(ticket.id),
            "transcript": [m.to_wire() for m in transcript],
            "notes": [asdict(note) for note in await services.queue.notes(ticket.id)],
            "reach": await services.reach(ticket.conversation_id) if services.reach else None,
        }
    )


@routes.post("/api/agent/tickets/{ticket_id}/claim")
async def claim(request: web.Request) -> web.Response:
    session = await _api_session(request)
    services = _services(request)
    agent = session.agent
    ticket = await _visible_ticket(request, session)
    result = await services.queue.claim(
        ticket.id,
        agent.name,
        capacity=agent.capacity,
        teams=None if agent.sees_all_teams else agent.teams,
    )
    if result is ClaimResult.AT_CAPACITY:
        raise json_error(409, "at_capacity", capacity=agent.capacity)
    if result is ClaimResult.OTHER_TEAM:
        raise json_error(403, "other_team", key="other_team_waiting", team=ticket.team)
    if not result:
        raise json_error(409, "already_claimed")
    claimed = await _ticket(request)
    await services.hooks.on_claimed(claimed, session)
    return web.json_response({"ticket": claimed.to_wire()})


@routes.post("/api/agent/tickets/{ticket_id}/reply")
async def reply(request: web.Request) -> web.Response:
    session = await _api_session(request)
    services = _services(request)
    ticket = await _own_ticket(request, session)
    text = string_field(await read_json_object(request), "text").strip()
    if not text:
        raise json_error(422, "empty_message", key="empty_reply")
    if len(text) > MAX_REPLY_CHARS:
        raise json_error(413, "message_too_long", key="reply_too_long", limit=MAX_REPLY_CHARS)
    message = ChatMessage(
        ticket.conversation_id, Role.AGENT, text, time.time(), author=session.agent.display_name
    )
    stored = await services.store.append(message)
    await services.queue.first_response(ticket.id, stored.ts)
    return web.json_response({"message": stored.to_wire()})


@routes.post("/api/agent/tickets/{ticket_id}/close")
async def close(request: web.Request) -> web.Response:
    session = await _api_session(request)
    services = _services(request)
    ticket = await _own_ticket(request, session)
    body = await read_json_object(request)
    outcome = str(body.get("outcome") or "resolved")[:200]
    if not await services.queue.close(ticket.id, session.agent.name, outcome):
        raise json_error(409, "not_open")
    closed = await _ticket(request)
    await services.hooks.on_closed(closed)
    return web.json_response({"ticket": closed.to_wire()})


@routes.post("/api/agent/tickets/{ticket_id}/notes")
async def add_note(request: web.Request) -> web.Response:
    """An internal note: for colleagues and the next shift, never sent to the customer."""
    session = await _api_session(request)
    ticket = await _visible_ticket(request, session)
    note = await _note_from(request, session)
    await _services(request).queue.add_note(ticket.id, note)
    return web.json_response({"note": asdict(note)})


@routes.post("/api/agent/tickets/{ticket_id}/transfer")
async def transfer(request: web.Request) -> web.Response:
    """To a team (the ticket waits in line for it) or straight to another agent."""
    session = await _api_session(request)
    services = _services(request)
    ticket = await _own_ticket(request, session)
    body = await read_json_object(request)
    team, to_agent = str(body.get("team") or ""), str(body.get("agent") or "")
    receiver = await services.agents.get(to_agent) if to_agent != session.agent.name else None
    if team in TEAMS:
        moved = bool(await services.queue.requeue(ticket, session.agent.name, team))
    elif receiver is not None:
        result = await services.queue.reassign(
            ticket, session.agent.name, receiver.name, capacity=receiver.capacity
        )
        if result is ClaimResult.AT_CAPACITY:
            raise json_error(
                409,
                "at_capacity",
                key="at_capacity_receiver",
                agent=receiver.display_name,
                capacity=receiver.capacity,
            )
        moved = bool(result)
    else:
        raise json_error(400, "bad_receiver")
    if not moved:
        raise json_error(409, "not_open")
    target = team or to_agent
    note = Note(
        session.agent.display_name,
        console_texts().both("note_transferred", target=target),
        time.time(),
    )
    await services.queue.add_note(ticket.id, note)
    return web.json_response({"ticket": (await _ticket(request)).to_wire()})


@routes.get("/api/agent/canned")
async def canned_replies(request: web.Request) -> web.Response:
    """The shop's standard answers matching what the agent typed, to paste into a reply."""
    await _api_session(request)
    query = request.query.get("q", "")[:100]
    found = await asyncio.to_thread(_services(request).canned, query)
    return web.json_response({"replies": found})


@routes.get("/api/agent/supervisor/complaints")
async def supervisor_complaints(request: web.Request) -> web.Response:
    await _supervisor_session(request)
    return web.json_response({"complaints": await _services(request).supervision.complaints()})


@routes.get("/api/agent/supervisor/report")
async def supervisor_report(request: web.Request) -> web.Response:
    """The duty report since ``hours`` ago (default: a 12-hour shift)."""
    await _supervisor_session(request)
    try:
        hours = float(request.query.get("hours", "12"))
    except ValueError:
        hours = math.nan
    if not math.isfinite(hours):
        raise json_error(400, "bad_hours")
    hours = min(max(hours, 0.1), 24 * 30)
    since = time.time() - hours * 3600
    return web.json_response(await _services(request).supervision.duty_report(since))


@routes.get("/agent/reports")
async def reports_page(request: web.Request) -> web.StreamResponse:
    session = await _session(request)
    if session is None:
        raise web.HTTPSeeOther("/agent/login")
    if session.agent.role is not AgentRole.SUPERVISOR:
        raise json_error(403, "supervisors_only")
    return web.FileResponse(STATIC_DIR / "reports.html")


@routes.get("/console-vendor/chart.umd.js")
async def chart_library(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(CHART_JS)


@routes.get("/api/agent/supervisor/report-texts")
async def report_texts(request: web.Request) -> web.Response:
    """The report page's wording (core/console.yml), each text in Chinese and English."""
    await _supervisor_session(request)
    texts = console_texts().messages
    return web.json_response(
        {
            k[len(REPORT_TEXTS_PREFIX) :]: v
            for k, v in texts.items()
            if k.startswith(REPORT_TEXTS_PREFIX)
        }
    )


@routes.get("/api/agent/supervisor/metrics")
async def supervisor_metrics(request: web.Request) -> web.Response:
    """The service report (handoff/reports.py) over the last ``days`` days (1-90, default 7,
    today included) or from ``since`` to ``until``."""
    return web.json_response(await _report(request))


@routes.get("/api/agent/supervisor/metrics.csv")
async def supervisor_metrics_csv(request: web.Request) -> web.StreamResponse:
    """One table of the report (``table``: days, reasons, agents, gaps) as a CSV download."""
    table = request.query.get("table", "days")
    if table not in CSV_TABLES:
        raise json_error(400, "bad_table", tables=", ".join(CSV_TABLES))
    report = await _report(request)
    name = f"kefu-{table}-{report['days'][0]}-{report['days'][-1]}.csv"
    # With a byte-order mark: spreadsheets then read the Chinese as UTF-8.
    return web.Response(
        body=report_csv(report, table).encode("utf-8-sig"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _report(request: web.Request) -> dict[str, Any]:
    await _supervisor_session(request)
    since, until = _report_range(request.query)
    services = _services(request)
    return await build_report(
        services.facts,
        since,
        until,
        first_response_target=services.first_response_target,
        gap_encoder=services.gap_encoder,
    )


def _report_range(query: Mapping[str, str]) -> tuple[float, float]:
    """``since``/``until`` (Unix times or YYYY-MM-DD, shop time; ``until`` defaults to now), else
    the last ``days`` days."""
    now = time.time()
    if "since" in query:
        since = _moment(query["since"])
        until = _moment(query["until"], end_of_day=True) if "until" in query else now
        if since is None or until is None or not 0 < until - since <= MAX_REPORT_DAYS * 86400:
            raise json_error(400, "bad_range", most=MAX_REPORT_DAYS)
        return since, until
    days = query.get("days", "7")
    if not days.isdigit() or not 1 <= int(days) <= MAX_REPORT_DAYS:
        raise json_error(400, "bad_days", most=MAX_REPORT_DAYS)
    return range_of_days(int(days), now)


def _moment(value: str, *, end_of_day: bool = False) -> float | None:
    """A Unix time, or a day's first (``end_of_day``: last) moment; None when it is neither."""
    try:
        moment = float(value)
    except ValueError:
        try:
            day = time.strptime(value, "%Y-%m-%d")
        except ValueError:
            return None
        if not end_of_day:
            return time.mktime(day)
        next_day = (day.tm_year, day.tm_mon, day.tm_mday + 1, 0, 0, 0, 0, 0, -1)
        return time.mktime(next_day) - 0.001
    return moment if 0 <= moment < LAST_MOMENT else None


@routes.get("/api/agent/follow-ups")
async def follow_ups(request: web.Request) -> web.Response:
    """What the bot promised customers and a person must do, for whoever is on shift."""
    await _api_session(request)
    promises = _services(request).promises
    if promises is None:
        return web.json_response({"available": False, "follow_ups": []})
    return web.json_response({"available": True, "follow_ups": await promises()})


@routes.get("/api/agent/handover")
async def handover_notes(request: web.Request) -> web.Response:
    await _api_session(request)
    notes = await _services(request).supervision.handover_notes()
    return web.json_response({"notes": [asdict(note) for note in notes]})


@routes.post("/api/agent/handover")
async def add_handover_note(request: web.Request) -> web.Response:
    """What the next shift must know: open issues, promises made, suggestions."""
    session = await _api_session(request)
    note = await _note_from(request, session)
    await _services(request).supervision.add_handover(note)
    return web.json_response({"note": asdict(note)})


@routes.get("/ws/agent")
async def agent_socket(request: web.Request) -> web.StreamResponse:
    if not _same_origin(request):
        raise json_error(403, "cross_origin", key="cross_origin_socket")
    session = await _session(request)
    if session is None:
        raise json_error(401, "not_logged_in")
    services = _services(request)
    socket = web.WebSocketResponse(heartbeat=25)
    await socket.prepare(request)
    services.hub.agents[socket] = session.session_id
    presence = asyncio.create_task(_keep_online(services.agents, session.session_id, socket))
    try:
        async for _ in socket:
            pass  # agents act through the JSON API; the socket only carries events to them
    finally:
        services.hub.agents.pop(socket, None)
        presence.cancel()
    return socket


async def _keep_online(
    agents: AgentDirectory, session_id: str, socket: web.WebSocketResponse
) -> None:
    """While the console is open (and its session valid) the agent is online; once it closes
    they have the grace period (PRESENCE_GRACE_SECONDS) to come back before their tickets are
    offered to others. A session that ended (account removed) closes the socket."""
    while True:
        try:
            session = await agents.session(session_id)
            if session is None:
                await socket.close(code=SESSION_ENDED, message=b"session ended")
                return
            await agents.mark_online(session.agent.name, PRESENCE_GRACE_SECONDS)
        except RedisError:
            log.exception("could not refresh an agent's presence; retrying")
        await asyncio.sleep(PRESENCE_REFRESH_SECONDS)


async def _note_from(request: web.Request, session: Session) -> Note:
    """A note (internal or for the next shift) from the body's ``text``, signed by the agent."""
    text = string_field(await read_json_object(request), "text").strip()
    if not text:
        raise json_error(422, "empty_note")
    return Note(session.agent.display_name, text[:MAX_REPLY_CHARS], time.time())


async def _ticket(request: web.Request) -> Ticket:
    ticket = await _services(request).queue.get(request.match_info["ticket_id"])
    if ticket is None:
        raise json_error(404, "no_such_ticket")
    return ticket


async def _visible_ticket(request: web.Request, session: Session) -> Ticket:
    """A ticket of the agent's teams, their own, or any for a supervisor."""
    ticket = await _ticket(request)
    if not may_see(session.agent, ticket):
        raise json_error(403, "other_team", team=ticket.team)
    return ticket


async def _own_ticket(request: web.Request, session: Session) -> Ticket:
    ticket = await _ticket(request)
    if ticket.status is not TicketStatus.CLAIMED or ticket.agent != session.agent.name:
        raise json_error(403, "not_your_ticket")
    return ticket
