"""``python -m faq check``: validate faq/kb (or --kb DIR) and print every problem as
file:line: message.

The retriever's offline measures (scores on a labelled file, speed and memory) are
``python -m tools.faq eval | bench``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faq.knowledge import KB_DIR, KnowledgeBaseError, load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faq", description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=KB_DIR, help="knowledge-base directory")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate the knowledge base")
    args = parser.parse_args(argv)
    return check(args.kb)


def check(kb_dir: Path) -> int:
    try:
        knowledge = load(kb_dir)
    except KnowledgeBaseError as error:
        for problem in error.problems:
            print(problem)
        print(f"{len(error.problems)} problem(s) in {kb_dir}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{kb_dir}: {error}")
        return 1
    print(f"{kb_dir}: {len(knowledge.entries)} entries, {len(knowledge.policy)} policy values: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
