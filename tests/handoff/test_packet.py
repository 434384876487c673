from handoff.masking import mask_name, mask_phone, mask_text
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
