"""What a turn's reading says about the message: FAQ outcome, fallback, topic, unanswered."""

import json

from core.facts import (
    ContactFact,
    ContactOutcome,
    FaqOutcome,
    TicketFact,
    TurnReading,
    contact_outcome,
    is_recontact,
    reading_from_header,
)


def test_a_faq_answer_names_its_entry_and_is_the_topic():
    reading = TurnReading("faq", 0.97, ["action_answer_faq"], [""], faq_entries=["return_policy"])
    assert reading.faq is FaqOutcome.ANSWERED
    assert reading.topic == "faq:return_policy"
    assert not reading.fallback and not reading.unanswered


def test_a_clarifying_question_and_an_unknown_question_are_unanswered():
    clarified = TurnReading("faq", 0.8, ["action_answer_faq"], ["utter_faq_clarify"])
    unknown = TurnReading("faq", 0.8, ["action_answer_faq"], ["utter_faq_unknown"])
    assert clarified.faq is FaqOutcome.CLARIFIED and clarified.unanswered
    assert unknown.faq is FaqOutcome.NO_MATCH and unknown.unanswered
    assert clarified.topic == unknown.topic == ""  # no entry: no topic to come back to


def test_fallbacks_by_intent_or_by_action():
    assert TurnReading("nlu_fallback", 0.3).fallback
    assert TurnReading("greet", 0.9, ["action_default_fallback"]).fallback
    assert TurnReading("order_status", 0.9, ["order_status_form"]).topic == "order_status"
    assert not TurnReading("order_status", 0.9, ["order_status_form"]).unanswered
    assert TurnReading("greet", 0.99).topic == ""


def test_the_header_is_read_and_a_broken_one_reads_as_nothing():
    header = json.dumps(
        {
            "intent": "faq",
            "confidence": 0.9,
            "actions": ["action_answer_faq"],
            "responses": [None],
            "faq_entries": ["invoice"],
        }
    )
    assert reading_from_header(header) == TurnReading(
        "faq", 0.9, ["action_answer_faq"], [""], ["invoice"]
    )
    for broken in (None, "", "not json", "[1, 2]", '{"confidence": "high"}'):
        assert reading_from_header(broken) == TurnReading()


def test_contact_outcomes():
    assert contact_outcome(tickets=["T1"], unanswered=True, asked_for_person=True) is (
        ContactOutcome.HANDED_OVER
    )
    assert contact_outcome(tickets=[], unanswered=False, asked_for_person=False) is (
        ContactOutcome.RESOLVED
    )
    assert contact_outcome(tickets=[], unanswered=True, asked_for_person=False) is (
        ContactOutcome.ABANDONED
    )
    # Asked for a person and got none: the bot failed, whatever came after.
    assert contact_outcome(tickets=[], unanswered=False, asked_for_person=True) is (
        ContactOutcome.ABANDONED
    )


def _contact(topic: str, ended_at: float) -> ContactFact:
    return ContactFact(
        "c@1", "web-1", "web-1", "rest", ended_at - 60, ended_at, 2, topic, [], "resolved", False
    )


def test_a_recontact_is_the_same_topic_within_a_day_or_a_week():
    earlier = _contact("faq:invoice", ended_at=1_000_000.0)
    assert is_recontact(earlier, 1_000_000.0 + 3600, "faq:invoice") == "24h"
    assert is_recontact(earlier, 1_000_000.0 + 3 * 86400, "faq:invoice") == "7d"
    assert is_recontact(earlier, 1_000_000.0 + 8 * 86400, "faq:invoice") == ""
    assert is_recontact(earlier, 1_000_000.0 + 3600, "order_status") == ""
    assert is_recontact(_contact("", 1_000_000.0), 1_000_000.0 + 60, "") == ""


def test_records_survive_json_and_ignore_fields_they_do_not_know():
    ticket = TicketFact(
        "T1",
        "web-1",
        "rest",
        "after_sale",
        "angry",
        100.0,
        "closed",
        claimed_at=110.0,
        first_response_at=125.0,
        closed_at=400.0,
    )
    assert TicketFact.from_json(ticket.to_json()) == ticket
    assert (ticket.wait_seconds, ticket.first_response_seconds, ticket.handle_seconds) == (
        10.0,
        25.0,
        290.0,
    )
    newer = json.loads(ticket.to_json()) | {"a_field_from_a_later_version": 1}
    assert TicketFact.from_json(json.dumps(newer)) == ticket
