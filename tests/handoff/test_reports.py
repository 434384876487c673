"""The service report over a seeded week of facts, written through the real FactStore on a real
Redis, and read as a supervisor would: containment by day, handoff reasons, response times,
satisfaction, complaint deadlines, busiest hours, knowledge-base gaps (grouped by the real
encoder), the CSV export, and who may see any of it."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace

import pytest
from redis.asyncio import Redis

from core.facts import TurnReading
from core.keys import Keys
from faq.encoders import Encoder, make_encoder
from handoff.facts import FactStore, day_of
from handoff.models import Ticket, TicketStatus
from handoff.reports import (
    GAP_ENCODER,
    GAP_SIMILARITY,
    build_report,
    percentile,
    range_of_days,
    report_csv,
)
from tests.handoff.conftest import log_in

IDLE = 1800.0
HOUR = 3600.0
DAY = 86400.0
# Monday 14 September 2026, shop time: seven days of facts from here, long past.
MONDAY = time.mktime((2026, 9, 14, 0, 0, 0, 0, 0, -1))
WEEK = (MONDAY, time.mktime((2026, 9, 21, 0, 0, 0, 0, 0, -1)) - 1)

ANSWERED = TurnReading("faq", 0.95, ["action_answer_faq"], [""], ["shipping_time"])
INVOICE = TurnReading("faq", 0.93, ["action_answer_faq"], [""], ["invoice"])
NO_MATCH = TurnReading("faq", 0.71, ["action_answer_faq"], ["utter_faq_unknown"])
CLARIFIED = TurnReading(
    "faq", 0.62, ["action_answer_faq"], ["utter_faq_clarify"], ["return_policy", "refund"]
)
FALLBACK = TurnReading("nlu_fallback", 0.31, ["action_default_fallback"], ["utter_default"])
ASK_PERSON = TurnReading("request_human", 0.99, ["action_handoff"], ["utter_handoff_queued"])
COMPLAIN = TurnReading("complain", 0.97, ["action_handoff"], ["utter_handoff_queued"])


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    """The gap report's encoder (USE: its grouping thresholds), loaded once for the module."""
    return make_encoder(GAP_ENCODER)


def fact_store(redis: Redis, keys: Keys) -> FactStore:
    return FactStore(redis, keys, ttl_seconds=400 * 86400, contact_idle_seconds=IDLE)


class Week:
    """Writes the facts of conversations in the past, as the router and the queue would, in
    the week from ``monday`` (a midnight)."""

    def __init__(self, facts: FactStore, monday: float = MONDAY) -> None:
        self.facts = facts
        self.monday = monday
        self.count = 0

    def at(self, day: int, hour: int, minute: int = 0) -> float:
        return self.monday + day * DAY + hour * HOUR + minute * 60

    async def say(
        self,
        conversation: str,
        at: float,
        reading: TurnReading,
        text: str = "…",
        customer: str = "",
    ) -> None:
        self.count += 1
        await self.facts.record_turn(
            conversation, "web", customer, text, reading, message_id=f"m{self.count}", ts=at
        )

    async def contact(self, at: float, *turns: tuple[TurnReading, str], customer: str = "") -> None:
        conversation = f"web-{self.count}"
        for n, (reading, text) in enumerate(turns):
            await self.say(conversation, at + 20 * n, reading, text, customer)

    async def handed_over(
        self,
        at: float,
        reading: TurnReading,
        rule: str,
        team: str,
        *,
        agent: str = "",
        first_response: float = 0.0,
        closed_after: float = 0.0,
        rating: int = 0,
        transfers: int = 0,
        text: str = "…",
    ) -> str:
        conversation = f"web-{self.count}"
        await self.say(conversation, at, reading, text)
        ticket = Ticket(
            id=f"T{self.count}",
            conversation_id=conversation,
            channel="web",
            status=TicketStatus.QUEUED,
            priority=2,
            team=team,
            reasons=(rule,),
            summary="",
            created_at=at + 5,
        )
        await self.facts.record_ticket(ticket, opened=True)
        if agent:
            claimed = at + 5 + min(first_response, 30.0) / 2
            ticket = replace(
                ticket,
                status=TicketStatus.CLOSED if closed_after else TicketStatus.CLAIMED,
                agent=agent,
                claimed_at=claimed,
                first_response_at=at + 5 + first_response,
                closed_at=claimed + closed_after if closed_after else 0.0,
                outcome="resolved" if closed_after else "",
                satisfaction=rating,
                transfers=transfers,
            )
            await self.facts.record_ticket(ticket)
        return ticket.id

    async def end_day(self, day: int) -> None:
        await self.facts.close_idle(now=self.at(day + 1, 0) - 1)


