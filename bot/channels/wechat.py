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

A small aiohttp client over ``cryptography`` rather than wechatpy: wechatpy is synchronous
(requests), which would block the event loop or need a thread per call, and its last release
is old; the protocol kefu needs is four calls.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.buttons import button_ref, tapped
from bot.channels.inbound import Inbound
from bot.channels.outbox import DeliveryFailed, FailureKind, Outgoing
from bot.channels.window import ReplyWindow
from bot.channels.wxcrypto import WxCrypto, WxCryptoError
from bot.channels.wxxml import WxInbound, WxXmlError, parse_xml
from core.keys import Keys
from core.records import ChatMessage, platform_user
from core.store import ConversationStore
from core.texts import Texts

log = logging.getLogger(__name__)

PLATFORM = "wx"
CHANNEL = "wechat"
CALLBACK_PATH = "/channels/wechat"
MAX_BODY_BYTES = 64 * 1024
# A push this far from our clock is a replay (WeChat's own retries come within 15 seconds).
MAX_CLOCK_SKEW_SECONDS = 300
# What WeChat counts against a text message: 2048 bytes of UTF-8 (all texts of a msgmenu).
TEXT_LIMIT_BYTES = 2048
TOKEN_MARGIN_SECONDS = 300
# Following the account or clicking its menu allows 3 messages within a minute (not 5 in 48 h).
EVENT_MESSAGES = 3
EVENT_WINDOW_SECONDS = 60
API_TIMEOUT = aiohttp.ClientTimeout(total=10)
OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOKEN_ERRORS = frozenset({40001, 40014, 41001, 42001})
# The customer cannot be reached now: 45015 the 48-hour window closed, 45047 its messages
# are used up, 43004 the customer unfollowed the account.
CLOSED_ERRORS = {45015: "window_closed", 45047: "quota_used", 43004: "unfollowed"}
# The message itself is wrong: sending it again would fail again.
REFUSED_ERRORS = frozenset({40003, 40008, 44004, 45002, 47001})
# Non-text messages: what the transcript shows agents.
RECEIVED_KINDS = {
    "image": "received_image",
    "voice": "received_voice",
    "video": "received_video",
    "shortvideo": "received_video",
    "location": "received_location",
    "link": "received_link",
    "file": "received_file",
}


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
        self._redis = redis
        self._token_key = keys.platform_token(PLATFORM)
        self._app_id = app_id
        self._app_secret = app_secret
        self._api_url = api_url

    async def access_token(self) -> str:
        cached = await self._redis.get(self._token_key)
        return str(cached) if cached else await self._fetch_token(force=False)

    async def refresh_token(self) -> None:
        """The platform refused our token: fetch another (forced, if WeChat hands back the
        one it refused)."""
        refused = await self._redis.get(self._token_key)
        await self._redis.delete(self._token_key)
        if await self._fetch_token(force=False) == refused:
            await self._fetch_token(force=True)

    async def _fetch_token(self, *, force: bool) -> str:
        body = {
            "grant_type": "client_credential",
            "appid": self._app_id,
            "secret": self._app_secret,
            "force_refresh": force,
        }
        reply = await self._call("/cgi-bin/stable_token", body, token=False)
        token = str(reply.get("access_token") or "")
        if not token:
            raise DeliveryFailed(FailureKind.RETRY, f"no access token: {reply.get('errcode')}")
        lifetime = int(reply.get("expires_in") or 7200)
        await self._redis.set(self._token_key, token, ex=max(lifetime - TOKEN_MARGIN_SECONDS, 60))
        return token

    async def send(self, body: dict[str, Any]) -> None:
        """One customer-service message; DeliveryFailed as the error code says."""
        reply = await self._call("/cgi-bin/message/custom/send", body, token=True)
        errcode = int(reply.get("errcode") or 0)
        if errcode == 0:
            return
        reason = f"wechat {errcode}: {reply.get('errmsg', '')}"
        if errcode in TOKEN_ERRORS:
            raise DeliveryFailed(FailureKind.TOKEN, reason)
        if errcode in CLOSED_ERRORS:
            raise DeliveryFailed(FailureKind.CLOSED, CLOSED_ERRORS[errcode])
        if errcode in REFUSED_ERRORS:
            raise DeliveryFailed(FailureKind.REFUSED, reason)
        raise DeliveryFailed(FailureKind.RETRY, reason)  # -1 system busy, rate limits, ...

    async def _call(self, path: str, body: dict[str, Any], *, token: bool) -> dict[str, Any]:
        params = {"access_token": await self.access_token()} if token else {}
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            async with self._http.post(
                self._api_url + path,
                params=params,
                data=data,
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=API_TIMEOUT,
            ) as response:
                if response.status >= 500:
                    raise DeliveryFailed(FailureKind.RETRY, f"wechat http {response.status}")
                reply = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise DeliveryFailed(FailureKind.RETRY, f"wechat unreachable: {error!r}") from error
        if not isinstance(reply, dict):
            raise DeliveryFailed(FailureKind.RETRY, "wechat answered no JSON object")
        return reply


