"""The Rasa server over HTTP: the REST webhook and the conversation API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

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


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str, timeout: float):
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any], message_id: str = ""
    ) -> list[BotReply]:
        """The bot's replies to a customer message. Rasa answers a ``message_id`` once: the
        same id again gets the first answer, and nothing runs twice."""
        body = {
            "sender": conversation_id,
            "message": text,
            "metadata": metadata,
            "message_id": message_id,
        }
        replies = await self._post("/webhooks/kefu/webhook", body)
        return _replies(replies if isinstance(replies, list) else [])

    async def trigger_intent(self, conversation_id: str, intent: str) -> list[BotReply]:
        """Run an external intent (escalation, handback) as if the customer had said it."""
        path = f"/conversations/{quote(conversation_id, safe='')}/trigger_intent"
        result = await self._post(path, {"name": intent, "entities": {}}, authenticated=True)
        return _replies(result.get("messages", []) if isinstance(result, dict) else [])

    async def is_ready(self) -> bool:
        """True once the server answers and has its model loaded."""
        try:
            async with self._session.get(
                f"{self._base_url}/status", params={"token": self._token}, timeout=self._timeout
            ) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _post(self, path: str, body: dict[str, Any], authenticated: bool = False) -> Any:
        # The HTTP API takes the token as a parameter, kefu's channel as a bearer header.
        params = {"token": self._token} if authenticated else {}
        headers = {"Authorization": f"Bearer {self._token}"}
        try:
            async with self._session.post(
                self._base_url + path,
                json=body,
                params=params,
                headers=headers,
                timeout=self._timeout,
            ) as response:
                if response.status == 500:
                    raise TurnFailed(f"{path} answered 500")
                if response.status != 200:
                    raise RasaUnavailable(f"{path} answered {response.status}")
                return await response.json()
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