async def seed_week(facts: FactStore, monday: float = MONDAY, *, close_all: bool = True) -> Week:
    """30 contacts over 7 days: 18 resolved, 4 abandoned, 8 handed over (see each day); the
    handed-over ones are recorded only with ``close_all`` (which ends every contact in
    progress in the store, a running system's too)."""
    week = Week(facts, monday)
    at = week.at

    # Monday: 3 resolved (C1 comes back about the invoice 3 hours later), 1 abandoned, 1 ticket.
    await week.contact(at(0, 10), (INVOICE, "发票怎么开"), customer="C1")
    await week.contact(at(0, 10, 10), (ANSWERED, "什么时候发货"))
    await week.contact(at(0, 13), (INVOICE, "发票还是不会开"), customer="C1")
    await week.contact(at(0, 14), (NO_MATCH, "怎么开发票"))
    await week.handed_over(
        at(0, 20),
        ASK_PERSON,
        "explicit_request",
        "after_sale",
        agent="alice",
        first_response=10,
        closed_after=300,
        rating=5,
    )
    await week.end_day(0)
    # Tuesday: 3 resolved (C2 asks about the invoice, again on Friday), a complaint resolved late.
    await week.contact(at(1, 10), (INVOICE, "开发票"), customer="C2")
    await week.contact(at(1, 10, 10), (ANSWERED, "发货时间"))
    await week.contact(at(1, 10, 20), (ANSWERED, "几天发货"))
    await week.handed_over(
        at(1, 20),
        COMPLAIN,
        "crisis_keyword",
        "complaints",
        agent="bob",
        first_response=7200,
        closed_after=80 * HOUR,
        rating=2,
    )
    await week.end_day(1)
    # Wednesday: 2 resolved, 1 abandoned, a ticket and a complaint nobody took.
    await week.contact(at(2, 10), (ANSWERED, "发货"))
    await week.contact(at(2, 10, 10), (ANSWERED, "发货"))
    await week.contact(at(2, 14), (NO_MATCH, "发票在哪里开"))
    await week.handed_over(
        at(2, 20),
        ASK_PERSON,
        "explicit_request",
        "after_sale",
        agent="alice",
        first_response=20,
        closed_after=600,
        rating=4,
    )
    await week.handed_over(at(2, 20, 30), COMPLAIN, "angry", "complaints")
    await week.end_day(2)
    # Thursday: 4 resolved (one after a clarifying question), 1 abandoned.
    await week.contact(at(3, 10), (CLARIFIED, "我想退货怎么弄"), (ANSWERED, "退货政策"))
    for minute in (10, 20, 30):
        await week.contact(at(3, 10, minute), (ANSWERED, "发货"))
    await week.contact(at(3, 14), (NO_MATCH, "能开发票吗"))
    await week.end_day(3)
    # Friday: 3 resolved (C2 back about the invoice), 1 ticket moved to another team once.
    await week.contact(at(4, 10), (NO_MATCH, "怎么开发票"), (INVOICE, "发票"), customer="C2")
    await week.contact(at(4, 10, 10), (ANSWERED, "发货"))
    await week.contact(at(4, 10, 20), (ANSWERED, "发货"))
    await week.handed_over(
        at(4, 20),
        ASK_PERSON,
        "explicit_request",
        "pre_sale",
        agent="bob",
        first_response=40,
        closed_after=900,
        rating=3,
        transfers=1,
    )
    await week.end_day(4)
    # Saturday: 1 resolved, 1 abandoned, 2 tickets (one not rated).
    await week.contact(at(5, 10), (ANSWERED, "发货"))
    await week.contact(at(5, 14), (NO_MATCH, "你们周末上班吗"))
    await week.handed_over(
        at(5, 20),
        FALLBACK,
        "bot_no_answer",
        "after_sale",
        agent="alice",
        first_response=25,
        closed_after=200,
        rating=5,
        text="在吗在吗",
    )
    await week.handed_over(
        at(5, 20, 30),
        ASK_PERSON,
        "explicit_request",
        "pre_sale",
        agent="carol",
        first_response=60,
        closed_after=100,
    )
    await week.end_day(5)
    # Sunday: 2 resolved (one after a fallback), a complaint handled in time.
    await week.contact(at(6, 10), (FALLBACK, "怎么退货"), (ANSWERED, "退货"))
    await week.contact(at(6, 10, 10), (ANSWERED, "发货"))
    await week.handed_over(
        at(6, 20),
        COMPLAIN,
        "crisis_keyword",
        "complaints",
        agent="bob",
        first_response=1800,
        closed_after=HOUR,
        rating=1,
    )
    await week.end_day(6)
    if close_all:  # the handed-over contacts: their tickets touched them at the real time
        await facts.close_idle(now=time.time() + 2 * IDLE)
    return week


