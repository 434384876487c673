import asyncio

from redis.asyncio import Redis

from core.keys import Keys
from core.records import Owner
from core.store import ConversationStore
from handoff.models import TicketStatus
from handoff.queue import ClaimResult, TicketQueue

TTL = 3600


async def open_ticket(
    queue: TicketQueue, conversation_id: str, priority: int = 1, team: str = "after_sale"
):
    return await queue.open(
        conversation_id,
        "web",
        priority=priority,
        team=team,
        reasons=("explicit_request",),
        summary=f"summary of {conversation_id}",
        packet={"conversation_id": conversation_id, "turns": []},
    )


async def test_opening_a_ticket_hands_the_conversation_to_the_queue(redis: Redis, keys: Keys):
    queue, store = TicketQueue(redis, keys, TTL), ConversationStore(redis, keys, TTL)
    place = await open_ticket(queue, "conv-a")
    assert place.created and place.position == 1
    conversation = await store.get("conv-a")
    assert conversation.owner is Owner.QUEUE and conversation.ticket_id == place.ticket_id
    assert await queue.packet(place.ticket_id) == {"conversation_id": "conv-a", "turns": []}
    assert 0 < await redis.ttl(keys.ticket(place.ticket_id)) <= TTL


async def test_a_second_request_reuses_the_open_ticket(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, TTL)
    first = await open_ticket(queue, "conv-a")
    again = await open_ticket(queue, "conv-a")
    assert again.ticket_id == first.ticket_id and not again.created
    assert [t.id for t in await queue.waiting()] == [first.ticket_id]


async def test_higher_priority_goes_first_then_arrival_order(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, TTL)
    early = await open_ticket(queue, "early", priority=1)
    late = await open_ticket(queue, "late", priority=1)
    crisis = await open_ticket(queue, "crisis", priority=3)
    assert [t.id for t in await queue.waiting()] == [
        crisis.ticket_id,
        early.ticket_id,
        late.ticket_id,
    ]
    assert await queue.position(late.ticket_id) == 3


async def test_claim_then_close_gives_the_conversation_back_to_the_bot(redis: Redis, keys: Keys):
    queue, store = TicketQueue(redis, keys, TTL), ConversationStore(redis, keys, TTL)
    place = await open_ticket(queue, "conv-a")
    assert await queue.claim(place.ticket_id, "alice")
    assert (await store.get("conv-a")).owner is Owner.AGENT
    assert [t.id for t in await queue.claimed_by("alice")] == [place.ticket_id]
    assert await queue.waiting() == []
    assert not await queue.close(place.ticket_id, "bob", "resolved"), "only the owner closes"
    assert await queue.close(place.ticket_id, "alice", "resolved")
    ticket = await queue.get(place.ticket_id)
    assert (
        ticket is not None and ticket.status is TicketStatus.CLOSED and ticket.outcome == "resolved"
    )
    conversation = await store.get("conv-a")
    assert conversation.owner is Owner.BOT and conversation.ticket_id == ""
    assert await queue.claimed_by("alice") == []


async def test_simultaneous_claims_have_exactly_one_winner(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, TTL)
    for trial in range(100):
        place = await open_ticket(queue, f"conv-{trial}")
        results = await asyncio.gather(
            *(queue.claim(place.ticket_id, f"agent{n}") for n in range(5))
        )
        assert results.count(ClaimResult.CLAIMED) == 1, f"trial {trial}: {results}"


async def test_an_agent_one_short_of_capacity_claiming_two_at_once_gets_exactly_one(
    redis: Redis, keys: Keys
):
    queue = TicketQueue(redis, keys, TTL)
    for trial in range(30):
        agent = f"agent{trial}"
        held = await open_ticket(queue, f"held-{trial}")
        assert await queue.claim(held.ticket_id, agent, capacity=2)
        first, second = [await open_ticket(queue, f"c{trial}-{n}") for n in range(2)]
        results = await asyncio.gather(
            queue.claim(first.ticket_id, agent, capacity=2),
            queue.claim(second.ticket_id, agent, capacity=2),
        )
        assert sorted(results) == [ClaimResult.AT_CAPACITY, ClaimResult.CLAIMED], trial
        assert len(await queue.claimed_by(agent)) == 2
        refused = first if results[1] else second
        assert (await queue.get(refused.ticket_id)).status is TicketStatus.QUEUED
        assert refused.ticket_id in [t.id for t in await queue.waiting()], "still in line"