class WeChatSender:
    """The outbox's way to WeChat customers."""

    platform = PLATFORM

    def __init__(self, api: WeChatApi, window: ReplyWindow) -> None:
        self._api = api
        self._window = window

    def plan(self, messages: Sequence[ChatMessage]) -> list[Outgoing]:
        """As few messages as the order allows: texts run together until a message with
        buttons (a menu) ends the run; a text too long for one message leaves in parts."""
        planned: list[Outgoing] = []
        texts: list[str] = []
        ids: list[str] = []
        for message in messages:
            candidate = [*texts, message.text] if message.text else texts
            if texts and _size(candidate, message) > TEXT_LIMIT_BYTES:
                planned.append(Outgoing("\n\n".join(texts), tuple(ids)))
                texts, ids = [], []
            if message.text:
                texts.append(message.text)
            ids.append(message.id)
            if message.buttons:
                planned += _parts("\n\n".join(texts), tuple(ids), message)
                texts, ids = [], []
        if ids:
            planned += _parts("\n\n".join(texts), tuple(ids), None)
        return planned

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


def _size(texts: Sequence[str], message: ChatMessage) -> int:
    extra = sum(len(b.title.encode()) for b in message.buttons)
    return len("\n\n".join(texts).encode()) + extra


def _parts(text: str, ids: tuple[str, ...], menu: ChatMessage | None) -> list[Outgoing]:
    """``text`` (and ``menu``'s buttons) in messages within the limit; the ids go with the last."""
    buttons = menu.buttons if menu else ()
    room = TEXT_LIMIT_BYTES - sum(len(b.title.encode()) for b in buttons)
    chunks = _chunks(text, room) if text else [""]
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
    app.router.add_get(CALLBACK_PATH, verify_url)
    app.router.add_post(CALLBACK_PATH, receive)


async def verify_url(request: web.Request) -> web.Response:
    """WeChat's check when the URL is registered: echo ``echostr`` if the signature holds."""
    inbox = request.app[WECHAT]
    query = request.query
    try:
        inbox.crypto.check_signature(
            query.get("signature", ""), query.get("timestamp", ""), query.get("nonce", "")
        )
    except WxCryptoError as error:
        return _refuse(request, f"URL check: {error}")
    return web.Response(text=query.get("echostr", ""))


async def receive(request: web.Request) -> web.Response:
    inbox = request.app[WECHAT]
    query = request.query
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    body = await request.read()
    try:
        inbox.crypto.check_signature(query.get("signature", ""), timestamp, nonce)
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            return _refuse(request, f"stale or missing timestamp {timestamp[:20]!r}")
        if query.get("encrypt_type") == "aes":
            inner = inbox.crypto.decrypt_envelope(
                body, query.get("msg_signature", ""), timestamp, nonce, max_bytes=MAX_BODY_BYTES
            )
            fields = parse_xml(inner, max_bytes=MAX_BODY_BYTES)
        elif inbox.crypto.encrypted:
            return _refuse(request, "plaintext push to an account in encrypted mode")
        else:
            fields = parse_xml(body, max_bytes=MAX_BODY_BYTES)
        message = WxInbound.from_fields(fields)
    except (WxCryptoError, WxXmlError) as error:
        return _refuse(request, str(error))
    if not OPENID.fullmatch(message.from_user):
        return _refuse(request, "malformed FromUserName")
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
    label = inbox.texts.get(RECEIVED_KINDS.get(kind, "received_other"), "zh")
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


def _refuse(request: web.Request, why: str) -> web.Response:
    """A push that failed its checks: logged and refused (WeChat does not retry a 4xx)."""
    log.warning("WeChat push from %s refused: %s", request.remote, why)
    return web.Response(status=403, text="forbidden")
