"""Who sees what in the console: teams, owners, supervisors, removed and demoted accounts, the
live socket's frames and the login throttle (against a real Redis)."""

import time

import pytest

from core.records import ChatMessage, Event, Role
from handoff.agents import AgentRole
from handoff.live import SESSION_ENDED
from tests.handoff.conftest import PASSWORD, log_in, waiting_ticket

COMPLAINT = "我要投诉，电话 13812345678，银行卡 6222020200112233445"


async def complaint_ticket(console, conversation="conv-complaint") -> str:
    return await waiting_ticket(console, COMPLAINT, conversation, "complaints", "crisis_keyword")


async def held_by_carol(console, conversation="conv-complaint") -> tuple[str, dict[str, str]]:
    """A complaints ticket carol has claimed, and her request headers."""
    ticket_id = await complaint_ticket(console, conversation)
    headers = {"X-CSRF-Token": await log_in(console, "carol")}
    assert (await console.post(f"/api/agent/tickets/{ticket_id}/claim", headers=headers)).ok
    return ticket_id, headers


@pytest.mark.parametrize(
    ("agent", "status"), [("alice", 403), ("bob", 403), ("carol", 200), ("sue", 200)]
)
async def test_a_ticket_is_for_its_team_and_supervisors(console, agent, status):
    ticket_id = await complaint_ticket(console)
    headers = {"X-CSRF-Token": await log_in(console, agent)}
    detail = await console.get(f"/api/agent/tickets/{ticket_id}")
    assert detail.status == status
    note = await console.post(
        f"/api/agent/tickets/{ticket_id}/notes", json={"text": "看过了"}, headers=headers
    )
    assert note.status == status
    if status == 403:
        body = await detail.json()
        assert body["error"] == "other_team" and "13812345678" not in str(body)
        assert await console.queue.notes(ticket_id) == []


async def test_the_agent_holding_a_ticket_sees_it_whatever_their_team(console):
    ticket_id, headers = await held_by_carol(console)
    moved = await console.post(
        f"/api/agent/tickets/{ticket_id}/transfer", json={"agent": "alice"}, headers=headers
    )
    assert moved.status == 200
    await log_in(console, "alice")
    assert (await console.get(f"/api/agent/tickets/{ticket_id}")).status == 200
    await log_in(console, "bob")
    assert (await console.get(f"/api/agent/tickets/{ticket_id}")).status == 403


async def test_a_removed_account_is_logged_out_at_its_next_request(console):
    headers = {"X-CSRF-Token": await log_in(console, "carol")}
    assert (await console.get("/api/agent/tickets")).status == 200
    await console.agents.remove("carol")
    assert (await console.get("/api/agent/tickets")).status == 401
    reply = await console.post("/api/agent/tickets/1/close", json={}, headers=headers)
    assert reply.status == 401
    # An account made again under the same name does not revive the old sessions.
    await console.agents.add("carol", PASSWORD, teams=("complaints",))
    assert (await console.get("/api/agent/tickets")).status == 401


async def test_a_demoted_supervisor_loses_supervisor_views_at_once(console):
    await log_in(console, "sue")
    assert (await console.get("/api/agent/supervisor/complaints")).status == 200
    await console.agents.update("sue", role=AgentRole.AGENT, teams=("pre_sale",))
    refused = await console.get("/api/agent/supervisor/complaints")
    assert refused.status == 403 and (await refused.json())["error"] == "supervisors_only"
    me = await (await console.get("/api/agent/me")).json()
    assert me["role"] == "agent" and me["teams"] == ["pre_sale"]


async def next_frame(socket) -> dict:
    return await socket.receive_json(timeout=5)


async def test_live_frames_go_only_to_agents_who_may_see_them(console):
    complaint = await complaint_ticket(console)
    await log_in(console, "alice")
    alice = await console.ws_connect("/ws/agent")
    live = console.app_hub
    # A conversation still with the bot, and the complaints team's ticket: not for alice.
    await live.dispatch(Event("message", conversation_id="conv-bot", message={"text": "地址"}))
    await live.dispatch(Event("message", conversation_id="conv-complaint", message={"t": "x"}))
    await live.dispatch(Event("ticket_claimed", ticket_id=complaint, owner="agent"))
    # Then one of her team's: it is the first frame she gets.
    await console.store.append(ChatMessage("conv-mine", Role.CUSTOMER, "退货", time.time()))
    await console.queue.open(
        "conv-mine", "web", priority=2, team="after_sale", reasons=(), summary="", packet={}
    )
    await live.dispatch(Event("message", conversation_id="conv-mine", message={"text": "退货"}))
    frame = await next_frame(alice)
    assert frame["conversation_id"] == "conv-mine" and frame["message"] == {"text": "退货"}
    await alice.close()


async def test_a_removed_agents_socket_is_closed_at_the_next_frame(console):
    await log_in(console, "bob")
    bob = await console.ws_connect("/ws/agent")
    await console.agents.remove("bob")
    await console.app_hub.dispatch(Event("ticket_opened", ticket_id="1"))
    closing = await bob.receive(timeout=5)
    assert closing.data == SESSION_ENDED
    await bob.close()


async def wrong_login(console, name):
    response = await console.post(
        "/agent/login", data={"username": name, "password": "guess-guess"}, allow_redirects=False
    )
    return response.headers["Location"]


