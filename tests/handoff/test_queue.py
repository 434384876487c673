import asyncio

from redis.asyncio import Redis

from handoff.keys import Keys
from handoff.models import Owner, TicketStatus
from handoff.queue import TicketQueue
from handoff.store import ConversationStore

TTL = 3600


async def open_ticket(queue: TicketQueue, conversation_id: str, priority: int = 1):
    return await queue.open(
        conversation_id,
        "web",
        priority=priority,
        team="after_sale",
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
        assert results.count(True) == 1, f"trial {trial}: {results}"


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
