"""``python -m handoff agents``: teams and capacity given at creation and changed later;
``python -m handoff report``: the report of seeded facts as a table, PNG charts and CSV."""

import asyncio
import io
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageColor
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from core.facts import TurnReading
from core.keys import Keys
from handoff.__main__ import main, report_range
from handoff.facts import FactStore
from handoff.models import Ticket, TicketStatus
from handoff.report_charts import (
    BAR_COLOUR,
    CONTAINMENT_COLOUR,
    HANDOFF_COLOUR,
    P95_COLOUR,
    RATING_COLOURS,
)
from handoff.reports import range_of_days


@pytest.fixture
def cli_redis(redis_url: str, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncRedis]:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("KEFU_REDIS_PREFIX", keys.prefix)
    client = SyncRedis.from_url(redis_url, decode_responses=True)
    yield client
    client.delete(keys.agents)
    client.close()


def run(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["agents", *argv])


def test_add_with_teams_and_capacity_then_change_them(
    cli_redis: SyncRedis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    added = run(
        monkeypatch,
        "add",
        "wang",
        "--teams",
        "complaints,after_sale",
        "--capacity",
        "4",
        "--password-stdin",
        stdin="long enough password\n",
    )
    assert added == 0
    assert "wang\tagent\tafter_sale,complaints\t4" in capsys.readouterr().out
    assert run(monkeypatch, "set", "wang", "--capacity", "5", "--teams", "pre_sale") == 0
    assert run(monkeypatch, "list") == 0
    assert "wang\tagent\tpre_sale\t5\twang" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (("set", "wang", "--teams", "sales"), "unknown team sales"),
        (("set", "wang", "--capacity", "0"), "capacity is 1-50"),
        (("set", "nobody", "--capacity", "2"), "no agent nobody"),
    ],
)
def test_bad_teams_capacities_and_names_are_refused(
    cli_redis: SyncRedis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    error: str,
):
    run(monkeypatch, "add", "wang", "--password-stdin", stdin="long enough password\n")
    assert run(monkeypatch, *argv) != 0
    assert error in capsys.readouterr().err


# ---- python -m handoff report -------------------------------------------------------------

FIRST_DAY = date(2026, 9, 21)
GREET = TurnReading("greet", 0.99, ["utter_greet"], ["utter_greet"])
INVOICE = TurnReading("faq", 0.95, ["action_answer_faq"], [""], ["invoice"])
NO_MATCH = TurnReading("faq", 0.71, ["action_answer_faq"], ["utter_faq_unknown"])
ASK_PERSON = TurnReading("request_human", 0.99, ["action_handoff"], ["utter_handoff_queued"])
# Each chart, and the colours of what it draws for the seeded days.
CHART_COLOURS = {
    "containment.png": (CONTAINMENT_COLOUR, HANDOFF_COLOUR),
    "reasons.png": (BAR_COLOUR,),
    "first_response.png": (BAR_COLOUR, P95_COLOUR),
    "satisfaction_teams.png": (RATING_COLOURS[1], RATING_COLOURS[4]),  # rated 2 and 5
    "satisfaction_agents.png": (RATING_COLOURS[1], RATING_COLOURS[4]),
    "hours.png": (BAR_COLOUR,),
}
CHARTS = set(CHART_COLOURS)


def at(day: int, hour: int, seconds: float = 0) -> float:
    """A moment of the seeded days (shop time), ``day`` 0 the first."""
    moment = FIRST_DAY + timedelta(days=day)
    return time.mktime((moment.year, moment.month, moment.day, hour, 0, 0, 0, 0, -1)) + seconds


