import time
from pathlib import Path

import pytest

from core.language import HAN, detect_language
from handoff.signals import (
    CASE_KINDS,
    CaseFacts,
    Signals,
    TurnSignals,
    case_escalation,
    compute_signals,
    load_rules,
)


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def turns(*angers: float, question: str = "") -> list[TurnSignals]:
    return [TurnSignals(time.time(), question, a, a, ()) for a in angers]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("再不处理我就打12315投诉你们", "crisis_keyword"),
        ("我要找律师起诉", "crisis_keyword"),
        ("不给解决我就给差评", "crisis_keyword"),
        ("转人工", "explicit_request"),
        ("I want to talk to a human", "explicit_request"),
        ("收到的杯子碎了", "product_problem"),
        ("少发了一件，只有上衣没有裤子", "product_problem"),
        ("发错颜色了，我买的是黑色", "product_problem"),
        ("快递不是我签收的", "product_problem"),  # signed for by someone else
    ],
)
def test_keyword_rules_fire(rules, text, rule):
    escalation = compute_signals(text, rules).escalation
    assert escalation is not None and escalation.rule_id == rule


@pytest.mark.parametrize(
    "text", ["我想退货", "什么时候发货", "你好", "2025110300012", "质量问题怎么退"]
)
def test_calm_messages_do_not_escalate(rules, text):
    signals = compute_signals(text, rules, anger=0.1, negative=0.3)
    assert signals.escalation is None and signals.fired == ()


def test_crisis_outranks_everything_else(rules):
    signals = compute_signals("转人工，不然我去消协投诉", rules, anger=0.99)
    assert signals.escalation is not None
    assert signals.escalation.rule_id == "crisis_keyword"
    assert signals.escalation.team == "supervisor" and signals.escalation.priority == 3
    assert signals.fired[0] == "crisis_keyword" and {"explicit_request", "angry"} <= set(
        signals.fired
    )


def test_high_anger_escalates_to_complaints(rules):
    signals = compute_signals("你们到底怎么回事", rules, anger=0.93, negative=0.97)
    assert signals.escalation is not None and signals.escalation.rule_id == "angry"
    assert signals.escalation.team == "complaints"
    assert compute_signals("你们到底怎么回事", rules, anger=0.8).escalation is None


def test_rising_anger_over_three_turns_escalates(rules):
    rising = compute_signals("还没好吗", rules, anger=0.82, history=turns(0.2, 0.45))
    assert rising.escalation is not None and rising.escalation.rule_id == "anger_rising"
    assert rising.escalation.matched == "0.20 → 0.45 → 0.82"
    # rising, but ending below the shop's threshold (0.8): calm real customers do that often
    assert (
        compute_signals("还没好吗", rules, anger=0.7, history=turns(0.2, 0.45)).escalation is None
    )


@pytest.mark.parametrize(
    ("history", "anger"),
    [(turns(0.5, 0.45), 0.7), (turns(0.45), 0.7), (turns(0.1, 0.2), 0.3)],
    ids=["fell in between", "too few turns", "rising but still calm"],
)
def test_anger_that_does_not_keep_rising_does_not_escalate(rules, history, anger):
    assert compute_signals("嗯", rules, anger=anger, history=history).escalation is None


def test_the_same_question_three_times_escalates(rules):
    history = turns(0.1, 0.1, question="什么时候发货")
    signals = compute_signals("什么时候发货啊？？", rules, anger=0.1, history=history)
    assert signals.escalation is not None and signals.escalation.rule_id == "repeated_question"
    other = compute_signals("包邮吗", rules, anger=0.1, history=history)
    assert other.escalation is None
    twice = compute_signals("什么时候发货", rules, history=history[-1:])
    assert twice.escalation is None


def test_digits_tried_again_are_not_a_repeated_question(rules):
    """A customer retrying the last 4 phone digits is answering, not asking again."""
    history = turns(0.1, 0.1, question="1111")
    assert compute_signals("1111", rules, anger=0.1, history=history).escalation is None


@pytest.mark.parametrize(
    ("facts", "rule", "matched"),
    [
        (CaseFacts(vip=True), "vip_customer", "VIP"),
        (CaseFacts(order_total_cents=100_000), "high_value_order", "订单金额 ¥1000.00 ≥ ¥1000"),
        (CaseFacts(order_total_cents=259_900), "high_value_order", "订单金额 ¥2599.00 ≥ ¥1000"),
        (CaseFacts(refund_outside_policy=True), "refund_outside_policy", "退款/退货超出政策"),
        (CaseFacts(open_problems=2), "several_open_problems", "2 个未解决问题"),
        (CaseFacts(open_problems=3), "several_open_problems", "3 个未解决问题"),
        (CaseFacts(fallbacks_in_a_row=2), "fallbacks_in_a_row", "连续 2 次未理解"),
        (CaseFacts(delivered_order_words="我还没收到货呢"), "delivered_not_received", "没收到"),
        (CaseFacts(delivered_order_words="快递一直没送到"), "delivered_not_received", "没送到"),
        (CaseFacts(delivered_order_words="不是我签收的"), "delivered_not_received", "不是我签"),
    ],
)
def test_case_rules_fire_on_their_facts(rules, facts, rule, matched):
    escalation = case_escalation(rules, facts)
    assert escalation is not None and escalation.rule_id == rule
    assert escalation.matched == matched
    assert escalation.team == "after_sale" and escalation.priority == 2
    assert escalation.reason, "the agent is told why"


