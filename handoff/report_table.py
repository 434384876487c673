"""The service report (handoff/reports.py) as text for a terminal: ``python -m handoff report``
prints the numbers the console's report page shows, in its words (core/console.yml)."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Sequence
from typing import Any

from core.texts import Texts
from handoff.reports import RATINGS

BAR_WIDTH = 40  # characters of the busiest hour's bar
TOP_GAPS = 10


class ReportWords:
    """The report's wording in one language, and its numbers written out."""

    def __init__(self, texts: Texts, language: str) -> None:
        self._texts = texts
        self.language = language

    def __call__(self, key: str, **values: object) -> str:
        return self._texts.get(key, self.language, **values)

    def share(self, rate: float | None) -> str:
        return self("reports_none") if rate is None else f"{rate * 100:.1f}%"

    def seconds(self, value: float | None) -> str:
        if value is None:
            return self("reports_none")
        return self("cli_report_seconds", value=f"{value:.1f}" if value < 10 else f"{value:.0f}")

    def rating(self, average: float | None) -> str:
        return self("reports_none") if average is None else f"{average:.2f}"


def width(text: str) -> int:
    """Columns the text takes in a terminal (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(header: Sequence[str] | None, rows: Sequence[Sequence[object]]) -> list[str]:
    """Columns aligned by their display width, under ``header`` (None: no header row);
    numbers to the right."""
    cells = [
        *([[str(h) for h in header]] if header else []),
        *([_cell(v) for v in row] for row in rows),
    ]
    columns = range(len(cells[0])) if cells else range(0)
    widths = [max(width(row[i]) for row in cells) for i in columns]
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in columns]
    lines = []
    for row in cells:
        padded = [
            " " * (w - width(cell)) + cell if right else cell + " " * (w - width(cell))
            for cell, w, right in zip(row, widths, numeric, strict=True)
        ]
        lines.append("  ".join(padded).rstrip())
    return lines


def _cell(value: object) -> str:
    """A number, or text with nothing a terminal would act on (customers' questions are shown:
    an escape sequence among them must not move the cursor or retitle the window)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "".join(c if c.isprintable() else " " for c in str(value))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def report_table(report: dict[str, Any], words: ReportWords) -> str:
    """Every part of the report, one after the other, as plain text."""
    days = report["days"]
    parts = [
        [words("reports_title"), words("reports_period", first=days[0], last=days[-1])],
        _summary(report, words),
        _by_day(report, words),
        _reasons(report, words),
        _satisfaction(report, words),
        _complaints(report, words),
        _hours(report, words),
        _gaps(report, words),
    ]
    return "\n\n".join("\n".join(part) for part in parts) + "\n"


def _summary(report: dict[str, Any], words: ReportWords) -> list[str]:
    contacts, messages = report["contacts"], report["messages"]
    response, satisfaction = report["first_response"], report["satisfaction"]
    rows: list[tuple[str, object, str]] = [
        (
            words("reports_tile_contacts"),
            contacts["total"],
            words(
                "reports_tile_contacts_note",
                resolved=contacts["resolved"],
                handed_over=contacts["handed_over"],
                abandoned=contacts["abandoned"],
            ),
        ),
        (
            words("reports_tile_containment"),
            words.share(contacts["containment_rate"]),
            words("reports_tile_containment_note"),
        ),
        (
            words("reports_tile_lasting"),
            words.share(contacts["lasting_containment_rate"]),
            words("reports_tile_lasting_note", recontact=contacts["recontact_7d"]),
        ),
        (
            words("reports_tile_handoff"),
            words.share(contacts["handoff_rate"]),
            words("reports_tile_handoff_note", asked=contacts["asked_for_person"]),
        ),
        (
            words("cli_report_recontacts"),
            contacts["recontact_24h"] + contacts["recontact_7d"],
            words(
                "cli_report_recontacts_note",
                h24=contacts["recontact_24h"],
                d7=contacts["recontact_7d"],
            ),
        ),
        (
            words("cli_report_messages"),
            messages["total"],
            words(
                "cli_report_messages_note",
                fallback=messages["fallback"],
                share=words.share(messages["fallback_rate"]),
                answered=messages["faq_answered"],
                clarified=messages["faq_clarified"],
                no_match=messages["faq_no_match"],
            ),
        ),
        (
            words("reports_tile_first_response"),
            words.seconds(response["p95"]),
            words(
                "reports_tile_first_response_note",
                target=f"{response['target_seconds']:g}",
                share=words.share(response["within_target_share"]),
                p50=words.seconds(response["p50"]),
            ),
        ),
        (words("cli_report_wait"), "", _spread(report["wait_until_claimed"], words)),
        (words("cli_report_handle"), "", _spread(report["handle_time"], words)),
        (words("cli_report_transfers"), report["transfers"], ""),
        (
            words("reports_tile_satisfaction"),
            words.rating(satisfaction["average"]),
            words(
                "reports_tile_satisfaction_note",
                ratings=satisfaction["ratings"],
                share=words.share(satisfaction["satisfied_share"]),
            ),
        ),
    ]
    return table(None, [(name, str(value), note) for name, value, note in rows])


