import json
from pathlib import Path

import pytest

from tools.real.agreement import SECOND, agreement
from tools.real.dataset import LABELS, split_of


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


def test_the_second_labels_cover_dev_sessions_and_every_labelled_test_turn():
    rows = [json.loads(line) for line in SECOND.read_text().splitlines()]
    assert all(set(r) == {"session", "turn", "handoff", "angry"} for r in rows)  # never text
    test_labels = [json.loads(line) for line in LABELS.read_text().splitlines() if line]
    test_turns = {
        (r["session"], r["turn"]) for r in test_labels if split_of(r["session"]) == "test"
    }
    assert {
        (r["session"], r["turn"]) for r in rows if split_of(r["session"]) == "test"
    } == test_turns
    dev = agreement(split="dev")["handoff"]["turns"]
    assert dev >= 500 and dev + len(test_turns) == agreement()["handoff"]["turns"] == len(rows)


def test_a_turn_the_first_labeller_never_saw_is_refused(tmp_path: Path):
    first = write(tmp_path / "a.jsonl", [{"session": "s", "turn": 0, "handoff": 1, "angry": 0}])
    second = write(tmp_path / "b.jsonl", [{"session": "t", "turn": 0, "handoff": 1, "angry": 0}])
    with pytest.raises(ValueError, match="not labelled"):
        agreement(first, second)