@pytest.fixture
async def report(redis: Redis, keys: Keys, encoder: Encoder) -> dict:
    facts = fact_store(redis, keys)
    await seed_week(facts)
    return await build_report(facts, *WEEK, gap_encoder=encoder)


async def test_containment_counts_the_contacts_the_bot_resolved_day_by_day(report) -> None:
    contacts = report["contacts"]
    assert (contacts["total"], contacts["resolved"], contacts["handed_over"]) == (30, 18, 8)
    assert (contacts["abandoned"], contacts["asked_for_person"]) == (4, 4)
    assert contacts["containment_rate"] == 0.6 and contacts["handoff_rate"] == 0.2667
    assert contacts["abandon_rate"] == 0.1333
    # C1 came back within hours, C2 three days later: two resolutions that did not last.
    assert (contacts["recontact_24h"], contacts["recontact_7d"]) == (1, 2)
    assert contacts["lasting_containment_rate"] == round(16 / 30, 4)
    assert report["days"] == [day_of(MONDAY + n * DAY) for n in range(7)]
    by_day = {row["day"]: row for row in report["by_day"]}
    monday, wednesday, saturday = (by_day[day_of(MONDAY + n * DAY)] for n in (0, 2, 5))
    assert (monday["contacts"], monday["resolved"], monday["containment_rate"]) == (5, 3, 0.6)
    assert (wednesday["handed_over"], wednesday["handoff_rate"]) == (2, 0.4)
    assert (saturday["contacts"], saturday["containment_rate"]) == (4, 0.25)


async def test_handoff_reasons_are_the_rules_that_opened_the_tickets(report) -> None:
    assert report["handoff_reasons"] == [
        {"rule": "explicit_request", "count": 4, "share": 0.5},
        {"rule": "crisis_keyword", "count": 2, "share": 0.25},
        {"rule": "angry", "count": 1, "share": 0.125},
        {"rule": "bot_no_answer", "count": 1, "share": 0.125},
    ]
    assert report["transfers"] == 1


async def test_messages_count_faq_outcomes_and_fallbacks(report) -> None:
    messages = report["messages"]
    assert messages["total"] == 33
    assert (messages["faq_no_match"], messages["faq_clarified"], messages["fallback"]) == (5, 1, 2)
    assert messages["intents"][0] == {"intent": "faq", "count": 24}


async def test_first_response_percentiles_against_the_30_second_target(report) -> None:
    first = report["first_response"]
    # Seven tickets a person answered: 10, 20, 25, 40, 60, 1800, 7200 seconds.
    assert (first["target_seconds"], first["count"]) == (30.0, 7)
    assert first["p50"] == 40.0 and first["p95"] == 5580.0  # 1800 + 0.7 x (7200 - 1800)
    assert first["within_target_share"] == round(3 / 7, 4)
    by_day = {row["day"]: row for row in first["by_day"]}
    assert by_day[day_of(MONDAY + DAY)] == {
        "day": day_of(MONDAY + DAY),
        "count": 1,
        "p50": 7200.0,
        "p95": 7200.0,
    }
    assert by_day[day_of(MONDAY + 3 * DAY)] == {
        "day": day_of(MONDAY + 3 * DAY),
        "count": 0,
        "p50": None,
        "p95": None,
    }
    assert report["wait_until_claimed"]["count"] == 7
    assert report["handle_time"]["count"] == 7 and report["handle_time"]["p50"] == 600.0


async def test_satisfaction_by_team_and_by_agent(report) -> None:
    rated = report["satisfaction"]
    assert (rated["ratings"], rated["average"], rated["satisfied_share"]) == (6, 3.33, 0.5)
    assert rated["distribution"] == {"1": 1, "2": 1, "3": 1, "4": 1, "5": 2}
    assert [(a["agent"], a["ratings"], a["average"]) for a in rated["by_agent"]] == [
        ("alice", 3, 4.67),
        ("bob", 3, 2.0),
    ], "carol's ticket was not rated"
    assert rated["by_agent"][1]["distribution"] == {"1": 1, "2": 1, "3": 1, "4": 0, "5": 0}
    assert [(t["team"], t["ratings"], t["average"]) for t in rated["by_team"]] == [
        ("after_sale", 3, 4.67),
        ("complaints", 2, 1.5),
        ("pre_sale", 1, 3.0),
    ]


