"""WeChat's XML: the documented pushes parse into fields and records, hostile or malformed
bodies are one clear error, and what we build parses back to what went in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.wxxml import WxInbound, WxXmlError, build_xml, cdata, parse_xml

LIMIT = 16 * 1024

# The documented examples (接收普通消息 / 接收事件推送).
TEXT = (
    "<xml><ToUserName><![CDATA[toUser]]></ToUserName>"
    "<FromUserName><![CDATA[fromUser]]></FromUserName>"
    "<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId></xml>"
)
CLICK = (
    "<xml><ToUserName><![CDATA[toUser]]></ToUserName>"
    "<FromUserName><![CDATA[FromUser]]></FromUserName><CreateTime>123456789</CreateTime>"
    "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>"
    "<EventKey><![CDATA[EVENTKEY]]></EventKey></xml>"
)
SCANCODE = (
    "<xml><ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>"
    "<FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>"
    "<CreateTime>1408090502</CreateTime><MsgType><![CDATA[event]]></MsgType>"
    "<Event><![CDATA[scancode_push]]></Event><EventKey><![CDATA[6]]></EventKey>"
    "<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
    "<ScanResult><![CDATA[1]]></ScanResult></ScanCodeInfo></xml>"
)
MENU_CLICK = (
    "<xml><ToUserName><![CDATA[ToUser]]></ToUserName>"
    "<FromUserName><![CDATA[FromUser]]></FromUserName><CreateTime>1500000000</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[满意]]></Content>"
    "<MsgId>1234567890123456</MsgId><bizmsgmenuid>101</bizmsgmenuid></xml>"
)
IMAGE = (
    "<xml><ToUserName><![CDATA[toUser]]></ToUserName>"
    "<FromUserName><![CDATA[fromUser]]></FromUserName><CreateTime>1348831860</CreateTime>"
    "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[this is a url]]></PicUrl>"
    "<MediaId><![CDATA[media_id]]></MediaId><MsgId>1234567890123456</MsgId></xml>"
)


def test_a_text_message_parses_into_its_fields_and_record():
    fields = parse_xml(TEXT, max_bytes=LIMIT)
    assert fields == {
        "ToUserName": "toUser",
        "FromUserName": "fromUser",
        "CreateTime": "1348831860",
        "MsgType": "text",
        "Content": "this is a test",
        "MsgId": "1234567890123456",
    }
    inbound = WxInbound.from_fields(fields)
    assert inbound == WxInbound(
        to_user="toUser",
        from_user="fromUser",
        create_time=1348831860,
        msg_type="text",
        content="this is a test",
        msg_id="1234567890123456",
        raw=fields,
    )
    assert inbound.dedupe_key == "msg:1234567890123456"


def test_an_event_has_no_msgid_and_dedupes_on_customer_time_and_event():
    inbound = WxInbound.from_fields(parse_xml(CLICK, max_bytes=LIMIT))
    assert (inbound.msg_type, inbound.event, inbound.event_key) == ("event", "CLICK", "EVENTKEY")
    assert inbound.msg_id == ""
    assert inbound.dedupe_key == "event:FromUser:123456789:CLICK"
    view = WxInbound.from_fields({**inbound.raw, "Event": "VIEW"})
    assert view.dedupe_key != inbound.dedupe_key


def test_nested_fields_come_under_dotted_names():
    fields = parse_xml(SCANCODE, max_bytes=LIMIT)
    assert fields["ScanCodeInfo.ScanType"] == "qrcode"
    assert fields["ScanCodeInfo.ScanResult"] == "1"
    assert "ScanCodeInfo" not in fields


def test_a_repeated_nested_list_keeps_its_first_entry():
    body = (
        "<xml><SendPicsInfo><Count>2</Count><PicList>"
        "<item><PicMd5Sum>aaa</PicMd5Sum></item><item><PicMd5Sum>bbb</PicMd5Sum></item>"
        "</PicList></SendPicsInfo></xml>"
    )
    assert parse_xml(body, max_bytes=LIMIT) == {
        "SendPicsInfo.Count": "2",
        "SendPicsInfo.PicList.item.PicMd5Sum": "aaa",
    }


def test_a_msgmenu_click_carries_the_option_id():
    inbound = WxInbound.from_fields(parse_xml(MENU_CLICK, max_bytes=LIMIT))
    assert (inbound.content, inbound.menu_id) == ("满意", "101")


def test_a_media_message_carries_its_media_id():
    inbound = WxInbound.from_fields(parse_xml(IMAGE, max_bytes=LIMIT))
    assert (inbound.msg_type, inbound.media_id) == ("image", "media_id")
    assert inbound.raw["PicUrl"] == "this is a url"


def test_text_is_kept_exactly_and_bytes_parse_like_str():
    body = build_xml({"Content": "  两个空格\n和换行  ", "Empty": ""})
    assert parse_xml(body, max_bytes=LIMIT) == {"Content": "  两个空格\n和换行  ", "Empty": ""}
    assert parse_xml(body.encode("utf-8"), max_bytes=LIMIT) == parse_xml(body, max_bytes=LIMIT)


def test_the_size_limit_counts_bytes():
    body = build_xml({"Content": "退" * 100})  # 300 bytes of UTF-8 in 100 characters
    size = len(body.encode("utf-8"))
    assert parse_xml(body, max_bytes=size)["Content"] == "退" * 100
    with pytest.raises(WxXmlError, match="over the limit"):
        parse_xml(body, max_bytes=size - 1)


@pytest.mark.parametrize(
    "body",
    [
        # billion laughs
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Content>&b;</Content></xml>',
        # an external entity (XXE)
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<xml><Content>&x;</Content></xml>",
        # a bare DTD
        "<!DOCTYPE xml><xml><Content>hi</Content></xml>",
    ],
)
def test_dtds_and_entities_are_refused(body):
    with pytest.raises(WxXmlError):
        parse_xml(body, max_bytes=LIMIT)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("", "not well-formed"),
        ("success", "not well-formed"),
        ("<xml><Content>hi</xml>", "not well-formed"),
        ("<xml><Content>hi</Content></xml>trailing", "not well-formed"),
        (b"<xml><Content>\xff\xfe</Content></xml>", "not well-formed"),
        ("<root><Content>hi</Content></root>", "not <xml>"),
        (
            "<xml><FromUserName>a</FromUserName><FromUserName>b</FromUserName></xml>",
            "appears twice",
        ),
    ],
)
def test_malformed_bodies_are_one_clear_error(body, says):
    with pytest.raises(WxXmlError, match=says):
        parse_xml(body, max_bytes=LIMIT)


@pytest.mark.parametrize("missing", ["ToUserName", "FromUserName", "CreateTime", "MsgType"])
def test_a_push_without_its_header_fields_is_malformed(missing):
    fields = parse_xml(TEXT, max_bytes=LIMIT)
    del fields[missing]
    with pytest.raises(WxXmlError, match=f"missing {missing}"):
        WxInbound.from_fields(fields)


def test_a_createtime_that_is_not_a_number_is_malformed():
    fields = {**parse_xml(TEXT, max_bytes=LIMIT), "CreateTime": "yesterday"}
    with pytest.raises(WxXmlError, match="not a number"):
        WxInbound.from_fields(fields)


def test_build_writes_strings_as_cdata_and_numbers_plain():
    xml = build_xml(
        {"ToUserName": "o_customer", "CreateTime": 1700000000, "MsgType": "text", "Content": "好"}
    )
    assert xml == (
        "<xml><ToUserName><![CDATA[o_customer]]></ToUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[好]]></Content></xml>"
    )


@pytest.mark.parametrize(
    "text",
    ["]]>", "a]]>b", "]]>]]>", "]]]>>", "<![CDATA[x]]>", "</Content><Evil>1</Evil>", "&amp;"],
)
def test_cdata_terminators_and_markup_in_text_survive(text):
    assert parse_xml(build_xml({"Content": text}), max_bytes=LIMIT) == {"Content": text}


def test_cdata_splits_its_terminator():
    assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"


@pytest.mark.parametrize("text", ["\x00", "bell\x07", "\ud800", "\ufffe"])
def test_characters_xml_cannot_carry_are_refused_when_building(text):
    with pytest.raises(WxXmlError, match="cannot carry"):
        build_xml({"Content": text})


@pytest.mark.parametrize("tag", ["", "1abc", "a b", "a>b", "Content/"])
def test_element_names_are_checked_when_building(tag):
    with pytest.raises(WxXmlError, match="not an XML element name"):
        build_xml({tag: "x"})


XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff").filter(
        lambda c: c in "\t\n\r" or ord(c) >= 0x20
    )
)


@given(st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True), XML_TEXT))
def test_any_flat_message_survives_build_and_parse(fields):
    # XML normalises line ends (\r\n and \r become \n), so WeChat's texts arrive that way too.
    expected = {k: v.replace("\r\n", "\n").replace("\r", "\n") for k, v in fields.items()}
    assert parse_xml(build_xml(fields), max_bytes=1 << 20) == expected
