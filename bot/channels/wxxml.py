"""WeChat's XML: parsing what its servers push, building passive replies.

Every push is a flat ``<xml>`` of named fields (``<Content><![CDATA[...]]></Content>``,
``<CreateTime>1348831860</CreateTime>``). Parsing goes through defusedxml with DTDs, entities
and external references forbidden, after a size limit the caller chooses, so a forged push
can neither expand nor reach out; anything malformed is one :class:`WxXmlError`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

ROOT = "xml"
_TAG = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
# What XML 1.0 cannot carry at all, not even in CDATA.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class WxXmlError(ValueError):
    """A body that is not a WeChat XML message (too big, malformed, with a DTD or entities,
    another root, a field twice), or a value that XML cannot carry."""


def parse_xml(body: bytes | str, *, max_bytes: int) -> dict[str, str]:
    """The fields of a WeChat ``<xml>`` message: each child of the root by tag, its text exact
    (customers' leading spaces are theirs). A nested element (``<ScanCodeInfo><ScanType>``)
    gives its leaves under dotted names (``ScanCodeInfo.ScanType``); where a nested list
    repeats a name (``SendPicsInfo.PicList.item``), the first entry stands for it. A root
    field twice is refused: two ``FromUserName`` would let a forgery pick which one counts."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    if len(data) > max_bytes:
        raise WxXmlError(f"body of {len(data)} bytes is over the limit of {max_bytes}")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ET.ParseError, DefusedXmlException) as error:
        raise WxXmlError(f"not well-formed XML: {error}") from error
    if root.tag != ROOT:
        raise WxXmlError(f"root element is <{root.tag}>, not <{ROOT}>")
    fields: dict[str, str] = {}
    for child in root:
        if child.tag in fields:
            raise WxXmlError(f"<{child.tag}> appears twice")
        if len(child):
            for name, text in _leaves(child, child.tag):
                fields.setdefault(name, text)
        else:
            fields[child.tag] = child.text or ""
    return fields


def _leaves(element: ET.Element, path: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for child in element:
        name = f"{path}.{child.tag}"
        found.extend(_leaves(child, name) if len(child) else [(name, child.text or "")])
    return found


def cdata(text: str) -> str:
    """``text`` as CDATA; a ``]]>`` inside is split across two sections, the only way CDATA
    can contain it."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def build_xml(fields: Mapping[str, str | int], root: str = ROOT) -> str:
    """A WeChat XML message: strings as CDATA, integers (``CreateTime``, ``MsgId``) as plain
    text, in the order given."""
    parts = [f"<{root}>"]
    for tag, value in fields.items():
        if not _TAG.match(tag):
            raise WxXmlError(f"{tag!r} is not an XML element name")
        if isinstance(value, int):
            parts.append(f"<{tag}>{value}</{tag}>")
            continue
        bad = _NOT_XML.search(value)
        if bad:
            raise WxXmlError(f"<{tag}> holds U+{ord(bad.group()):04X}, which XML cannot carry")
        parts.append(f"<{tag}>{cdata(value)}</{tag}>")
    parts.append(f"</{root}>")
    return "".join(parts)


@dataclass(frozen=True)
class WxInbound:
    """One push from WeChat (or WeCom): a customer's message or an event.

    ``to_user`` is the account (an Official Account's ``gh_`` id, WeCom's corp id),
    ``from_user`` the customer's openid; fields a push lacks are "". ``menu_id`` is the
    ``bizmsgmenuid`` of a text that is a click on a msgmenu option.
    """

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    content: str = ""
    msg_id: str = ""
    event: str = ""
    event_key: str = ""
    media_id: str = ""
    menu_id: str = ""
    raw: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> WxInbound:
        """From :func:`parse_xml`'s fields; a push without its four header fields, or with a
        CreateTime that is not a number, is malformed."""
        missing = [
            name
            for name in ("ToUserName", "FromUserName", "CreateTime", "MsgType")
            if not fields.get(name)
        ]
        if missing:
            raise WxXmlError(f"missing {', '.join(missing)}")
        try:
            create_time = int(fields["CreateTime"])
        except ValueError as error:
            raise WxXmlError(f"CreateTime {fields['CreateTime']!r} is not a number") from error
        return cls(
            to_user=fields["ToUserName"],
            from_user=fields["FromUserName"],
            create_time=create_time,
            msg_type=fields["MsgType"],
            content=fields.get("Content", ""),
            msg_id=fields.get("MsgId", ""),
            event=fields.get("Event", ""),
            event_key=fields.get("EventKey", ""),
            media_id=fields.get("MediaId", ""),
            menu_id=fields.get("bizmsgmenuid", ""),
            raw=dict(fields),
        )

    @property
    def dedupe_key(self) -> str:
        """What stays the same across WeChat's retries of one push (up to 3 when an answer
        takes over 5 s): the MsgId of a message; for an event, which has none, the customer
        and CreateTime as WeChat advises, plus the event so that two different events in the
        same second stay two."""
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"event:{self.from_user}:{self.create_time}:{self.event}"
