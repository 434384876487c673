"""python -m bot run | serve | customer-link CUSTOMER_ID"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from urllib.parse import urlencode

from aiohttp import web

from bot.runner import run
from bot.server import create_app
from bot.webchat import customer_signature
from core import settings as settings_module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="the whole system: Redis, Rasa, actions and the kefu server")
    commands.add_parser("serve", help="only the kefu server (the runner starts it)")
    link = commands.add_parser(
        "customer-link", help="a web chat link for a logged-in shop customer (try order flows)"
    )
    link.add_argument("customer_id")
    args = parser.parse_args(argv)
    settings = settings_module.load().with_secrets()
    if args.command == "customer-link":
        signature = customer_signature(settings.secret, args.customer_id)
        query = urlencode({"customer": args.customer_id, "sig": signature})
        print(f"{settings.kefu_url}/chat?{query}")
        return 0
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            print=None,
            # Several kefu processes on one port (KEFU_WORKERS): the kernel spreads connections.
            reuse_port=settings.workers > 1,
        )
        return 0
    return asyncio.run(run(settings, _say))


def _say(line: str) -> None:
    """Print, but never let a closed terminal or pipe stop the runner from stopping its children."""
    with contextlib.suppress(OSError):
        print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
