"""python -m handoff agents add|list|remove: manage the agents who log in to the console."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from redis.asyncio import Redis

from bot import settings as settings_module
from handoff.agents import AgentDirectory, AgentRole
from handoff.keys import Keys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handoff", description=__doc__)
    groups = parser.add_subparsers(dest="group", required=True)
    agents = groups.add_parser("agents").add_subparsers(dest="command", required=True)
    add = agents.add_parser("add", help="add or update an agent (asks for the password)")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in AgentRole], default=AgentRole.AGENT.value)
    add.add_argument("--display-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
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
        if args.command == "add":
            try:
                agent = await directory.add(
                    args.name, args.password, AgentRole(args.role), args.display_name
                )
            except ValueError as error:
                print(error, file=sys.stderr)
                return 2
            print(f"saved {agent.name} ({agent.role.value})")
        elif args.command == "list":
            for agent in await directory.list():
                print(f"{agent.name}\t{agent.role.value}\t{agent.display_name}")
        elif not await directory.remove(args.name):
            print(f"no agent {args.name}", file=sys.stderr)
            return 1
    finally:
        await redis.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
