"""The service report's charts as PNG files (``python -m handoff report --png DIR``), drawn with
matplotlib's Agg backend: the charts of the console's report page, in its words. Only that
command imports this module (matplotlib takes a moment to load; the servers never draw)."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontEntry
from matplotlib.ticker import MaxNLocator, PercentFormatter

from handoff.report_table import ReportWords
from handoff.reports import RATINGS

SIZE_INCHES = (9.0, 4.8)
DPI = 120
# From 1 to 5 stars: red to green.
RATING_COLOURS = ("#d64545", "#f08c3a", "#f2c94c", "#8cc665", "#2f9e44")
CONTAINMENT_COLOUR, HANDOFF_COLOUR, TARGET_COLOUR = "#2f9e44", "#e8590c", "#c92a2a"
BAR_COLOUR, P95_COLOUR = "#1c7ed6", "#74c0fc"

Chart = Callable[[Axes, dict[str, Any], ReportWords], None]


class NoChineseFont(Exception):
    """No installed font has Chinese glyphs: Chinese labels would come out as boxes."""


def chinese_font() -> FontEntry | None:
    """A font with Chinese glyphs, as fontconfig lists them (``make setup`` installs Debian's
    fonts-wqy-zenhei), made known to matplotlib; None when there is none."""
    try:
        listed = subprocess.run(
            ["fc-list", "--format=%{file}\n", ":lang=zh"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except OSError:  # no fontconfig
        return None
    paths = sorted({line.strip() for line in listed.splitlines() if line.strip()})
    if not paths:
        return None
    if not _entries(paths[0]):
        font_manager.fontManager.addfont(paths[0])
    return _entries(paths[0])[0]


def _entries(path: str) -> list[FontEntry]:
    return [entry for entry in font_manager.fontManager.ttflist if entry.fname == path]


def write_charts(report: dict[str, Any], words: ReportWords, directory: Path) -> list[Path]:
    """Every chart of the report as ``directory/NAME.png``; the files written. Raises
    NoChineseFont for Chinese words when no font can show them."""
    font = chinese_font()
    if font is None and words.language == "zh":
        raise NoChineseFont("no font with Chinese glyphs (make setup installs fonts-wqy-zenhei)")
    charts: dict[str, Chart] = {
        "containment": _containment,
        "reasons": _reasons,
        "first_response": _first_response,
        "satisfaction_teams": _satisfaction("by_team", "team", "reports_chart_team_satisfaction"),
        "satisfaction_agents": _satisfaction(
            "by_agent", "agent", "reports_chart_agent_satisfaction"
        ),
        "hours": _hours,
    }
    directory.mkdir(parents=True, exist_ok=True)
    fonts = [font.name] if font else []
    # The font's own weight (WenQuanYi's is "medium"): else matplotlib warns at every label.
    weight = font.weight if font else "normal"
    written = []
    with rc_context(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [*fonts, "DejaVu Sans"],
            "font.weight": weight,
        }
    ):
        for name, draw in charts.items():
            figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
            canvas = FigureCanvasAgg(figure)
            axes = figure.add_subplot()
            draw(axes, report, words)
            axes.spines[["top", "right"]].set_visible(False)
            path = directory / f"{name}.png"
            canvas.print_png(str(path))
            written.append(path)
    return written


def _nothing(axes: Axes, words: ReportWords) -> None:
    """An empty chart says so (the file is there all the same, for whoever expects it)."""
    axes.text(0.5, 0.5, words("reports_none"), ha="center", va="center", fontsize=16)
    axes.set_axis_off()


def _percent(rate: float | None) -> float:
    return math.nan if rate is None else rate * 100


def _seconds(value: float | None) -> float:
    return math.nan if value is None else value


def _short_day(day: str) -> str:
    return day[5:]  # 2025-11-03 -> 11-03: the year is in the period


def _containment(axes: Axes, report: dict[str, Any], words: ReportWords) -> None:
    axes.set_title(words("reports_chart_containment"))
    by_day = report["by_day"]
    if not any(day["contacts"] for day in by_day):
        _nothing(axes, words)
        return
    days = [_short_day(day["day"]) for day in by_day]
    for key, label, colour in (
        ("containment_rate", "reports_series_containment", CONTAINMENT_COLOUR),
        ("handoff_rate", "reports_series_handoff", HANDOFF_COLOUR),
    ):
        values = [_percent(day[key]) for day in by_day]
        axes.plot(days, values, marker="o", color=colour, label=words(label))
    axes.set_ylim(0, 100)
    axes.yaxis.set_major_formatter(PercentFormatter())
    axes.legend(loc="upper left")
    axes.grid(axis="y", alpha=0.3)


def _reasons(axes: Axes, report: dict[str, Any], words: ReportWords) -> None:
    axes.set_title(words("reports_chart_reasons"))
    reasons = report["handoff_reasons"]
    if not reasons:
        _nothing(axes, words)
        return
    rules = [reason["rule"] for reason in reasons]
    counts = [reason["count"] for reason in reasons]
    bars = axes.barh(rules, counts, color=BAR_COLOUR, label=words("reports_series_tickets"))
    axes.bar_label(bars, padding=3)
    axes.invert_yaxis()  # the most frequent on top
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(words("reports_series_tickets"))


def _first_response(axes: Axes, report: dict[str, Any], words: ReportWords) -> None:
    """p50 and p95 side by side for every day of the range (none on a day without tickets)."""
    response = report["first_response"]
    axes.set_title(words("reports_chart_first_response"))
    by_day = {day["day"]: day for day in response["by_day"] if day["count"]}
    if not by_day:
        _nothing(axes, words)
        return
    days = report["days"]
    for offset, key, colour in ((-0.2, "p50", BAR_COLOUR), (0.2, "p95", P95_COLOUR)):
        values = [_seconds(by_day.get(day, {}).get(key)) for day in days]
        axes.bar([i + offset for i in range(len(days))], values, 0.4, color=colour, label=key)
    axes.set_xticks(range(len(days)), [_short_day(day) for day in days])
    target = response["target_seconds"]
    axes.axhline(
        target,
        color=TARGET_COLOUR,
        linestyle=":",
        label=words("reports_series_target", target=f"{target:g}"),
    )
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper left")
    axes.grid(axis="y", alpha=0.3)


def _satisfaction(groups: str, key: str, title: str) -> Chart:
    """Stacked bars of each team's (or agent's) ratings, one colour per number of stars."""

    def draw(axes: Axes, report: dict[str, Any], words: ReportWords) -> None:
        axes.set_title(words(title))
        rated = [group for group in report["satisfaction"][groups] if group["ratings"]]
        if not rated:
            _nothing(axes, words)
            return
        names = [group[key] or words("reports_none") for group in rated]
        left = [0] * len(rated)
        for rating, colour in zip(RATINGS, RATING_COLOURS, strict=True):
            counts = [group["distribution"][rating] for group in rated]
            axes.barh(
                names,
                counts,
                left=left,
                color=colour,
                label=words("reports_series_rating", rating=rating),
            )
            left = [a + b for a, b in zip(left, counts, strict=True)]
        axes.invert_yaxis()
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(words("cli_report_col_ratings"))
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=len(RATINGS))

    return draw


def _hours(axes: Axes, report: dict[str, Any], words: ReportWords) -> None:
    axes.set_title(words("reports_chart_hours"))
    hours = report["busiest_hours"]
    if not any(hours):
        _nothing(axes, words)
        return
    axes.bar(range(24), hours, color=BAR_COLOUR, label=words("reports_series_messages"))
    axes.set_xticks(range(0, 24, 2), [f"{hour:02d}" for hour in range(0, 24, 2)])
    axes.set_xlabel(words("cli_report_col_hour"))
    axes.set_ylabel(words("reports_series_messages"))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", alpha=0.3)
