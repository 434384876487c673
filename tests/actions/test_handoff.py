import pytest
from rasa_sdk.executor import CollectingDispatcher
from redis.asyncio import Redis

from actions.conversation import transcript
from actions.handoff import ActionHandoff
from core.keys import Keys
from core.records import Owner
from core.store import ConversationStore
from handoff.queue import TicketQueue

EVENTS = [
    {
        "event": "user",
        "timestamp": 1.0,
        "text": "我的快递怎么还没到，电话13812345678",
        "parse_data": {"intent": {"name": "order_status", "confidence": 0.91}},
        "metadata": {"channel": "web", "signals": {"language": "zh", "escalation": None}},
    },
    {"event": "bot", "timestamp": 2.0, "text": "亲，请提供订单号"},
    {
        "event": "user",
        "timestamp": 3.0,
        "text": "转人工",
        "parse_data": {"intent": {"name": "request_human", "confidence": 0.99}},
        "metadata": {
            "channel": "web",
            "signals": {
                "language": "zh",
                "escalation": {
                    "rule_id": "explicit_request",
                    "priority": 2,
                    "team": "after_sale",
                    "reason": "客户明确要求人工客服",
                    "matched": "转人工",
                },
            },
        },
    },
]


@pytest.fixture
def environment(monkeypatch, redis_url: str, keys: Keys):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("KEFU_REDIS_PREFIX", keys.prefix)


async def test_handoff_queues_a_ticket_with_the_full_masked_context(
    environment, redis: Redis, keys: Keys, make_tracker
):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("转人工", intent="request_human", events=EVENTS, sender="conv-9")
    await ActionHandoff().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["response"] == "utter_handoff_queued"
    assert dispatcher.messages[0]["position"] == 1
    conversation = await ConversationStore(redis, keys, 60).get("conv-9")
    assert conversation.owner is Owner.QUEUE
    queue = TicketQueue(redis, keys, 60)
    ticket = await queue.get(conversation.ticket_id)
    assert (
        ticket is not None and ticket.reasons == ("explicit_request",) and ticket.channel == "web"
    )
    packet = await queue.packet(ticket.id)
    assert [t["text"] for t in packet["turns"]] == [
        "我的快递怎么还没到，电话138****5678",
        "亲，请提供订单号",
        "转人工",
    ]
    assert packet["turns"][0]["intent"] == "order_status"


async def test_the_rule_of_the_customer_message_survives_the_escalate_external_intent(
    environment, redis, keys, make_tracker
):
    angry = {
        **EVENTS[0],
        "metadata": {
            "channel": "web",
            "signals": {
                "language": "zh",
                "escalation": {
                    "rule_id": "angry",
                    "priority": 2,
                    "team": "complaints",
                    "reason": "客户情绪激动",
                    "matched": "anger 0.97",
                },
            },
        },
    }
    external = {
        "event": "user",
        "timestamp": 2.0,
        "text": "EXTERNAL: escalate",
        "parse_data": {"intent": {"name": "escalate", "confidence": 1.0}},
        "metadata": {"model_id": "abc", "assistant_id": "kefu"},
    }
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("EXTERNAL: escalate", events=[angry, external], sender="conv-7")
    await ActionHandoff().run(dispatcher, tracker, {})
    ticket_id = (await ConversationStore(redis, keys, 60).get("conv-7")).ticket_id
    ticket = await TicketQueue(redis, keys, 60).get(ticket_id)
    assert ticket is not None and ticket.reasons == ("angry",) and ticket.team == "complaints"
    packet = await TicketQueue(redis, keys, 60).packet(ticket_id)
    assert [t["text"] for t in packet["turns"]] == ["我的快递怎么还没到，电话138****5678"]
    # An escalation without an English reason (sent before there were any) keeps the Chinese.
    assert "Wants: 客户情绪激动." in packet["summary_en"]
    assert any("complaint" in step for step in packet["suggested_steps_en"])


async def test_a_paraphrased_request_uses_the_shops_explicit_request_rule(
    environment, redis, keys, make_tracker
):
    events = [{**EVENTS[0], "metadata": {"channel": "web"}}]
    dispatcher = CollectingDispatcher()
    await ActionHandoff().run(
        dispatcher, make_tracker("找个真人", events=events, sender="conv-8"), {}
    )
    ticket_id = (await ConversationStore(redis, keys, 60).get("conv-8")).ticket_id
    ticket = await TicketQueue(redis, keys, 60).get(ticket_id)
    assert (
        ticket is not None
        and ticket.reasons == ("explicit_request",)
        and ticket.team == "after_sale"
    )
    packet = await TicketQueue(redis, keys, 60).packet(ticket_id)
    assert "诉求：客户明确要求人工客服。" in packet["summary"]
    assert "Wants: The customer asks for a human agent." in packet["summary_en"]
    assert not any("complaint" in step for step in packet["suggested_steps_en"])


