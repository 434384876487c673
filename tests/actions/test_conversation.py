"""What the actions read from the tracker: applied events, so a message the two-stage fallback
rewound does not count, except where counting those is the point."""

from actions.conversation import (
    latest_customer_event,
    latest_message,
    latest_text,
    misunderstood_in_a_row,
    open_problems,
    previous_question,
    reply_language,
    router_metadata,
)
from tests.actions.conftest import tracker


def user(intent: str, text: str = "...", **extra) -> dict:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": 0.4}},
        **extra,
    }


LISTEN = {"event": "action", "name": "action_listen"}
REVERTED = {"event": "rewind"}  # UserUtteranceReverted, as the tracker holds it


def test_a_rewound_complaint_is_not_an_open_problem():
    # The customer's 不要了 was first read as a complaint, rewound, and replayed as a cancel.
    events = [LISTEN, user("complain"), REVERTED, LISTEN, user("order_cancel")]
    assert open_problems(tracker(events=events), "return") == {"return", "cancel"}
    kept = [user("complain"), user("order_cancel")]
    assert open_problems(tracker(events=kept), "return") == {"return", "cancel", "complaint"}


def test_the_messages_the_fallback_could_not_place_are_counted_though_rewound():
    events = [
        *(LISTEN, user("greet")),
        *(LISTEN, user("nlu_fallback"), REVERTED),
        *(LISTEN, user("nlu_fallback"), REVERTED),
    ]
    assert misunderstood_in_a_row(tracker(events=events)) == 2


def test_the_latest_customer_message_carries_kefus_id():
    events = [user("greet", message_id="m-1"), {"event": "bot", "text": "您好"}]
    assert latest_customer_event(tracker(events=events))["message_id"] == "m-1"
    assert latest_customer_event(tracker(events=[])) is None


def test_the_reply_language_is_english_only_when_the_slot_says_so():
    assert reply_language(tracker(slots={"language": "en"})) == "en"
    assert [reply_language(tracker(slots={"language": v})) for v in ("zh", None, "ja")] == [
        "zh",
        "zh",
        "zh",
    ]


def test_the_latest_message_is_read_in_one_place():
    latest = tracker("还有货吗", entities=[{"entity": "product", "value": "吹风机"}])
    assert latest_message(latest)["entities"] == [{"entity": "product", "value": "吹风机"}]
    assert latest_text(latest) == "还有货吗"


def test_the_previous_question_is_the_customers_own_message_before_this_one():
    events = [
        user("faq", "退货运费谁出"),
        {"event": "bot", "text": "..."},
        user("faq", '/faq{"faq_id":"return_policy"}'),  # a button: not the customer's words
        user("faq", "EXTERNAL: handback"),
        user("faq", "那我自己先垫付是吧"),
    ]
    assert previous_question(tracker(events=events)) == "退货运费谁出"
    assert previous_question(tracker(events=[user("faq", "退货运费谁出")])) == ""
    handed = [user("faq", "退货运费谁出"), {"event": "action", "name": "action_handoff"}]
    assert previous_question(tracker(events=[*handed, user("faq", "那我先垫付吧")])) == ""


def test_what_the_router_read_in_a_rewound_message_still_decides_the_hand_over():
    # An angry message read as nlu_fallback; the router's rule fired, and the escalate intent
    # that followed made the two-stage fallback rewind the customer's message.
    angry = {"signals": {"escalation": {"rule_id": "angry"}}, "channel": "web"}
    events = [
        *(LISTEN, user("nlu_fallback", "都一周了还不发货 垃圾", metadata=angry), REVERTED),
        *(LISTEN, user("escalate", "EXTERNAL: escalate", metadata={"is_external": True})),
    ]
    assert router_metadata(tracker(events=events)) == angry
    later = {"signals": {"escalation": None}, "channel": "web"}
    assert router_metadata(tracker(events=[*events, user("greet", metadata=later)])) == later


def test_the_packet_keeps_a_rewound_message_and_a_replayed_one_once():
    from actions.conversation import transcript

    asked = {"event": "bot", "text": "您是想问物流吗?"}
    events = [
        # read as nlu_fallback, the customer confirmed the topic: replayed with the same id
        *(LISTEN, user("nlu_fallback", "东西呢", message_id="m-1"), asked, REVERTED),
        *(LISTEN, user("order_logistics", "东西呢", message_id="m-1")),
        # read as nlu_fallback, then a rule handed the conversation over: rewound, not replayed
        *(LISTEN, user("nlu_fallback", "垃圾店铺", message_id="m-2"), asked, REVERTED),
        *(LISTEN, user("escalate", "EXTERNAL: escalate")),
    ]
    turns = transcript(tracker(events=events))
    assert [(t.role, t.text, t.intent) for t in turns] == [
        ("customer", "东西呢", "order_logistics"),
        ("bot", "您是想问物流吗?", ""),
        ("customer", "垃圾店铺", "nlu_fallback"),
        ("bot", "您是想问物流吗?", ""),
    ]
