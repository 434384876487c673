"""The live pages' websockets, and the fan-out of Redis events to them."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection

from aiohttp import WSCloseCode, web
from redis.asyncio import Redis

from core.records import Event
from handoff.access import Audience

log = logging.getLogger(__name__)

# The console's socket closes with this code when the agent's session has ended (logged out,
# account removed): the page goes to the login instead of reconnecting.
SESSION_ENDED = 4401


class LiveHub:
    """Open websockets by audience. Weak collections: a socket that goes away leaves on its own.

    Customers' sockets get their own conversation's events. Agents' sockets are kept with their
    session id, and ``audience`` decides per event which sessions may have it."""

    def __init__(self, audience: Callable[[Event, Collection[str]], Awaitable[Audience]]) -> None:
        self.customers: defaultdict[str, weakref.WeakSet[web.WebSocketResponse]] = defaultdict(
            weakref.WeakSet
        )
        self.agents: weakref.WeakKeyDictionary[web.WebSocketResponse, str] = (
            weakref.WeakKeyDictionary()
        )
        self._audience = audience

    def all_sockets(self) -> list[web.WebSocketResponse]:
        sockets = list(self.agents)
        for group in self.customers.values():
            sockets.extend(group)
        return sockets

    async def dispatch(self, event: Event) -> None:
        frame: dict[str, object] = {"type": event.type, "conversation_id": event.conversation_id}
        if event.message:
            frame["message"] = event.message
        if event.ticket_id:
            frame["ticket_id"] = event.ticket_id
        if event.owner:
            frame["owner"] = event.owner
        if event.conversation_id in self.customers:
            customer_frame = {k: v for k, v in frame.items() if k != "ticket_id"}
            await _send_all(list(self.customers[event.conversation_id]), customer_frame)
        agent_sockets = list(self.agents.items())
        if not agent_sockets:
            return
        audience = await self._audience(event, {session for _, session in agent_sockets})
        await _send_all([s for s, session in agent_sockets if session in audience.allowed], frame)
        for socket, session in agent_sockets:
            if session in audience.ended:
                await socket.close(code=SESSION_ENDED, message=b"session ended")

    async def close_all(self) -> None:
        for socket in self.all_sockets():
            await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


async def _send_all(sockets: list[web.WebSocketResponse], frame: dict[str, object]) -> None:
    for socket in sockets:
        if not socket.closed:
            try:
                await socket.send_json(frame)
            except (ConnectionError, RuntimeError):
                log.debug("dropping a frame for a closing socket")


async def relay_events(redis: Redis, channel: str, hub: LiveHub) -> None:
    """Forward every published event to the hub until cancelled; reconnects after Redis errors."""
    while True:
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(channel)
                # Bounded reads, not listen(): redis-py's blocking read can swallow cancellation.
                while True:
                    item = await pubsub.get_message(timeout=1.0)
                    if item is not None and item.get("type") == "message":
                        await hub.dispatch(Event.from_json(item["data"]))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event relay failed; retrying")
            await asyncio.sleep(1)