async def test_logins_are_throttled_per_account(console):
    for _ in range(5):
        assert await wrong_login(console, "alice") == "/agent/login?error=1"
    assert (await wrong_login(console, "alice")).startswith("/agent/login?error=throttled")
    # The right password does not get through while throttled...
    right = await console.post(
        "/agent/login", data={"username": "alice", "password": PASSWORD}, allow_redirects=False
    )
    assert right.headers["Location"] == "/agent/login?error=throttled&minutes=15"
    # ...but other accounts are not locked by alice's guesses.
    await log_in(console, "bob")


async def test_logins_are_throttled_per_address(console):
    for number in range(20):
        assert await wrong_login(console, f"nobody{number}") == "/agent/login?error=1"
    assert (await wrong_login(console, "bob")).startswith("/agent/login?error=throttled")


async def test_a_good_login_clears_the_accounts_failures(console):
    for _ in range(4):
        await wrong_login(console, "alice")
    await log_in(console, "alice")
    for _ in range(4):
        assert await wrong_login(console, "alice") == "/agent/login?error=1"


# Every agent route, for each kind of account, on a complaints ticket carol holds.
# dave: complaints too; alice: pre-sale and after-sale; sue: supervisor; erin: removed after
# logging in; sam: a supervisor demoted to pre-sale after logging in; nobody: not logged in.
TICKET_ROUTES = {
    "detail": ("GET", "/api/agent/tickets/{t}", None),
    "notes": ("POST", "/api/agent/tickets/{t}/notes", {"text": "内部备注"}),
    "reply": ("POST", "/api/agent/tickets/{t}/reply", {"text": "您好"}),
    "transfer": ("POST", "/api/agent/tickets/{t}/transfer", {"team": "after_sale"}),
    "close": ("POST", "/api/agent/tickets/{t}/close", {"outcome": "resolved"}),
    "claim": ("POST", "/api/agent/tickets/{t}/claim", None),
}
OTHER_ROUTES = {
    "me": ("GET", "/api/agent/me", None),
    "tickets": ("GET", "/api/agent/tickets", None),
    "canned": ("GET", "/api/agent/canned?q=发票", None),
    "follow_ups": ("GET", "/api/agent/follow-ups", None),
    "handover": ("GET", "/api/agent/handover", None),
    "add_handover": ("POST", "/api/agent/handover", {"text": "交接"}),
    "complaints": ("GET", "/api/agent/supervisor/complaints", None),
    "report": ("GET", "/api/agent/supervisor/report", None),
}
EXPECTED = {
    #          detail notes reply transfer close claim | me tickets canned follow handover add complaints report
    "carol": (200, 200, 200, 403, 403, 409, 200, 200, 200, 200, 200, 200, 403, 403),
    "dave": (200, 200, 403, 403, 403, 409, 200, 200, 200, 200, 200, 200, 403, 403),
    "alice": (403, 403, 403, 403, 403, 403, 200, 200, 200, 200, 200, 200, 403, 403),
    "sue": (200, 200, 403, 403, 403, 409, 200, 200, 200, 200, 200, 200, 200, 200),
    "erin": (401,) * 14,
    "sam": (403, 403, 403, 403, 403, 403, 200, 200, 200, 200, 200, 200, 403, 403),
    "nobody": (401,) * 14,
}


@pytest.mark.parametrize("who", list(EXPECTED))
async def test_every_agent_route_for_every_kind_of_account(console, who):
    await console.agents.add("dave", PASSWORD, teams=("complaints",))
    await console.agents.add("erin", PASSWORD, teams=("complaints",))
    await console.agents.add("sam", PASSWORD, AgentRole.SUPERVISOR)
    ticket_id, _ = await held_by_carol(console)
    csrf = ""
    if who != "nobody":
        csrf = await log_in(console, who)
    else:
        console.session.cookie_jar.clear()
    if who == "erin":
        await console.agents.remove("erin")
    if who == "sam":
        await console.agents.update("sam", role=AgentRole.AGENT, teams=("pre_sale",))
    routes = [*TICKET_ROUTES.values(), *OTHER_ROUTES.values()]
    # carol's transfer and close would end her hold on the ticket: checked on their own.
    got = []
    for name, (method, path, body) in zip([*TICKET_ROUTES, *OTHER_ROUTES], routes, strict=True):
        if who == "carol" and name in ("transfer", "close"):
            got.append(403)
            continue
        response = await console.request(
            method, path.format(t=ticket_id), json=body, headers={"X-CSRF-Token": csrf}
        )
        got.append(response.status)
    assert tuple(got) == EXPECTED[who], dict(zip([*TICKET_ROUTES, *OTHER_ROUTES], got, strict=True))


async def test_the_holder_may_transfer_and_close(console):
    ticket_id, headers = await held_by_carol(console)
    closed = await console.post(
        f"/api/agent/tickets/{ticket_id}/close", json={"outcome": "resolved"}, headers=headers
    )
    assert closed.status == 200
    second, headers = await held_by_carol(console, "conv-complaint-2")
    moved = await console.post(
        f"/api/agent/tickets/{second}/transfer", json={"team": "after_sale"}, headers=headers
    )
    assert moved.status == 200


@pytest.mark.parametrize("who", ["erin", "nobody"])
async def test_the_agent_socket_wants_a_live_session(console, who):
    if who == "erin":
        await console.agents.add("erin", PASSWORD, teams=("complaints",))
        await log_in(console, "erin")
        await console.agents.remove("erin")
    refused = await console.get("/ws/agent")
    assert refused.status == 401
