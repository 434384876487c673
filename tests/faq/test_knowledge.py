from pathlib import Path

import pytest

from faq.knowledge import KnowledgeBaseError, load

KB_DIR = Path(__file__).resolve().parents[2] / "faq" / "kb"
POLICY = "dispatch_hours: 48\nreturn_window_days: 7\n"
ENTRY = """\
- id: {id}
  question: {question}
  paraphrases:
    zh: [{paraphrase}]
    en: ["When do you ship?"]
  answer:
    zh: "{answer}"
    en: "We ship within {{dispatch_hours}} hours."
"""


def write_kb(directory: Path, *entries: str) -> Path:
    (directory / "policy.yml").write_text(POLICY, encoding="utf-8")
    (directory / "shop.yml").write_text("".join(entries), encoding="utf-8")
    return directory


def test_shipped_knowledge_base_loads_with_policy_values_filled_in():
    knowledge = load(KB_DIR)
    dispatch = knowledge.entry("dispatch_time")
    assert "48 小时" in dispatch.answers["zh"] and "{" not in dispatch.answers["zh"]
    assert dispatch.answers["en"]


def test_a_policy_value_changes_every_answer_that_uses_it(tmp_path: Path):
    write_kb(
        tmp_path,
        ENTRY.format(
            id="a", question="几天发货", paraphrase="多久发", answer="{dispatch_hours} 小时内发货"
        ),
    )
    (tmp_path / "policy.yml").write_text("dispatch_hours: 36\n", encoding="utf-8")
    assert load(tmp_path).entry("a").answers["zh"] == "36 小时内发货"


def test_problems_are_reported_with_file_and_line(tmp_path: Path):
    write_kb(
        tmp_path,
        ENTRY.format(
            id="a", question="几天发货", paraphrase="多久发", answer="{dispatch_hours} 小时"
        ),
        ENTRY.format(id="a", question="能退吗", paraphrase="多久发", answer="{refund_days} 天"),
        "- id: b\n  question: 包邮吗\n  answer:\n    en: Free shipping over 99 yuan\n",
    )
    with pytest.raises(KnowledgeBaseError) as raised:
        load(tmp_path)
    problems = "\n".join(raised.value.problems)
    assert f"{tmp_path / 'shop.yml'}:9: duplicate id 'a'" in problems
    assert "duplicate question '多久发'" in problems
    assert "unknown policy value(s) ['refund_days']" in problems
    assert "entry 'b' has no zh answer" in problems
