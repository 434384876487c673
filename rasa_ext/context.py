"""The intent of a vague follow-up from the topic in play (``core.followup``).

Runs after the FallbackClassifier. Rasa hands NLU components the conversation's tracker when
a message arrives in a conversation (not for a bare ``/model/parse``, nor in training); its
user messages before this one give the topic in play. Nothing is changed while a form is
collecting an answer (the form reads the text itself) or for a button's payload.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from core.followup import LOOKBACK, resolve
from rasa_ext import StatelessComponent
from rasa_ext.pasted import CUSTOMER_WORDS

FOLLOW_UP_OF = "follow_up_of"
# Intents kefu triggers itself around a hand-over (never typed by the customer).
EXTERNAL_INTENTS = frozenset({"escalate", "handoff_closed"})


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class FollowUpResolver(StatelessComponent):
    def process(
        self, messages: list[Message], tracker: DialogueStateTracker | None = None
    ) -> list[Message]:
        if tracker is None or tracker.active_loop_name:
            return messages
        previous = _previous_intents(tracker)
        if not previous:
            return messages
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue  # a button's payload names its intent
            predicted = message.get(INTENT) or {}
            ranking = [
                (str(r.get("name")), float(r.get("confidence") or 0.0))
                for r in message.get(INTENT_RANKING_KEY) or []
            ]
            words = message.get(CUSTOMER_WORDS) or text
            topic = resolve(str(predicted.get("name")), ranking, words, previous)
            if topic is None:
                continue
            # The topic's own score when the classifier ranked it, else how sure it was at all.
            confidence = next(
                (score for name, score in ranking if name == topic),
                float(predicted.get("confidence") or 0.0),
            )
            message.set(INTENT, {"name": topic, "confidence": confidence}, add_to_output=True)
            message.set(FOLLOW_UP_OF, predicted.get("name"), add_to_output=True)
        return messages


def _previous_intents(tracker: DialogueStateTracker) -> list[str]:
    """The intents of the customer's latest messages since the last hand-over, oldest first."""
    intents: list[str] = []
    for event in reversed(tracker.applied_events()):
        if isinstance(event, UserUttered) and event.intent_name:
            if event.intent_name in EXTERNAL_INTENTS:
                break  # escalated or handed back: the earlier topic is settled
            intents.append(event.intent_name)
            if len(intents) == LOOKBACK:
                break
    return intents[::-1]