@pytest.mark.parametrize(
    "facts",
    [
        CaseFacts(),
        CaseFacts(order_total_cents=99_999),  # 999.99 yuan: just under the shop's 1000
        CaseFacts(open_problems=1),  # one problem is the normal case, the bot handles it
        CaseFacts(fallbacks_in_a_row=1),  # one misunderstanding gets a rephrase first
        CaseFacts(delivered_order_words="收到了 谢谢"),
        CaseFacts(delivered_order_words="如果没收到怎么办"),  # only asked about
        CaseFacts(delivered_order_words="快递到哪了"),  # the status reply answers it
    ],
    ids=[
        "an ordinary case",
        "order under the threshold",
        "one problem",
        "one fallback",
        "a delivered order received",
        "a delivered order not received only in a question",
        "a delivered order asked about",
    ],
)
def test_case_rules_do_not_fire_on_an_ordinary_case(rules, facts):
    assert case_escalation(rules, facts) is None


def test_case_rules_never_fire_on_text_alone(rules):
    """The router has only the text: a calm VIP's refund question about an expensive order,
    even after misunderstandings, is not escalated by it."""
    text = "我是VIP，3000元的订单过了退货期还能退款吗，还有快递延误和破损两个问题"
    history = turns(0.1, 0.1, question="嗯")
    signals = compute_signals(text, rules, anger=0.1, negative=0.4, history=history)
    assert not set(signals.fired) & {r.id for r in rules if r.kind in CASE_KINDS}
    assert signals.fired == ("product_problem",)


def test_case_escalation_ignores_text_rules(rules):
    assert (
        case_escalation([r for r in rules if r.kind not in CASE_KINDS], CaseFacts(vip=True)) is None
    )


def test_the_most_specific_case_reason_wins(rules):
    everything = CaseFacts(
        vip=True,
        order_total_cents=500_000,
        refund_outside_policy=True,
        open_problems=3,
        fallbacks_in_a_row=2,
    )
    escalation = case_escalation(rules, everything)
    assert escalation is not None and escalation.rule_id == "refund_outside_policy"


def test_a_higher_priority_case_rule_wins_over_file_order(tmp_path: Path):
    path = tmp_path / "rules.yml"
    path.write_text(
        "rules:\n"
        "  - {id: big, kind: order_value_above, threshold_yuan: 500, priority: 1,"
        " team: after_sale, reason: 大额}\n"
        "  - {id: vip, kind: vip_customer, priority: 3, team: supervisor, reason: 贵宾}\n"
    )
    escalation = case_escalation(load_rules(path), CaseFacts(vip=True, order_total_cents=80_000))
    assert escalation is not None and (escalation.rule_id, escalation.team) == ("vip", "supervisor")


