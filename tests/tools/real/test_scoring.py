"""The real-chat numbers, from per-turn outcomes."""

from __future__ import annotations

import pytest

from tools.real import scoring
from tools.real.dataset import Turn


def _turn(intent: str, *, faq_id: str | None = None, handoff: bool = False,
          angry: bool = False, context: bool = False) -> Turn:  # fmt: skip
    return Turn("s", 0, "text", (), intent, faq_id, handoff, angry, context, split="dev")


def _outcome(turn: Turn, intent: str, *, faq: str = "no_match", offered: tuple[str, ...] = (),
             rules: tuple[str, ...] = (), anger: float = 0.0) -> scoring.Outcome:  # fmt: skip
    return scoring.Outcome(turn, "text", intent, 0.9, faq, offered, rules, anger)


def test_intent_accuracy_and_macro_f1_count_in_scope_turns_only() -> None:
    outcomes = [
        _outcome(_turn("greet"), "greet"),
        _outcome(_turn("faq"), "faq"),
        _outcome(_turn("faq", context=True), "greet"),
        _outcome(_turn("out_of_scope"), "faq"),
    ]
    scores = scoring.intent_scores(outcomes)
    assert scores["turns"] == 3
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["standalone_accuracy"] == 1.0
    # greet: P 1/2 R 1 -> 2/3; faq: P 1 R 1/2 -> 2/3
    assert scores["macro_f1"] == pytest.approx(2 / 3)


def test_out_of_scope_ends_honestly_in_a_fallback_a_person_or_no_faq_answer() -> None:
    outcomes = [
        _outcome(_turn("out_of_scope"), "nlu_fallback"),
        _outcome(_turn("out_of_scope"), "request_human"),
        _outcome(_turn("out_of_scope"), "faq", faq="no_match"),
        _outcome(_turn("out_of_scope"), "faq", faq="answer", offered=("invoice",)),
    ]
    assert scoring.out_of_scope_score(outcomes)["honest"] == 0.75


def test_faq_outcomes_count_a_clarification_with_the_entry_as_half_right() -> None:
    known = {"invoice", "coupon"}
    outcomes = [
        _outcome(_turn("faq", faq_id="invoice"), "faq", faq="answer", offered=("invoice",)),
        _outcome(
            _turn("faq", faq_id="invoice"), "faq", faq="clarify", offered=("coupon", "invoice")
        ),
        _outcome(_turn("faq", faq_id="coupon"), "faq", faq="answer", offered=("invoice",)),
        _outcome(_turn("faq", faq_id="coupon"), "faq", faq="no_match"),
        _outcome(_turn("faq", faq_id="none"), "faq", faq="answer", offered=("invoice",)),
    ]
    scores = scoring.faq_scores(outcomes, known)
    assert scores["right_rate"] == pytest.approx(1.5 / 4)
    assert scores["wrong_rate"] == pytest.approx(1 / 4)
    assert scores["not_in_kb_wrong_rate"] == 1.0


def test_escalation_counts_rules_and_the_intents_that_hand_over() -> None:
    outcomes = [
        _outcome(_turn("faq", handoff=True), "faq", rules=("dispute",)),
        _outcome(_turn("request_human", handoff=True), "request_human"),
        _outcome(_turn("faq", handoff=True), "faq"),
        _outcome(_turn("faq"), "complain"),
    ]
    scores = scoring.escalation_scores(outcomes)
    assert (scores["precision"], scores["recall"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3))


def test_anger_false_alarms_are_calm_turns_at_the_threshold() -> None:
    outcomes = [
        _outcome(_turn("deny"), "deny", anger=0.9),
        _outcome(_turn("deny"), "deny", anger=0.2),
        _outcome(_turn("complain", angry=True), "complain", anger=0.95),
    ]
    scores = scoring.anger_false_alarms(outcomes, 0.85)
    assert (scores["alarms"], scores["calm"], scores["angry_caught"]) == (1, 2, 1.0)


def _session_turn(session: str, index: int, *, handoff: bool = False) -> Turn:
    return Turn(session, index, "text", (), "faq", None, handoff, False, False, split="dev")


def test_escalation_per_conversation_counts_a_conversation_once_handed_over() -> None:
    outcomes = [
        # needed a person at turn 1; handed over at turn 0 already, turn 2's miss is moot
        _outcome(_session_turn("a", 0), "faq", rules=("dispute",)),
        _outcome(_session_turn("a", 1, handoff=True), "faq"),
        _outcome(_session_turn("a", 2, handoff=True), "faq"),
        # needed at turn 0, handed over only at turn 1: served, late
        _outcome(_session_turn("b", 1), "request_human"),
        _outcome(_session_turn("b", 0, handoff=True), "faq"),
        # needed, never handed over
        _outcome(_session_turn("c", 0, handoff=True), "faq"),
        # handed over, never needed
        _outcome(_session_turn("d", 0), "complain"),
        # neither
        _outcome(_session_turn("e", 0), "faq"),
    ]
    scores = scoring.session_escalation_scores(outcomes)
    assert (scores["sessions"], scores["needed"], scores["handed"]) == (5, 3, 3)
    assert (scores["served"], scores["late"]) == (2, 1)
    assert (scores["precision"], scores["recall"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