def _spread(spread: dict[str, Any], words: ReportWords) -> str:
    return words(
        "cli_report_spread",
        p50=words.seconds(spread["p50"]),
        p95=words.seconds(spread["p95"]),
        count=spread["count"],
    )


def _by_day(report: dict[str, Any], words: ReportWords) -> list[str]:
    responses = {row["day"]: row for row in report["first_response"]["by_day"]}
    rows = []
    for day in report["by_day"]:
        response = responses.get(day["day"], {})
        rows.append(
            [
                day["day"],
                day["contacts"],
                day["resolved"],
                day["handed_over"],
                day["abandoned"],
                words.share(day["containment_rate"]),
                words.share(day["handoff_rate"]),
                response.get("count", 0),
                words.seconds(response.get("p50")),
                words.seconds(response.get("p95")),
            ]
        )
    header = [
        words("cli_report_col_day"),
        words("reports_tile_contacts"),
        words("cli_report_col_resolved"),
        words("cli_report_col_handed_over"),
        words("cli_report_col_abandoned"),
        words("reports_series_containment"),
        words("reports_series_handoff"),
        words("cli_report_col_first_responses"),
        "p50",
        "p95",
    ]
    return [words("reports_chart_containment"), *table(header, rows)]


def _reasons(report: dict[str, Any], words: ReportWords) -> list[str]:
    rows = [[r["rule"], r["count"], words.share(r["share"])] for r in report["handoff_reasons"]]
    header = [
        words("reports_col_rule"),
        words("reports_series_tickets"),
        words("cli_report_col_share"),
    ]
    return [words("reports_chart_reasons"), *_or_none(table(header, rows), rows, words)]


def _satisfaction(report: dict[str, Any], words: ReportWords) -> list[str]:
    lines = []
    for title, column, groups, key in (
        ("reports_chart_team_satisfaction", "reports_col_team", "by_team", "team"),
        ("reports_chart_agent_satisfaction", "cli_report_col_agent", "by_agent", "agent"),
    ):
        header = [
            words(column),
            words("cli_report_col_ratings"),
            words("cli_report_col_average"),
            *(words("reports_series_rating", rating=r) for r in RATINGS),
        ]
        rows = [
            [
                group[key] or words("reports_none"),
                group["ratings"],
                words.rating(group["average"]),
                *(group["distribution"][r] for r in RATINGS),
            ]
            for group in report["satisfaction"][groups]
        ]
        lines += [words(title), *_or_none(table(header, rows), rows, words), ""]
    return lines[:-1]


def _complaints(report: dict[str, Any], words: ReportWords) -> list[str]:
    complaints = report["complaints"]
    summary = words(
        "reports_complaints_summary",
        total=complaints["total"],
        open=complaints["open"],
        first_late=complaints["first_feedback_late"],
        resolution_late=complaints["resolution_late"],
    )
    late = words("reports_late")
    rows = [
        [
            item["ticket_id"],
            item["rule"],
            item["team"],
            item["status"],
            _moment(item["created_at"]),
            _moment(item["first_feedback_due"])
            + (f" {late}" if item["first_feedback_late"] else ""),
            _moment(item["resolution_due"]) + (f" {late}" if item["resolution_late"] else ""),
        ]
        for item in complaints["items"]
    ]
    header = [
        words(key)
        for key in (
            "reports_col_ticket",
            "reports_col_rule",
            "reports_col_team",
            "reports_col_status",
            "reports_col_created",
            "reports_col_first_due",
            "reports_col_resolution_due",
        )
    ]
    return [words("reports_complaints"), summary, *(table(header, rows) if rows else [])]


def _moment(ts: float) -> str:
    return time.strftime("%m-%d %H:%M", time.localtime(ts))


def _hours(report: dict[str, Any], words: ReportWords) -> list[str]:
    """From the first hour with messages to the last, a bar each."""
    hours = report["busiest_hours"]
    busy = [hour for hour, count in enumerate(hours) if count]
    most = max(hours) or 1
    rows = (
        [
            [f"{hour:02d}", hours[hour], "█" * round(BAR_WIDTH * hours[hour] / most)]
            for hour in range(busy[0], busy[-1] + 1)
        ]
        if busy
        else []
    )
    header = [words("cli_report_col_hour"), words("reports_series_messages"), ""]
    return [words("reports_chart_hours"), *_or_none(table(header, rows), rows, words)]


def _gaps(report: dict[str, Any], words: ReportWords) -> list[str]:
    rows = [
        [
            gap["label"],
            gap["count"],
            f"{gap['no_match']} / {gap['clarified']} / {gap['fallback']}",
            " | ".join(gap["examples"]),
        ]
        for gap in report["kb_gaps"][:TOP_GAPS]
    ]
    header = [
        words("reports_col_question"),
        words("reports_col_count"),
        words("reports_col_kinds"),
        words("reports_col_examples"),
    ]
    return [words("reports_gaps"), *_or_none(table(header, rows), rows, words)]


def _or_none(lines: list[str], rows: Sequence[object], words: ReportWords) -> list[str]:
    return lines if rows else [words("reports_none")]
