"""Follow-ups read in the light of the topic in play.

Real customers continue a topic in a few words that only make sense in context: after asking
where their parcel is, ``明天能到吗`` or ``为什么这么慢``; after a return, ``要多久``. On its
own such a message is often too vague for the intent classifier, which then gives up (a
fallback) or calls it out of scope. When the customer's recent messages were about one topic
(an order question, a return, a FAQ...), a vague message continues that topic.

Pure standard library; the Rasa server's pipeline (``rasa_ext.context``) applies it with the
conversation's tracker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Intents that open a topic a follow-up can continue.
TOPICS = frozenset(
    {
        "faq",
        "order_status",
        "order_logistics",
        "order_cancel",
        "order_change",
        "return_request",
        "stock_query",
    }
)
# Below the fallback threshold, a message whose best guess is one of these may be a new topic
# of its own (a person asked for, a complaint, a courtesy...): it keeps its fallback then.
OWN_MEANING = frozenset(
    {
        "affirm", "deny", "thanks", "greet", "goodbye", "stop", "rate", "inform",
        "bot_challenge", "request_human", "complain", "restock_subscribe", "reminder_opt_out",
    }
)  # fmt: skip
FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
# How far back the topic in play may lie (customer messages).
LOOKBACK = 3
# A best guess this likely keeps its own meaning even below the fallback threshold.
OWN_MEANING_CONFIDENCE = 0.25
# Out of scope is overruled only for a short question that reads like a follow-up.
FOLLOW_UP_CHARS = 15
# A follow-up opens by pointing back (那现在呢, 那要多久, 还有呢); 今天天气好吗 does not.
_FOLLOW_UP = re.compile(r"^(?:那|那么|还有|另外|然后|那个|这个|为什么|为啥|要多久|多久)")
# What makes it a question: a question particle or word.
_QUESTION = re.compile(r"[呢吗嘛？?]|多久|多少|怎么|为什么|为啥|几|什么时候|哪")


def _asks_back(words: str) -> bool:
    """A short question that opens by pointing back: 那现在呢, 还有呢, 那要多久 (not 那算了)."""
    text = words.strip()
    return len(text) <= FOLLOW_UP_CHARS and bool(_FOLLOW_UP.search(text) and _QUESTION.search(text))


def topic_in_play(previous_intents: Sequence[str]) -> str | None:
    """The latest topic among the customer's last ``LOOKBACK`` messages, newest last (the
    caller stops at a hand-over: what was said before a person took over is not in play)."""
    for intent in reversed(previous_intents[-LOOKBACK:]):
        if intent in TOPICS:
            return intent
    return None


def resolve(
    intent: str,
    ranking: Sequence[tuple[str, float]],
    words: str,
    previous_intents: Sequence[str],
) -> str | None:
    """The topic a vague message continues, or None when the classifier's intent stands.

    ``intent`` is the classifier's verdict (``nlu_fallback`` below its threshold), ``ranking``
    its candidates best first, ``words`` the customer's own words."""
    topic = topic_in_play(previous_intents)
    if topic is None:
        return None
    best = next(((name, score) for name, score in ranking if name != FALLBACK), None)
    if intent == FALLBACK:
        # A short question that points back (那现在呢, 那要多久) continues the topic whatever
        # weak guess the classifier had; without one, a likely meaning of its own stands.
        if _asks_back(words):
            return topic
        if best and best[0] in OWN_MEANING and best[1] >= OWN_MEANING_CONFIDENCE:
            return None
        return topic
    if intent == OUT_OF_SCOPE and len(words) <= FOLLOW_UP_CHARS and _FOLLOW_UP.search(words):
        return topic
    return None
