import json
from pathlib import Path

from faq.__main__ import main


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


def test_check_passes_on_the_shipped_knowledge_base(capsys):
    assert main(["check"]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_prints_each_problem_with_file_and_line(kb_copy: Path, capsys):
    shipping = kb_copy / "shipping.yml"
    text = shipping.read_text(encoding="utf-8")
    shipping.write_text(text.replace("{dispatch_hours}", "{dispatch_days}", 1), encoding="utf-8")
    (kb_copy / "broken.yml").write_text("- id: x\n  question: [unclosed\n", encoding="utf-8")
    assert main(["--kb", str(kb_copy), "check"]) == 1
    out = capsys.readouterr().out
    assert (
        f"{shipping}:2: entry 'dispatch_time' uses unknown policy value(s) ['dispatch_days']" in out
    )
    assert f"{kb_copy / 'broken.yml'}:3: not valid YAML" in out
