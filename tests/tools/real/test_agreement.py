import json
from pathlib import Path

import pytest

from tools.real.agreement import SECOND, agreement
from tools.real.dataset import split_of


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_agreement_is_f1_of_one_labeller_against_the_other(tmp_path: Path):
    first = write(
        tmp_path / "a.jsonl",
        [{"session": "s", "turn": i, "handoff": i < 2, "angry": False} for i in range(4)],
    )
    second = write(
        tmp_path / "b.jsonl",
        [{"session": "s", "turn": i, "handoff": i in (1, 2), "angry": False} for i in range(4)],
    )
    report = agreement(first, second)
    assert report["handoff"] == {"turns": 4, "first": 2, "second": 2, "both": 1, "f1": 0.5}
    assert report["angry"]["f1"] == 0.0


def test_the_second_labels_cover_labelled_dev_turns_only():
    rows = [json.loads(line) for line in SECOND.read_text().splitlines()]
    assert len(rows) >= 500 and {split_of(r["session"]) for r in rows} == {"dev"}
    assert set(rows[0]) == {"session", "turn", "handoff", "angry"}  # labels, never text
    report = agreement()
    assert report["handoff"]["turns"] == len(rows)


def test_a_turn_the_first_labeller_never_saw_is_refused(tmp_path: Path):
    first = write(tmp_path / "a.jsonl", [{"session": "s", "turn": 0, "handoff": 1, "angry": 0}])
    second = write(tmp_path / "b.jsonl", [{"session": "t", "turn": 0, "handoff": 1, "angry": 0}])
    with pytest.raises(ValueError, match="not labelled"):
        agreement(first, second)
