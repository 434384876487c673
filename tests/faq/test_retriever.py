import time
from pathlib import Path

import numpy as np
import pytest

from faq.index import EmbeddingIndex
from faq.knowledge import load
from faq.retriever import FaqRetriever, Match, Thresholds, decide

from .conftest import KB_DIR


@pytest.mark.parametrize(
    ("message", "entry_id"),
    [
        ("亲，今天下单什么时候能发货呀", "dispatch_time"),
        ("包油吗亲", "free_shipping"),
        ("能开法票不", "invoice"),
        ("能開發票嗎", "invoice"),  # traditional characters
        ("有优惠卷没", "coupon"),
        ("衣服洗了会不会掉色", "fading_washing"),
        ("How many days does delivery take?", "delivery_time"),
        ("<b>包邮吗</b>", "free_shipping"),  # markup around a real question
    ],
)
def test_a_clear_question_gets_its_answer(shipped: FaqRetriever, message: str, entry_id: str):
    result = shipped.search(message)
    assert result.outcome == "answer", result
    assert result.entry is not None and result.entry.id == entry_id


def test_an_ambiguous_question_offers_two_or_three_entries(shipped: FaqRetriever):
    # "how fast" could be about dispatch or delivery: ask rather than guess.
    result = shipped.search("多快")
    assert result.outcome == "clarify"
    offered = [m.entry.id for m in result.candidates]
    assert 2 <= len(offered) <= 3 and "dispatch_time" in offered
    assert result.entry is None


@pytest.mark.parametrize("message", ["讲个笑话", "推荐一部电影", "你们老板是谁", "asdfghjkl"])
def test_off_topic_gets_no_match(shipped: FaqRetriever, message: str):
    assert shipped.search(message).outcome == "no_match"


@pytest.mark.parametrize(
    "message",
    [
        "我的快递到哪了",
        "帮我查一下订单2025110300030",
        "2025110300012",
        "我的订单怎么还没发货",
        "我的订单能改地址吗",
        "我买的东西到哪里了",
        "物流一直不动",
        "where is my order",
        "my parcel hasn't arrived",
    ],
)
def test_order_specific_messages_are_never_answered_from_the_faq(
    shipped: FaqRetriever, message: str
):
    result = shipped.search(message)
    assert (result.outcome, result.reason) == ("no_match", "order_specific")


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   \n\t ",
        "🙂🙂🙂",
        "👍",
        "?????",
        "<script>alert(1)</script>",
        "Когда вы отправите заказ?",
        "いつ発送しますか",
        "مرحبا متى الشحن",
    ],
)
def test_unreadable_input_gets_no_match(shipped: FaqRetriever, message: str):
    assert shipped.search(message).outcome == "no_match"


@pytest.mark.parametrize("message", ["包邮吗" * 2000, "a" * 5000, "<div>" * 1000, "😀" * 5000])
def test_huge_input_is_cut_and_answered_in_bounded_time(shipped: FaqRetriever, message: str):
    shipped.search("包邮吗")  # warm
    started = time.perf_counter()
    result = shipped.search(message)
    assert time.perf_counter() - started < 1.0
    assert result.outcome in ("answer", "clarify", "no_match")


def test_code_is_not_taken_for_a_question(shipped: FaqRetriever):
    assert shipped.search("SELECT * FROM orders WHERE id = 1;").outcome == "no_match"
    assert shipped.search('print("hello")').outcome == "no_match"


class CountingEncoder:
    """The real USE encoder, counting the texts it is asked to encode."""

    def __init__(self, inner, name: str = "") -> None:
        self.inner = inner
        self.name = name or inner.name
        self.encoded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        return self.inner.encode(texts)


def test_the_index_is_cached_by_knowledge_base_and_encoder(use_encoder, kb_copy, tmp_path):
    cache = tmp_path / "cache"
    knowledge = load(kb_copy)
    first = CountingEncoder(use_encoder)
    built = EmbeddingIndex.build(knowledge, first, cache)
    assert not built.from_cache and first.encoded == len(built.texts)

    again = CountingEncoder(use_encoder)
    hit = EmbeddingIndex.build(load(kb_copy), again, cache)
    assert hit.from_cache and again.encoded == 0
    assert np.array_equal(hit.vectors, built.vectors)

    other_encoder = CountingEncoder(use_encoder, name="another-model")
    assert not EmbeddingIndex.build(knowledge, other_encoder, cache).from_cache

    # An answer or a policy value does not shape the vectors; a question does.
    policy = kb_copy / "policy.yml"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace("dispatch_hours: 48", "dispatch_hours: 36"),
        encoding="utf-8",
    )
    assert EmbeddingIndex.build(load(kb_copy), CountingEncoder(use_encoder), cache).from_cache
    shipping = kb_copy / "shipping.yml"
    shipping.write_text(
        shipping.read_text(encoding="utf-8").replace("几天发货", "几天能发货"), encoding="utf-8"
    )
    assert not EmbeddingIndex.build(load(kb_copy), CountingEncoder(use_encoder), cache).from_cache


