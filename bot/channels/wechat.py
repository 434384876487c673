"""WeChat Official Account (公众号): the callback in, customer-service messages out.

In: WeChat posts each customer message (XML, signed with the account's token; in encrypted
mode also AES-encrypted) to ``/channels/wechat`` and waits 5 seconds, retrying twice if it
hears nothing. kefu checks the signature (constant time), stores the message (its ``MsgId`` as
the message's id, so a retry is the same message) and answers ``success`` at once; the bot's
answer follows through the customer-service message API, however long Rasa takes. A message
that fails its checks is refused with a status WeChat does not retry on, and logged.

Out: ``message/custom/send`` with the access token from ``stable_token`` (cached in Redis,
shared by every kefu process, until 5 minutes before it expires; fetched again on 40001 /
40014 / 42001), within the reply window (5 messages within 48 hours of the customer's last
message, ``bot/channels/window.py``). Consecutive messages leave as one where the order allows
(the window counts messages), buttons as a ``msgmenu`` whose options carry button references.
What WeCom customer service does the same way is in ``bot/channels/wxcommon.py``.

A small aiohttp client over ``cryptography`` rather than wechatpy: wechatpy is synchronous
(requests), which would block the event loop or need a thread per call, and its last release
is old; the protocol kefu needs is four calls.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.buttons import button_ref, tapped
from bot.channels.endpoints import WECHAT_PATH
from bot.channels.inbound import Inbound
from bot.channels.outbox import DeliveryFailed, FailureKind, Outgoing
from bot.channels.window import ReplyWindow
from bot.channels.wxcommon import (
    ErrorCodes,
    TextLimits,
    TokenCache,
    call_json,
    fresh,
    plan_merged,
    received_label,
    refuse,
)
from bot.channels.wxcrypto import WxCrypto, WxCryptoError
from bot.channels.wxxml import WxInbound, WxXmlError, parse_xml
from core.keys import Keys
from core.records import ChatMessage, platform_user
from core.store import ConversationStore
from core.texts import Texts

log = logging.getLogger(__name__)

PLATFORM = "wx"
CHANNEL = "wechat"
MAX_BODY_BYTES = 64 * 1024
# What WeChat counts against a text message: 2048 bytes of UTF-8 (all texts of a msgmenu).
LIMITS = TextLimits(text=2048, menu=2048, menu_counts_titles=True)
# Following the account or clicking its menu allows 3 messages within a minute (not 5 in 48 h).
EVENT_MESSAGES = 3
EVENT_WINDOW_SECONDS = 60
OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
ERRORS = ErrorCodes(
    platform="wechat",
    token=frozenset({40001, 40014, 41001, 42001}),
    # The customer cannot be reached now: 45015 the 48-hour window closed, 45047 its
    # messages are used up, 43004 the customer unfollowed the account.
    closed={45015: "window_closed", 45047: "quota_used", 43004: "unfollowed"},
    refused=frozenset({40003, 40008, 44004, 45002, 47001}),
)


class WeChatApi:
    """The Official Account's API: its access token and customer-service messages."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        redis: Redis,
        keys: Keys,
        *,
        app_id: str,
        app_secret: str,
        api_url: str,
    ) -> None:
        self._http = http
        self._tokens = TokenCache(
            redis, keys.platform_token(PLATFORM), lambda: self._stable_token(force=False)
        )
        self._app_id = app_id
        self._app_secret = app_secret
        self._api_url = api_url

    async def access_token(self) -> str:
        return await self._tokens.get()

    async def refresh_token(self) -> None:
        """The platform refused our token: fetch another (forced, if WeChat hands back the
        one it refused)."""
        refused = await self._tokens.drop()
        if await self._tokens.get() == refused:
            await self._tokens.store(*await self._stable_token(force=True))

    async def _stable_token(self, *, force: bool) -> tuple[str, int]:
        body = {
            "grant_type": "client_credential",
            "appid": self._app_id,
            "secret": self._app_secret,
            "force_refresh": force,
        }
        reply = await self._call("/cgi-bin/stable_token", body, params={})
        token = str(reply.get("access_token") or "")
        if not token:
            raise DeliveryFailed(FailureKind.RETRY, f"no access token: {reply.get('errcode')}")
        return token, int(reply.get("expires_in") or 7200)

    async def send(self, body: dict[str, Any]) -> None:
        """One customer-service message; DeliveryFailed as the error code says."""
        params = {"access_token": await self.access_token()}
        ERRORS.check(await self._call("/cgi-bin/message/custom/send", body, params=params))

    async def _call(
        self, path: str, body: dict[str, Any], *, params: dict[str, str]
    ) -> dict[str, Any]:
        return await call_json(
            self._http, "POST", self._api_url + path, platform="wechat", params=params, body=body
        )