async def test_redis_down_is_an_apology(monkeypatch, make_tracker):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    dispatcher = CollectingDispatcher()
    await ActionHandoff().run(dispatcher, make_tracker("转人工", events=EVENTS), {})
    assert dispatcher.messages[0]["response"] == "utter_handoff_failed"


def test_a_tapped_button_is_in_the_packet_as_its_title_not_its_payload(make_tracker):
    metadata = {**EVENTS[2]["metadata"], "button_title": "转人工客服"}
    tap = {**EVENTS[2], "text": "/request_human", "metadata": metadata}
    turns = transcript(make_tracker("/request_human", events=[*EVENTS[:2], tap]))
    assert [(t.role, t.text, t.intent) for t in turns][1:] == [
        ("bot", "亲，请提供订单号", ""),
        ("customer", "转人工客服", "request_human"),
    ]


def test_a_message_the_fallback_replayed_is_in_the_packet_once(make_tracker):
    """The two-stage fallback rewinds a rephrased message and replays it as a new one."""
    angry = {
        **EVENTS[0],
        "text": "都一个星期了还没发货！",
        "parse_data": {"intent": {"name": "complain"}},
    }
    replayed = [
        EVENTS[0],
        {"event": "bot", "timestamp": 2.0, "text": "请问您是想问下面哪一个呢？"},
        {"event": "action", "name": "action_listen"},
        angry,
        {"event": "action", "name": "action_two_stage_fallback"},
        {"event": "rewind"},
        {"event": "action", "name": "action_listen"},
        angry,
    ]
    turns = transcript(make_tracker(angry["text"], events=replayed))
    assert [t.text for t in turns if t.role == "customer"] == [EVENTS[0]["text"], angry["text"]]


async def test_the_packet_carries_every_order_mentioned_and_the_faq_answers_given(
    environment, redis: Redis, keys: Keys, make_tracker, tmp_path, monkeypatch
):
    from orders.demo_store import DemoOrderStore

    DemoOrderStore(tmp_path / "orders.sqlite3").ensure_seeded()
    monkeypatch.setenv("KEFU_ORDERS_DB", str(tmp_path / "orders.sqlite3"))
    events = [
        {
            "event": "user",
            "text": "订单2025110300012和2025110300030都有问题 还有2025110300001",
            "parse_data": {
                "intent": {"name": "complain", "confidence": 0.9},
                "entities": [
                    {"entity": "order_id", "value": "2025110300012"},
                    {"entity": "order_id", "value": "2025110300030"},
                    {"entity": "order_id", "value": "2025110300001"},
                ],
            },
            "metadata": {"channel": "web", "signals": {"language": "zh", "escalation": None}},
        },
        {"event": "slot", "name": "verified_order", "value": "2025110300012"},
        {"event": "action", "name": "action_answer_faq"},
        {"event": "bot", "text": "亲，默认发中通快递哦"},
        {"event": "action", "name": "action_listen"},
        {"event": "bot", "text": "正在为您转接"},
    ]
    tracker = make_tracker(
        "转人工",
        events=events,
        sender="conv-orders",
        slots={"order_id": "2025110300030", "verified_order": "2025110300030"},
    )
    await ActionHandoff().run(CollectingDispatcher(), tracker, {})
    conversation = await ConversationStore(redis, keys, 60).get("conv-orders")
    packet = await TicketQueue(redis, keys, 60).packet(conversation.ticket_id)
    cards = {card["id"]: card for card in packet["orders"]}
    assert set(cards) == {"2025110300012", "2025110300030", "2025110300001"}
    assert not cards["2025110300001"]["verified_owner"]
    # Both were proven the customer's in this conversation, the earlier one too.
    assert cards["2025110300030"]["verified_owner"] and cards["2025110300012"]["verified_owner"]
    assert "****" in cards["2025110300012"]["phone"] and cards["2025110300012"]["address"].endswith(
        "****"
    )
    assert packet["faq_answers"] == ["亲，默认发中通快递哦"]
