"""python -m tools.real (make bench-real): the assistant on real shop chat.

Every labelled customer turn of ``tools/real/labels.jsonl`` (texts joined from
``../shared/data/jddc/sessions.jsonl``) goes, one by one, through what kefu does with it:

* the trained Rasa model (``POST /model/parse`` of a local ``rasa run``): intent accuracy and
  macro-F1 on the in-scope turns (all, and those readable without their context), and how
  many out-of-scope turns end honestly (fallback, the out-of-scope answer, a hand-over, or a
  FAQ question that finds no entry);
* the FAQ retriever, as the FAQ action calls it (a miss read again after the customer's
  previous message): on the FAQ-labelled turns, answered right /
  answered wrong / clarified with the right entry / no match; questions no entry answers
  must get no answer;
* the router's escalation rules with the session's earlier customer turns as history, plus
  the intents whose rules hand over (request_human, complain): precision, recall, F1, per
  turn and per conversation (a hand-over lasts: a conversation served once is served);
* the anger model on the calm turns: how many reach the ``angry`` rule's threshold.

Each on the masked texts and with the masks replaced by realistic values, for the dev split
(tune on it), the test split (report it) and, with ``--split studied`` or ``all``, the sessions
the training data's style was studied on (a second check that what dev taught holds elsewhere).
Skips with a message when the corpus is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from actions.faq import entries_asked, search_in_context
from faq.retriever import FaqRetriever
from handoff.sentiment import EmotionModel
from handoff.signals import TurnSignals, compute_signals, load_rules
from tools.bench.nlu import http_json, parse_server
from tools.real import scoring
from tools.real.dataset import (
    CORPUS,
    LABELS,
    ROOT,
    STUDIED,
    STUDIED_LABELS,
    VARIANTS,
    CorpusMissing,
    Turn,
    load,
)
from tools.real.dataset import variant_text as text_of

ANGRY_RULE = "angry"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.real", description=__doc__)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "kefu.tar.gz")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--kb", type=Path, default=ROOT / "faq" / "kb")
    parser.add_argument("--studied-labels", type=Path, default=STUDIED_LABELS)
    parser.add_argument(
        "--split",
        choices=("dev", "test", STUDIED, "both", "all"),
        default="both",
        help="both = dev and test; all = dev, test and studied",
    )
    parser.add_argument("--variant", choices=(*VARIANTS, "both"), default="both")
    parser.add_argument(
        "--errors",
        type=int,
        default=0,
        help="print up to N wrong turns per measure (dev and studied, never test)",
    )
    parser.add_argument("--json", type=Path, help="also write every number to this file")
    parser.add_argument(
        "--dump",
        type=Path,
        help="write every turn's outcome (with its text: keep it outside the project) to study",
    )
    args = parser.parse_args(argv)
    splits = {"both": ("dev", "test"), "all": ("dev", "test", STUDIED)}.get(
        args.split, (args.split,)
    )
    try:
        turns = load(args.labels, args.corpus)
        if STUDIED in splits:
            turns += load(args.studied_labels, args.corpus, split=STUDIED)
    except CorpusMissing as missing:
        print(missing)
        return 0
    if not args.model.exists():
        raise SystemExit(f"no trained model at {args.model}: run `make setup` first")
    variants = VARIANTS if args.variant == "both" else (args.variant,)
    turns = [t for t in turns if t.split in splits]

    retriever = FaqRetriever(args.kb, ROOT / "var" / "faq-cache").load()
    known_ids = {entry.id for entry in retriever.knowledge.entries}
    rules = load_rules()
    threshold = next(r.threshold for r in rules if r.id == ANGRY_RULE)
    emotion = EmotionModel.load()

    report: dict[str, Any] = {}
    dumped: list[dict[str, Any]] = []
    for variant in variants:
        parsed = parse_all(args.model, turns, variant)
        outcomes = [
            outcome(t, variant, parsed[(t.session, t.turn)], retriever, rules, emotion)
            for t in turns
        ]
        dumped += [{"variant": variant, **asdict(o)} for o in outcomes]
        for split in splits:
            chosen = [o for o in outcomes if o.turn.split == split]
            numbers = {
                "intent": scoring.intent_scores(chosen),
                "out_of_scope": scoring.out_of_scope_score(chosen),
                "faq": scoring.faq_scores(chosen, known_ids),
                "escalation": scoring.escalation_scores(chosen),
                "escalation_sessions": scoring.session_escalation_scores(chosen),
                "anger": scoring.anger_false_alarms(chosen, threshold),
            }
            report[f"{split}/{variant}"] = numbers
            print_numbers(f"{split}, {variant}", numbers)
            if split != "test" and args.errors:
                print_errors(chosen, args.errors)
    if args.dump:
        args.dump.write_text(json.dumps(dumped, ensure_ascii=False), encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


def parse_all(model: Path, turns: list[Turn], variant: str) -> dict[tuple[str, int], Any]:
    """Each session's turns, in order, into a conversation of their own: Rasa reads every
    message with the conversation so far (as kefu's channels do), so a follow-up is read in
    the light of the topic in play. Only NLU runs (no actions are predicted)."""
    by_session: dict[str, list[Turn]] = {}
    for turn in turns:
        by_session.setdefault(turn.session, []).append(turn)
    parsed: dict[tuple[str, int], Any] = {}
    with parse_server(model) as (url, _):
        for session, session_turns in by_session.items():
            conversation = f"{variant}-{session}"
            for turn in sorted(session_turns, key=lambda t: t.turn):
                text = text_of(turn.text, variant, f"{turn.session}:{turn.turn}")
                tracker = http_json(
                    f"{url}/conversations/{quote(conversation)}/messages",
                    {"text": text, "sender": "user"},
                )
                parsed[(session, turn.turn)] = tracker["latest_message"]
    return parsed


def outcome(
    turn: Turn,
    variant: str,
    nlu: dict[str, Any],
    retriever: FaqRetriever,
    rules: Any,
    emotion: EmotionModel,
) -> scoring.Outcome:
    text = text_of(turn.text, variant, f"{turn.session}:{turn.turn}")
    earlier_texts = [
        text_of(earlier, variant, f"{turn.session}:h{index}")
        for index, earlier in enumerate(turn.history)
    ]
    several = entries_asked(retriever, text)
    if several:
        faq, offered = "several", tuple(e.id for e in several)
    else:
        previous = earlier_texts[-1] if earlier_texts else ""
        result = search_in_context(retriever, text, previous)
        faq, offered = result.outcome, tuple(m.entry.id for m in result.candidates)
    history: list[TurnSignals] = []
    for earlier_text in earlier_texts:
        history.append(signals_of(earlier_text, rules, emotion, history).turn(earlier_text))
    signals = signals_of(text, rules, emotion, history)
    return scoring.Outcome(
        turn=turn,
        text=text,
        intent=str((nlu.get("intent") or {}).get("name") or "nlu_fallback"),
        confidence=float((nlu.get("intent") or {}).get("confidence") or 0.0),
        faq=faq,
        faq_offered=offered,
        rules=signals.fired,
        anger=signals.anger,
    )


def signals_of(text: str, rules: Any, emotion: EmotionModel, history: list[TurnSignals]) -> Any:
    scores = emotion.score(text)
    return compute_signals(
        text, rules, anger=scores.anger, negative=scores.negative, history=tuple(history)
    )


def print_numbers(title: str, n: dict[str, dict[str, float]]) -> None:
    i, o, f, e, a = n["intent"], n["out_of_scope"], n["faq"], n["escalation"], n["anger"]
    print(f"== {title}")
    print(
        f"  intent (in scope, {i['turns']:.0f} turns): accuracy {i['accuracy']:.3f}  "
        f"macro-F1 {i['macro_f1']:.3f}  |  without context ({i['standalone_turns']:.0f}): "
        f"accuracy {i['standalone_accuracy']:.3f}"
    )
    print(f"  out of scope ({o['turns']:.0f} turns): ending honestly {o['honest']:.3f}")
    print(
        f"  FAQ ({f.get('in_kb', 0):.0f} with an entry): answered right "
        f"{f.get('answered_right', 0):.0f}, wrong {f.get('answered_wrong', 0):.0f}, "
        f"clarified with it {f.get('clarified_right', 0):.0f} / without "
        f"{f.get('clarified_wrong', 0):.0f}, no match {f.get('no_match', 0):.0f}  ->  "
        f"right {f['right_rate']:.3f}, wrong {f['wrong_rate']:.3f}"
    )
    print(
        f"       without context ({f.get('standalone_in_kb', 0):.0f}): right "
        f"{f['standalone_right_rate']:.3f}, wrong {f['standalone_wrong_rate']:.3f}"
    )
    print(
        f"       ({f.get('not_in_kb', 0):.0f} no entry answers): answered anyway "
        f"{f.get('not_in_kb_answered', 0):.0f} ({f['not_in_kb_wrong_rate']:.3f})"
    )
    print(
        f"  escalation ({e['gold']:.0f} should, {e['fired']:.0f} fired): precision "
        f"{e['precision']:.3f}  recall {e['recall']:.3f}  F1 {e['f1']:.3f}"
    )
    c = n["escalation_sessions"]
    print(
        f"       per conversation ({c['needed']:.0f} of {c['sessions']:.0f} needed a person, "
        f"{c['handed']:.0f} handed over, {c['late']:.0f} late): precision {c['precision']:.3f}  "
        f"recall {c['recall']:.3f}  F1 {c['f1']:.3f}"
    )
    print(
        f"  anger: calm turns at the angry threshold {a['alarms']:.0f} of {a['calm']:.0f} "
        f"({a['rate']:.3f}); angry turns caught {a['angry_caught']:.3f} of {a['angry']:.0f}"
    )


def print_errors(outcomes: list[scoring.Outcome], limit: int) -> None:
    """Wrong turns to study (never the test split's; printed only, never saved)."""
    wrong_intent = [o for o in outcomes if o.turn.in_scope and o.intent != o.turn.intent]
    confusions = Counter((o.turn.intent, o.intent) for o in wrong_intent)
    print("  confusions:", ", ".join(f"{g}->{p} {c}" for (g, p), c in confusions.most_common(25)))
    for o in wrong_intent[:limit]:
        print(
            f"    intent {o.turn.intent:>15} -> {o.intent:<15} {o.confidence:.2f} {o.text[:90]!r}"
        )
    faq_wrong = [
        o for o in outcomes if o.turn.intent == "faq" and o.turn.faq_id not in o.faq_offered
    ]
    for o in faq_wrong[:limit]:
        print(f"    faq {o.turn.faq_id:>16} -> {o.faq} {list(o.faq_offered)} {o.text[:80]!r}")
    missed = [o for o in outcomes if o.escalates != o.turn.handoff]
    for o in missed[:limit]:
        kind = "missed" if o.turn.handoff else "false"
        print(f"    escalation {kind:>6} {o.intent} {list(o.rules)} {o.text[:80]!r}")


if __name__ == "__main__":
    sys.exit(main())
