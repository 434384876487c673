"""Customers that behave like kefu's web chat page: each message has its own id and is sent
again, with that id, until the server acknowledges it (a 200 over REST, an ``ack`` frame on
the websocket); a socket that drops is opened again and whatever was not acknowledged goes
again. So a message is lost only if kefu loses it, and the server must take a copy once."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

RETRY_SECONDS = 0.5


@dataclass
class Sent:
    id: str
    text: str
    tries: int = 0
    accepted_at: float = 0.0  # when the server acknowledged it (0: not yet)
    first_try_at: float = 0.0


@dataclass
class Customer:
    """One conversation; ``sent`` in the order the customer wrote them."""

    http: aiohttp.ClientSession
    url: str
    conversation: dict[str, str] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    failures: int = 0  # tries that got no acknowledgement (server down, 5xx, socket gone)

    async def open(self) -> None:
        while not self.conversation:
            try:
                async with self.http.post(f"{self.url}/api/chat/session") as response:
                    if response.status == 200:
                        self.conversation = await response.json()
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.failures += 1
            await asyncio.sleep(RETRY_SECONDS)

    def new_message(self, text: str) -> Sent:
        message = Sent(secrets.token_hex(8), text)
        self.sent.append(message)
        return message

    async def transcript(self) -> list[dict[str, Any]]:
        params = {k: self.conversation[k] for k in ("conversation_id", "token")}
        async with self.http.get(f"{self.url}/api/chat/messages", params=params) as response:
            response.raise_for_status()
            return list((await response.json())["messages"])


class RestCustomer(Customer):
    async def say(self, text: str, deadline: float) -> Sent:
        """Send until acknowledged (or the deadline passes)."""
        message = self.new_message(text)
        message.first_try_at = time.monotonic()
        body = {**self.conversation, "text": text, "id": message.id}
        while time.monotonic() < deadline:
            message.tries += 1
            try:
                async with self.http.post(f"{self.url}/api/chat/messages", json=body) as response:
                    if response.status == 200:
                        message.accepted_at = time.monotonic()
                        return message
                    if response.status < 500:
                        raise AssertionError(f"refused: {response.status} {await response.text()}")
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.failures += 1
            await asyncio.sleep(RETRY_SECONDS)
        return message


class SocketCustomer(Customer):
    """Writes on the websocket, one message at a time (the next once the one before is
    acknowledged, so they arrive in order); keeps a socket open in the background (``run``)."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        super().__init__(http, url)
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._in_flight = ""

    @property
    def unacknowledged(self) -> list[Sent]:
        return [m for m in self.sent if not m.accepted_at]

    async def run(self) -> None:
        """Until cancelled: connect, send the oldest unacknowledged message, read; reconnect."""
        params = {k: self.conversation[k] for k in ("conversation_id", "token")}
        while True:
            try:
                async with self.http.ws_connect(
                    f"{self.url}/ws/chat", params=params, heartbeat=10
                ) as socket:
                    self._socket, self._in_flight = socket, ""
                    await self._send_next()
                    async for frame in socket:
                        if frame.type is aiohttp.WSMsgType.TEXT:
                            await self._read(frame.json())
            except (aiohttp.ClientError, TimeoutError, ConnectionError):
                pass
            self._socket = None
            self.failures += 1
            await asyncio.sleep(RETRY_SECONDS)

    async def say(self, text: str) -> Sent:
        message = self.new_message(text)
        message.first_try_at = time.monotonic()
        await self._send_next()
        return message

    async def _send_next(self) -> None:
        waiting = self.unacknowledged
        socket = self._socket
        if self._in_flight or not waiting or socket is None or socket.closed:
            return
        message = waiting[0]
        message.tries += 1
        self._in_flight = message.id
        try:
            await socket.send_json({"type": "message", "id": message.id, "text": message.text})
        except (ConnectionError, RuntimeError):
            self.failures += 1  # the socket is going: run() reconnects and sends it again

    async def _read(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "notice" and frame.get("id"):
            raise AssertionError(f"refused: {frame}")
        if kind not in ("ack", "retry") or frame.get("id") != self._in_flight:
            return
        if kind == "ack":
            for message in self.sent:
                if message.id == self._in_flight:
                    message.accepted_at = time.monotonic()
        else:  # not stored (Redis down): the same message again, shortly
            self.failures += 1
            await asyncio.sleep(RETRY_SECONDS)
        self._in_flight = ""
        await self._send_next()


@dataclass(frozen=True)
class Check:
    """What became of one conversation's messages, from its transcript."""

    sent: int
    accepted: int
    lost: int  # accepted, not in the transcript
    twice: int  # in the transcript more than once
    out_of_order: bool
    unanswered: int  # accepted messages still waiting for the bot's answer
    answers: int  # the bot's messages
    repeated_answers: int  # a bot message right after the same bot message: an answer sent twice

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.twice
            or self.out_of_order
            or self.unanswered
            or self.repeated_answers
            or self.answers < self.accepted
        )


def check(customer: Customer, transcript: list[dict[str, Any]], pending: int) -> Check:
    """``pending``: the conversation's messages still awaiting an answer (kefu's store)."""
    accepted = [m for m in customer.sent if m.accepted_at]
    said = [m.get("sent_id", "") for m in transcript if m["role"] == "customer"]
    counts = {sent_id: said.count(sent_id) for sent_id in set(said)}
    bot = [m["text"] for m in transcript if m["role"] == "bot"]
    return Check(
        sent=len(customer.sent),
        accepted=len(accepted),
        lost=sum(1 for m in accepted if m.id not in counts),
        twice=sum(1 for count in counts.values() if count > 1),
        out_of_order=said != [m.id for m in customer.sent if m.id in counts],
        unanswered=pending,
        answers=len(bot),
        repeated_answers=sum(1 for a, b in itertools.pairwise(bot) if a == b),
    )
