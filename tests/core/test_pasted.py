"""Pasted order cards, links and numbers are told apart from what the customer wrote."""

from __future__ import annotations

import pytest

from core.pasted import read


@pytest.mark.parametrize(
    ("text", "words", "said"),
    [
        # a card pasted by the chat window, then the question
        (
            "咨询订单号:2025110300030 订单金额:299.00 下单时间:2025-11-03 14:22:10 发票怎么开",
            "订单号 发票怎么开",
            "发票怎么开",
        ),
        # the bracketed card, twice, with the channel's boilerplate
        (
            "顾客通过点击web咚咚信息发送:[订单编号:2025110300012，订单金额:59.90，下单时间:"
            "2025-11-02 20:15:33] [订单编号:2025110300012，订单金额:59.90，下单时间:"
            "2025-11-02 20:15:33] 还没发货吗",
            "订单号 还没发货吗",
            "还没发货吗",
        ),
        (
            "查询订单号:2025110300030， 商品号:100012345678 这两个能一起发吗",
            "订单号 这两个能一起发吗",
            "这两个能一起发吗",
        ),
        ("https://item.jd.com/100012345678.html 键盘有背光吗", "链接 键盘有背光吗", "键盘有背光吗"),
        ("订单2025110300012到哪了", "订单 订单号 到哪了", "订单 到哪了"),
        ("电话改成13912345678", "电话改成 电话", "电话改成"),
        ("快递单号SF123456789012查不到", "快递单号 运单号 查不到", "快递单号 查不到"),
        # a typed "订单号：" with the question right after it: the question stays
        ("订单号：2025110300012怎么还没发货", "订单号 怎么还没发货", "怎么还没发货"),
        (
            "订单金额：怎么和实际付的不一样",
            "订单金额:怎么和实际付的不一样",
            "订单金额:怎么和实际付的不一样",
        ),
        ("规格1.25米的有吗", "规格1.25米的有吗", "规格1.25米的有吗"),
        # what a customer typed as words stays
        ("运单号是多少", "运单号是多少", "运单号是多少"),
        ("什么时候发货", "什么时候发货", "什么时候发货"),
        ("", "", ""),
    ],
)
def test_the_customer_words_are_read_apart_from_what_was_pasted(
    text: str, words: str, said: str
) -> None:
    reading = read(text)
    assert (reading.words, reading.said) == (words, said)


def test_a_masked_transcript_reads_as_the_same_words_as_real_values() -> None:
    real = read(
        "咨询订单号:2025110300030 订单金额:299.00 下单时间:2025-11-03 申请价保 https://item.jd.com/1.html"
    )
    masked = read("咨询订单号:[订单x] 订单金额:[金额x] 下单时间:[日期x] 申请价保 [链接x]")
    assert real.words == masked.words == "订单号 申请价保 链接"


@pytest.mark.parametrize(
    ("masked", "real"),
    [
        ("[数字x]", "10"),
        ("买了[数字x]个 [数字x]月[数字x]日到的", "买了10个 10月10日到的"),
        ("好的，[姓名x]", "好的，张三"),
        ("[地址x] 能送吗", "某某路1号 能送吗"),
    ],
)
def test_masks_of_the_customers_own_words_read_as_a_plain_value_of_their_kind(
    masked: str, real: str
) -> None:
    assert read(masked).words == read(real).words
    assert "[" not in read(masked).words


def test_values_are_found_where_the_customer_wrote_them() -> None:
    text = "[订单编号:2025110300030，订单金额:59.90] 和 2025110300012 一起发 单号JDVA12345678901"
    reading = read(text)
    assert reading.values("order_id") == ["2025110300030", "2025110300012"]
    assert reading.values("tracking_no") == ["JDVA12345678901"]
    assert reading.card
    for span in reading.spans:
        assert text[span.start : span.end] == span.value


@pytest.mark.parametrize(
    "text",
    [
        "电话改成13912345678",  # a new phone number is not an order
        "https://item.jd.com/100012345678.html",  # nor the digits of a product link
        "身份证110105199003071234",  # nor an ID number
        "买了5678件",
    ],
)
def test_other_numbers_are_not_order_numbers(text: str) -> None:
    assert read(text).values("order_id") == []
