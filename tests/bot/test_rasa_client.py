"""Each conversation goes to one Rasa replica, the same in every process and run."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bot.rasa_client import RasaClient, replica_of

VALUES = [3, 0, 1, 2]


def test_a_conversation_always_belongs_to_the_same_replica_and_they_share_the_load():
    ids = [f"web-{n:05d}" for n in range(2000)]
    assert [replica_of(i, 2) for i in ids] == [replica_of(i, 2) for i in ids]
    assert replica_of("web-00001", 1) == 0
    share = sum(replica_of(i, 2) for i in ids) / len(ids)
    assert 0.45 < share < 0.55
    # Fixed values: a hash of the id's bytes (crc32), not Python's hash(), which differs
    # between processes.
    assert [replica_of(i, 4) for i in ("tg-424242", "web-abc", "wx-oKefu", "wk-ext1")] == VALUES


async def test_turns_of_a_conversation_reach_its_replica_only(aiohttp_server):
    seen: dict[int, list[str]] = {0: [], 1: []}

    def replica(number: int) -> web.Application:
        async def webhook(request: web.Request) -> web.Response:
            seen[number].append((await request.json())["sender"])
            return web.json_response([{"text": "好的"}])

        app = web.Application()
        app.router.add_post("/webhooks/kefu/webhook", webhook)
        return app

    servers = [await aiohttp_server(replica(0)), await aiohttp_server(replica(1))]
    async with aiohttp.ClientSession() as http:
        client = RasaClient(http, [str(s.make_url("")) for s in servers], "token", 5)
        conversations = [f"web-{n}" for n in range(20)]
        for _ in range(3):
            for conversation in conversations:
                await client.send(conversation, "你好", {})
    for number, senders in seen.items():
        assert senders, "both replicas have conversations"
        assert all(replica_of(sender, 2) == number for sender in senders)