def test_a_broken_edit_keeps_the_live_index_and_reports_where(use_encoder, kb_copy, tmp_path):
    retriever = FaqRetriever(kb_copy, tmp_path / "cache", use_encoder).load()
    assert retriever.search("包邮吗").outcome == "answer"
    price = kb_copy / "price.yml"
    good = price.read_text(encoding="utf-8")
    price.write_text(
        good.replace("{price_protection_days}", "{price_guard_days}"), encoding="utf-8"
    )

    problems = retriever.reload()

    assert problems and all(p.startswith(f"{price}:") for p in problems)
    assert "unknown policy value(s) ['price_guard_days']" in problems[0]
    result = retriever.search("降价了能补差价吗")
    assert result.entry is not None and result.entry.id == "price_protection"
    assert "7 天" in result.entry.answers["zh"]


def test_a_good_edit_is_live_after_reload(use_encoder, kb_copy, tmp_path):
    retriever = FaqRetriever(kb_copy, tmp_path / "cache", use_encoder).load()
    before = retriever.search("能用数字人民币付款吗").entry
    assert before is None or before.id != "digital_yuan"
    (kb_copy / "extra.yml").write_text(
        """\
- id: digital_yuan
  question: 支持数字人民币吗？
  paraphrases:
    zh: [能用数字人民币付款吗, 数币可以付吗, 数字货币支付可以吗]
    en: ["Can I pay with e-CNY?", "Do you accept digital yuan?"]
  answer:
    zh: 亲，支持数字人民币付款哦。
    en: Yes, we accept e-CNY.
""",
        encoding="utf-8",
    )
    (kb_copy / "policy.yml").write_text(
        (kb_copy / "policy.yml")
        .read_text(encoding="utf-8")
        .replace("dispatch_hours: 48", "dispatch_hours: 36"),
        encoding="utf-8",
    )
    assert retriever.reload() == []
    entry = retriever.search("能用数字人民币付款吗").entry
    assert entry is not None and entry.id == "digital_yuan"
    dispatch = retriever.search("什么时候发货").entry
    assert dispatch is not None and "36 小时" in dispatch.answers["zh"]


def test_an_edited_file_is_noticed(use_encoder, kb_copy, tmp_path, monkeypatch):
    monkeypatch.setattr("faq.retriever.WATCH_INTERVAL_SECONDS", 0.0)
    retriever = FaqRetriever(kb_copy, tmp_path / "cache", use_encoder).load()
    assert not retriever.changed_since_last_look(), "nothing changed: nothing to do"
    policy = kb_copy / "policy.yml"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace("dispatch_hours: 48", "dispatch_hours: 36"),
        encoding="utf-8",
    )
    assert retriever.changed_since_last_look()
    assert not retriever.changed_since_last_look(), "seen once: not changed again"
    assert retriever.reload() == []
    dispatch = retriever.search("什么时候发货").entry
    assert dispatch is not None and "36 小时" in dispatch.answers["zh"]


def test_nothing_loads_before_first_use(use_encoder, tmp_path):
    retriever = FaqRetriever(KB_DIR, tmp_path / "cache", "use")
    assert retriever._state is None  # constructing is free: no model, no index
    assert not (tmp_path / "cache").exists()


def test_sentence_transformers_backend_from_the_packaged_minilm(tmp_path: Path):
    retriever = FaqRetriever(KB_DIR, tmp_path / "cache", "st:all-MiniLM-L6-v2").load()
    vectors = retriever.encoder.encode(["How long does delivery take?", "Is shipping free?"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    result = retriever.search("Do you give invoices?")
    assert result.outcome == "answer" and result.entry is not None
    assert result.entry.id == "invoice"
    assert retriever.search("where is my order").outcome == "no_match"
    # A second retriever over the same cache encodes nothing.
    again = FaqRetriever(KB_DIR, tmp_path / "cache", "st:all-MiniLM-L6-v2").load()
    assert again.index.from_cache


def test_a_lower_score_is_answered_when_no_other_entry_comes_near(shipped: FaqRetriever):
    result = shipped.search("买完第三天降价了 还来得及申请吗")
    assert result.outcome == "answer" and result.entry is not None
    assert result.entry.id == "price_protection"
    first, second = load(KB_DIR).entries[:2]
    thresholds = Thresholds()
    assert decide([Match(first, 0.65), Match(second, 0.50)], thresholds).outcome == "answer"
    # a near runner-up, or a score that low, is still asked about
    assert decide([Match(first, 0.65), Match(second, 0.58)], thresholds).outcome == "clarify"
    assert decide([Match(first, 0.60), Match(second, 0.20)], thresholds).outcome == "clarify"