class WeChatSender:
    """The outbox's way to WeChat customers."""

    platform = PLATFORM

    def __init__(self, api: WeChatApi, window: ReplyWindow) -> None:
        self._api = api
        self._window = window

    def plan(self, messages: Sequence[ChatMessage]) -> list[Outgoing]:
        return plan_merged(messages, LIMITS)

    async def send(self, conversation_id: str, outgoing: Outgoing) -> None:
        state = await self._window.state(conversation_id)
        if not state.open:
            reason = "quota_used" if state.closes_at else "window_closed"
            raise DeliveryFailed(FailureKind.CLOSED, reason)
        openid = platform_user(conversation_id)
        if outgoing.buttons:
            body: dict[str, Any] = {
                "touser": openid,
                "msgtype": "msgmenu",
                "msgmenu": {
                    "head_content": outgoing.text,
                    "list": [
                        {"id": button_ref(outgoing.buttons_of, i), "content": b.title}
                        for i, b in enumerate(outgoing.buttons)
                    ],
                    "tail_content": "",
                },
            }
        else:
            body = {"touser": openid, "msgtype": "text", "text": {"content": outgoing.text}}
        await self._api.send(body)
        await self._window.sent(conversation_id)

    async def refresh_token(self) -> None:
        await self._api.refresh_token()


@dataclass(frozen=True)
class WeChatInbox:
    """What the callback needs (one per process, under ``WECHAT``)."""

    crypto: WxCrypto
    inbound: Inbound
    store: ConversationStore
    window: ReplyWindow
    texts: Texts


WECHAT = web.AppKey("wechat", WeChatInbox)


def add_wechat(app: web.Application) -> None:
    app.router.add_get(WECHAT_PATH, verify_url)
    app.router.add_post(WECHAT_PATH, receive)


async def verify_url(request: web.Request) -> web.Response:
    """WeChat's check when the URL is registered: echo ``echostr`` if the signature holds."""
    inbox = request.app[WECHAT]
    query = request.query
    try:
        inbox.crypto.check_signature(
            query.get("signature", ""), query.get("timestamp", ""), query.get("nonce", "")
        )
    except WxCryptoError as error:
        return refuse(request, "WeChat", f"URL check: {error}")
    return web.Response(text=query.get("echostr", ""))


async def receive(request: web.Request) -> web.Response:
    inbox = request.app[WECHAT]
    query = request.query
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    body = await request.read()
    try:
        inbox.crypto.check_signature(query.get("signature", ""), timestamp, nonce)
        if not fresh(timestamp):
            return refuse(request, "WeChat", f"stale or missing timestamp {timestamp[:20]!r}")
        if query.get("encrypt_type") == "aes":
            inner = inbox.crypto.decrypt_envelope(
                body, query.get("msg_signature", ""), timestamp, nonce, max_bytes=MAX_BODY_BYTES
            )
            fields = parse_xml(inner, max_bytes=MAX_BODY_BYTES)
        elif inbox.crypto.encrypted:
            return refuse(request, "WeChat", "plaintext push to an account in encrypted mode")
        else:
            fields = parse_xml(body, max_bytes=MAX_BODY_BYTES)
        message = WxInbound.from_fields(fields)
    except (WxCryptoError, WxXmlError) as error:
        return refuse(request, "WeChat", str(error))
    if not OPENID.fullmatch(message.from_user):
        return refuse(request, "WeChat", "malformed FromUserName")
    try:
        await _take(inbox, message)
    except RedisError:
        log.exception("a WeChat message could not be stored; WeChat will be asked again")
        raise web.HTTPServiceUnavailable() from None
    return web.Response(text="success")


async def _take(inbox: WeChatInbox, message: WxInbound) -> None:
    conversation_id = f"{PLATFORM}-{message.from_user}"
    kind = message.msg_type
    if kind == "event":
        await _take_event(inbox, conversation_id, message)
        return
    # A push WeChat repeats (stored already under its MsgId) opens no fresh window: the
    # messages sent since still count. Inbound.take skips it.
    if not await inbox.store.was_accepted(conversation_id, message.dedupe_key):
        await inbox.window.customer_wrote(conversation_id)
    if kind == "text":
        button = (
            await tapped(inbox.store, conversation_id, message.menu_id) if message.menu_id else None
        )
        await inbox.inbound.take(
            conversation_id,
            CHANNEL,
            button.title if button else message.content,
            payload=button.payload if button else "",
            sent_id=message.dedupe_key,
        )
        return
    recognised = message.raw.get("Recognition", "").strip()
    if kind == "voice" and recognised:  # WeChat's own speech recognition, when enabled
        await inbox.inbound.take(conversation_id, CHANNEL, recognised, sent_id=message.dedupe_key)
        return
    label = received_label(inbox.texts, kind)
    detail = message.media_id or message.raw.get("Url", "") or message.raw.get("Label", "")
    await inbox.inbound.take(
        conversation_id,
        CHANNEL,
        f"{label} {detail}".strip(),
        sent_id=message.dedupe_key,
        unreadable=True,
    )


async def _take_event(inbox: WeChatInbox, conversation_id: str, message: WxInbound) -> None:
    """Following the account greets; a menu click is its key as words; the rest is logged."""
    event = message.event.lower()
    if event == "subscribe":
        await inbox.window.customer_wrote(
            conversation_id, limit=EVENT_MESSAGES, seconds=EVENT_WINDOW_SECONDS
        )
        label = inbox.texts.get("received_follow", "zh")
        await inbox.inbound.take(
            conversation_id, CHANNEL, label, payload="/greet", sent_id=message.dedupe_key
        )
    elif event == "click" and message.event_key:
        await inbox.window.customer_wrote(
            conversation_id, limit=EVENT_MESSAGES, seconds=EVENT_WINDOW_SECONDS
        )
        await inbox.inbound.take(
            conversation_id, CHANNEL, message.event_key, sent_id=message.dedupe_key
        )
    else:
        log.info("WeChat event %s of %s noted", event, conversation_id)
