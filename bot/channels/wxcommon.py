"""What the two Tencent channels share: the WeChat Official Account (``wechat.py``) and WeCom
customer service (``wecom.py``) speak the same family of APIs.

* **Calls.** JSON over HTTPS, an ``errcode`` in every answer (0: done), HTTP 200 even for
  errors. :func:`call_json` turns what cannot be an answer (no connection, a 5xx, no JSON
  object) into the outbox's one error shape; :class:`ErrorCodes` sorts a platform's errcodes
  into its kinds.
* **Access tokens.** Both live two hours and are limited per day, so one token is kept in
  Redis for every kefu process (:class:`TokenCache`), until 5 minutes before it expires: no
  process starts a call with a token that dies on the way.
* **Message counts.** Both allow 5 messages within 48 hours of the customer's last message,
  so consecutive messages leave as one where the order allows (:func:`plan_merged`).
* **Callbacks.** Both sign them the same way (``wxcrypto.py``); a callback far from our clock
  is a replay (:func:`fresh`), and one that fails its checks is refused with a 403, which
  neither platform retries (:func:`refuse`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.channels.outbox import DeliveryFailed, FailureKind, Outgoing
from core.records import Button, ChatMessage
from core.texts import Texts

log = logging.getLogger(__name__)

API_TIMEOUT = aiohttp.ClientTimeout(total=10)
TOKEN_MARGIN_SECONDS = 300
# A callback this far from our clock is a replay (the platforms retry within 15 seconds).
MAX_CLOCK_SKEW_SECONDS = 300
# Non-text messages: what the transcript shows agents (both platforms name them alike).
RECEIVED_KINDS = {
    "image": "received_image",
    "voice": "received_voice",
    "video": "received_video",
    "shortvideo": "received_video",
    "location": "received_location",
    "link": "received_link",
    "file": "received_file",
}


async def call_json(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    platform: str,
    params: Mapping[str, str] | None = None,
    body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The platform's JSON answer, errcode and all; DeliveryFailed(RETRY) when there is none
    (unreachable, timed out, a 5xx, not a JSON object)."""
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    try:
        async with http.request(
            method,
            url,
            params=params,
            data=data,
            headers={"Content-Type": "application/json; charset=utf-8"} if data else None,
            timeout=API_TIMEOUT,
        ) as response:
            if response.status >= 500:
                raise DeliveryFailed(FailureKind.RETRY, f"{platform} http {response.status}")
            reply = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        raise DeliveryFailed(FailureKind.RETRY, f"{platform} unreachable: {error!r}") from error
    if not isinstance(reply, dict):
        raise DeliveryFailed(FailureKind.RETRY, f"{platform} answered no JSON object")
    return reply


