import json
from pathlib import Path

from faq.knowledge import KB_DIR, load
from tools.faq.__main__ import main, synthetic_knowledge


def write_jsonl(path: Path, rows: list[tuple[str, str | None]]) -> Path:
    path.write_text(
        "".join(json.dumps({"text": t, "faq_id": i}, ensure_ascii=False) + "\n" for t, i in rows),
        encoding="utf-8",
    )
    return path


def test_eval_prints_the_scores_and_the_misses(tmp_path: Path, capsys):
    dev = write_jsonl(
        tmp_path / "tiny.jsonl",
        [
            ("亲 包邮吗", "free_shipping"),
            ("能开发票吗", "invoice"),
            ("我的快递到哪了", None),
            ("讲个笑话", None),
            ("能开发票吗亲", "discount"),  # labelled wrong on purpose: it must show as a miss
        ],
    )
    assert main(["eval", str(dev), "--cache", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    assert "examples: 5 (3 with an entry, 2 without)" in out
    assert "top-1: 0.667" in out
    assert "no-match precision: 1.000  recall: 1.000" in out
    assert "line 5: '能开发票吗亲' (expected discount) -> answer ['invoice']" in out


def test_eval_reports_a_bad_line(tmp_path: Path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "包邮吗", "faq_id": "free_shipping"}\nnot json\n', encoding="utf-8")
    assert main(["eval", str(bad)]) == 1
    assert f"{bad}:2:" in capsys.readouterr().err


def test_the_benchmark_indexes_distinct_entries_made_from_the_real_ones():
    knowledge = load(KB_DIR)
    synthetic = synthetic_knowledge(knowledge, 50)
    assert len({e.id for e in synthetic.entries}) == len({e.question for e in synthetic.entries})
    assert len(synthetic.entries) == 50 and synthetic.policy == knowledge.policy