async def test_an_agent_with_room_for_three_claiming_five_at_once_gets_three(
    redis: Redis, keys: Keys
):
    queue = TicketQueue(redis, keys, TTL)
    places = [await open_ticket(queue, f"c{n}") for n in range(5)]
    results = await asyncio.gather(*(queue.claim(p.ticket_id, "alice", capacity=3) for p in places))
    assert results.count(ClaimResult.CLAIMED) == 3
    assert results.count(ClaimResult.AT_CAPACITY) == 2
    assert len(await queue.claimed_by("alice")) == 3 and len(await queue.waiting()) == 2


async def test_closing_a_conversation_makes_room_for_the_next(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, TTL)
    first, second = await open_ticket(queue, "c1"), await open_ticket(queue, "c2")
    assert await queue.claim(first.ticket_id, "alice", capacity=1)
    assert await queue.claim(second.ticket_id, "alice", capacity=1) is ClaimResult.AT_CAPACITY
    assert await queue.close(first.ticket_id, "alice", "resolved")
    assert await queue.claim(second.ticket_id, "alice", capacity=1) is ClaimResult.CLAIMED


async def test_a_ticket_is_claimed_only_by_its_teams_agents(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, TTL)
    complaint = await open_ticket(queue, "c1", team="complaints")
    refused = await queue.claim(complaint.ticket_id, "alice", teams=("pre_sale", "after_sale"))
    assert refused is ClaimResult.OTHER_TEAM and not refused
    assert (await queue.get(complaint.ticket_id)).status is TicketStatus.QUEUED
    assert await queue.claim(complaint.ticket_id, "carol", teams=("after_sale", "complaints"))


async def test_each_team_sees_its_own_line_and_a_transfer_joins_the_other(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, TTL)
    sale = await open_ticket(queue, "c1", team="pre_sale")
    after = await open_ticket(queue, "c2", team="after_sale")
    crisis = await open_ticket(queue, "c3", priority=3, team="supervisor")
    assert [t.id for t in await queue.waiting(("pre_sale",))] == [sale.ticket_id]
    assert [t.id for t in await queue.waiting(("after_sale", "complaints"))] == [after.ticket_id]
    assert [t.id for t in await queue.waiting()] == [
        crisis.ticket_id,
        sale.ticket_id,
        after.ticket_id,
    ]

    assert await queue.claim(after.ticket_id, "alice")
    ticket = await queue.get(after.ticket_id)
    assert await queue.requeue(ticket, "alice", "complaints")
    assert [t.id for t in await queue.waiting(("complaints",))] == [after.ticket_id]
    assert await queue.waiting(("after_sale",)) == []


async def test_a_hand_over_respects_the_other_agents_capacity(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, TTL)
    mine, bobs = await open_ticket(queue, "c1"), await open_ticket(queue, "c2")
    assert await queue.claim(mine.ticket_id, "alice")
    assert await queue.claim(bobs.ticket_id, "bob")
    ticket = await queue.get(mine.ticket_id)
    assert await queue.reassign(ticket, "alice", "bob", capacity=1) is ClaimResult.AT_CAPACITY
    assert (await queue.get(mine.ticket_id)).agent == "alice"
    assert await queue.reassign(ticket, "alice", "bob", capacity=2) is ClaimResult.CLAIMED
    assert len(await queue.claimed_by("bob")) == 2 and await queue.claimed_by("alice") == []


async def test_events_announce_ticket_changes(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, TTL)
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.events)
        await pubsub.get_message(timeout=1)  # the subscription confirmation
        place = await open_ticket(queue, "conv-a")
        await queue.claim(place.ticket_id, "alice")
        seen = []
        while len(seen) < 2:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
            assert message is not None, f"events so far: {seen}"
            seen.append(message["data"])
    assert '"ticket_opened"' in seen[0] and '"ticket_claimed"' in seen[1]
