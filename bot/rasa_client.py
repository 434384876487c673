"""The Rasa servers over HTTP: the REST webhook and the conversation API.

With several Rasa replicas, each conversation always goes to the same one, chosen by a stable
hash of its id: its turns then run one at a time and in order on one server (Rasa's Redis lock
store is not safe across replicas, RasaHQ/rasa#9213, so no two may work on one conversation).
A replica that is down holds its conversations' messages (kept, answered when it is back)
rather than moving them to another, which could overtake a turn still running there.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from core.facts import TURN_HEADER, TurnReading, reading_from_header
from core.records import Button


class RasaUnavailable(Exception):
    """Rasa could not be reached or failed; the message was not processed."""


class TurnFailed(RasaUnavailable):
    """Rasa was there but could not run this message (it answered 500): tried again, a message
    that keeps failing goes to a person rather than blocking its conversation."""


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class BotTurn:
    """The bot's replies to a customer message and what Rasa made of the message."""

    replies: list[BotReply]
    reading: TurnReading = field(default_factory=TurnReading)


def replica_of(conversation_id: str, replicas: int) -> int:
    """The replica a conversation belongs to: the same in every kefu process, every run."""
    return zlib.crc32(conversation_id.encode("utf-8")) % replicas


class RasaClient:
    def __init__(
        self, session: aiohttp.ClientSession, base_urls: Sequence[str], token: str, timeout: float
    ):
        if not base_urls:
            raise ValueError("RasaClient needs at least one Rasa server")
        self._session = session
        self._base_urls = [url.rstrip("/") for url in base_urls]
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def _base_url(self, conversation_id: str) -> str:
        return self._base_urls[replica_of(conversation_id, len(self._base_urls))]

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any], message_id: str = ""
    ) -> BotTurn:
        """The bot's replies to a customer message. Rasa answers a ``message_id`` once: the
        same id again gets the first answer, and nothing runs twice."""
        body = {
            "sender": conversation_id,
            "message": text,
            "metadata": metadata,
            "message_id": message_id,
        }
        replies, headers = await self._post(conversation_id, "/webhooks/kefu/webhook", body)
        return BotTurn(
            _replies(replies if isinstance(replies, list) else []),
            reading_from_header(headers.get(TURN_HEADER)),
        )

    async def trigger_intent(self, conversation_id: str, intent: str) -> list[BotReply]:
        """Run an external intent (escalation, handback) as if the customer had said it."""
        path = f"/conversations/{quote(conversation_id, safe='')}/trigger_intent"
        body = {"name": intent, "entities": {}}
        result, _ = await self._post(conversation_id, path, body, authenticated=True)
        return _replies(result.get("messages", []) if isinstance(result, dict) else [])

    async def is_ready(self) -> bool:
        """True once every replica answers and has its model loaded."""
        return all(await asyncio.gather(*(self._ready(url) for url in self._base_urls)))

    async def _ready(self, base_url: str) -> bool:
        try:
            async with self._session.get(
                f"{base_url}/status", params={"token": self._token}, timeout=self._timeout
            ) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _post(
        self, conversation_id: str, path: str, body: dict[str, Any], authenticated: bool = False
    ) -> tuple[Any, Mapping[str, str]]:
        """The answer's JSON and headers."""
        # The HTTP API takes the token as a parameter, kefu's channel as a bearer header.
        params = {"token": self._token} if authenticated else {}
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with self._session.post(
                self._base_url(conversation_id) + path,
                json=body,
                params=params,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                if response.status == 500:
                    raise TurnFailed(f"{path} answered 500")
                if response.status != 200:
                    raise RasaUnavailable(f"{path} answered {response.status}")
                return await response.json(), response.headers
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise RasaUnavailable(f"{path}: {error!r}") from error


def _replies(raw: list[dict[str, Any]]) -> list[BotReply]:
    replies = []
    for item in raw:
        text = item.get("text") or ""
        buttons = tuple(
            Button(str(b.get("title", "")), str(b.get("payload", "")))
            for b in item.get("buttons") or ()
        )
        if text or buttons:
            replies.append(BotReply(text, buttons))
    return replies
