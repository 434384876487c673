import pytest
from rasa_sdk.executor import CollectingDispatcher
from redis.asyncio import Redis

from actions.satisfaction import ActionRecordSatisfaction
from core.keys import Keys
from handoff.queue import TicketQueue


@pytest.fixture
def environment(monkeypatch, redis_url: str, keys: Keys):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("KEFU_REDIS_PREFIX", keys.prefix)


async def closed_ticket(redis: Redis, keys: Keys, conversation_id: str) -> str:
    queue = TicketQueue(redis, keys, 600)
    place = await queue.open(
        conversation_id, "web", priority=1, team="after_sale", reasons=("x",), summary="", packet={}
    )
    await queue.claim(place.ticket_id, "alice")
    await queue.close(place.ticket_id, "alice", "resolved")
    return place.ticket_id


async def rate(make_tracker, conversation_id: str, value: str) -> list[dict]:
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "rating", "value": value}]
    tracker = make_tracker("/rate", entities=entities, sender=conversation_id)
    await ActionRecordSatisfaction().run(dispatcher, tracker, {})
    return dispatcher.messages


async def test_a_rating_is_kept_on_the_closed_ticket(environment, redis, keys, make_tracker):
    ticket_id = await closed_ticket(redis, keys, "c1")
    messages = await rate(make_tracker, "c1", "5")
    assert messages[0]["response"] == "utter_thanks_for_rating"
    ticket = await TicketQueue(redis, keys, 600).get(ticket_id)
    assert ticket is not None and ticket.satisfaction == 5


async def test_a_low_rating_gets_an_apology(environment, redis, keys, make_tracker):
    await closed_ticket(redis, keys, "c2")
    assert (await rate(make_tracker, "c2", "2"))[0]["response"] == "utter_sorry_for_rating"


@pytest.mark.parametrize("value", ["0", "9", "很好"])
async def test_anything_but_1_to_5_asks_again(environment, make_tracker, value):
    assert (await rate(make_tracker, "c3", value))[0]["response"] == "utter_ask_satisfaction"
