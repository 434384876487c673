"""The messaging-app channels of a kefu process: routes for the enabled platforms, their
senders, the outbox's delivery loop, opened with the app and closed with it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.channels.endpoints import TELEGRAM_PATH
from bot.channels.inbound import Inbound
from bot.channels.outbox import Outbox, Sender, deliver_forever
from bot.channels.wechat import WECHAT, WeChatApi, WeChatInbox, WeChatSender, add_wechat
from bot.channels.wecom import WECOM, WeComApi, WeComInbox, WeComSender, add_wecom, sync_forever
from bot.channels.window import ReplyWindow
from bot.channels.wxcrypto import WxCrypto
from bot.state import SERVICES
from core.background import stop_all
from core.keys import Keys
from core.records import platform_of
from core.settings import Settings

log = logging.getLogger(__name__)


# Platforms that limit what may be sent after the customer's last message.
WINDOWED_PLATFORMS = frozenset({"wx", "wk"})


@dataclass(frozen=True)
class Channels:
    outbox: Outbox
    window: ReplyWindow

    async def reach(self, conversation_id: str) -> dict[str, Any] | None:
        """What the console shows about reaching a messaging-app customer: the platform, the
        reply window (messages left, when it closes) and what did not arrive; None for the
        web chat."""
        platform = platform_of(conversation_id)
        if not platform:
            return None
        window = None
        if platform in WINDOWED_PLATFORMS:
            window = (await self.window.state(conversation_id)).to_wire()
        undelivered = await self.outbox.undelivered(conversation_id)
        return {
            "platform": platform,
            "window": window,
            "undelivered": [json.loads(u.to_json()) for u in undelivered],
        }


CHANNELS = web.AppKey("channels", Channels)


def add_channels(app: web.Application, settings: Settings) -> None:
    """Routes of the enabled platforms now; their services once the app's services are up."""
    if settings.wechat_enabled:
        add_wechat(app)
    if settings.wecom_enabled:
        add_wecom(app)
    if settings.telegram_enabled and settings.telegram_uses_webhook:
        # Imported only with Telegram on: aiogram costs seconds and ~130 MB to import.
        from bot.channels.telegram import add_telegram_webhook

        add_telegram_webhook(app)
    app.cleanup_ctx.append(_channels_ctx)


async def _channels_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    settings = services.settings
    keys = Keys(settings.redis_prefix)
    window = ReplyWindow(services.redis, keys)
    inbound = Inbound(services.router, services.texts, settings.max_message_chars)
    senders: dict[str, Sender] = {}
    if settings.wechat_enabled:
        senders["wx"] = _open_wechat(app, inbound, window, keys)
    tasks: list[asyncio.Task[None]] = []
    closing: list[Callable[[], Awaitable[None]]] = []
    if settings.wecom_enabled:
        senders["wk"] = _open_wecom(app, inbound, window, keys, tasks)
    if settings.telegram_enabled:
        senders["tg"] = await _open_telegram(app, inbound, tasks, closing)
    outbox = Outbox(services.redis, keys, senders, settings.conversation_ttl_seconds)
    app[CHANNELS] = Channels(outbox=outbox, window=window)
    if senders:
        tasks.append(asyncio.create_task(deliver_forever(outbox)))
    yield
    await stop_all(tasks)
    await inbound.close()
    for close in closing:
        await close()


def _open_wechat(app: web.Application, inbound: Inbound, window: ReplyWindow, keys: Keys) -> Sender:
    services = app[SERVICES]
    settings = services.settings
    api = WeChatApi(
        services.http,
        services.redis,
        keys,
        app_id=settings.wechat_app_id,
        app_secret=settings.wechat_app_secret,
        api_url=settings.wechat_api_url,
    )
    app[WECHAT] = WeChatInbox(
        crypto=WxCrypto(
            settings.wechat_token, settings.wechat_aes_key or None, settings.wechat_app_id
        ),
        inbound=inbound,
        store=services.store,
        window=window,
        texts=services.texts,
    )
    return WeChatSender(api, window)


def _open_wecom(
    app: web.Application,
    inbound: Inbound,
    window: ReplyWindow,
    keys: Keys,
    tasks: list[asyncio.Task[None]],
) -> Sender:
    services = app[SERVICES]
    settings = services.settings
    api = WeComApi(
        services.http,
        services.redis,
        keys,
        corp_id=settings.wecom_corp_id,
        secret=settings.wecom_secret,
        api_url=settings.wecom_api_url,
    )
    inbox = WeComInbox(
        api=api,
        crypto=WxCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id),
        inbound=inbound,
        store=services.store,
        window=window,
        texts=services.texts,
        redis=services.redis,
        keys=keys,
    )
    app[WECOM] = inbox
    tasks.append(asyncio.create_task(sync_forever(inbox)))
    return WeComSender(api, window, services.redis, keys)


async def _open_telegram(
    app: web.Application,
    inbound: Inbound,
    tasks: list[asyncio.Task[None]],
    closing: list[Callable[[], Awaitable[None]]],
) -> Sender:
    from bot.channels.telegram import (
        TELEGRAM,
        TelegramInbox,
        TelegramSender,
        poll_forever,
        start_webhook,
        webhook_secret,
    )
    from bot.channels.telegram_api import TelegramClient, TelegramError

    services = app[SERVICES]
    settings = services.settings
    client = TelegramClient(
        settings.telegram_bot_token, base_url=settings.telegram_api_url, http=services.http
    )
    closing.append(client.aclose)
    inbox = TelegramInbox(
        client=client,
        inbound=inbound,
        store=services.store,
        texts=services.texts,
        secret=webhook_secret(settings.secret),
    )
    app[TELEGRAM] = inbox
    if settings.telegram_uses_webhook:
        try:
            await start_webhook(client, settings.kefu_url + TELEGRAM_PATH, inbox.secret)
        except TelegramError as error:
            # kefu serves its other channels; the webhook is set again at the next start.
            log.error("Telegram webhook not set: %s", error)
    else:
        keys = Keys(settings.redis_prefix)
        tasks.append(asyncio.create_task(poll_forever(inbox, services.redis, keys)))
    return TelegramSender(client)
