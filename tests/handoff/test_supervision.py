from handoff.models import Note, Ticket, TicketStatus
from handoff.supervision import complaints, duty_report

HOUR = 3600.0


def ticket(ticket_id: str, *, reasons=("explicit_request",), team="after_sale", **state) -> Ticket:
    fields = {"status": TicketStatus.QUEUED, "created_at": 0.0} | state
    return Ticket(
        id=ticket_id,
        conversation_id=f"c-{ticket_id}",
        channel="web",
        priority=2,
        team=team,
        reasons=reasons,
        summary="",
        **fields,
    )


def test_complaints_are_crisis_anger_or_complaint_team_tickets_with_deadlines():
    tickets = [
        ticket("calm"),
        ticket("crisis", reasons=("crisis_keyword",)),
        ticket("moved", team="complaints"),
        ticket("late", reasons=("angry",), status=TicketStatus.CLAIMED, claimed_at=30 * HOUR),
    ]
    found = {c.ticket["id"]: c for c in complaints(tickets, now=80 * HOUR)}
    assert set(found) == {"crisis", "moved", "late"}
    assert found["late"].first_feedback_late and found["late"].resolution_late
    assert found["crisis"].first_feedback_late, "nobody answered in 24 h"


def test_nothing_is_late_inside_the_deadlines():
    [complaint] = complaints([ticket("crisis", reasons=("crisis_keyword",))], now=2 * HOUR)
    assert not complaint.first_feedback_late and not complaint.resolution_late


def test_duty_report_counts_handled_and_lists_the_rest():
    tickets = [
        ticket("a", status=TicketStatus.CLOSED, agent="alice", outcome="resolved"),
        ticket("b", status=TicketStatus.CLOSED, agent="alice", outcome="follow_up"),
        ticket("c", overdue_at=40.0),
    ]
    report = duty_report(tickets, [Note("小爱", "明早回电 C0012", 10.0)], since=0.0)
    assert report["handled"] == 2 and report["handled_by_agent"] == {"alice": 2}
    assert [t["id"] for t in report["unresolved"]] == ["c"]
    assert report["suggestions"][0] == "明早回电 C0012"
    assert any("首次响应" in s for s in report["suggestions"])
