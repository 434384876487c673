"""python -m tools.real.agreement: how far two careful people agree on who should be handed over.

``second_labeller.jsonl`` labels customer turns again, ``handoff`` and ``angry`` only: 508 (every
turn of 80 dev sessions) and 984 (every labelled turn of the 162 test sessions), by labellers
who never saw ``labels.jsonl``, with the same rules (LABELLING.md). Their agreement, as F1 of
one against the other, is the ceiling an escalation score can be read against: a system cannot
be expected to agree with the labels more than people do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tools.real.dataset import LABELS, split_of
from tools.real.scoring import f1, ratio

SECOND = Path(__file__).with_name("second_labeller.jsonl")
FIELDS = ("handoff", "angry")


def agreement(
    first: Path = LABELS, second: Path = SECOND, split: str | None = None
) -> dict[str, dict[str, float]]:
    """Per field: turns, positives of each labeller, both, and F1 of one against the other;
    over the turns of one split (dev, test) when ``split`` is given."""

    def read(path: Path) -> dict[tuple[str, int], dict[str, bool]]:
        rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
        return {(r["session"], int(r["turn"])): r for r in rows}

    ours, theirs = read(first), read(second)
    turns = sorted(t for t in theirs if split is None or split_of(t[0]) == split)
    missing = [t for t in turns if t not in ours]
    if missing:
        raise ValueError(f"{len(missing)} turns of {second.name} are not labelled in {first.name}")
    report = {}
    for field in FIELDS:
        a = sum(bool(ours[t][field]) for t in turns)
        b = sum(bool(theirs[t][field]) for t in turns)
        both = sum(bool(ours[t][field]) and bool(theirs[t][field]) for t in turns)
        report[field] = {
            "turns": len(turns),
            "first": a,
            "second": b,
            "both": both,
            "f1": f1(ratio(both, a), ratio(both, b)),
        }
    return report


def main() -> int:
    for split in ("dev", "test", None):
        for field, numbers in agreement(split=split).items():
            print(
                f"{split or 'both'} {field}: {numbers['turns']:.0f} turns, first labeller "
                f"{numbers['first']:.0f}, second {numbers['second']:.0f}, both "
                f"{numbers['both']:.0f}: F1 {numbers['f1']:.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
