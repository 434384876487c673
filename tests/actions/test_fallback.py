"""The two-stage fallback's clarifying question and its give-up, with the real domain."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionAskAffirmation, ActionDefaultFallback

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "domain"


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for path in DOMAIN_DIR.glob("*.yml"):
        responses |= yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}
    return {"responses": responses}


def unclear(text: str, ranking: list[tuple[str, float]], *, language: str = "zh", entities=()):
    message = {
        "text": text,
        "intent": {"name": "nlu_fallback", "confidence": 1.0},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        "entities": list(entities),
    }
    events = [{"event": "user", "text": text, "parse_data": message}]
    return Tracker(
        "web-x", {"language": language}, message, events, False, None, {}, "action_listen"
    )


async def test_the_clarifying_question_offers_the_likeliest_topics(domain):
    tracker = unclear(
        "那个单子咋整",
        [
            ("nlu_fallback", 1.0),
            ("order_status", 0.41),
            ("order_cancel", 0.33),
            ("faq", 0.12),
            ("greet", 0.01),
        ],
        entities=[{"entity": "order_id", "value": "2025110300012"}],
    )
    dispatcher = CollectingDispatcher()
    await ActionAskAffirmation().run(dispatcher, tracker, domain)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_ask_affirmation"
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == [
        '/order_status{"order_id": "2025110300012"}',
        '/order_cancel{"order_id": "2025110300012"}',
        '/faq{"order_id": "2025110300012"}',
        "/out_of_scope",
    ]
    titles = [b["title"] for b in message["buttons"]]
    assert (
        all(titles)
        and titles[-1] == domain["responses"]["utter_intent_title_out_of_scope"][-1]["text"]
    )


async def test_titles_follow_the_customers_language(domain):
    tracker = unclear("hmm the thing", [("order_status", 0.5), ("faq", 0.3)], language="en")
    dispatcher = CollectingDispatcher()
    await ActionAskAffirmation().run(dispatcher, tracker, domain)
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert titles[0] == domain["responses"]["utter_intent_title_order_status"][0]["text"]
    assert not any("\u4e00" <= ch <= "\u9fff" for title in titles for ch in title)


async def test_two_misunderstandings_in_a_row_hand_over_to_a_person(domain):
    first = {
        "event": "user",
        "text": "嗯嗯那个",
        "parse_data": {"intent": {"name": "nlu_fallback"}},
    }
    tracker = unclear("就是那个啊", [("faq", 0.2)])
    tracker.events.insert(0, first)
    dispatcher = CollectingDispatcher()
    events = await ActionDefaultFallback().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_default_handoff"
    assert {"event": "followup", "timestamp": None, "name": "action_handoff"} in events
    slot = next(e for e in events if e.get("name") == "case_escalation")
    assert slot["value"]["rule_id"] == "fallbacks_in_a_row"


async def test_one_misunderstanding_only_offers_a_person(domain):
    understood = {"event": "user", "text": "你好", "parse_data": {"intent": {"name": "greet"}}}
    tracker = unclear("就是那个啊", [("faq", 0.2)])
    tracker.events.insert(0, understood)
    dispatcher = CollectingDispatcher()
    events = await ActionDefaultFallback().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_default"
    assert events == [{"event": "rewind", "timestamp": None}], "then the bot listens"
