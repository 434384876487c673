"""What the actions read from the conversation's tracker, in one place.

Everything is read from the applied events (``tracker.applied_events()``): the two-stage
fallback rewinds a message and replays it, so the raw event list can hold a message twice, and
a rewound message must not count (towards open problems, say). The exceptions say why.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rasa_sdk import Tracker

from core.language import EXTERNAL_PREFIXES
from core.pasted import read
from handoff.packet import Turn

# The packet shows at most this many of the orders the conversation mentioned.
MAX_ORDER_CARDS = 5
# Intents and responses that show a problem the customer has (several at once: a person).
PROBLEM_INTENTS = {"complain": "complaint", "return_request": "return", "order_cancel": "cancel"}
DELAY_RESPONSES = ("utter_order_delay_apology", "utter_order_status_delayed")
PRODUCT_PROBLEM_RULE = "product_problem"
# Where Rasa notes, on a bot event, which response produced it.
RASA_RESPONSE_KEY = "utter_action"

# The fallback's verdicts on a message it did not understand.
NOT_UNDERSTOOD = ("nlu_fallback", "out_of_scope")
# The action that gives the conversation to a person: what came before it is not in play.
HANDOFF_ACTION = "action_handoff"


def router_metadata(tracker: Tracker) -> dict[str, Any]:
    """The router's metadata on the latest customer message. Only the router sets ``signals``:
    an external intent's event carries Rasa's own metadata, and is skipped.

    Read from every event, rewound ones too: when a rule fires on a message the classifier
    could not place, the two-stage fallback asks what the customer meant, and the ``escalate``
    external intent that follows counts as the answer, so the fallback rewinds the customer's
    message; what the router read in it (an angry customer, for the complaints team) is
    still what the hand-over must go by."""
    for event in reversed(tracker.events):
        metadata = event.get("metadata") or {}
        if event.get("event") == "user" and "signals" in metadata:
            return dict(metadata)
    return {}


def channel_customer(tracker: Tracker) -> str:
    """The customer the channel vouched for (a signed shop login), or "" when anonymous: never
    anything a customer typed, since only the router writes this metadata."""
    return str(router_metadata(tracker).get("customer_id") or "")


def latest_customer_event(tracker: Tracker) -> dict[str, Any] | None:
    """The customer's latest message as its tracker event (its id, its time), or None."""
    for event in reversed(tracker.applied_events()):
        if event.get("event") == "user":
            return dict(event)
    return None


def latest_message(tracker: Tracker) -> dict[str, Any]:
    """The latest message as Rasa parsed it (text, intent ranking, entities), or {}."""
    return dict(tracker.latest_message or {})


def latest_text(tracker: Tracker) -> str:
    return str(latest_message(tracker).get("text") or "")


def reply_language(tracker: Tracker) -> str:
    """The language to answer in: English when the ``language`` slot says so, else Chinese
    (the shop's language, also for a conversation whose language is not known yet)."""
    return "en" if tracker.get_slot("language") == "en" else "zh"


def mentioned_orders(tracker: Tracker) -> list[str]:
    """The order numbers the customer gave or the flows settled on, latest last (at most 5)."""
    found: list[str] = []
    for event in tracker.applied_events():
        if event.get("event") == "user":
            entities = (event.get("parse_data") or {}).get("entities") or []
            found += [str(e["value"]) for e in entities if e.get("entity") == "order_id"]
    found += [
        str(v) for v in (tracker.get_slot("order_id"), tracker.get_slot("verified_order")) if v
    ]
    unique = list(dict.fromkeys(reversed(found)))  # latest mention first, once each
    return list(reversed(unique[:MAX_ORDER_CARDS]))


def verified_orders(tracker: Tracker) -> set[str]:
    """Every order this conversation showed to be the customer's, not only the latest one."""
    found = {
        str(event["value"])
        for event in tracker.applied_events()
        if event.get("event") == "slot"
        and event.get("name") == "verified_order"
        and event.get("value")
    }
    current = tracker.get_slot("verified_order")
    return found | {str(current)} if current else found


def faq_answers(tracker: Tracker) -> tuple[str, ...]:
    """The knowledge-base answers the bot already gave, so the agent does not repeat them."""
    answers: list[str] = []
    answering = False
    for event in tracker.applied_events():
        if event.get("event") == "action":
            answering = event.get("name") == "action_answer_faq"
        elif answering and event.get("event") == "bot" and event.get("text"):
            answers.append(str(event["text"]))
    return tuple(dict.fromkeys(answers))


