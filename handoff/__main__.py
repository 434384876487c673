"""python -m handoff agents add|set|list|remove: manage the agents who log in to the console.
python -m handoff report: the service report (handoff/reports.py) as a table, charts and CSV.

python -m handoff agents add wang --teams after_sale,complaints --capacity 4
python -m handoff agents set wang --capacity 5        # change without a new password
python -m handoff report --since 7d --png var/report  # the last 7 days, with the charts
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from redis.asyncio import Redis

from core import settings as settings_module
from core.keys import Keys
from core.texts import LANGUAGES, console_texts
from handoff.agents import DEFAULT_CAPACITY, Agent, AgentDirectory, AgentRole
from handoff.facts import FactStore
from handoff.models import TEAMS
from handoff.report_table import ReportWords, report_table
from handoff.reports import CSV_TABLES, build_report, range_of_days, report_csv

_TEAMS_HELP = f"comma-separated, of {','.join(TEAMS)} (default pre_sale,after_sale)"
_CAPACITY_HELP = f"open conversations at once (default {DEFAULT_CAPACITY})"
# 7d: the last 7 calendar days, today included (as the console's report); 24h: hours back.
_BACK = re.compile(r"([1-9][0-9]*)([dh])")


def _teams(value: str) -> list[str]:
    return value.split(",")


def _describe(agent: Agent) -> str:
    return f"{agent.name}\t{agent.role.value}\t{','.join(agent.teams)}\t{agent.capacity}\t{agent.display_name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff", description=__doc__)
    groups = parser.add_subparsers(dest="group", required=True)
    agents = groups.add_parser("agents").add_subparsers(dest="command", required=True)
    add = agents.add_parser("add", help="add or update an agent (asks for the password)")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in AgentRole], default=AgentRole.AGENT.value)
    add.add_argument("--display-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--teams", type=_teams, default=None, help=_TEAMS_HELP)
    add.add_argument("--capacity", type=int, default=DEFAULT_CAPACITY, help=_CAPACITY_HELP)
    change = agents.add_parser("set", help="change an agent's teams, capacity, role or name")
    change.add_argument("name")
    change.add_argument("--teams", type=_teams, default=None, help=_TEAMS_HELP)
    change.add_argument("--capacity", type=int, default=None, help=_CAPACITY_HELP)
    change.add_argument("--role", choices=[r.value for r in AgentRole], default=None)
    change.add_argument("--display-name", default="")
    agents.add_parser("list", help="list agents")
    remove = agents.add_parser("remove", help="remove an agent")
    remove.add_argument("name")
    report = groups.add_parser(
        "report", help="the service report: a table, and the charts (PNG) and tables (CSV)"
    )
    report.add_argument(
        "--since",
        type=_since,
        default="7d",
        help="1d, 7d, 30d (calendar days, today included), 24h (hours back) or a date "
        "YYYY-MM-DD (default 7d)",
    )
    report.add_argument(
        "--until", type=_day, default=None, help="a date YYYY-MM-DD, included (default: now)"
    )
    report.add_argument("--png", type=Path, metavar="DIR", help="write the charts into DIR")
    report.add_argument("--csv", type=Path, metavar="DIR", help="write the tables into DIR")
    report.add_argument("--language", choices=LANGUAGES, default="zh")
    args = parser.parse_args(argv)
    if args.group == "report":
        return asyncio.run(_report(args))
    if args.command == "add":
        password = (
            sys.stdin.readline().rstrip("\n")
            if args.password_stdin
            else getpass.getpass("Password: ")
        )
        args.password = password
    return asyncio.run(_agents(args))


async def _agents(args: argparse.Namespace) -> int:
    settings = settings_module.load()
    redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
    directory = AgentDirectory(redis, Keys(settings.redis_prefix))
    try:
        if args.command in ("add", "set"):
            try:
                saved = await _save(directory, args)
            except ValueError as error:
                print(error, file=sys.stderr)
                return 2
            if saved is None:
                print(f"no agent {args.name}", file=sys.stderr)
                return 1
            print(f"saved {_describe(saved)}")
        elif args.command == "list":
            print("name\trole\tteams\tcapacity\tdisplay name")
            for agent in await directory.list():
                print(_describe(agent))
        elif not await directory.remove(args.name):
            print(f"no agent {args.name}", file=sys.stderr)
            return 1
    finally:
        await redis.aclose()
    return 0


def _since(value: str) -> str:
    if not _BACK.fullmatch(value):
        try:
            date.fromisoformat(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r}: not 7d, 24h or YYYY-MM-DD") from None
    return value


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: not a date YYYY-MM-DD") from None


def _midnight(day: date) -> float:
    """The day's start, shop time."""
    return time.mktime((day.year, day.month, day.day, 0, 0, 0, 0, 0, -1))


def report_range(since: str, until: date | None, now: float) -> tuple[float, float]:
    """``--since`` and ``--until`` as Unix times (``until`` included to its last moment)."""
    end = now if until is None else _midnight(until + timedelta(days=1)) - 0.001
    back = _BACK.fullmatch(since)
    if back is None:
        return _midnight(date.fromisoformat(since)), end
    amount = int(back[1])
    return (range_of_days(amount, end)[0] if back[2] == "d" else end - amount * 3600), end


async def _report(args: argparse.Namespace) -> int:
    settings = settings_module.load()
    since, until = report_range(args.since, args.until, time.time())
    if since >= until:
        print("--since must come before --until", file=sys.stderr)
        return 2
    redis = Redis.from_url(settings.effective_redis_url, decode_responses=True)
    try:
        report = await build_report(
            FactStore(redis, Keys(settings.redis_prefix)),
            since,
            until,
            first_response_target=settings.first_response_seconds,
        )
    finally:
        await redis.aclose()
    words = ReportWords(console_texts(), args.language)
    print(report_table(report, words), end="")
    span = f"{report['days'][0]}-{report['days'][-1]}"
    if args.csv:
        args.csv.mkdir(parents=True, exist_ok=True)
        for table in CSV_TABLES:
            path = args.csv / f"kefu-{table}-{span}.csv"
            # With a byte-order mark: a spreadsheet then reads the Chinese right.
            path.write_text(report_csv(report, table), encoding="utf-8-sig", newline="")
            print(path)
    if args.png:
        from handoff.report_charts import NoChineseFont, write_charts  # matplotlib: only here

        try:
            for path in write_charts(report, words, args.png):
                print(path)
        except NoChineseFont as missing:
            print(missing, file=sys.stderr)
            return 1
    return 0


async def _save(directory: AgentDirectory, args: argparse.Namespace) -> Agent | None:
    if args.command == "add":
        return await directory.add(
            args.name,
            args.password,
            AgentRole(args.role),
            args.display_name,
            teams=args.teams,
            capacity=args.capacity,
        )
    return await directory.update(
        args.name,
        teams=args.teams,
        capacity=args.capacity,
        role=AgentRole(args.role) if args.role else None,
        display_name=args.display_name,
    )


if __name__ == "__main__":
    sys.exit(main())
