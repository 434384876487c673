"""Cleaning a customer's message before retrieval, and the guards that run before any scoring."""

from __future__ import annotations

import re
import unicodedata

from core.pasted import read

# Customers ask short questions; a long message is cut before encoding so that one query
# always costs about the same (a 5,000-character paste is encoded as its first 200).
MAX_QUERY_CHARS = 200

# Traditional characters customers in Hong Kong / Taiwan (or with a traditional IME) use in
# shop questions, mapped to the simplified forms the knowledge base is written in. Small on
# purpose: it only has to help the lexical score; the sentence encoder reads both scripts.
_TRADITIONAL = "發貨運費號碼幾個麼們這裡嗎買賣開價錢優惠點實體顏色換還款單訂郵遞灣質問題說請謝會褪機與為對時間東裝禮給錯誤後應該寬長襪褲線維護壞顯處理聯繫邊過讓證頁詳細確認帳戶張寫幫樣區遠臺門場網購滿減圖片現預選擇協議麵級擊類嗎拆簽收貼達轉؟劃"
_SIMPLIFIED = "发货运费号码几个么们这里吗买卖开价钱优惠点实体颜色换还款单订邮递湾质问题说请谢会褪机与为对时间东装礼给错误后应该宽长袜裤线维护坏显处理联系边过让证页详细确认帐户张写帮样区远台门场网购满减图片现预选择协议面级击类吗拆签收贴达转?划"
_TO_SIMPLIFIED = str.maketrans(_TRADITIONAL, _SIMPLIFIED)

_MARKUP = re.compile(r"<[^>]{0,200}>|&[a-z]{2,8};|```")
_SPACES = re.compile(r"\s+")

# Messages about the customer's own order or parcel: the order look-up answers those, with
# the order's real status, so a generic FAQ answer would be wrong. An order number (a run of
# 8+ digits), "my order/parcel/refund...", "where is it", tracking and logistics queries.
_ORDER_SPECIFIC = re.compile(
    r"\d{8,}"
    r"|我的(?:订单|快递|包裹|货|东西|物流|退款|单子|件)"
    r"|我(?:买|拍|下单|订)的.{0,6}(?:到哪|在哪|发了没|发货了没|怎么还没|还没到|还没发|到了没)"
    r"|(?:到哪了|到哪里了|到哪儿了|到哪啦|在哪了|发了没|到了没)"
    r"|(?:查|看)(?:一下|下)?(?:我的)?(?:订单|物流|快递|单号|包裹)"
    r"|(?:物流|快递)(?:信息)?(?:一直|怎么|为什么)?(?:不动|没更新|没有更新|停了|卡住)"
    r"|(?:运单|快递单|订单)号"
    r"|\bmy\s+(?:order|parcel|package|delivery|refund|shipment|item)\b"
    r"|\bwhere(?:'s|\s+is)\s+my\b"
    r"|\btracking\s+(?:number|no|info)"
    r"|\border\s*(?:number|no\.?|#)",
    re.IGNORECASE,
)


def clean(text: str) -> str:
    """The message as the retriever reads it: what the channel pasted (order cards, links,
    order numbers) left out, markup stripped, simplified, cut to size. A question with an
    order card in it is still the question its words ask."""
    text = unicodedata.normalize("NFKC", read(text[: MAX_QUERY_CHARS * 4]).said)
    text = _MARKUP.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    return text.translate(_TO_SIMPLIFIED)[:MAX_QUERY_CHARS]


def is_order_specific(text: str) -> bool:
    """True for a message about one particular order: never answered from the FAQ."""
    return bool(_ORDER_SPECIFIC.search(text))


def names_an_order(text: str) -> bool:
    """True when the message carries an order or tracking number (typed or pasted)."""
    reading = read(text)
    return bool(reading.values("order_id") or reading.values("tracking_no"))


def readable(text: str) -> bool:
    """True when the message has words in a script the knowledge base speaks (Chinese or
    Latin letters) and they make up at least half of its letters. Emoji, punctuation,
    Cyrillic, kana, Arabic... on their own are not read."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    known = sum(1 for ch in letters if _is_han(ch) or ("a" <= ch.lower() <= "z"))
    return known * 2 >= len(letters)


def _is_han(ch: str) -> bool:
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF
