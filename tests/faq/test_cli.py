from pathlib import Path

from faq.__main__ import main


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
