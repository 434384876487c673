import json
import time

from redis.asyncio import Redis

from bot.queue_watch import QueuePolicy, QueueWatcher
from core.keys import Keys
from core.records import Event, Owner, Role
from core.store import ConversationStore
from core.texts import Texts
from handoff.agents import AgentDirectory
from handoff.models import TicketStatus
from handoff.queue import TicketQueue


def watcher_for(redis: Redis, keys: Keys, policy: QueuePolicy | None = None) -> QueueWatcher:
    return QueueWatcher(
        TicketQueue(redis, keys, 600),
        AgentDirectory(redis, keys),
        ConversationStore(redis, keys, 600),
        Texts.load(),
        redis,
        keys,
        policy or QueuePolicy(),
    )


async def open_ticket(queue: TicketQueue, conversation_id: str, priority: int = 1) -> str:
    place = await queue.open(
        conversation_id,
        "web",
        priority=priority,
        team="after_sale",
        reasons=("explicit_request",),
        summary="s",
        packet={},
    )
    return place.ticket_id


async def published(pubsub, count: int) -> list[dict]:
    frames = []
    while len(frames) < count:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        assert message is not None, f"only {frames}"
        frames.append(json.loads(message["data"]))
    return frames


async def test_an_unanswered_ticket_goes_to_the_supervisors_first(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, 600)
    watcher = watcher_for(redis, keys, QueuePolicy(first_response_seconds=30))
    early = await open_ticket(queue, "early")
    later = await open_ticket(queue, "later", priority=2)
    assert [t.id for t in await queue.waiting()] == [later, early]

    await watcher.tick(now=time.time() + 10)
    assert (await queue.get(early)).team == "after_sale", "not overdue yet"

    await watcher.tick(now=time.time() + 31)
    ticket = await queue.get(early)
    assert ticket.team == "supervisor" and ticket.priority == 3 and ticket.overdue_at > 0
    # Both waited too long: both went up, and the earlier one is first again.
    assert [t.id for t in await queue.waiting()] == [early, later]
    assert not await queue.escalate_overdue(ticket, team="supervisor", priority=3), "once only"


async def test_waiting_customers_hear_their_place_when_it_changes(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, 600)
    watcher = watcher_for(redis, keys, QueuePolicy(minutes_per_ticket=2.5))
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.events)
        await pubsub.get_message(timeout=1)
        first = await open_ticket(queue, "c1")
        await open_ticket(queue, "c2")
        await published(pubsub, 2)  # the two ticket_opened events
        await watcher.tick()
        frames = await published(pubsub, 2)
        assert [(f["conversation_id"], f["message"]) for f in frames] == [
            ("c1", {"position": 1, "wait_minutes": 3}),
            ("c2", {"position": 2, "wait_minutes": 5}),
        ]
        await watcher.tick()  # nothing changed: nothing said
        assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3) is None
        await AgentDirectory(redis, keys).mark_online("alice", 60)
        await queue.claim(first, "alice")
        await published(pubsub, 1)  # ticket_claimed
        await watcher.tick()
        moved_up = await published(pubsub, 1)
        assert moved_up[0]["conversation_id"] == "c2"
        assert moved_up[0]["message"] == {"position": 1, "wait_minutes": 3}


async def test_two_kefu_processes_watching_the_line_tell_each_place_once(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, 600)
    watchers = [watcher_for(redis, keys), watcher_for(redis, keys)]  # one per process
    await open_ticket(queue, "c1")
    await open_ticket(queue, "c2")
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.events)
        await pubsub.get_message(timeout=1)
        for watcher in [*watchers, *watchers]:
            await watcher.tick()
        # Everything published before this marker is what the customers were told.
        await redis.publish(keys.events, Event("marker").to_json())
        told = []
        while (frame := (await published(pubsub, 1))[0])["type"] != "marker":
            told.append((frame["conversation_id"], frame["message"]["position"]))
    assert told == [("c1", 1), ("c2", 2)]


async def test_an_absent_agents_tickets_wait_again_and_the_customer_is_told(
    redis: Redis, keys: Keys
):
    queue, agents = TicketQueue(redis, keys, 600), AgentDirectory(redis, keys)
    store = ConversationStore(redis, keys, 600)
    watcher = watcher_for(redis, keys)
    ticket_id = await open_ticket(queue, "c1")
    await agents.mark_online("alice", 60)
    assert await queue.claim(ticket_id, "alice")
    assert await queue.busy_agents() == ["alice"]

    await watcher.tick()
    assert (await queue.get(ticket_id)).status is TicketStatus.CLAIMED, "alice is online"

    await agents.mark_online("alice", 0)  # her grace period ran out
    await watcher.tick()
    ticket = await queue.get(ticket_id)
    assert ticket.status is TicketStatus.QUEUED and ticket.agent == ""
    assert [t.id for t in await queue.waiting()] == [ticket_id]
    assert (await store.get("c1")).owner is Owner.QUEUE
    assert await queue.busy_agents() == []
    told = await store.transcript("c1")
    assert told[-1].role is Role.SYSTEM and "重新排队" in told[-1].text
    assert await queue.claim(ticket_id, "bob"), "another agent can take it"


async def test_closing_the_last_ticket_frees_the_agent(redis: Redis, keys: Keys):
    queue = TicketQueue(redis, keys, 600)
    first, second = await open_ticket(queue, "c1"), await open_ticket(queue, "c2")
    await queue.claim(first, "alice")
    await queue.claim(second, "alice")
    await queue.close(first, "alice", "resolved")
    assert await queue.busy_agents() == ["alice"]
    await queue.close(second, "alice", "resolved")
    assert await queue.busy_agents() == []