async def seed_three_days(redis_url: str, keys: Keys) -> None:
    """Six contacts over three days, through the real FactStore: two resolved, two handed over
    (one a complaint), two abandoned on the same question the knowledge base lacks."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    facts = FactStore(redis, keys, ttl_seconds=3600, contact_idle_seconds=1800)

    async def turn(conversation: str, reading: TurnReading, moment: float, text: str = "…"):
        await facts.record_turn(
            conversation,
            "web",
            conversation,
            text,
            reading,
            message_id=f"{conversation}-{moment}",
            ts=moment,
        )

    async def ticket(
        conversation: str,
        rule: str,
        team: str,
        opened: float,
        agent: str,
        claimed: float,
        answered: float,
        rating: int,
    ) -> None:
        queued = Ticket(
            f"T-{conversation}",
            conversation,
            "web",
            TicketStatus.QUEUED,
            2,
            team,
            (rule,),
            "",
            opened,
        )
        await facts.record_ticket(queued, opened=True)
        done = replace(
            queued,
            status=TicketStatus.CLOSED,
            agent=agent,
            claimed_at=opened + claimed,
            first_response_at=opened + answered,
            closed_at=opened + 300,
            satisfaction=rating,
        )
        await facts.record_ticket(done)

    try:
        await turn("a", GREET, at(0, 9))
        await turn("a", INVOICE, at(0, 9, 20))
        await turn("b", NO_MATCH, at(0, 10), "能开专票吗")
        await facts.close_idle(now=at(0, 20))
        await turn("c", ASK_PERSON, at(1, 10))
        await ticket("c", "explicit_request", "after_sale", at(1, 10, 1), "wang", 12, 20, 5)
        await turn("d", NO_MATCH, at(1, 10, 30), "能开专票吗")
        await facts.close_idle(now=at(1, 20))
        await turn("e", GREET, at(2, 10))
        await ticket("e", "crisis_keyword", "complaints", at(2, 10, 1), "li", 40, 50, 2)
        await turn("f", INVOICE, at(2, 14))
        await facts.close_idle(now=at(2, 20))
        # A ticket touches its contact when it is recorded (now): those two end after that.
        await facts.close_idle(now=time.time() + 3600)
    finally:
        await redis.aclose()


@pytest.fixture
def seeded(cli_redis: SyncRedis, redis_url: str, keys: Keys) -> Iterator[None]:
    asyncio.run(seed_three_days(redis_url, keys))
    yield
    for key in cli_redis.scan_iter(f"{keys.prefix}*"):
        cli_redis.delete(key)


def report(*argv: str) -> int:
    first, last = FIRST_DAY, FIRST_DAY + timedelta(days=2)
    return main(["report", "--since", first.isoformat(), "--until", last.isoformat(), *argv])


def line_with(out: str, start: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(start))


def test_the_report_prints_the_numbers_of_the_seeded_days(
    seeded: None, capsys: pytest.CaptureFixture[str]
):
    assert report() == 0
    out = capsys.readouterr().out
    assert "服务报表" in out and "2026-09-21 至 2026-09-23" in out
    assert "6" in line_with(out, "接待量") and "解决 2 · 转人工 2 · 放弃 2" in out
    assert "33.3%" in line_with(out, "机器人解决率")
    assert "33.3%" in line_with(out, "转人工率")
    first_response = line_with(out, "首次响应 p95")
    assert "48 秒" in first_response and "达标 50.0%" in first_response
    assert "p50 35 秒" in first_response
    assert "p50 26 秒" in line_with(out, "等待接入"), "12 s and 40 s until claimed"
    assert "3.50" in line_with(out, "满意度") and "2 个评价" in out
    day_one = line_with(out, "2026-09-21  ").split()
    assert day_one[1:5] == ["2", "1", "0", "1"] and day_one[5] == "50.0%"
    assert line_with(out, "explicit_request").split() == ["explicit_request", "1", "50.0%"]
    assert line_with(out, "complaints").split()[:3] == ["complaints", "1", "2.00"]
    assert "投诉 1 个" in out
    gap = line_with(out, "能开专票吗").split()
    assert gap[:2] == ["能开专票吗", "2"] and gap[2:5] == ["2", "/", "0"]
    assert line_with(out, "10 ").split()[1] == "4", "four of the seven messages came at 10:00"
    assert line_with(out, "09 ").split()[1] == "2" and "08 " not in out, "from the first busy hour"


def test_the_report_writes_its_charts_as_png_and_its_tables_as_csv(
    seeded: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    recwarn: pytest.WarningsRecorder,
):
    charts, tables = tmp_path / "charts", tmp_path / "tables"
    assert report("--png", str(charts), "--csv", str(tables)) == 0
    assert {path.name for path in charts.iterdir()} == CHARTS
    for name, colours in CHART_COLOURS.items():
        data = (charts / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), name
        assert len(data) > 12_000, f"{name} is {len(data)} bytes: an empty chart?"
        with Image.open(charts / name) as image:
            assert image.size == (1080, 576)
            pixels = Counter(image.convert("RGB").getdata())
        for colour in colours:
            drawn = pixels[ImageColor.getrgb(colour)]
            assert drawn > 500, f"{name}: {drawn} pixels of {colour}, its bars or lines"
    missing = [w for w in recwarn if "missing from font" in str(w.message)]
    assert not missing, "every Chinese label has its glyphs"
    days = (tables / "kefu-days-2026-09-21-2026-09-23.csv").read_text(encoding="utf-8-sig")
    assert days.splitlines()[0].startswith("day,contacts,resolved")
    assert days.splitlines()[1].startswith("2026-09-21,2,1,0,1,0.5")
    assert {p.name for p in tables.iterdir()} == {
        f"kefu-{t}-2026-09-21-2026-09-23.csv" for t in ("days", "reasons", "agents", "gaps")
    }
    assert str(charts / "hours.png") in capsys.readouterr().out


def test_english_charts_and_an_empty_range_still_draw(
    cli_redis: SyncRedis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert (
        main(
            [
                "report",
                "--since",
                "2020-01-01",
                "--until",
                "2020-01-02",
                "--language",
                "en",
                "--png",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Service reports" in out and "None" in line_with(out, "Containment")
    assert {path.name for path in tmp_path.iterdir()} == CHARTS


def test_report_ranges_read_as_calendar_days_hours_or_dates():
    now = time.mktime((2026, 9, 23, 15, 30, 0, 0, 0, -1))
    assert report_range("7d", None, now) == (range_of_days(7, now)[0], now)
    assert report_range("1d", None, now)[0] == time.mktime((2026, 9, 23, 0, 0, 0, 0, 0, -1))
    assert report_range("24h", None, now) == (now - 86400, now)
    since, until = report_range("2026-09-01", date(2026, 9, 2), now)
    assert since == time.mktime((2026, 9, 1, 0, 0, 0, 0, 0, -1))
    assert 0 < time.mktime((2026, 9, 3, 0, 0, 0, 0, 0, -1)) - until < 1


@pytest.mark.parametrize("since", ["7", "7w", "0d", "yesterday", "2026-13-01"])
def test_a_range_it_cannot_read_is_refused(since: str, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as refused:
        main(["report", "--since", since])
    assert refused.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err
