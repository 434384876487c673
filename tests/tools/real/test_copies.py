"""The copy check finds a training text that repeats a real customer's, exactly or nearly."""

from __future__ import annotations

import pytest

from tools.real.copies import copies, customer_turns, our_texts
from tools.real.dataset import CORPUS


def test_a_copied_or_nearly_copied_sentence_is_found_and_short_common_words_are_not() -> None:
    theirs = ["你好 我上周买的电视到现在还没发货 能帮我看下吗", "好的 谢谢"]
    ours = [
        ("a", "你好 我上周买的电视到现在还没发货 能帮我看下吗"),  # copied
        ("b", "你好 我上周买的电视到现在还没发货 能帮我看看吗"),  # one character changed
        ("c", "请问这款冰箱的冷冻室有多大容量"),  # our own
        ("d", "好的 谢谢"),  # everybody's words
    ]
    assert [where for where, *_ in copies(ours, theirs)] == ["a", "b"]


def test_every_kind_of_training_text_is_checked() -> None:
    wheres = {where.split(" ")[0].split(":")[0] for where, _ in our_texts()}
    assert "data/nlu/orders.yml" in wheres
    assert "faq/kb/price.yml" in wheres
    assert "handoff/signals_data/shop_chat_train.jsonl" in wheres


def test_no_training_text_of_ours_repeats_a_real_customer() -> None:
    if not CORPUS.exists():
        pytest.skip(f"the real-chat corpus is not at {CORPUS}")
    assert copies(list(our_texts()), customer_turns(CORPUS)) == []
