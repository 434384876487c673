"""The numbers of the real-chat evaluation, computed from per-turn outcomes (no I/O here)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tools.real.dataset import Turn

# What ends an out-of-scope message honestly: a fallback, the out-of-scope answer, a person.
HONEST_INTENTS = {"out_of_scope", "nlu_fallback"}
# Intents whose dialogue rules hand the conversation to a person (data/rules/handoff.yml).
HANDOFF_INTENTS = {"request_human", "complain"}


@dataclass(frozen=True)
class Outcome:
    """What the assistant did with one real turn."""

    turn: Turn
    text: str  # the text it was given (masked, or with the masks replaced)
    intent: str  # predicted by the NLU (nlu_fallback when below the fallback threshold)
    confidence: float
    faq: str  # answer | clarify | no_match | several
    faq_offered: tuple[str, ...]  # the entries answered or offered
    rules: tuple[str, ...]  # text rules that fired
    anger: float

    @property
    def escalates(self) -> bool:
        return bool(self.rules) or self.intent in HANDOFF_INTENTS

    @property
    def honest_out_of_scope(self) -> bool:
        """A fallback, the out-of-scope answer, a hand-over, or a FAQ question that finds no
        entry (answered with "I will check")."""
        return (
            self.intent in HONEST_INTENTS
            or self.escalates
            or (self.intent == "faq" and self.faq == "no_match")
        )


def ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def intent_scores(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Accuracy and macro-F1 over the in-scope turns (classes: the in-scope gold intents)."""
    scoped = [o for o in outcomes if o.turn.in_scope]
    classes = sorted({o.turn.intent for o in scoped})
    per_class = []
    for name in classes:
        tp = sum(o.turn.intent == name and o.intent == name for o in scoped)
        predicted = sum(o.intent == name for o in scoped)
        gold = sum(o.turn.intent == name for o in scoped)
        per_class.append(f1(ratio(tp, predicted), ratio(tp, gold)))
    correct = sum(o.intent == o.turn.intent for o in scoped)
    standalone = [o for o in scoped if not o.turn.context]
    return {
        "turns": len(scoped),
        "accuracy": ratio(correct, len(scoped)),
        "macro_f1": ratio(sum(per_class), len(per_class)),
        "standalone_turns": len(standalone),
        "standalone_accuracy": ratio(
            sum(o.intent == o.turn.intent for o in standalone), len(standalone)
        ),
    }


def out_of_scope_score(outcomes: Sequence[Outcome]) -> dict[str, float]:
    oos = [o for o in outcomes if not o.turn.in_scope]
    return {"turns": len(oos), "honest": ratio(sum(o.honest_out_of_scope for o in oos), len(oos))}


def faq_scores(outcomes: Sequence[Outcome], known_ids: set[str]) -> dict[str, float]:
    """Retriever outcomes on the FAQ-labelled turns: all of them, and (``standalone_*``) those
    readable without the earlier turns (a follow-up such as 如何给我呢 names no topic)."""
    scores = _faq_counts(outcomes, known_ids)
    standalone = _faq_counts([o for o in outcomes if not o.turn.context], known_ids)
    return {**scores, **{f"standalone_{key}": value for key, value in standalone.items()}}


def _faq_counts(outcomes: Sequence[Outcome], known_ids: set[str]) -> dict[str, float]:
    """``right`` counts a clarifying question that offers the right entry as half right, as
    the issue asks."""
    counts: Counter[str] = Counter()
    for o in outcomes:
        if o.turn.intent != "faq":
            continue
        gold = o.turn.faq_id
        if gold in known_ids:
            counts["in_kb"] += 1
            if o.faq in ("answer", "several"):
                counts["answered_right" if gold in o.faq_offered else "answered_wrong"] += 1
            elif o.faq == "clarify":
                counts["clarified_right" if gold in o.faq_offered else "clarified_wrong"] += 1
            else:
                counts["no_match"] += 1
        else:
            counts["not_in_kb"] += 1
            counts[
                "not_in_kb_answered" if o.faq in ("answer", "several") else "not_in_kb_honest"
            ] += 1
    in_kb = counts["in_kb"]
    return {
        **{key: float(value) for key, value in counts.items()},
        "right_rate": ratio(counts["answered_right"] + 0.5 * counts["clarified_right"], in_kb),
        "wrong_rate": ratio(counts["answered_wrong"], in_kb),
        "not_in_kb_wrong_rate": ratio(counts["not_in_kb_answered"], counts["not_in_kb"]),
    }


def escalation_scores(outcomes: Sequence[Outcome]) -> dict[str, float]:
    tp = sum(o.escalates and o.turn.handoff for o in outcomes)
    predicted = sum(o.escalates for o in outcomes)
    gold = sum(o.turn.handoff for o in outcomes)
    precision, recall = ratio(tp, predicted), ratio(tp, gold)
    return {
        "gold": gold,
        "fired": predicted,
        "precision": precision,
        "recall": recall,
        "f1": f1(precision, recall),
    }


def session_escalation_scores(outcomes: Sequence[Outcome]) -> dict[str, float]:
    """Escalation per conversation: kefu's hand-over lasts (the conversation stays with the
    person until they hand it back), so a session that needed a person is served once any of
    its turns hands over, however many of its later turns the rules would also have caught.
    Precision: conversations handed over that needed a person; recall: conversations that
    needed one that got one; ``late``: handed over only after the first turn that needed it."""
    sessions: dict[str, list[Outcome]] = {}
    for o in outcomes:
        sessions.setdefault(o.turn.session, []).append(o)
    needed = handed = served = late = 0
    for turns in sessions.values():
        turns.sort(key=lambda o: o.turn.turn)
        first_needed = next((i for i, o in enumerate(turns) if o.turn.handoff), None)
        first_handed = next((i for i, o in enumerate(turns) if o.escalates), None)
        needed += first_needed is not None
        handed += first_handed is not None
        if first_needed is not None and first_handed is not None:
            served += 1
            late += first_handed > first_needed
    precision, recall = ratio(served, handed), ratio(served, needed)
    return {
        "sessions": len(sessions),
        "needed": needed,
        "handed": handed,
        "served": served,
        "late": late,
        "precision": precision,
        "recall": recall,
        "f1": f1(precision, recall),
    }


def anger_false_alarms(outcomes: Sequence[Outcome], threshold: float) -> dict[str, float]:
    calm = [o for o in outcomes if not o.turn.angry]
    alarms = sum(o.anger >= threshold for o in calm)
    angry = [o for o in outcomes if o.turn.angry]
    return {
        "calm": len(calm),
        "alarms": alarms,
        "rate": ratio(alarms, len(calm)),
        "angry": len(angry),
        "angry_caught": ratio(sum(o.anger >= threshold for o in angry), len(angry)),
    }
