"""The service report: what the bot resolved, what it handed over and why, how fast people
answered, how customers rated them, complaints against their deadlines, and what the knowledge
base is missing. Computed from the recorded facts (core/facts.py, kept by handoff/facts.py),
never guessed; the console's report page, its CSV export and ``python -m handoff report`` show
the same dict.

Everything but the grouping of the knowledge-base gaps is a pure function of the fact lists.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.facts import ContactFact, ContactOutcome, FaqOutcome, TicketFact, TurnFact
from faq.encoders import Encoder, make_encoder
from handoff.facts import FactStore, day_of, days_between
from handoff.models import COMPLAINT_TEAMS
from handoff.supervision import (
    COMPLAINT_RULES,
    FIRST_FEEDBACK_SECONDS,
    RESOLUTION_SECONDS,
)

FIRST_RESPONSE_TARGET_SECONDS = 30.0  # SERVICE-NORMS: a person answers within 30 s
SATISFIED_FROM = 4  # a rating of 4 or 5 is a satisfied customer
RATINGS = ("1", "2", "3", "4", "5")
# Two unanswered questions belong to one gap when their sentence embeddings (multilingual
# USE, GAP_ENCODER) are at least this close to the group's mean. Measured on
# shop questions: paraphrases of one question score 0.6-0.9 (怎么开发票 / 发票在哪里开 0.73,
# 有没有优惠券 / 优惠码怎么用 0.63, 怎么退货 / 我想退货怎么弄 0.91), different subjects below
# 0.5 even when worded alike (发票 / 退货 0.48, 怎么开发票 / 怎么退货 0.41); at 0.65 short
# forms (发票, 开票) split off their group, at 0.55 nothing more joins.
GAP_SIMILARITY = 0.6
# The encoder GAP_SIMILARITY was chosen with (the FAQ retriever's default is another).
GAP_ENCODER = "use"
GAP_EXAMPLES = 3
# The most frequent distinct questions grouped: a week of a busy shop stays a few seconds of
# encoding; the rarer rest is left out of the gaps.
MAX_GAP_QUESTIONS = 2000
GAP_TURN_OUTCOMES = frozenset({FaqOutcome.NO_MATCH.value, FaqOutcome.CLARIFIED.value})
CSV_TABLES = ("days", "reasons", "agents", "gaps")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def build_report(
    facts: FactStore,
    since: float,
    until: float,
    *,
    first_response_target: float = FIRST_RESPONSE_TARGET_SECONDS,
    gap_encoder: Encoder | None = None,
) -> dict[str, Any]:
    """The report over ``since``..``until`` (Unix times). ``gap_encoder``: the sentence encoder
    that groups the knowledge-base gaps (default: a new multilingual USE; pass one kept for
    reuse, since loading it takes seconds); it runs in a worker thread."""
    turns, contacts, tickets = await asyncio.gather(
        facts.turns(since, until), facts.contacts(since, until), facts.tickets(since, until)
    )
    questions = gap_questions(turns)
    encoder = gap_encoder or make_encoder(GAP_ENCODER)
    gaps = await asyncio.to_thread(group_gaps, questions, encoder.encode)
    return report_from(
        turns,
        contacts,
        tickets,
        since,
        until,
        first_response_target=first_response_target,
        kb_gaps=gaps,
        now=time.time(),
    )


def report_from(
    turns: list[TurnFact],
    contacts: list[ContactFact],
    tickets: list[TicketFact],
    since: float,
    until: float,
    *,
    first_response_target: float = FIRST_RESPONSE_TARGET_SECONDS,
    kb_gaps: list[dict[str, Any]] | None = None,
    now: float,
) -> dict[str, Any]:
    """The report from the facts of the range (``now``: for the deadlines of open complaints)."""
    days = days_between(since, until)
    return {
        "since": since,
        "until": until,
        "days": days,
        "contacts": contact_summary(contacts),
        "by_day": contacts_by_day(contacts, days),
        "handoff_reasons": handoff_reasons(tickets),
        "messages": message_summary(turns),
        "first_response": first_response(tickets, days, first_response_target),
        "wait_until_claimed": spread(t.wait_seconds for t in tickets),
        "handle_time": spread(t.handle_seconds for t in tickets),
        "transfers": sum(t.transfers for t in tickets),
        "satisfaction": satisfaction(tickets),
        "complaints": complaints(tickets, now),
        "busiest_hours": busiest_hours(turns),
        "kb_gaps": kb_gaps or [],
    }


def range_of_days(days: int, now: float | None = None) -> tuple[float, float]:
    """The last ``days`` calendar days (shop time), today included: from the midnight that
    starts the first of them until ``now``."""
    now = time.time() if now is None else now
    today = time.localtime(now)
    midnight = time.mktime(
        (today.tm_year, today.tm_mon, today.tm_mday - (days - 1), 0, 0, 0, 0, 0, -1)
    )
    return midnight, now


# ---- the numbers --------------------------------------------------------------------------


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def percentile(values: list[float], share: float) -> float | None:
    """Linear between the closest ranks (numpy's default); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 2)


def spread(seconds: Iterable[float | None]) -> dict[str, Any]:
    values = [s for s in seconds if s is not None]
    return {"count": len(values), "p50": percentile(values, 0.5), "p95": percentile(values, 0.95)}


def contact_summary(contacts: list[ContactFact]) -> dict[str, Any]:
    outcomes = Counter(c.outcome for c in contacts)
    total = len(contacts)
    resolved = outcomes[ContactOutcome.RESOLVED.value]
    # recontact_7d is set for every re-contact within the week, those within 24 h included.
    lasting = sum(
        c.outcome == ContactOutcome.RESOLVED.value and not c.recontact_7d for c in contacts
    )
    return {
        "total": total,
        "resolved": resolved,
        "handed_over": outcomes[ContactOutcome.HANDED_OVER.value],
        "abandoned": outcomes[ContactOutcome.ABANDONED.value],
        "asked_for_person": sum(c.asked_for_person for c in contacts),
        "containment_rate": rate(resolved, total),
        "handoff_rate": rate(outcomes[ContactOutcome.HANDED_OVER.value], total),
        "abandon_rate": rate(outcomes[ContactOutcome.ABANDONED.value], total),
        "recontact_24h": sum(c.recontact_24h for c in contacts),
        "recontact_7d": sum(c.recontact_7d for c in contacts),
        "lasting_containment_rate": rate(lasting, total),
    }


def contacts_by_day(contacts: list[ContactFact], days: list[str]) -> list[dict[str, Any]]:
    """Each day of the range, a day without contacts too (by the day a contact started)."""
    of_day: dict[str, list[ContactFact]] = {day: [] for day in days}
    for contact in contacts:
        of_day.setdefault(day_of(contact.started_at), []).append(contact)
    rows = []
    for day in days:
        outcomes = Counter(c.outcome for c in of_day[day])
        total = len(of_day[day])
        rows.append(
            {
                "day": day,
                "contacts": total,
                "resolved": outcomes[ContactOutcome.RESOLVED.value],
                "handed_over": outcomes[ContactOutcome.HANDED_OVER.value],
                "abandoned": outcomes[ContactOutcome.ABANDONED.value],
                "containment_rate": rate(outcomes[ContactOutcome.RESOLVED.value], total),
                "handoff_rate": rate(outcomes[ContactOutcome.HANDED_OVER.value], total),
            }
        )
    return rows


def handoff_reasons(tickets: list[TicketFact]) -> list[dict[str, Any]]:
    """The tickets opened in the range by the rule that opened them, the most frequent first."""
    rules = Counter(t.rule or "unknown" for t in tickets)
    return [
        {"rule": rule, "count": count, "share": rate(count, len(tickets))}
        for rule, count in sorted(rules.items(), key=lambda item: (-item[1], item[0]))
    ]


def message_summary(turns: list[TurnFact]) -> dict[str, Any]:
    faq = Counter(t.faq for t in turns)
    fallback = sum(t.fallback for t in turns)
    intents = Counter(t.intent or "unknown" for t in turns)
    return {
        "total": len(turns),
        "fallback": fallback,
        "fallback_rate": rate(fallback, len(turns)),
        "faq_answered": faq[FaqOutcome.ANSWERED.value],
        "faq_clarified": faq[FaqOutcome.CLARIFIED.value],
        "faq_no_match": faq[FaqOutcome.NO_MATCH.value],
        "intents": [
            {"intent": intent, "count": count}
            for intent, count in sorted(intents.items(), key=lambda item: (-item[1], item[0]))
        ],
    }


def first_response(tickets: list[TicketFact], days: list[str], target: float) -> dict[str, Any]:
    """From the hand-over to a person's first message, overall and by the day it was opened."""
    answered = [t for t in tickets if t.first_response_seconds is not None]
    seconds = [t.first_response_seconds for t in answered if t.first_response_seconds is not None]
    of_day: dict[str, list[float]] = defaultdict(list)
    for ticket, value in zip(answered, seconds, strict=True):
        of_day[day_of(ticket.created_at)].append(value)
    return {
        "target_seconds": target,
        "count": len(seconds),
        "p50": percentile(seconds, 0.5),
        "p95": percentile(seconds, 0.95),
        "within_target_share": rate(sum(s <= target for s in seconds), len(seconds)),
        "by_day": [
            {
                "day": day,
                "count": len(of_day[day]),
                "p50": percentile(of_day[day], 0.5),
                "p95": percentile(of_day[day], 0.95),
            }
            for day in days
        ],
    }


@dataclass
class _Ratings:
    ratings: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        counts = Counter(str(r) for r in self.ratings)
        return {
            "ratings": len(self.ratings),
            "average": round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None,
            "distribution": {r: counts[r] for r in RATINGS},
        }


def satisfaction(tickets: list[TicketFact]) -> dict[str, Any]:
    """The customers' 1-5 ratings after an agent closed their ticket, by team and by agent."""
    rated = [t for t in tickets if 1 <= t.satisfaction <= 5]
    overall = _Ratings([t.satisfaction for t in rated]).summary()
    by_team: dict[str, _Ratings] = defaultdict(_Ratings)
    by_agent: dict[str, _Ratings] = defaultdict(_Ratings)
    for ticket in rated:
        by_team[ticket.team].ratings.append(ticket.satisfaction)
        if ticket.agent:
            by_agent[ticket.agent].ratings.append(ticket.satisfaction)

    def ranked(groups: dict[str, _Ratings], name: str) -> list[dict[str, Any]]:
        order = sorted(groups, key=lambda key: (-len(groups[key].ratings), key))
        return [{name: key, **groups[key].summary()} for key in order]

    return {
        **overall,
        "satisfied_share": rate(sum(t.satisfaction >= SATISFIED_FROM for t in rated), len(rated)),
        "by_team": ranked(by_team, "team"),
        "by_agent": ranked(by_agent, "agent"),
    }


def is_complaint(ticket: TicketFact) -> bool:
    """As handoff/supervision.py decides for a live ticket (a fact keeps the first rule only)."""
    return ticket.team in COMPLAINT_TEAMS or ticket.rule in COMPLAINT_RULES


def complaints(tickets: list[TicketFact], now: float) -> dict[str, Any]:
    """Complaint tickets against SERVICE-NORMS' deadlines: first feedback (an agent took it)
    within 24 h, resolved within 72 h; an open one is late once its deadline passed. The
    most urgent (earliest resolution due) first."""
    items: list[dict[str, Any]] = []
    for ticket in filter(is_complaint, tickets):
        first_due = ticket.created_at + FIRST_FEEDBACK_SECONDS
        resolution_due = ticket.created_at + RESOLUTION_SECONDS
        answered_at = ticket.claimed_at or ticket.closed_at
        items.append(
            {
                "ticket_id": ticket.id,
                "conversation_id": ticket.conversation_id,
                "rule": ticket.rule,
                "team": ticket.team,
                "status": ticket.status,
                "created_at": ticket.created_at,
                "first_feedback_due": first_due,
                "resolution_due": resolution_due,
                "first_feedback_late": (answered_at or now) > first_due,
                "resolution_late": (ticket.closed_at or now) > resolution_due,
            }
        )
    items.sort(key=lambda item: item["resolution_due"])
    return {
        "total": len(items),
        "open": sum(item["status"] != "closed" for item in items),
        "first_feedback_late": sum(item["first_feedback_late"] for item in items),
        "resolution_late": sum(item["resolution_late"] for item in items),
        "items": items,
    }


def busiest_hours(turns: list[TurnFact]) -> list[int]:
    """Customer messages the bot answered, by hour of the day (shop time)."""
    hours = [0] * 24
    for turn in turns:
        hours[time.localtime(turn.ts).tm_hour] += 1
    return hours


# ---- knowledge-base gaps ------------------------------------------------------------------


def gap_questions(turns: list[TurnFact]) -> list[TurnFact]:
    """The turns whose question the knowledge base could not answer (masked text kept)."""
    return [t for t in turns if t.question.strip() and (t.fallback or t.faq in GAP_TURN_OUTCOMES)]


def group_gaps(
    questions: list[TurnFact],
    encode: Callable[[list[str]], np.ndarray],
    threshold: float = GAP_SIMILARITY,
) -> list[dict[str, Any]]:
    """The unanswered questions grouped by meaning, the biggest group first. Greedy: the
    distinct texts, the most asked first, each join the group whose mean embedding is closest
    when it is at least ``threshold`` close, else start one (labelled by its first, most asked,
    text). Blocking (the encoder): run it in a worker thread."""
    asked = Counter(_spaced(t.question) for t in questions)
    texts = [text for text, _ in sorted(asked.items(), key=lambda i: (-i[1], i[0]))]
    texts = texts[:MAX_GAP_QUESTIONS]
    if not texts:
        return []
    rows = encode(texts)
    members: list[list[int]] = []
    sums: list[np.ndarray] = []
    for index, row in enumerate(rows):
        best, closeness = -1, threshold
        for group, total in enumerate(sums):
            similarity = float(row @ total) / float(np.linalg.norm(total))
            if similarity >= closeness:
                best, closeness = group, similarity
        if best < 0:
            members.append([index])
            sums.append(row.astype(np.float64))
        else:
            members[best].append(index)
            sums[best] = sums[best] + row
    group_of = {texts[i]: g for g, group in enumerate(members) for i in group}
    kinds: list[Counter[str]] = [Counter() for _ in members]
    for turn in questions:
        found = group_of.get(_spaced(turn.question))
        if found is None:
            continue
        kinds[found]["count"] += 1
        kinds[found]["fallback"] += turn.fallback
        if turn.faq in GAP_TURN_OUTCOMES:
            kinds[found][turn.faq] += 1
    gaps = [
        {
            "label": texts[group[0]],
            "count": kinds[g]["count"],
            "no_match": kinds[g][FaqOutcome.NO_MATCH.value],
            "clarified": kinds[g][FaqOutcome.CLARIFIED.value],
            "fallback": kinds[g]["fallback"],
            "examples": [texts[i] for i in group[:GAP_EXAMPLES]],
        }
        for g, group in enumerate(members)
    ]
    return sorted(gaps, key=lambda gap: -gap["count"])


def _spaced(text: str) -> str:
    """One question however it was spaced."""
    return " ".join(text.split())


# ---- CSV ----------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _table(report: dict[str, Any], table: str) -> tuple[list[str], list[list[Any]]]:
    if table == "days":
        response = {row["day"]: row for row in report["first_response"]["by_day"]}
        header = [
            "day",
            "contacts",
            "resolved",
            "handed_over",
            "abandoned",
            "containment_rate",
            "handoff_rate",
            "first_responses",
            "first_response_p50_s",
            "first_response_p95_s",
        ]
        rows = [
            [
                *(day[name] for name in header[:7]),
                response.get(day["day"], {}).get("count", 0),
                response.get(day["day"], {}).get("p50"),
                response.get(day["day"], {}).get("p95"),
            ]
            for day in report["by_day"]
        ]
        return header, rows
    if table == "reasons":
        header = ["rule", "count", "share"]
        return header, [[r[name] for name in header] for r in report["handoff_reasons"]]
    if table == "agents":
        header = ["agent", "ratings", "average", *(f"rated_{r}" for r in RATINGS)]
        rows = [
            [a["agent"], a["ratings"], a["average"], *(a["distribution"][r] for r in RATINGS)]
            for a in report["satisfaction"]["by_agent"]
        ]
        return header, rows
    if table == "gaps":
        header = ["label", "count", "no_match", "clarified", "fallback", "examples"]
        rows = [
            [*(gap[name] for name in header[:5]), " | ".join(gap["examples"])]
            for gap in report["kb_gaps"]
        ]
        return header, rows
    raise ValueError(f"unknown table {table!r}: one of {', '.join(CSV_TABLES)}")


def report_csv(report: dict[str, Any], table: str) -> str:
    """One table of the report (one of CSV_TABLES) as CSV text, a header row first; a text
    cell a spreadsheet would run as a formula starts with an apostrophe."""
    header, rows = _table(report, table)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()
