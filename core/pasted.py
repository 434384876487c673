"""What a chat channel pastes into a message, told apart from what the customer wrote.

Shop chat windows paste order cards (``咨询订单号:… 订单金额:… 下单时间:…``,
``[订单编号:…，订单金额:…，下单时间:…]``, ``查询订单号:…， 商品号:…``), "sent by clicking"
boilerplate, product links, and customers paste order numbers, tracking numbers, amounts,
dates and phone numbers. None of that is what the customer *says*: a question about an
invoice with an order card in it is still a question about an invoice. ``read`` returns the
customer's own words, with every such span replaced by a short word for its kind (订单号,
运单号, 电话, 金额, 日期, 时间, 链接), and the values it found.

Anonymised transcripts (the corpora we evaluate on, and exports of our own masked logs)
carry masks such as ``[订单x]`` or ``[链接x]`` where a value was; a mask reads as the same
kind word as the value it hides, so a model sees the same words either way. Masks of what the
customer types in their own words (a run of digits, a name, an address, a company, a courier
station) read as a plain value of that kind (``[数字x]号`` as ``10号``), as a real one would.

Pure standard library, imports nothing of ours: the Rasa server's NLU component
(``rasa_ext.pasted``) and the kefu side (FAQ retrieval) share it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ORDER_WORD = "订单号"
TRACKING_WORD = "运单号"
PHONE_WORD = "电话"
AMOUNT_WORD = "金额"
DATE_WORD = "日期"
TIME_WORD = "时间"
LINK_WORD = "链接"
EMAIL_WORD = "邮箱"
ID_CARD_WORD = "身份证号"

# A mainland mobile number: 11 digits, 1 then 3-9, in its three parts (138 1234 5678). The one
# definition: every reader of phone numbers builds on it (core.masking, the order forms, the
# demo store).
_MOBILE_PARTS = (r"1[3-9]\d", r"\d{4}", r"\d{4}")


def mobile_pattern(*, separator: str = "", groups: bool = False) -> str:
    """A mobile number's pattern, not anchored: its parts joined by ``separator`` (a pattern),
    each one a group when ``groups``."""
    return separator.join(f"({part})" if groups else part for part in _MOBILE_PARTS)


# A mobile number on its own, not inside a longer run of digits: 13812345678.
MOBILE = re.compile(rf"(?<!\d){mobile_pattern()}(?!\d)")
# An order number: 10-19 digits, not a mainland mobile number, not inside a longer run of
# digits or glued to letters (then it belongs to a tracking number).
ORDER_ID = re.compile(rf"(?<![A-Za-z0-9])(?!{mobile_pattern()}(?!\d))\d{{10,19}}(?![\dA-Za-z])")
# Courier tracking numbers: SF + 12-15 digits, ZT/YT/JT/YD/ST + 10-15 digits, JD's waybills
# (JD, JDV, JDVA... + 10-15 digits), and the UPU format of EMS and the post (EM123456789CN).
TRACKING_NO = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:[Ss][Ff]|[Zz][Tt]|[Yy][Tt]|[Jj][Tt]|[Yy][Dd]|[Ss][Tt]|[Jj][Dd][A-Za-z]{0,2})"
    r"\d{10,15}|[A-Za-z]{2}\d{9}[A-Za-z]{2})(?![A-Za-z0-9])"
)
# As customers write one: +86 in front, spaces or dashes between the parts.
_MOBILE_WRITTEN = re.compile(rf"(?<!\d)(?:\+?86[- ]?)?{mobile_pattern(separator='[- ]?')}(?!\d)")
_ID_CARD = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_LINK = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff，。！？、；）]+", re.IGNORECASE)
# 299.00 or ¥59.9, but not a size or weight (1.25米, 2.50kg).
_AMOUNT = re.compile(
    r"(?:[¥￥]\s?\d+(?:\.\d{1,2})?|(?<![\d.])\d+\.\d{2}(?![\d.])(?!\s?[A-Za-z米寸斤克码匹升])(?:\s?元)?)"
)
_DATE = re.compile(
    r"(?<!\d)(?:20\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}月\d{1,2}[日号])(?!\d)"
)
_TIME = re.compile(r"(?<![\d:])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?![\d:])")

# The masks of anonymised transcripts, by the kind of value they hide.
_MASKS = {
    ORDER_WORD: ("订单",),
    PHONE_WORD: ("电话",),
    AMOUNT_WORD: ("金额",),
    DATE_WORD: ("日期",),
    TIME_WORD: ("时间",),
    LINK_WORD: ("链接",),
    EMAIL_WORD: ("邮箱",),
    ID_CARD_WORD: ("身份证号",),
}
_MASK = re.compile(r"\[(订单|电话|金额|日期|时间|链接|邮箱|身份证号)x\]")
_MASK_WORD = {mask: word for word, masks in _MASKS.items() for mask in masks}
# Masks of the customer's own words, with a plain value of the kind each hides: a bare
# [数字x] then reads as the number it was (masked real chat, turns readable alone, dev /
# studied sessions, python -m tools.real: 0.856 / 0.850 read right with the masks left as
# they are, 0.863 / 0.853 with these values in their place).
_STAND_INS = {
    "数字": "10",
    "姓名": "张三",
    "地址": "某某路1号",
    "组织机构": "某某公司",
    "站点": "某某站",
}
_WORDS_MASK = re.compile(rf"\[({'|'.join(_STAND_INS)})x\]")

# "The customer sent this by clicking ... in the web chat": channel boilerplate.
_SENT_BY_CLICK = re.compile(r"顾客通过点击\S{0,40}?信息发送[:：]?")
# The fields of a pasted order card, and what a field's value may be.
_CARD_FIELD = (
    r"(?:咨询|查询|新)?订单(?:编?号|编码)?|订单金额|下单时间|商品(?:号|ID|编号|编码)|"
    r"服务单号|售后服务单号?"
)
# A value is data (a mask, digits, an amount, a date, a time), never the customer's words:
# "订单号：2025110300012怎么还没发货" is a card followed by a question.
_CARD_VALUE = (
    r"(?:\[[^\[\]\s]{1,8}\]|[0-9A-Za-z¥￥.:/\-]{1,40})"
    r"(?:\s+(?:\[时间x\]|\d{1,2}:\d{2}(?::\d{2})?))?"
)
_CARD_PAIR = rf"(?:{_CARD_FIELD})\s*[:：]\s*{_CARD_VALUE}"
# Later fields of a card may be empty (an export's "订单金额:，下单时间:]").
_CARD_MORE = rf"(?:{_CARD_FIELD})\s*[:：]\s*(?:{_CARD_VALUE})?"
_CARD = re.compile(rf"\[?\s*{_CARD_PAIR}(?:\s*[，,、]?\s*{_CARD_MORE})*\s*\]?")
_SPACES = re.compile(r"\s+")
# A pasted value in the text being read: \x00订单号\x00 (NUL never comes from a customer).
_MARKED = re.compile("\x00([^\x00]*)\x00")
_REPEATED_MARK = re.compile("(\x00[^\x00]*\x00)(?:[\\s，,、]*\\1)+")


@dataclass(frozen=True)
class Span:
    kind: str  # "order_id" | "tracking_no" | "phone" | "link"
    value: str
    start: int  # in the original text
    end: int


@dataclass(frozen=True)
class Reading:
    words: str  # the customer's words, each pasted value replaced by the word for its kind
    said: str  # the customer's words alone, pasted values left out
    spans: tuple[Span, ...]  # values found in the original text, in order
    card: bool  # the message carried a pasted order card

    def values(self, kind: str) -> list[str]:
        return [span.value for span in self.spans if span.kind == kind]


def read(text: str) -> Reading:
    """The customer's words and the pasted values of one message."""
    spans = _values(text)
    marked = unicodedata.normalize("NFKC", text)
    marked = _WORDS_MASK.sub(lambda m: _STAND_INS[m.group(1)], marked)
    marked = _SENT_BY_CLICK.sub(" ", marked)
    marked, cards = _CARD.subn(lambda m: f" {_mark(_card_word(m.group(0)))} ", marked)
    marked = _MASK.sub(lambda m: f" {_mark(_MASK_WORD[m.group(1)])} ", marked)
    for pattern, word in (
        (_LINK, LINK_WORD),
        (_EMAIL, EMAIL_WORD),
        (TRACKING_NO, TRACKING_WORD),
        (_ID_CARD, ID_CARD_WORD),
        (_MOBILE_WRITTEN, PHONE_WORD),
        (ORDER_ID, ORDER_WORD),
        (_DATE, DATE_WORD),
        (_TIME, TIME_WORD),
        (_AMOUNT, AMOUNT_WORD),
    ):
        marked = pattern.sub(f" {_mark(word)} ", marked)
    marked = _REPEATED_MARK.sub(r"\1", marked)
    words = _tidy(_MARKED.sub(r"\1", marked))
    said = _tidy(_MARKED.sub(" ", marked))
    return Reading(words=words, said=said, spans=tuple(spans), card=cards > 0)


def _mark(word: str) -> str:
    return f"\x00{word}\x00" if word else ""


def _tidy(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _card_word(card: str) -> str:
    """A card reads as the order number it names ("订单号"), a product card as nothing."""
    return ORDER_WORD if re.search(r"订单|服务单", card) else ""


def _values(text: str) -> list[Span]:
    found: list[Span] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in (
        ("link", _LINK),
        ("tracking_no", TRACKING_NO),
        ("order_id", ORDER_ID),
        ("phone", _MOBILE_WRITTEN),
    ):
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < b and a < end for a, b in taken):
                continue  # inside a link or a longer value already read
            if kind == "order_id" and _ID_CARD.fullmatch(text[start : min(len(text), start + 18)]):
                continue
            taken.append((start, end))
            found.append(Span(kind, match.group(0), start, end))
    found.sort(key=lambda span: span.start)
    return found
