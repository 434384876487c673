from core.masking import mask_name, mask_phone, mask_text
from handoff.packet import Turn, build_packet


def test_packet_masks_personal_data_and_summarises_three_elements():
    turns = [
        Turn("customer", "我的电话是13812345678，地址写错了", 1.0, "order_change", 0.9),
        Turn("bot", "好的", 2.0),
        Turn("customer", "转人工", 3.0, "request_human", 0.99, anger=0.42, negative=0.7),
    ]
    packet = build_packet(
        "c1",
        "web",
        turns,
        reasons=("客户明确要求人工客服",),
        priority=2,
        team="after_sale",
        orders=({"id": "2025110300012"},),
    )
    assert packet.turns[0].text == "我的电话是138****5678，地址写错了"
    assert "13812345678" not in str(packet.to_dict())
    assert packet.summary.startswith("时间：")
    assert "问题：" in packet.summary and "诉求：客户明确要求人工客服" in packet.summary
    assert any("订单" in step for step in packet.suggested_steps)
    assert packet.to_dict()["turns"][2]["intent"] == "request_human"
    assert packet.to_dict()["turns"][2]["anger"] == 0.42, "the signal trajectory is kept"


def test_masking_helpers():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_name("张三丰") == "张**"
    assert mask_text("订单2025110300012") == "订单2025110300012", "order numbers stay readable"
    assert mask_text("mail me at wang.li@example.com") == "mail me at w***@example.com"


def test_the_summary_says_the_problem_not_the_answers_to_the_bots_questions():
    turns = [
        Turn("customer", "帮我取消订单2025110300012", 1.0, "order_cancel", 0.99),
        Turn("bot", "麻烦告诉我手机号后四位", 2.0),
        Turn("customer", "8505", 3.0, "inform", 0.99),
        Turn("customer", "订单号2025110300030", 3.5, "inform", 0.99),
        Turn("customer", "确认", 4.0, "affirm", 0.99),
        Turn("customer", "转人工", 5.0, "request_human", 0.99),
    ]
    packet = build_packet("c2", "web", turns, reasons=("r",), priority=1, team="after_sale")
    assert "问题：帮我取消订单2025110300012；订单号2025110300030；转人工。" in packet.summary
    assert "8505" not in packet.summary
    assert [t.text for t in packet.turns if t.role == "customer"][1] == "8505"  # still in the log


def test_the_summary_and_the_steps_are_in_english_too():
    turns = [Turn("customer", "我要投诉，快递三天没动", 1.0, "complain", 0.9)]
    packet = build_packet(
        "c3",
        "web",
        turns,
        reasons=("客户提到投诉渠道（危机投诉）", "客户明确要求人工客服"),
        reasons_en=("The customer mentions a complaint channel", "The customer asks for a human"),
        priority=3,
        team="supervisor",
        orders=({"id": "2025110300012"},),
    )
    assert packet.summary_en.startswith("Time: ")
    assert "Problem: 我要投诉，快递三天没动." in packet.summary_en
    assert (
        "Wants: The customer mentions a complaint channel, The customer asks for a human."
        in packet.summary_en
    )
    assert "诉求：客户提到投诉渠道（危机投诉）、客户明确要求人工客服" in packet.summary
    assert len(packet.suggested_steps_en) == len(packet.suggested_steps) == 4
    assert any("complaint" in step for step in packet.suggested_steps_en)
    assert packet.to_dict()["summary_en"] == packet.summary_en


def test_a_summary_with_nothing_described_says_so_in_both_languages():
    packet = build_packet("c4", "web", [], reasons=(), priority=1, team="pre_sale")
    assert "问题：（客户尚未描述问题）。诉求：人工协助。" in packet.summary
    assert "Problem: (not described yet). Wants: help from a person." in packet.summary_en
    assert len(packet.suggested_steps_en) == len(packet.suggested_steps) == 2


def test_the_complaint_step_follows_the_team_not_the_wording_of_the_reason():
    def steps(team: str, reason: str) -> tuple[str, ...]:
        packet = build_packet("c5", "web", [], reasons=(reason,), priority=2, team=team)
        return packet.suggested_steps

    angry = steps("complaints", "客户情绪激动，需人工安抚后处理")
    assert len(angry) == len(steps("supervisor", "VIP 客户，需人工优先服务")) == 3
    assert angry[1] not in steps("after_sale", "客户说要投诉快递"), "no complaint team, no step"


def test_without_english_reasons_the_english_summary_keeps_the_chinese_ones():
    packet = build_packet(
        "c6", "web", [], reasons=("客户明确要求人工客服",), priority=2, team="after_sale"
    )
    assert "Wants: 客户明确要求人工客服." in packet.summary_en
