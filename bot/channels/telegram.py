"""Telegram: updates in (a webhook when kefu has a public HTTPS address, long polling when it
has none), messages out through the outbox.

In: every update's ``update_id`` is the message's id, so an update Telegram delivers twice
(a webhook answer it did not hear, a poll repeated after a restart) is stored and answered
once. The webhook checks Telegram's ``X-Telegram-Bot-Api-Secret-Token`` header in constant
time (the secret is derived from kefu's own); polling confirms an update (moves the offset,
kept in Redis) only after it was stored. A button tap carries a button reference
(``bot/channels/buttons.py``), never a payload: a tap on a button the bot does not offer now is
no tap. Taps are acknowledged with ``answerCallbackQuery`` at once.

Out: ``sendMessage`` per message (Telegram counts no messages), buttons as an inline keyboard,
a text over Telegram's 4096 characters in parts.

This module imports aiogram (through ``telegram_api``), which costs seconds and ~130 MB: it
is imported only by a process with a Telegram channel configured.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram.types import CallbackQuery, Message, Update
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.buttons import button_ref, tapped
from bot.channels.endpoints import TELEGRAM_PATH
from bot.channels.inbound import Inbound
from bot.channels.outbox import DeliveryFailed, FailureKind, Outgoing, one_each
from bot.channels.telegram_api import TelegramClient, TelegramError
from core.keys import Keys
from core.lease import Lease
from core.records import ChatMessage, platform_user
from core.store import ConversationStore
from core.texts import Texts
from handoff.webutil import same_secret

log = logging.getLogger(__name__)

PLATFORM = "tg"
CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
TEXT_LIMIT = 4096
POLL_SECONDS = 25
POLL_BACKOFF_SECONDS = 5.0
# What a customer sent that is not text, by the Message field that carries it.
RECEIVED_KINDS = (
    ("photo", "received_image"),
    ("voice", "received_voice"),
    ("audio", "received_voice"),
    ("video", "received_video"),
    ("video_note", "received_video"),
    ("location", "received_location"),
    ("document", "received_file"),
    ("sticker", "received_sticker"),
)


def webhook_secret(kefu_secret: str) -> str:
    """The webhook's secret token (Telegram allows A-Za-z0-9_-), derived from kefu's secret."""
    return hmac.new(kefu_secret.encode(), b"telegram-webhook", hashlib.sha256).hexdigest()


class TelegramSender:
    """The outbox's way to Telegram customers."""

    platform = PLATFORM

    def __init__(self, client: TelegramClient) -> None:
        self._client = client

    def plan(self, messages: Sequence[ChatMessage]) -> list[Outgoing]:
        planned: list[Outgoing] = []
        for outgoing in one_each(messages):
            text = outgoing.text
            while len(text) > TEXT_LIMIT:
                planned.append(Outgoing(text[:TEXT_LIMIT], ()))
                text = text[TEXT_LIMIT:]
            planned.append(
                Outgoing(text, outgoing.message_ids, outgoing.buttons, outgoing.buttons_of)
            )
        return planned

    async def send(self, conversation_id: str, outgoing: Outgoing) -> None:
        buttons = [
            [(button.title, button_ref(outgoing.buttons_of, index))]
            for index, button in enumerate(outgoing.buttons)
        ]
        try:
            await self._client.send_message(
                int(platform_user(conversation_id)), outgoing.text, buttons or None
            )
        except TelegramError as error:
            raise _failure(error) from None

    async def refresh_token(self) -> None:
        """A bot token does not expire: nothing to refresh."""


def _failure(error: TelegramError) -> DeliveryFailed:
    if error.kind == "refused":
        reason = "blocked" if error.status == 403 else f"telegram: {error.description}"
        return DeliveryFailed(FailureKind.REFUSED, reason)
    # Network, 5xx, 429, a webhook conflict, or a token Telegram refuses (set it right and the
    # messages still go): tried again, and shown as undelivered once the attempts are spent.
    return DeliveryFailed(FailureKind.RETRY, f"telegram {error.kind}: {error}", error.retry_after)


