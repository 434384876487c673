"""How WeChat and WeCom messages leave (``plan_merged``): what a customer receives when the bot
or an agent says several things in a row, within the platforms' byte limits."""

from __future__ import annotations

from bot.channels.outbox import Outgoing
from bot.channels.wechat import LIMITS as WECHAT_LIMITS
from bot.channels.wecom import LIMITS as WECOM_LIMITS
from bot.channels.wxcommon import plan_merged
from core.records import Button, ChatMessage, Role

BUTTONS = (Button("物流", "/order_logistics"), Button("退货", "/return_request"))


def said(message_id: str, text: str, buttons: tuple[Button, ...] = ()) -> ChatMessage:
    return ChatMessage("wx-oKefu", Role.BOT, text, 1.0, buttons, id=message_id)


def test_consecutive_texts_arrive_as_one_message():
    planned = plan_merged([said("1", "您好"), said("2", "请问有什么可以帮您？")], WECHAT_LIMITS)
    assert planned == [Outgoing("您好\n\n请问有什么可以帮您？", ("1", "2"))]


def test_a_menu_ends_the_run_and_carries_the_texts_before_it():
    planned = plan_merged(
        [
            said("1", "亲，收到了"),
            said("2", "请问是哪类问题？", BUTTONS),
            said("3", "也可以直接留言"),
        ],
        WECHAT_LIMITS,
    )
    assert planned == [
        Outgoing("亲，收到了\n\n请问是哪类问题？", ("1", "2"), BUTTONS, "2"),
        Outgoing("也可以直接留言", ("3",)),
    ]


def test_two_menus_in_a_row_stay_two_messages():
    planned = plan_merged(
        [said("1", "请选一项", BUTTONS), said("2", "或者这些", BUTTONS)], WECHAT_LIMITS
    )
    assert [(o.text, o.message_ids, o.buttons_of) for o in planned] == [
        ("请选一项", ("1",), "1"),
        ("或者这些", ("2",), "2"),
    ]


def test_texts_that_together_pass_2048_bytes_leave_as_two_messages():
    first, second = "好" * 600, "的" * 600  # 1,800 bytes each in UTF-8
    planned = plan_merged([said("1", first), said("2", second)], WECHAT_LIMITS)
    assert planned == [Outgoing(first, ("1",)), Outgoing(second, ("2",))]


def test_a_text_too_long_for_one_message_leaves_in_parts_that_lose_no_character():
    text = "亲" * 1000 + "abc"  # 3,003 bytes
    planned = plan_merged([said("1", text)], WECHAT_LIMITS)
    assert [len(o.text.encode()) for o in planned] == [2046, 957]  # 682 characters fit
    assert "".join(o.text for o in planned) == text
    # Only the last part carries the id: the outbox moves on once it is delivered.
    assert [o.message_ids for o in planned] == [(), ("1",)]


def test_a_text_that_fills_the_room_exactly_is_one_message():
    planned = plan_merged([said("1", "a" * 2048)], WECHAT_LIMITS)
    assert planned == [Outgoing("a" * 2048, ("1",))]


def test_a_wechat_menu_counts_its_titles_and_a_wecom_menu_does_not():
    # WeChat: the menu's head and its option titles share 2048 bytes (12 bytes of titles).
    head = "a" * 2040
    [*parts, menu] = plan_merged([said("1", head, BUTTONS)], WECHAT_LIMITS)
    assert [p.text for p in parts] == ["a" * 2036] and menu.text == "aaaa"
    assert menu.buttons == BUTTONS and menu.message_ids == ("1",)
    # WeCom: the head alone has 1024 bytes.
    [*parts, menu] = plan_merged([said("1", "a" * 1030, BUTTONS)], WECOM_LIMITS)
    assert [p.text for p in parts] == ["a" * 1024] and menu.text == "a" * 6
    assert plan_merged([said("1", "a" * 1024, BUTTONS)], WECOM_LIMITS) == [
        Outgoing("a" * 1024, ("1",), BUTTONS, "1")
    ]


def test_a_text_that_would_overfill_a_menu_leaves_before_it():
    # 1,020 bytes + the blank line + 6 bytes of head pass WeCom's 1,024 for a menu head.
    planned = plan_merged([said("1", "a" * 1020), said("2", "请选", BUTTONS)], WECOM_LIMITS)
    assert planned == [Outgoing("a" * 1020, ("1",)), Outgoing("请选", ("2",), BUTTONS, "2")]


def test_a_menu_without_text_still_carries_its_buttons():
    planned = plan_merged([said("1", "请选"), said("2", "", BUTTONS)], WECHAT_LIMITS)
    assert planned == [Outgoing("请选", ("1", "2"), BUTTONS, "2")]
