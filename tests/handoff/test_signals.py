import time
from pathlib import Path

import pytest

from handoff.signals import TurnSignals, compute_signals, detect_language, load_rules


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def turns(*angers: float, question: str = "") -> list[TurnSignals]:
    return [TurnSignals(time.time(), question, a, a, ()) for a in angers]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("再不处理我就打12315投诉你们", "crisis_keyword"),
        ("我要找律师起诉", "crisis_keyword"),
        ("不给解决我就给差评", "crisis_keyword"),
        ("转人工", "explicit_request"),
        ("I want to talk to a human", "explicit_request"),
        ("收到的杯子碎了", "product_problem"),
        ("少发了一件，只有上衣没有裤子", "product_problem"),
        ("发错颜色了，我买的是黑色", "product_problem"),
    ],
)
def test_keyword_rules_fire(rules, text, rule):
    escalation = compute_signals(text, rules).escalation
    assert escalation is not None and escalation.rule_id == rule


@pytest.mark.parametrize(
    "text", ["我想退货", "什么时候发货", "你好", "2025110300012", "质量问题怎么退"]
)
def test_calm_messages_do_not_escalate(rules, text):
    signals = compute_signals(text, rules, anger=0.1, negative=0.3)
    assert signals.escalation is None and signals.fired == ()


def test_crisis_outranks_everything_else(rules):
    signals = compute_signals("转人工，不然我去消协投诉", rules, anger=0.99)
    assert signals.escalation is not None
    assert signals.escalation.rule_id == "crisis_keyword"
    assert signals.escalation.team == "supervisor" and signals.escalation.priority == 3
    assert signals.fired[0] == "crisis_keyword" and {"explicit_request", "angry"} <= set(
        signals.fired
    )


def test_high_anger_escalates_to_complaints(rules):
    signals = compute_signals("你们到底怎么回事", rules, anger=0.93, negative=0.97)
    assert signals.escalation is not None and signals.escalation.rule_id == "angry"
    assert signals.escalation.team == "complaints"
    assert compute_signals("你们到底怎么回事", rules, anger=0.8).escalation is None


def test_rising_anger_over_three_turns_escalates(rules):
    rising = compute_signals("还没好吗", rules, anger=0.7, history=turns(0.2, 0.45))
    assert rising.escalation is not None and rising.escalation.rule_id == "anger_rising"
    assert rising.escalation.matched == "0.20 → 0.45 → 0.70"


@pytest.mark.parametrize(
    ("history", "anger"),
    [(turns(0.5, 0.45), 0.7), (turns(0.45), 0.7), (turns(0.1, 0.2), 0.3)],
    ids=["fell in between", "too few turns", "rising but still calm"],
)
def test_anger_that_does_not_keep_rising_does_not_escalate(rules, history, anger):
    assert compute_signals("嗯", rules, anger=anger, history=history).escalation is None


def test_the_same_question_three_times_escalates(rules):
    history = turns(0.1, 0.1, question="什么时候发货")
    signals = compute_signals("什么时候发货啊？？", rules, anger=0.1, history=history)
    assert signals.escalation is not None and signals.escalation.rule_id == "repeated_question"
    other = compute_signals("包邮吗", rules, anger=0.1, history=history)
    assert other.escalation is None
    twice = compute_signals("什么时候发货", rules, history=history[-1:])
    assert twice.escalation is None


def test_a_broken_rules_file_is_reported(tmp_path: Path):
    path = tmp_path / "rules.yml"
    path.write_text("rules:\n  - {id: x, kind: mood, priority: 1, team: t, reason: r}\n")
    with pytest.raises(ValueError, match="unknown kind 'mood'"):
        load_rules(path)


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
