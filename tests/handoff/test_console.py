"""The agent console against a real Redis: login, CSRF, claim, reply, close."""

from core.records import Owner, Role
from tests.handoff.conftest import PASSWORD, log_in, waiting_ticket


async def test_the_console_needs_a_login(console):
    response = await console.get("/agent", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/agent/login"
    assert (await console.get("/api/agent/tickets")).status == 401
    wrong = await console.post(
        "/agent/login", data={"username": "alice", "password": "nope"}, allow_redirects=False
    )
    assert wrong.headers["Location"] == "/agent/login?error=1"


async def test_session_cookie_is_http_only_and_same_site(console):
    response = await console.post(
        "/agent/login", data={"username": "alice", "password": PASSWORD}, allow_redirects=False
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


async def test_state_changes_need_the_csrf_token(console):
    await log_in(console)
    ticket_id = await waiting_ticket(console)
    refused = await console.post(f"/api/agent/tickets/{ticket_id}/claim")
    assert refused.status == 403 and (await refused.json())["error"] == "csrf"
    cross_site = await console.post(
        "/agent/login",
        data={"username": "alice", "password": PASSWORD},
        headers={"Origin": "http://evil.example"},
        allow_redirects=False,
    )
    assert cross_site.status == 403


async def test_claim_reply_close(console):
    csrf = await log_in(console)
    headers = {"X-CSRF-Token": csrf}
    ticket_id = await waiting_ticket(console)
    listing = await (await console.get("/api/agent/tickets")).json()
    assert [t["id"] for t in listing["waiting"]] == [ticket_id]

    detail = await (await console.get(f"/api/agent/tickets/{ticket_id}")).json()
    assert detail["transcript"][0]["text"].startswith("<img"), "raw text; the page escapes it"

    assert (
        await console.post(
            f"/api/agent/tickets/{ticket_id}/reply", json={"text": "hi"}, headers=headers
        )
    ).status == 403
    claimed = await console.post(f"/api/agent/tickets/{ticket_id}/claim", headers=headers)
    assert claimed.status == 200 and console.events == [("claimed", ticket_id)]
    assert (await console.store.get("conv-1")).owner is Owner.AGENT

    reply = await console.post(
        f"/api/agent/tickets/{ticket_id}/reply", json={"text": "亲，马上为您处理"}, headers=headers
    )
    assert (await reply.json())["message"]["author"] == "小爱"
    assert [m.role for m in await console.store.transcript("conv-1")] == [Role.CUSTOMER, Role.AGENT]
    empty = await console.post(
        f"/api/agent/tickets/{ticket_id}/reply", json={"text": "  "}, headers=headers
    )
    assert empty.status == 422

    closed = await console.post(
        f"/api/agent/tickets/{ticket_id}/close", json={"outcome": "resolved"}, headers=headers
    )
    assert closed.status == 200 and console.events[-1] == ("closed", ticket_id)
    assert (await console.store.get("conv-1")).owner is Owner.BOT


async def test_another_agent_cannot_take_or_answer_a_claimed_ticket(console):
    ticket_id = await waiting_ticket(console)
    alice = {"X-CSRF-Token": await log_in(console, "alice")}
    assert (
        await console.post(f"/api/agent/tickets/{ticket_id}/claim", headers=alice)
    ).status == 200
    console.session.cookie_jar.clear()
    bob = {"X-CSRF-Token": await log_in(console, "bob")}
    again = await console.post(f"/api/agent/tickets/{ticket_id}/claim", headers=bob)
    assert again.status == 409
    reply = await console.post(
        f"/api/agent/tickets/{ticket_id}/reply", json={"text": "hi"}, headers=bob
    )
    assert reply.status == 403


async def test_agent_websocket_refuses_strangers(console):
    assert (await console.get("/ws/agent")).status == 401


async def test_notes_stay_internal_and_transfers_are_recorded(console):
    headers = {"X-CSRF-Token": await log_in(console)}
    ticket_id = await waiting_ticket(console)
    await console.post(f"/api/agent/tickets/{ticket_id}/claim", headers=headers)
    note = await console.post(
        f"/api/agent/tickets/{ticket_id}/notes", json={"text": "客户已提供照片"}, headers=headers
    )
    assert note.status == 200
    assert all("照片" not in m.text for m in await console.store.transcript("conv-1"))

    bad = await console.post(
        f"/api/agent/tickets/{ticket_id}/transfer", json={"team": "nobody"}, headers=headers
    )
    assert bad.status == 400
    moved = await console.post(
        f"/api/agent/tickets/{ticket_id}/transfer", json={"team": "complaints"}, headers=headers
    )
    ticket = (await moved.json())["ticket"]
    assert ticket["status"] == "queued" and ticket["team"] == "complaints"
    # Handed to a team she is not in: the ticket is theirs now, its notes too.
    assert (await console.get(f"/api/agent/tickets/{ticket_id}")).status == 403
    await log_in(console, "sue")
    detail = await (await console.get(f"/api/agent/tickets/{ticket_id}")).json()
    assert [n["text"] for n in detail["notes"]] == [
        "客户已提供照片",
        "转交给 complaints / transferred to complaints",
    ]


async def test_a_ticket_can_go_straight_to_another_agent(console):
    headers = {"X-CSRF-Token": await log_in(console)}
    ticket_id = await waiting_ticket(console)
    await console.post(f"/api/agent/tickets/{ticket_id}/claim", headers=headers)
    moved = await console.post(
        f"/api/agent/tickets/{ticket_id}/transfer", json={"agent": "bob"}, headers=headers
    )
    assert (await moved.json())["ticket"]["agent"] == "bob"
    assert [t.id for t in await console.queue.claimed_by("bob")] == [ticket_id]
    assert await console.queue.claimed_by("alice") == []


async def test_canned_replies_come_from_the_knowledge_base(console):
    await log_in(console)
    found = await (await console.get("/api/agent/canned", params={"q": "发票"})).json()
    assert found["replies"][0]["id"] == "invoice" and "发票" in found["replies"][0]["zh"]


async def test_supervisors_see_complaints_and_the_duty_report(console):
    crisis = await console.queue.open(
        "conv-9",
        "web",
        priority=3,
        team="supervisor",
        reasons=("crisis_keyword",),
        summary="客户要打12315",
        packet={},
    )
    await waiting_ticket(console)
    alice = {"X-CSRF-Token": await log_in(console, "alice")}
    assert (await console.get("/api/agent/supervisor/report")).status == 403, "agents cannot"
    handover = await console.post(
        "/api/agent/handover", json={"text": "T1 客户等退款，明早跟进"}, headers=alice
    )
    assert handover.status == 200

    console.session.cookie_jar.clear()
    await log_in(console, "sue")
    found = await (await console.get("/api/agent/supervisor/complaints")).json()
    complaint = found["complaints"][0]
    assert [c["ticket"]["id"] for c in found["complaints"]] == [crisis.ticket_id]
    created = complaint["ticket"]["created_at"]
    assert complaint["first_feedback_due"] == created + 24 * 3600
    assert complaint["resolution_due"] == created + 72 * 3600
    assert not complaint["first_feedback_late"]

    report = await (await console.get("/api/agent/supervisor/report", params={"hours": "1"})).json()
    assert report["opened"] == 2 and report["handled"] == 0 and len(report["unresolved"]) == 2
    assert "T1 客户等退款，明早跟进" in report["suggestions"]
    notes = await (await console.get("/api/agent/handover")).json()
    assert notes["notes"][0]["agent"] == "小爱"


async def open_for(client, conversation_id: str, team: str) -> str:
    place = await client.queue.open(
        conversation_id,
        "web",
        priority=2,
        team=team,
        reasons=("explicit_request",),
        summary=f"{team} question",
        packet={},
    )
    return place.ticket_id


async def test_agents_see_the_lines_of_their_teams_and_supervisors_see_all(console):
    sale, complaint = (
        await open_for(console, "c1", "pre_sale"),
        await open_for(console, "c2", "complaints"),
    )
    await log_in(console, "alice")  # default teams: pre-sale and after-sale
    listing = await (await console.get("/api/agent/tickets")).json()
    assert [t["id"] for t in listing["waiting"]] == [sale]
    headers = {"X-CSRF-Token": (await (await console.get("/api/agent/me")).json())["csrf_token"]}
    refused = await console.post(f"/api/agent/tickets/{complaint}/claim", headers=headers)
    assert refused.status == 403 and (await refused.json())["error"] == "other_team"

    await console.agents.update("alice", teams=["after_sale", "complaints"])  # no new login
    listing = await (await console.get("/api/agent/tickets")).json()
    assert [t["id"] for t in listing["waiting"]] == [complaint]

    console.session.cookie_jar.clear()
    await log_in(console, "sue")
    listing = await (await console.get("/api/agent/tickets")).json()
    assert {t["id"] for t in listing["waiting"]} == {sale, complaint}


async def test_a_claim_beyond_capacity_is_refused_with_a_clear_message(console):
    await console.agents.update("alice", capacity=2)
    headers = {"X-CSRF-Token": await log_in(console, "alice")}
    tickets = [await open_for(console, f"c{n}", "after_sale") for n in range(3)]
    for ticket_id in tickets[:2]:
        claimed = await console.post(f"/api/agent/tickets/{ticket_id}/claim", headers=headers)
        assert claimed.status == 200
    refused = await console.post(f"/api/agent/tickets/{tickets[2]}/claim", headers=headers)
    body = await refused.json()
    assert refused.status == 409 and body["error"] == "at_capacity"
    assert "上限 2" in body["message"] and "close one first" in body["message"]
    assert (await console.queue.get(tickets[2])).status.value == "queued"
    me = await (await console.get("/api/agent/me")).json()
    assert (me["teams"], me["capacity"]) == (["pre_sale", "after_sale"], 2)


async def test_a_transfer_to_a_full_agent_is_refused(console):
    await console.agents.update("bob", capacity=1)
    bobs = await open_for(console, "c1", "after_sale")
    assert await console.queue.claim(bobs, "bob")
    headers = {"X-CSRF-Token": await log_in(console, "alice")}
    mine = await open_for(console, "c2", "after_sale")
    await console.post(f"/api/agent/tickets/{mine}/claim", headers=headers)
    refused = await console.post(
        f"/api/agent/tickets/{mine}/transfer", json={"agent": "bob"}, headers=headers
    )
    assert refused.status == 409 and (await refused.json())["error"] == "at_capacity"
    assert (await console.queue.get(mine)).agent == "alice"


async def test_promised_follow_ups_are_listed_for_the_shift(console):
    assert (await console.get("/api/agent/follow-ups")).status == 401
    await log_in(console)
    listed = await (await console.get("/api/agent/follow-ups")).json()
    assert listed == {"available": False, "follow_ups": []}, "none wired: the shop keeps them"
