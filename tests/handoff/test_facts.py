"""The facts the reports are computed from, on a real Redis: each contact's outcome derived
from what happened in it, re-contacts, and every ticket's life."""

import asyncio
import time

from redis.asyncio import Redis

from core.facts import TurnReading
from core.keys import Keys
from handoff.facts import FactStore, day_of
from handoff.queue import TicketQueue

IDLE = 1800.0
DAY = 86400.0
START = 1_790_000_000.0  # a fixed moment: facts are filed by its day

GREET = TurnReading("greet", 0.99, ["utter_greet"], ["utter_greet"])
INVOICE = TurnReading("faq", 0.95, ["action_answer_faq"], [""], ["invoice"])
NO_MATCH = TurnReading("faq", 0.71, ["action_answer_faq"], ["utter_faq_unknown"])
ASK_PERSON = TurnReading("request_human", 0.99, ["action_handoff"], ["utter_handoff_queued"])
THANKS = TurnReading("thanks", 0.99, ["utter_thanks"], ["utter_thanks"])


def store(redis: Redis, keys: Keys) -> FactStore:
    return FactStore(redis, keys, ttl_seconds=30 * 86400, contact_idle_seconds=IDLE)


async def say(facts: FactStore, reading: TurnReading, at: float, conversation="web-a", text="…"):
    message_id = f"{conversation}-{at}"
    return await facts.record_turn(
        conversation, "rest", "", text, reading, message_id=message_id, ts=at
    )


async def test_a_contact_the_bot_answered_is_resolved_once_the_customer_goes_quiet(redis, keys):
    facts = store(redis, keys)
    await say(facts, GREET, START)
    await say(facts, INVOICE, START + 20)
    await say(facts, THANKS, START + 40)
    assert await facts.close_idle(now=START + 40 + IDLE - 1) == []  # not quiet long enough
    [contact] = await facts.close_idle(now=START + 40 + IDLE + 1)
    assert contact.outcome == "resolved" and contact.messages == 3
    assert contact.topic == "faq:invoice" and contact.intents == ["greet", "faq", "thanks"]
    assert (contact.started_at, contact.ended_at) == (START, START + 40)
    assert await facts.contacts(START - DAY, START + DAY) == [contact]
    assert await facts.close_idle(now=START + 10 * IDLE) == []  # recorded once


async def test_a_question_left_without_an_answer_is_abandoned_and_kept_masked(redis, keys):
    facts = store(redis, keys)
    await say(facts, GREET, START)
    turn = await say(facts, NO_MATCH, START + 30, text="我的手机13812345678能用这个充电器吗")
    assert turn is not None and turn.faq == "no_match"
    assert turn.question == "我的手机138****5678能用这个充电器吗"
    [contact] = await facts.close_idle(now=START + 30 + IDLE + 1)
    assert contact.outcome == "abandoned"
    [_, stored] = await facts.turns(START - 1, START + DAY)
    assert stored == turn and not (await facts.turns(START - 1, START + DAY))[0].question


async def test_asking_for_a_person_is_never_a_resolution_even_when_an_agent_solves_it(redis, keys):
    facts, queue = store(redis, keys), TicketQueue(redis, keys, 3600)
    now = time.time()  # the queue opens tickets now
    await say(facts, ASK_PERSON, now)
    place = await queue.open(
        "web-a",
        "rest",
        priority=2,
        team="after_sale",
        reasons=("explicit_request",),
        summary="",
        packet={},
    )
    # Waiting, then with an agent: the contact goes on however quiet it is.
    assert await facts.close_idle(now=now + 5 * IDLE) == []
    assert await queue.claim(place.ticket_id, "wang")
    assert await facts.close_idle(now=now + 6 * IDLE) == []
    assert await queue.close(place.ticket_id, "wang", "resolved")
    [contact] = await facts.close_idle(now=now + 40 * IDLE)
    assert contact.outcome == "handed_over" and contact.asked_for_person
    assert contact.handoff_rule == "explicit_request" and contact.tickets == [place.ticket_id]


async def test_asking_for_a_person_and_getting_none_is_abandoned(redis, keys):
    facts = store(redis, keys)
    await say(facts, ASK_PERSON, START)
    await say(facts, THANKS, START + 60)
    [contact] = await facts.close_idle(now=START + 60 + IDLE + 1)
    assert contact.outcome == "abandoned" and contact.asked_for_person