def errcode_of(reply: Mapping[str, Any]) -> int:
    try:
        return int(reply.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1  # an errcode that is no number: the platform's trouble, tried again


@dataclass(frozen=True)
class ErrorCodes:
    """A platform's errcodes by what the outbox should do about them; any other is a
    platform failure tried again later (-1 system busy, rate limits, ...)."""

    platform: str
    token: frozenset[int]  # the access token was refused: fetch another
    closed: Mapping[int, str]  # the customer cannot be reached now: errcode -> reason
    refused: frozenset[int]  # the message itself is wrong: sending it again fails again

    def check(self, reply: Mapping[str, Any]) -> None:
        """Nothing for errcode 0, else the DeliveryFailed the errcode stands for."""
        errcode = errcode_of(reply)
        if errcode == 0:
            return
        reason = f"{self.platform} {errcode}: {reply.get('errmsg', '')}"
        if errcode in self.token:
            raise DeliveryFailed(FailureKind.TOKEN, reason)
        if errcode in self.closed:
            raise DeliveryFailed(FailureKind.CLOSED, self.closed[errcode])
        if errcode in self.refused:
            raise DeliveryFailed(FailureKind.REFUSED, reason)
        raise DeliveryFailed(FailureKind.RETRY, reason)


class TokenCache:
    """A platform's access token in Redis under ``key``, shared by every kefu process.

    ``fetch`` asks the platform for one: ``(token, seconds it lives)``. The token is kept
    until ``TOKEN_MARGIN_SECONDS`` before it expires (at least a minute)."""

    def __init__(
        self, redis: Redis, key: str, fetch: Callable[[], Awaitable[tuple[str, int]]]
    ) -> None:
        self._redis = redis
        self._key = key
        self._fetch = fetch

    async def get(self) -> str:
        cached = await self._redis.get(self._key)
        return str(cached) if cached else await self.store(*await self._fetch())

    async def store(self, token: str, lifetime: int) -> str:
        await self._redis.set(self._key, token, ex=max(lifetime - TOKEN_MARGIN_SECONDS, 60))
        return token

    async def drop(self) -> str:
        """Forget the token the platform refused (the next :meth:`get` fetches one); the
        token forgotten, "" if none was kept."""
        refused = await self._redis.get(self._key)
        await self._redis.delete(self._key)
        return str(refused or "")


@dataclass(frozen=True)
class TextLimits:
    """What a platform lets one message carry, in bytes of UTF-8: a text message, and the
    text of a menu (with the buttons' titles counted in it, or apart)."""

    text: int
    menu: int
    menu_counts_titles: bool

    def room(self, buttons: Sequence[Button]) -> int:
        """Bytes left for the text of a message with ``buttons`` (none: a text message)."""
        if not buttons:
            return self.text
        titles = sum(len(b.title.encode()) for b in buttons) if self.menu_counts_titles else 0
        return self.menu - titles


def plan_merged(messages: Sequence[ChatMessage], limits: TextLimits) -> list[Outgoing]:
    """As few messages as the order allows (the platforms count messages): texts run together
    until a message with buttons (a menu) ends the run; a text too long for one message
    leaves in parts."""
    planned: list[Outgoing] = []
    texts: list[str] = []
    ids: list[str] = []
    for message in messages:
        candidate = [*texts, message.text] if message.text else texts
        if texts and len(_joined(candidate).encode()) > limits.room(message.buttons):
            planned += _parts(_joined(texts), tuple(ids), None, limits)
            texts, ids = [], []
        if message.text:
            texts.append(message.text)
        ids.append(message.id)
        if message.buttons:
            planned += _parts(_joined(texts), tuple(ids), message, limits)
            texts, ids = [], []
    if ids:
        planned += _parts(_joined(texts), tuple(ids), None, limits)
    return planned


def _joined(texts: Sequence[str]) -> str:
    return "\n\n".join(texts)


def _parts(
    text: str, ids: tuple[str, ...], menu: ChatMessage | None, limits: TextLimits
) -> list[Outgoing]:
    """``text`` (and ``menu``'s buttons) in messages within the limits; the ids go with the
    last."""
    buttons = menu.buttons if menu else ()
    chunks = _chunks(text, limits.room(buttons)) if text else [""]
    last = Outgoing(chunks[-1], ids, buttons, menu.id if menu else "")
    return [Outgoing(chunk, ()) for chunk in chunks[:-1]] + [last]


def _chunks(text: str, limit: int) -> list[str]:
    chunks: list[str] = []
    current = ""
    for character in text:
        if len((current + character).encode()) > limit:
            chunks.append(current)
            current = ""
        current += character
    return [*chunks, current]


def received_label(texts: Texts, kind: str) -> str:
    """How the transcript names a message of ``kind`` that is not text ("[图片]")."""
    return texts.get(RECEIVED_KINDS.get(kind, "received_other"), "zh")


def fresh(timestamp: str) -> bool:
    """Whether a callback's ``timestamp`` is close enough to our clock to be no replay."""
    return timestamp.isdigit() and abs(time.time() - int(timestamp)) <= MAX_CLOCK_SKEW_SECONDS


def refuse(request: web.Request, platform: str, why: str) -> web.Response:
    """A callback that failed its checks: logged and refused (a 4xx is not retried)."""
    log.warning("%s callback from %s refused: %s", platform, request.remote, why)
    return web.Response(status=403, text="forbidden")
