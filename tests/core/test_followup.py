"""A vague follow-up continues the topic in play; a message with its own meaning does not."""

from __future__ import annotations

from core.followup import resolve

ORDER = ["order_logistics"]


def test_a_vague_message_after_an_order_question_continues_it() -> None:
    ranking = [("nlu_fallback", 0.5), ("order_status", 0.2), ("faq", 0.1)]
    assert resolve("nlu_fallback", ranking, "那现在呢", ORDER) == "order_logistics"


def test_a_short_follow_up_read_as_out_of_scope_continues_it_but_small_talk_does_not() -> None:
    ranking = [("out_of_scope", 0.8)]
    assert resolve("out_of_scope", ranking, "那要多久", ORDER) == "order_logistics"
    assert resolve("out_of_scope", ranking, "今天天气好吗", ORDER) is None


def test_a_message_with_a_meaning_of_its_own_keeps_its_fallback() -> None:
    for own in ("request_human", "complain", "bot_challenge", "thanks"):
        ranking = [("nlu_fallback", 0.5), (own, 0.3)]
        assert resolve("nlu_fallback", ranking, "嗯嗯挺好", ORDER) is None


def test_without_a_topic_in_play_nothing_changes() -> None:
    ranking = [("nlu_fallback", 0.5), ("faq", 0.2)]
    assert resolve("nlu_fallback", ranking, "那现在呢", ["greet", "thanks"]) is None
    assert resolve("faq", [("faq", 0.9)], "那运费呢", ORDER) is None  # confident: stays


def test_a_question_that_points_back_continues_the_topic_whatever_weak_guess_there_was() -> None:
    # A retrained classifier may put a courtesy or "stop" just above the own-meaning bar.
    ranking = [("nlu_fallback", 0.5), ("stop", 0.26), ("affirm", 0.24)]
    for question in ("那现在呢", "那要多久", "还有呢?", "那什么时候到"):
        assert resolve("nlu_fallback", ranking, question, ORDER) == "order_logistics"
    # Pointing back without asking keeps its own meaning: 那算了 stops.
    assert resolve("nlu_fallback", ranking, "那算了", ORDER) is None