def transcript(tracker: Tracker) -> list[Turn]:
    """Every customer and bot message of the conversation, with intents and confidences.

    From every event, rewound ones too: what the customer said and was told happened, even
    when the two-stage fallback rewound it (a message it could not place, followed by a
    hand-over, is rewound and never replayed; the person taking over must still read it). A
    message the fallback replayed after its rewind is one turn, read as it was in the end."""
    turns: list[Turn] = []
    replay_at: int | None = None  # after a rewind: the place of the message it may replay
    for event in tracker.events:
        metadata = event.get("metadata") or {}
        # A tapped button reached Rasa as its payload; the customer chose (and saw) its title.
        text = metadata.get("button_title") or event.get("text") or ""
        if event.get("event") == "rewind":
            said = [place for place, t in enumerate(turns) if t.role == "customer"]
            replay_at = said[-1] if said else None
        elif event.get("event") == "user" and text and not text.startswith(EXTERNAL_PREFIXES):
            intent = (event.get("parse_data") or {}).get("intent") or {}
            signals = metadata.get("signals") or {}
            turn = Turn(
                "customer",
                text,
                float(event.get("timestamp") or 0),
                intent.get("name") or "",
                float(intent.get("confidence") or 0),
                signals.get("anger"),
                signals.get("negative"),
            )
            if replay_at is not None and turns[replay_at].text == text:
                turns[replay_at] = replace(turn, ts=turns[replay_at].ts)
            else:
                turns.append(turn)
            replay_at = None
        elif event.get("event") == "user":
            replay_at = None
        elif event.get("event") == "bot" and event.get("text"):
            turns.append(Turn("bot", event["text"], float(event.get("timestamp") or 0)))
    return turns


def open_problems(tracker: Tracker, current: str) -> set[str]:
    """The distinct problems raised in this conversation, the current flow's included."""
    found = {current} if current else set()
    for event in tracker.applied_events():
        if event.get("event") == "user":
            intent = _intent(event)
            if intent in PROBLEM_INTENTS:
                found.add(PROBLEM_INTENTS[intent])
            fired = ((event.get("metadata") or {}).get("signals") or {}).get("fired") or ()
            if PRODUCT_PROBLEM_RULE in fired:
                found.add("product")
        elif event.get("event") == "bot":
            response = (event.get("metadata") or {}).get(RASA_RESPONSE_KEY)
            if response in DELAY_RESPONSES:
                found.add("delay")
    return found


# The intents that ask for an order look-up (status or logistics).
LOOK_UP_INTENTS = ("order_logistics", "order_status")


def asked_about_logistics(tracker: Tracker) -> bool:
    request = _look_up_request(tracker)
    return request is not None and _intent(request[0]) == "order_logistics"


def look_up_words(tracker: Tracker) -> str:
    """What the customer said since asking for this look-up, that message included (the form's
    answers after it: an order number, phone digits), pasted values left out: 没收到货 said
    before the bot asked which order still counts once the order is known."""
    request = _look_up_request(tracker)
    messages = request[1] if request else []
    return " ".join(read(str(event.get("text") or "")).said for event in messages).strip()


def _look_up_request(tracker: Tracker) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The latest message that asked for an order look-up, and it with the customer's later
    messages, oldest first; None when none did."""
    later: list[dict[str, Any]] = []
    for event in reversed(tracker.applied_events()):
        if event.get("event") != "user":
            continue
        later.insert(0, event)
        if _intent(event) in LOOK_UP_INTENTS:
            return event, later
    return None


def _intent(event: dict[str, Any]) -> str:
    return str(((event.get("parse_data") or {}).get("intent") or {}).get("name") or "")


def question(tracker: Tracker) -> str:
    """The customer's words: after a "/faq" clarification button, the message it clarified."""
    for event in reversed(tracker.applied_events()):
        text = str(event.get("text") or "") if event.get("event") == "user" else ""
        if text and not text.startswith("/"):
            return text
    return latest_text(tracker)


def previous_question(tracker: Tracker) -> str:
    """The customer's own message before the one being answered (a follow-up's topic), or ""
    when there is none since a person last took the conversation over."""
    seen_current = False
    for event in reversed(tracker.applied_events()):
        if event.get("event") == "action" and event.get("name") == HANDOFF_ACTION:
            return ""
        text = str(event.get("text") or "") if event.get("event") == "user" else ""
        if not text or text.startswith(EXTERNAL_PREFIXES):
            continue
        if seen_current:
            return text
        seen_current = True
    return ""


def misunderstood_in_a_row(tracker: Tracker) -> int:
    """The customer's last messages in a row that the bot did not understand. The raw
    events, not the applied ones: the two-stage fallback rewinds the messages it could not
    place, and they are exactly the ones to count."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if _intent(event) not in NOT_UNDERSTOOD:
            break
        count += 1
    return count
