"""Masking of personal data wherever it is not strictly needed (138****1234)."""

from __future__ import annotations

import re

from core.pasted import mobile_pattern

# A mobile number on its own, its parts as groups: 138, 1234, 5678.
_MOBILE = re.compile(rf"(?<!\d){mobile_pattern(groups=True)}(?!\d)")
_ID_CARD = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
# Province / city / district prefixes of a Chinese address, as many as are there.
_REGION = re.compile(r"^(?:[^省市区县]{1,8}?(?:省|自治区|市|区|县|旗)){1,3}")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str) -> str:
    """张三丰 -> 张**; a Latin name keeps its first letter."""
    name = name.strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_address(address: str) -> str:
    """Keep the region (up to the district or county) that says where a parcel goes; hide the
    street, number and receiver: 上海市浦东新区张江路100号 -> 上海市浦东新区****."""
    address = address.strip()
    region = _REGION.match(address)
    kept = region.group() if region else address[:3]
    return kept + "****" if address else ""


def mask_text(text: str) -> str:
    """Mask mobile numbers, ID card numbers and e-mail addresses inside free text."""
    text = _ID_CARD.sub(lambda m: m.group(1) + "********" + m.group(2), text)
    text = _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), text)
    return _EMAIL.sub(lambda m: m.group(1) + "***" + m.group(2), text)
