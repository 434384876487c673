import pytest

from handoff.signals import compute_signals, detect_language, load_rules


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("再不处理我就打12315投诉你们", "crisis_keyword"),
        ("我要找律师起诉", "crisis_keyword"),
        ("转人工", "explicit_request"),
        ("I want to talk to a human", "explicit_request"),
    ],
)
def test_rules_fire_on_their_keywords(rules, text, rule):
    escalation = compute_signals(text, rules).escalation
    assert escalation is not None and escalation.rule_id == rule


@pytest.mark.parametrize("text", ["我想退货", "什么时候发货", "你好", "2025110300012"])
def test_calm_questions_do_not_escalate(rules, text):
    assert compute_signals(text, rules).escalation is None


def test_crisis_outranks_a_plain_request(rules):
    escalation = compute_signals("转人工，不然我去消协投诉", rules).escalation
    assert escalation is not None and escalation.team == "supervisor" and escalation.priority == 3


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("什么时候发货", "zh"),
        ("When will you ship?", "en"),
        ("能 refund 吗", "zh"),
        ("123456", "zh"),
    ],
)
def test_language(text, language):
    assert detect_language(text) == language