@dataclass(frozen=True)
class TelegramInbox:
    client: TelegramClient
    inbound: Inbound
    store: ConversationStore
    texts: Texts
    secret: str

    async def take(self, update: Update) -> None:
        """Store what the update says (raises RedisError when that cannot be done)."""
        sent_id = f"update:{update.update_id}"
        if update.callback_query is not None:
            await self._take_tap(update.callback_query, sent_id)
        elif update.message is not None:
            await self._take_message(update.message, sent_id)

    async def _take_message(self, message: Message, sent_id: str) -> None:
        conversation_id = f"{PLATFORM}-{message.chat.id}"
        text = (message.text or "").strip()
        if text.split("@")[0] == "/start":
            await self.inbound.take(
                conversation_id, CHANNEL, text, payload="/greet", sent_id=sent_id
            )
        elif text:
            await self.inbound.take(conversation_id, CHANNEL, text, sent_id=sent_id)
        else:
            kind = next((k for field, k in RECEIVED_KINDS if getattr(message, field, None)), "")
            label = self.texts.get(kind or "received_other", "zh")
            detail = (message.caption or "").strip()
            if message.location is not None:  # where, for the agent: latitude,longitude
                detail = f"{message.location.latitude},{message.location.longitude}"
            await self.inbound.take(
                conversation_id,
                CHANNEL,
                f"{label} {detail}".strip(),
                sent_id=sent_id,
                unreadable=True,
            )

    async def _take_tap(self, query: CallbackQuery, sent_id: str) -> None:
        if query.message is None:
            await self._acknowledge(query, None)
            return
        conversation_id = f"{PLATFORM}-{query.message.chat.id}"
        button = await tapped(self.store, conversation_id, query.data or "")
        if button is None:
            code = query.from_user.language_code or "zh"
            language = "zh" if code.startswith("zh") else "en"
            await self._acknowledge(query, self.texts.get("button_expired", language))
            return
        await self._acknowledge(query, None)
        await self.inbound.take(
            conversation_id, CHANNEL, button.title, payload=button.payload, sent_id=sent_id
        )

    async def _acknowledge(self, query: CallbackQuery, text: str | None) -> None:
        try:
            await self.client.answer_callback_query(query.id, text)
        except TelegramError as error:  # a repeated update's tap was answered the first time
            log.info("tap %s not acknowledged: %s", query.id, error)


TELEGRAM = web.AppKey("telegram", TelegramInbox)


def add_telegram_webhook(app: web.Application) -> None:
    app.router.add_post(TELEGRAM_PATH, receive)


async def receive(request: web.Request) -> web.Response:
    inbox = request.app[TELEGRAM]
    if not same_secret(request.headers.get(SECRET_HEADER, ""), inbox.secret):
        log.warning("Telegram update from %s refused: wrong secret token", request.remote)
        return web.Response(status=401, text="unauthorized")
    try:
        update = inbox.client.parse_update(json.loads(await request.read()))
    except (ValueError, TypeError) as error:
        log.warning("Telegram update from %s refused: %s", request.remote, str(error)[:200])
        return web.Response(status=400, text="bad update")
    try:
        await inbox.take(update)
    except RedisError:
        log.exception("a Telegram update could not be stored; Telegram will send it again")
        raise web.HTTPServiceUnavailable() from None
    return web.Response(text="ok")


async def start_webhook(client: TelegramClient, url: str, secret: str) -> None:
    await client.set_webhook(url, secret, ALLOWED_UPDATES)
    log.info("Telegram delivers updates to %s", url)


async def poll_forever(inbox: TelegramInbox, redis: Redis, keys: Keys) -> None:
    """Long polling: updates from the offset kept in Redis, each confirmed once stored. One
    kefu process polls at a time (a lease in Redis): the others stand by and take over when
    its lease runs out."""
    offset_key = keys.platform_offset(PLATFORM)
    poller = Lease(redis, keys.platform_poller(PLATFORM), POLL_SECONDS * 3)
    stopped_webhook = False
    while True:
        try:
            if not await poller.hold():
                await asyncio.sleep(POLL_BACKOFF_SECONDS)
                continue
            if not stopped_webhook:
                await _stop_webhook(inbox.client)
                stopped_webhook = True
            stored = await redis.get(offset_key)
            updates = await inbox.client.get_updates(
                int(stored) if stored else None, POLL_SECONDS, ALLOWED_UPDATES
            )
            for update in updates:
                await inbox.take(update)
                await redis.set(offset_key, update.update_id + 1)
        except TelegramError as error:
            if error.kind == "conflict":
                await _stop_webhook(inbox.client)
            log.warning("Telegram polling paused: %s", error)
            await asyncio.sleep(error.retry_after or POLL_BACKOFF_SECONDS)
        except RedisError as error:
            log.info("Telegram polling waits for Redis: %s", error)
            await asyncio.sleep(POLL_BACKOFF_SECONDS)
        except Exception:
            log.exception("Telegram polling failed; trying again")
            await asyncio.sleep(POLL_BACKOFF_SECONDS)


async def _stop_webhook(client: TelegramClient) -> None:
    """Polling and a webhook exclude each other (getUpdates answers 409 while one is set)."""
    try:
        await client.delete_webhook()
    except TelegramError as error:
        log.warning("Telegram webhook not removed: %s", error)
