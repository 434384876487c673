"""python -m tools.delivery (make bench-delivery): many customers at once against a system of
its own (``tools.launch``: embedded Redis, Rasa, actions, kefu on free ports). Prints what was
sent, accepted, lost, taken twice, out of order and unanswered, and how fast."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from tools.delivery.load import run_load
from tools.launch import launch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.delivery", description=__doc__)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10, help="per customer")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kefu-delivery-") as scratch:
        system = launch(Path(scratch))
        try:
            print(f"system up in {system.wait_until_up(300):.0f} s")
            report = asyncio.run(
                run_load(system.url, system.redis_url, args.customers, args.messages)
            )
        finally:
            system.stop()
    for line in report.lines():
        print(line)
    failed = (
        report.total("lost")
        or report.total("twice")
        or report.total("out_of_order")
        or report.total("unanswered")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
