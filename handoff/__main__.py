"""python -m handoff agents add|set|list|remove: manage the agents who log in to the console.

python -m handoff agents add wang --teams after_sale,complaints --capacity 4
python -m handoff agents set wang --capacity 5        # change without a new password
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from redis.asyncio import Redis

from core import settings as settings_module
from core.keys import Keys
from handoff.agents import DEFAULT_CAPACITY, Agent, AgentDirectory, AgentRole
from handoff.models import TEAMS

_TEAMS_HELP = f"comma-separated, of {','.join(TEAMS)} (default pre_sale,after_sale)"
_CAPACITY_HELP = f"open conversations at once (default {DEFAULT_CAPACITY})"


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
    args = parser.parse_args(argv)
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