def test_case_rule_settings_have_defaults(tmp_path: Path):
    path = tmp_path / "rules.yml"
    path.write_text(
        "rules:\n"
        "  - {id: p, kind: open_problems, priority: 2, team: after_sale, reason: 多个问题}\n"
        "  - {id: f, kind: fallbacks_in_a_row, priority: 2, team: after_sale, reason: 没听懂}\n"
    )
    problems, fallbacks = load_rules(path)
    assert problems.count == 2 and fallbacks.turns == 2


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ("{id: x, kind: mood, priority: 1, team: after_sale, reason: r}", "unknown kind 'mood'"),
        (
            "{id: x, kind: order_value_above, priority: 1, team: after_sale, reason: r}",
            "needs threshold_yuan",
        ),
        (
            "{id: x, kind: order_value_above, threshold_yuan: 0, priority: 1, team: after_sale,"
            " reason: r}",
            "threshold_yuan > 0",
        ),
        (
            "{id: x, kind: order_value_above, threshold_yaun: 1000, priority: 1,"
            " team: after_sale, reason: r}",
            "takes no threshold_yaun",
        ),
        (
            "{id: x, kind: open_problems, count: 1, priority: 1, team: after_sale, reason: r}",
            "count >= 2",
        ),
        (
            "{id: x, kind: fallbacks_in_a_row, turns: 0, priority: 1, team: after_sale, reason: r}",
            "turns >= 1",
        ),
        (
            "{id: x, kind: delivered_not_received, patterns: [], priority: 1, team: after_sale,"
            " reason: r}",
            "needs patterns",
        ),
        ("{id: x, kind: vip_customer, priority: 1, team: sales, reason: r}", "team must be one of"),
        (
            "{id: x, kind: vip_customer, priority: high, team: after_sale, reason: r}",
            "must be numbers",
        ),
        ("{id: x, kind: vip_customer, team: after_sale, reason: r}", "needs priority"),
        (
            "{id: x, kind: anger_above, threshold: 85, priority: 1, team: complaints, reason: r}",
            "threshold in \\(0, 1\\]",
        ),
    ],
)
def test_a_broken_rules_file_is_reported(tmp_path: Path, rule: str, error: str):
    path = tmp_path / "rules.yml"
    path.write_text(f"rules:\n  - {rule}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        load_rules(path)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("什么时候发货", "zh"),
        ("When will you ship?", "en"),
        ("能 refund 吗", "zh"),
        ("123456", "zh"),
    ],
)
def test_language(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize(
    "text",
    [
        "物流上写着已经签收了，可我根本没收到",
        "我一直没收到货，系统却显示签收了",
        "这个问题到现在都没有给我解决",
        "麻烦赶紧帮我处理一下",
        "快递信息好几天都没有更新了",
        "东西退回去了，钱还没到账",
        "我上周就联系你们说要改发票抬头，怎么到现在还没改好",
        "刚才不是说可以退运费吗",
        "说好今天下午回复我的，现在还没消息",
    ],
)
def test_problems_told_in_a_sentence_of_their_own_go_to_a_person(rules, text):
    assert "unresolved_problem" in compute_signals(text, rules).fired


@pytest.mark.parametrize(
    "text", ["怎么申请退货", "退款一般几天到账", "今天能发货吗", "签收的时候要注意什么"]
)
def test_ordinary_questions_are_no_unresolved_problem(rules, text):
    assert "unresolved_problem" not in compute_signals(text, rules).fired


@pytest.mark.parametrize(
    "text",
    [
        "两件衬衫只收到一件",
        "少件咨询",
        "打开一看少东西",
        "套装里少了一支笔",
        "少收到一个充电头",
        "就收到了杯子和勺子，盖子呢",
        "箱子里的说明书没有看到",
        "会员我没开通过，怎么扣了我三十块",
        "这个月莫名其妙扣款两次",
        "凭什么算我的责任，是快递摔的",
        "东西坏了你们得给我补偿",
    ],
)
def test_missing_parts_unasked_charges_blame_and_compensation_go_to_a_person(rules, text):
    assert "missing_or_disputed" in compute_signals(text, rules).fired


@pytest.mark.parametrize(
    "text",
    [
        "我的快递还没收到",
        "买多少件有优惠",
        "快递找到了 不少东西",
        "朋友的早就收到了，我的呢",
        "万一是假的会补偿吗",
        "出了质量问题怎么赔付",
        "能开发票吗",
        "支持自动续费吗",
    ],
)
def test_ordinary_waits_and_policy_questions_are_not_disputes(rules, text):
    assert not {"missing_or_disputed", "dispute"} & set(compute_signals(text, rules).fired)


@pytest.mark.parametrize(
    "text",
    [
        "在吗 人工",
        "人工 我想问一下退款的事",
        "请问怎么改地址？人工！",
        "能打电话说吗",
        "你们有客服电话吗",
    ],
)
def test_a_person_asked_for_inside_a_longer_message_goes_to_a_person(rules, text):
    assert "person_asked" in compute_signals(text, rules).fired


@pytest.mark.parametrize(
    "text",
    ["安装要另付人工费吗", "这是人工智能音箱吗", "人工成本涨了所以涨价吗", "可以打电话 我现在有空"],
)
def test_the_word_person_inside_another_word_asks_for_nobody(rules, text):
    assert "person_asked" not in compute_signals(text, rules).fired


@pytest.mark.parametrize(
    "text",
    [
        "有没有驳回的可能",
        "万一商家不同意换货怎么办",
        "是否会审核不通过",
        "刚才有人给我打电话说要取件",
    ],
)
def test_a_dispute_only_asked_about_or_a_call_received_hands_nothing_over(rules, text):
    assert not {"dispute", "explicit_request", "person_asked"} & set(
        compute_signals(text, rules).fired
    )


@pytest.mark.parametrize("text", ["商家驳回了我的退货申请", "请你们给我打个电话"])
def test_a_real_dispute_or_a_call_asked_for_still_hands_over(rules, text):
    assert compute_signals(text, rules).fired


def test_unless_keeps_a_rule_from_firing(tmp_path: Path):
    path = tmp_path / "rules.yml"
    path.write_text(
        "rules:\n  - {id: r, kind: keywords, priority: 1, team: after_sale, reason: x,"
        " keywords: [驳回], unless: ['会不会']}\n",
        encoding="utf-8",
    )
    rules = load_rules(path)
    assert compute_signals("被驳回了", rules).fired == ("r",)
    assert compute_signals("会不会被驳回", rules).fired == ()


@pytest.mark.parametrize("setting", ["unless", "not_within"])
def test_a_words_setting_is_refused_on_a_rule_that_reads_no_words(tmp_path: Path, setting: str):
    path = tmp_path / "rules.yml"
    path.write_text(
        "rules:\n  - {id: r, kind: anger_above, priority: 1, team: complaints, reason: x,"
        f" threshold: 0.9, {setting}: ['x']}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=f"takes no {setting}"):
        load_rules(path)


@pytest.mark.parametrize("text", ["收到的杯子有划痕", "箱子压得磕碰了好几处"])
def test_a_scratched_or_dented_item_is_a_product_problem(rules, text):
    assert "product_problem" in compute_signals(text, rules).fired


def test_a_used_item_received_is_a_product_problem(rules):
    assert "product_problem" in compute_signals("收到的吹风机是被别人用过的", rules).fired


def test_a_pattern_that_is_no_regular_expression_is_refused_naming_the_rule(tmp_path: Path):
    path = tmp_path / "rules.yml"
    path.write_text(
        "rules:\n  - {id: broken, kind: patterns, priority: 1, team: after_sale,"
        " reason: x, patterns: ['(unclosed']}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"broken.*no regular expression"):
        load_rules(path)


def test_every_shipped_rule_gives_the_agent_its_reason_in_english_too(rules):
    for rule in rules:
        assert rule.reason_en and not HAN.search(rule.reason_en), rule.id
    escalation = compute_signals("我要投诉你们", rules).escalation
    assert escalation is not None and escalation.reason_en == rules[0].reason_en


def test_a_rule_without_an_english_reason_keeps_the_chinese_one(tmp_path: Path):
    path = tmp_path / "rules.yml"
    path.write_text(
        "rules:\n  - {id: v, kind: vip_customer, priority: 2, team: after_sale, reason: 贵宾}\n"
        "  - {id: w, kind: vip_customer, priority: 2, team: after_sale, reason: 贵宾,"
        " reason_zh: 贵宾}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="takes no reason_zh"):
        load_rules(path)
    path.write_text(path.read_text(encoding="utf-8").split("\n  - {id: w")[0] + "\n")
    [rule] = load_rules(path)
    assert rule.reason_en == "贵宾"


def test_an_escalation_stored_before_english_reasons_still_loads():
    record = {"language": "zh", "negative": 0.1, "anger": 0.2, "fired": ["angry"]}
    old = {"rule_id": "angry", "priority": 2, "team": "complaints", "reason": "r", "matched": "m"}
    signals = Signals.from_metadata({**record, "escalation": old})
    assert signals.escalation is not None and signals.escalation.reason_en == ""


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("我想买个烟雾报警器", "crisis_keyword"),
        ("发票抬头要和工商注册的名称一样吗", "crisis_keyword"),
        ("这款相机曝光补偿怎么调", "crisis_keyword"),
        ("支持多媒体播放吗", "crisis_keyword"),
        ("我付了123150元 怎么还没发货", "crisis_keyword"),  # 12315 inside a longer number
        ("这个适合老人呢还是小孩", "explicit_request"),
        ("发票抬头写个人呢还是公司", "explicit_request"),
        ("垃圾袋什么时候发货", "dispute"),
        ("我的退货已经审核通过了吗", "dispute"),
        ("我都急坏了 快递到哪了", "product_problem"),
        ("尚未收到货 能退款吗", "product_problem"),
        ("收到坏的话可以换吗", "product_problem"),
        ("电视有运动补偿功能吗", "missing_or_disputed"),
    ],
)
def test_a_word_that_only_holds_a_keyword_does_not_fire_its_rule(rules, text, rule):
    assert rule not in compute_signals(text, rules).fired


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("报警器是坏的 再不处理我就报警", "crisis_keyword"),
        ("我要去网上曝光你们", "crisis_keyword"),
        ("我打12315", "crisis_keyword"),
        ("人呢？", "explicit_request"),
        ("什么垃圾东西", "dispute"),
        ("经审核，您的申请不符合退货条件", "dispute"),
        ("我的退货已经审核不通过了", "dispute"),
        ("显示经审核没有质量问题", "dispute"),
        ("收到的东西坏了", "product_problem"),
        ("拍照曝光补偿一直不对，我要求赔偿", "missing_or_disputed"),
    ],
)
def test_the_keyword_itself_still_fires_beside_such_a_word(rules, text, rule):
    assert rule in compute_signals(text, rules).fired