async def test_complaints_are_held_to_their_24_and_72_hour_deadlines(report) -> None:
    found = report["complaints"]
    assert (found["total"], found["open"]) == (3, 1)
    assert (found["first_feedback_late"], found["resolution_late"]) == (1, 2)
    late = {
        item["rule"] + "@" + day_of(item["created_at"]): (
            item["first_feedback_late"],
            item["resolution_late"],
        )
        for item in found["items"]
    }
    assert late == {
        f"crisis_keyword@{day_of(MONDAY + DAY)}": (False, True),  # resolved after 80 h
        f"angry@{day_of(MONDAY + 2 * DAY)}": (True, True),  # nobody took it
        f"crisis_keyword@{day_of(MONDAY + 6 * DAY)}": (False, False),
    }
    first = found["items"][0]
    assert first["resolution_due"] - first["created_at"] == 72 * HOUR
    assert first["first_feedback_due"] - first["created_at"] == 24 * HOUR


async def test_the_busiest_hour_is_when_customers_wrote_most(report) -> None:
    hours = report["busiest_hours"]
    assert len(hours) == 24 and sum(hours) == report["messages"]["total"]
    assert hours.index(max(hours)) == 10
    assert (hours[10], hours[13], hours[14], hours[20]) == (20, 1, 4, 8)


async def test_knowledge_base_gaps_group_the_same_question_however_it_is_worded(report) -> None:
    gaps = report["kb_gaps"]
    invoice, returns, *once = gaps
    # 怎么开发票 twice, 发票在哪里开, 能开发票吗: one entry the knowledge base is missing.
    assert (invoice["label"], invoice["count"], invoice["no_match"]) == ("怎么开发票", 4, 4)
    assert set(invoice["examples"]) == {"怎么开发票", "发票在哪里开", "能开发票吗"}
    assert (returns["count"], returns["clarified"], returns["fallback"]) == (2, 1, 1)
    assert set(returns["examples"]) == {"我想退货怎么弄", "怎么退货"}
    # Asked once each, and about nothing alike.
    assert {(g["label"], g["count"]) for g in once} == {("你们周末上班吗", 1), ("在吗在吗", 1)}


async def test_a_shorter_range_reads_only_its_days(redis, keys, encoder) -> None:
    facts = fact_store(redis, keys)
    await seed_week(facts)
    monday = await build_report(facts, MONDAY, MONDAY + DAY - 1, gap_encoder=encoder)
    assert monday["days"] == [day_of(MONDAY)] and monday["contacts"]["total"] == 5
    assert [g["label"] for g in monday["kb_gaps"]] == ["怎么开发票"]
    empty = await build_report(facts, MONDAY - 3 * DAY, MONDAY - 1, gap_encoder=encoder)
    assert empty["contacts"]["containment_rate"] is None and empty["first_response"]["p95"] is None
    assert empty["kb_gaps"] == [] and empty["satisfaction"]["average"] is None


def test_similar_questions_are_close_and_different_subjects_are_not(encoder) -> None:
    rows = encoder.encode(["怎么开发票", "发票在哪里开", "发票", "退货", "怎么退货"])
    assert float(rows[0] @ rows[1]) >= GAP_SIMILARITY
    assert float(rows[2] @ rows[3]) < GAP_SIMILARITY
    assert float(rows[0] @ rows[4]) < GAP_SIMILARITY


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 0.5) == 25.0


def test_the_range_of_days_starts_at_midnight_and_counts_today() -> None:
    noon = MONDAY + 12 * HOUR
    assert range_of_days(1, noon) == (MONDAY, noon)
    since, until = range_of_days(7, noon)
    assert day_of(since) == day_of(MONDAY - 6 * DAY) and time.localtime(since).tm_hour == 0
    assert until == noon


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def test_csv_tables_hold_the_numbers_of_the_page(report) -> None:
    days = rows_of(report_csv(report, "days"))
    assert days[0][:3] == ["day", "contacts", "resolved"] and len(days) == 8
    assert days[1][:7] == [day_of(MONDAY), "5", "3", "1", "1", "0.6", "0.2"]
    assert days[2][-3:] == ["1", "7200.0", "7200.0"] and days[4][-3:] == ["0", "", ""]
    assert rows_of(report_csv(report, "reasons"))[1] == ["explicit_request", "4", "0.5"]
    agents = rows_of(report_csv(report, "agents"))
    assert agents[0] == ["agent", "ratings", "average", *(f"rated_{r}" for r in "12345")]
    assert agents[1] == ["alice", "3", "4.67", "0", "0", "0", "1", "2"]
    gaps = rows_of(report_csv(report, "gaps"))
    assert gaps[1][:3] == ["怎么开发票", "4", "4"]
    with pytest.raises(ValueError):
        report_csv(report, "passwords")