async def test_coming_back_about_the_same_topic_within_a_day_marks_the_resolution(redis, keys):
    facts = store(redis, keys)
    await say(facts, INVOICE, START)
    await facts.close_idle(now=START + IDLE + 1)
    later = START + 3 * 3600
    # The same customer on another topic first: not a re-contact.
    await say(facts, TurnReading("order_status", 0.9, ["order_status_form"]), later)
    await facts.close_idle(now=later + IDLE + 1)
    await say(facts, INVOICE, later + 2 * IDLE)  # starts a third contact
    await facts.close_idle(now=later + 4 * IDLE)
    first, second, third = await facts.contacts(START - 1, START + DAY)
    assert first.topic == third.topic == "faq:invoice" and second.topic == "order_status"
    assert first.recontact_24h and first.recontact_7d
    assert not (second.recontact_24h or second.recontact_7d or third.recontact_7d)


async def test_coming_back_within_a_week_is_a_seven_day_recontact_only(redis, keys):
    facts = store(redis, keys)
    await say(facts, INVOICE, START)
    await facts.close_idle(now=START + IDLE + 1)
    await say(facts, INVOICE, START + 3 * DAY)
    await facts.close_idle(now=START + 3 * DAY + IDLE + 1)
    first, _ = await facts.contacts(START - 1, START + 4 * DAY)
    assert first.recontact_7d and not first.recontact_24h


async def test_a_message_after_a_quiet_spell_starts_a_new_contact(redis, keys):
    facts = store(redis, keys)
    await say(facts, NO_MATCH, START)
    await say(facts, INVOICE, START + IDLE + 60)  # before any closing round ran
    [first] = await facts.contacts(START - 1, START + DAY)
    assert first.outcome == "abandoned" and first.messages == 1
    [second] = await facts.close_idle(now=START + 3 * IDLE)
    assert second.outcome == "resolved" and second.started_at == START + IDLE + 60


async def test_a_turn_run_again_is_counted_once(redis, keys):
    facts = store(redis, keys)
    assert await say(facts, INVOICE, START) is not None
    assert await say(facts, INVOICE, START) is None
    assert len(await facts.turns(START - 1, START + 1)) == 1


async def test_processes_closing_at_once_record_each_contact_once(redis, keys):
    for n in range(20):
        await say(store(redis, keys), INVOICE, START + n, conversation=f"web-{n}")
    closers = [store(redis, keys) for _ in range(3)]
    rounds = await asyncio.gather(*(c.close_idle(now=START + 2 * IDLE) for c in closers))
    assert sum(len(closed) for closed in rounds) == 20
    assert len(await closers[0].contacts(START - 1, START + DAY)) == 20


async def test_a_tickets_life_is_recorded_at_every_step(redis, keys):
    facts, queue = store(redis, keys), TicketQueue(redis, keys, 3600)
    place = await queue.open(
        "web-a", "rest", priority=2, team="complaints", reasons=("angry",), summary="", packet={}
    )
    ticket = await queue.get(place.ticket_id)
    assert ticket is not None
    assert await queue.claim(place.ticket_id, "wang")
    await queue.first_response(place.ticket_id, at=ticket.created_at + 12)
    await queue.first_response(place.ticket_id, at=ticket.created_at + 50)  # not the first
    claimed = await queue.get(place.ticket_id)
    assert claimed is not None
    assert await queue.requeue(claimed, "wang", team="supervisor")  # a transfer
    assert await queue.claim(place.ticket_id, "li")
    assert await queue.close(place.ticket_id, "li", "refunded")
    assert await queue.rate("web-a", 5) == place.ticket_id
    [fact] = await facts.tickets(ticket.created_at - 1, ticket.created_at + 1)
    assert (fact.rule, fact.team, fact.status, fact.agent) == (
        "angry",
        "supervisor",
        "closed",
        "li",
    )
    assert fact.first_response_seconds is not None and abs(fact.first_response_seconds - 12) < 1e-6
    assert fact.wait_seconds is not None and fact.wait_seconds >= 0
    assert (fact.transfers, fact.outcome, fact.satisfaction) == (1, "refunded", 5)


async def test_facts_are_filed_by_day_with_a_ttl(redis, keys):
    facts = store(redis, keys)
    await say(facts, INVOICE, START)
    await say(facts, INVOICE, START + DAY, conversation="web-b")
    key = keys.facts_turns(day_of(START))
    assert await redis.llen(key) == 1 and 0 < await redis.ttl(key) <= 30 * 86400
    assert [t.conversation_id for t in await facts.turns(START - 1, START + DAY)] == [
        "web-a",
        "web-b",
    ]
    assert [t.conversation_id for t in await facts.turns(START + 1, START + DAY)] == ["web-b"]
