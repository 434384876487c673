import re

from faq.knowledge import load

from .conftest import KB_DIR

# Every topic of SERVICE-NORMS.md's FAQ table except stock (answered from the catalogue),
# plus what shops are commonly asked.
NORMS_TOPICS = {
    "dispatch_time",
    "courier",
    "delivery_time",
    "return_policy",
    "free_shipping",
    "discount",
    "coupon",
    "material",
    "fading_washing",
    "colour_difference",
    "gifts",
    "genuine",
    "invoice",
}
COMMON_TOPICS = {
    "payment_methods",
    "size_guide",
    "price_protection",
    "presale",
    "warranty",
    "delivery_areas",
    "gift_wrapping",
    "store_pickup",
    "change_order",
    "cancel_order",
}
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def test_the_knowledge_base_covers_the_norms_and_the_common_questions():
    knowledge = load(KB_DIR)
    ids = {e.id for e in knowledge.entries}
    assert len(ids) >= 30
    assert not NORMS_TOPICS - ids and not COMMON_TOPICS - ids, "a topic has no entry"
    assert not any("stock" in i for i in ids), "stock is answered from the catalogue"


def test_every_entry_is_complete_and_in_the_shop_tone():
    for entry in load(KB_DIR).entries:
        assert len(entry.paraphrases["zh"]) >= 8, entry.id
        assert len(entry.paraphrases["en"]) >= 2, entry.id
        assert entry.tags, entry.id
        zh, en = entry.answers["zh"], entry.answers["en"]
        assert "{" not in zh + en, entry.id
        assert "亲" in zh or "您" in zh, entry.id
        assert len(EMOJI.findall(zh)) <= 2 and len(EMOJI.findall(en)) <= 2, entry.id
        assert len(zh) <= 120, f"{entry.id}: keep answers short"


def test_policy_values_reach_the_answers():
    knowledge = load(KB_DIR)
    assert "EMS" in knowledge.entry("courier").answers["zh"]
    assert "10 元" in knowledge.entry("courier").answers["zh"]
    assert "7 天" in knowledge.entry("return_policy").answers["zh"]
    assert (
        knowledge.policy["payment_methods_zh"] in knowledge.entry("payment_methods").answers["zh"]
    )
