"""The real-chat labels: joined with a corpus at run time, split by session, masks replaced."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tools.real.__main__ import main
from tools.real.dataset import (
    LABELS,
    STUDIED,
    STUDIED_LABELS,
    CorpusMissing,
    load,
    replace_masks,
    split_of,
)

INTENTS = {
    "greet", "goodbye", "thanks", "affirm", "deny", "stop", "bot_challenge", "order_status",
    "order_logistics", "order_cancel", "order_change", "return_request", "stock_query",
    "restock_subscribe", "faq", "complain", "request_human", "inform", "rate",
    "reminder_opt_out", "out_of_scope",
}  # fmt: skip
PLANNED_OR_KB = {
    "return_policy", "quality_problem", "refund_time", "sign_check", "warranty", "discount",
    "coupon", "price_protection", "invoice", "genuine", "material", "fading_washing",
    "colour_difference", "size_guide", "gifts", "gift_wrapping", "how_to_order", "unpaid_order",
    "payment_methods", "service_hours", "dispatch_time", "courier", "delivery_time",
    "free_shipping", "delivery_areas", "overseas_shipping", "change_order", "cancel_order",
    "cancel_after_dispatch", "add_item", "store_pickup", "presale", "invoice_timing",
    "invoice_change", "return_pickup", "door_delivery", "none",
}  # fmt: skip


def _corpus(tmp_path: Path) -> Path:
    sessions = [
        {"session": "s-one", "turns": [
            {"role": "customer", "text": "你好"},
            {"role": "agent", "text": "您好"},
            {"role": "customer", "text": "咨询订单号:[订单x] 订单金额:[金额x] 能开发票吗"},
        ]},
    ]  # fmt: skip
    path = tmp_path / "sessions.jsonl"
    path.write_text("\n".join(json.dumps(s, ensure_ascii=False) for s in sessions), "utf-8")
    return path


def test_labels_are_joined_with_their_texts_and_history(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    rows = [
        {"session": "s-one", "turn": 0, "intent": "greet", "faq_id": None, "handoff": False,
         "angry": False, "context": False},
        {"session": "s-one", "turn": 2, "intent": "faq", "faq_id": "invoice", "handoff": False,
         "angry": False, "context": False},
    ]  # fmt: skip
    labels.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    first, second = load(labels, _corpus(tmp_path))
    assert (first.text, first.history) == ("你好", ())
    assert second.history == ("你好",) and second.faq_id == "invoice"
    assert second.split == split_of("s-one")


def test_a_label_on_an_agent_turn_is_refused(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        json.dumps({"session": "s-one", "turn": 1, "intent": "greet", "faq_id": None,
                    "handoff": False, "angry": False, "context": False}),
        encoding="utf-8",
    )  # fmt: skip
    with pytest.raises(ValueError, match="no customer turn 1"):
        load(labels, _corpus(tmp_path))


def test_without_the_corpus_the_evaluation_skips_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(CorpusMissing):
        load(LABELS, tmp_path / "absent.jsonl")
    assert main(["--corpus", str(tmp_path / "absent.jsonl")]) == 0
    assert "skipped" in capsys.readouterr().out


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("path", [LABELS, STUDIED_LABELS], ids=["dev-test", "studied"])
def test_the_committed_labels_follow_the_rules_and_carry_no_text(path: Path) -> None:
    rows = _rows(path)
    assert len(rows) >= 500
    assert len({(r["session"], r["turn"]) for r in rows}) == len(rows)
    for row in rows:
        assert set(row) == {"session", "turn", "intent", "faq_id", "handoff", "angry", "context"}
        assert row["intent"] in INTENTS
        assert (row["faq_id"] in PLANNED_OR_KB) if row["intent"] == "faq" else row["faq_id"] is None


def test_the_evaluation_sets_are_split_by_session_and_never_overlap() -> None:
    labelled = _rows(LABELS)
    assert len(labelled) >= 1500
    assert {split_of(str(r["session"])) for r in labelled} == {"dev", "test"}
    assert not {r["session"] for r in labelled} & {r["session"] for r in _rows(STUDIED_LABELS)}


def test_studied_turns_carry_their_own_split(tmp_path: Path) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        json.dumps({"session": "s-one", "turn": 0, "intent": "greet", "faq_id": None,
                    "handoff": False, "angry": False, "context": False}),
        encoding="utf-8",
    )  # fmt: skip
    (turn,) = load(labels, _corpus(tmp_path), split=STUDIED)
    assert turn.split == STUDIED


def test_masks_are_replaced_by_realistic_values_the_same_way_each_time() -> None:
    text = "[订单x] 退款[金额x]元 [数字x]天了 [链接x] [姓名x]"
    replaced = replace_masks(text, "s:1")
    assert replaced == replace_masks(text, "s:1")
    assert "x]" not in replaced
    assert replaced.split()[0].startswith("202511030")  # a demo-store order number
    assert "https://item.jd.com/" in replaced


def test_a_masked_number_becomes_the_kind_of_number_its_words_say() -> None:
    tracking, phone, order, day = (
        replace_masks(text, "s:2")
        for text in ("VA[数字x] 到哪了", "手机号[数字x]", "订单编号:[数字x]", "[数字x]号到货")
    )
    assert re.fullmatch(r"VA\d{11} 到哪了", tracking)
    assert re.fullmatch(r"手机号1\d{10}", phone)
    assert order.removeprefix("订单编号:").startswith("202511030")
    assert 1 <= int(day.removesuffix("号到货")) <= 28
    assert replace_masks("等了[数字x]天", "s:2") == replace_masks("等了[数字x]天", "s:2")
