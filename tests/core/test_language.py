"""The reply language a message says (read by the Rasa pipeline, rasa_ext/language.py)."""

import pytest

from core.language import reply_language


def test_language_follows_each_message() -> None:
    assert reply_language("where is my parcel", None) == "en"
    assert reply_language("我的快递呢", None) == "zh"
    assert reply_language("ok", "zh") == "zh", "the router's signal decides"
    assert reply_language("EXTERNAL: handoff_closed", None) is None
    assert reply_language('/faq{"faq_id": "invoice"}', None) is None


@pytest.mark.parametrize("text", ["8505", "2025110300012", "😀", "？？"])
def test_digits_and_emoji_keep_the_customers_language(text: str) -> None:
    assert reply_language(text, "zh") is None