async def test_a_question_a_spreadsheet_would_run_is_exported_as_text(redis, keys, encoder):
    facts = fact_store(redis, keys)
    week = Week(facts)
    for n, text in enumerate(['=HYPERLINK("http://evil","x")', "+1-1", "@SUM(A1)", "-2+3"]):
        await week.contact(MONDAY + n * HOUR, (NO_MATCH, text))
    report = await build_report(facts, MONDAY, MONDAY + DAY - 1, gap_encoder=encoder)
    rows = rows_of(report_csv(report, "gaps"))[1:]
    assert not [cell for row in rows for cell in row if cell.startswith(("=", "+", "-", "@"))]
    examples = {text for row in rows for text in row[-1].removeprefix("'").split(" | ")}
    assert examples == {'=HYPERLINK("http://evil","x")', "+1-1", "@SUM(A1)", "-2+3"}


# ---- the console's routes -----------------------------------------------------------------


async def test_only_supervisors_get_the_reports(console) -> None:
    for path in (
        "/api/agent/supervisor/metrics",
        "/api/agent/supervisor/metrics.csv?table=days",
        "/api/agent/supervisor/report-texts",
    ):
        assert (await console.get(path)).status == 401, f"anonymous: {path}"
    page = await console.get("/agent/reports", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/agent/login"
    await log_in(console, "alice")
    for path in (
        "/api/agent/supervisor/metrics",
        "/api/agent/supervisor/metrics.csv?table=days",
        "/api/agent/supervisor/report-texts",
        "/agent/reports",
    ):
        refused = await console.get(path)
        assert refused.status == 403, f"an agent: {path}"
        assert (await refused.json())["error"] == "supervisors_only"


async def test_a_supervisor_reads_the_report_and_downloads_it(console, redis, keys) -> None:
    await seed_week(FactStore(redis, keys, contact_idle_seconds=IDLE))
    await log_in(console, "sue")
    page = await console.get("/agent/reports")
    assert page.status == 200 and "reports.js" in await page.text()
    since, until = int(WEEK[0]), int(WEEK[1])
    response = await console.get(
        "/api/agent/supervisor/metrics", params={"since": since, "until": until}
    )
    report = await response.json()
    assert report["contacts"]["containment_rate"] == 0.6 and len(report["days"]) == 7
    by_date = await console.get(
        "/api/agent/supervisor/metrics", params={"since": day_of(MONDAY), "until": day_of(MONDAY)}
    )
    assert (await by_date.json())["contacts"]["total"] == 5
    download = await console.get(
        "/api/agent/supervisor/metrics.csv",
        params={"since": since, "until": until, "table": "reasons"},
    )
    assert download.status == 200 and download.content_type == "text/csv"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "kefu-reasons-" in disposition
    body = (await download.read()).decode("utf-8-sig")
    assert rows_of(body)[1] == ["explicit_request", "4", "0.5"]
    texts = await (await console.get("/api/agent/supervisor/report-texts")).json()
    assert texts["title"] == {"zh": "服务报表", "en": "Service reports"}


async def test_a_bad_range_is_refused_with_a_reason(console) -> None:
    await log_in(console, "sue")
    for params in (
        {"days": "0"},
        {"days": "91"},
        {"days": "a week"},
        {"since": "yesterday"},
        {"since": "2026-09-20", "until": "2026-09-14"},
        {"since": "2026-01-01", "until": "2026-09-14"},
        {"since": "-1e20", "until": "-1e19"},
        {"since": "nan"},
    ):
        refused = await console.get("/api/agent/supervisor/metrics", params=params)
        assert refused.status == 400, params
    bad_table = await console.get("/api/agent/supervisor/metrics.csv", params={"table": "x"})
    assert bad_table.status == 400 and "gaps" in (await bad_table.json())["message"]
    recent = await console.get("/api/agent/supervisor/metrics", params={"days": "1"})
    assert (await recent.json())["days"] == [day_of(time.time())]


async def test_the_chart_library_is_served_by_kefu_itself(console) -> None:
    library = await console.get("/console-vendor/chart.umd.js")
    assert library.status == 200 and "Chart" in (await library.text())[:2000]
