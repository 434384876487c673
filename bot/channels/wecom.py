"""WeCom customer service (微信客服, 企业微信 kf): WeChat users write to a shop's
customer-service account; kefu reads and answers them through WeCom's kf API.

In: WeCom does not post the messages themselves. It posts an encrypted event,
``kf_msg_or_event`` with a ``Token`` and the account's ``OpenKfId``, to ``/channels/wecom``
(signed with the callback token, AES-encrypted with the corp id as receive id, waiting 5 s and
trying 3 times), and kefu reads what is new with ``kf/sync_msg`` from a cursor it keeps per
account. The callback is answered ``success`` once its token and account are in Redis and this
process's sync is woken: from then on the messages are read even if this process dies, because
every kefu process syncs every known account at start, after each callback and every
``SYNC_INTERVAL_SECONDS`` (a lost callback only delays). The cursor moves only after a page's
messages are stored, each under its ``msgid`` as the message's id, so a page read twice (a
lost cursor, two processes syncing at once) is still answered once.

Out: ``kf/send_msg`` with the access token from ``gettoken`` (cached in Redis for every kefu
process, until 5 minutes before it expires; dropped on 40001 / 40014 / 41001 / 42001), within
the reply window (5 messages within 48 hours of the customer's last message,
``bot/channels/window.py``), from the account the customer wrote to (its ``open_kfid``, kept
with the conversation while the window can be open). Consecutive messages leave as one where
the order allows, buttons as a ``msgmenu`` of ``click`` items whose ids are button references.

WeCom's session states, mapped onto kefu (which answers as the account's API reception, state
0 / 1 "未处理" / "由智能助手接待", and keeps handoff to people in its own agent console):

* ``enter_session`` (the customer opened the chat, before writing): WeCom adds a
  ``welcome_code`` when the shop set no welcome of its own and the customer got none within
  48 hours. Then the bot greets: "/greet" goes to Rasa, and its answer leaves with
  ``kf/send_msg_on_event`` (the code works once, within 20 seconds). Without a code nothing
  can reach the customer before they write, so the event is only logged.
* a customer's message (``origin`` 3) opens the reply window, counted from its ``send_time``;
  one older than the window is past answering and skipped.
* ``session_status_change`` (a WeCom servicer took the session, it was transferred or ended)
  and ``msg_send_fail`` are logged: while WeCom's session state allows no API message (95018)
  or the session has ended (95013), what kefu sends is shown as undelivered on the console.
* a servicer's own message in the WeCom client (``origin`` 5) is not the customer's: skipped.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.channels.buttons import button_ref, tapped
from bot.channels.endpoints import WECOM_PATH
from bot.channels.inbound import Inbound
from bot.channels.outbox import DeliveryFailed, FailureKind, Outgoing
from bot.channels.window import WINDOW_SECONDS, ReplyWindow
from bot.channels.wxcommon import (
    ErrorCodes,
    TextLimits,
    TokenCache,
    call_json,
    errcode_of,
    fresh,
    plan_merged,
    received_label,
    refuse,
)
from bot.channels.wxcrypto import WxCrypto, WxCryptoError
from bot.channels.wxxml import WxXmlError, parse_xml
from core.keys import Keys
from core.records import ChatMessage, platform_user
from core.store import ConversationStore
from core.texts import Texts

log = logging.getLogger(__name__)

PLATFORM = "wk"
CHANNEL = "wecom"
TOKEN_PATH = "/cgi-bin/gettoken"
SYNC_PATH = "/cgi-bin/kf/sync_msg"
SEND_PATH = "/cgi-bin/kf/send_msg"
WELCOME_PATH = "/cgi-bin/kf/send_msg_on_event"
MAX_BODY_BYTES = 64 * 1024
# kf/send_msg: a text up to 2048 bytes of UTF-8; a msgmenu's head_content up to 1024, its
# items' titles counted apart (128 bytes each).
LIMITS = TextLimits(text=2048, menu=1024, menu_counts_titles=False)
SYNC_LIMIT = 1000  # kf/sync_msg's default and maximum page
SYNC_INTERVAL_SECONDS = 60.0
SYNC_RETRY_SECONDS = 2.0
# A callback's token lets kf/sync_msg run for 10 minutes without the stricter rate limit.
SYNC_TOKEN_SECONDS = 600
WELCOME_SECONDS = 20  # a welcome_code works once, within 20 seconds of its event
INVALID_SYNC_TOKEN = 95007
FROM_CUSTOMER = 3
EVENT = 4
PLATFORM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # external_userid, open_kfid
# The transcript's line for a customer who opened the chat (core/messages.yml has no entry).
# What the transcript shows of a message that is not text, after its label.
DETAILS = {"location": ("name", "address"), "link": ("title", "url")}
ERRORS = ErrorCodes(
    platform="wecom",
    # 40001 is "invalid secret" at gettoken; on other calls, like the rest, a token refused.
    token=frozenset({40001, 40014, 41001, 42001}),
    # The customer cannot be reached now: 95001 the 5 messages are used, 95002 the 48 hours
    # are over (both until the customer writes again), 95013 the session has ended, 95018
    # its state allows no API message (waiting in WeCom's pool or with a WeCom servicer).
    closed={
        95001: "quota_used",
        95002: "window_closed",
        95013: "session_ended",
        95018: "with_servicer",
    },
    # The message itself is wrong: 40008 msgtype, 40058 a parameter, 40096 the external_userid,
    # 44004 empty, 45002 too long, 95000 / 95004 the open_kfid.
    refused=frozenset({40008, 40058, 40096, 44004, 45002, 95000, 95004}),
)


class SyncTokenRefused(DeliveryFailed):
    """kf/sync_msg refused the callback's token (95007: expired or not this account's); the
    sync goes on without it."""

    def __init__(self, reason: str) -> None:
        super().__init__(FailureKind.REFUSED, reason)


@dataclass(frozen=True)
class SyncPage:
    """One answer of kf/sync_msg: its messages and events, oldest first, and where to go on."""

    messages: list[Mapping[str, Any]]
    next_cursor: str
    has_more: bool


class WeComApi:
    """The kf API of one corp: its access token, reading messages, sending them."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        redis: Redis,
        keys: Keys,
        *,
        corp_id: str,
        secret: str,
        api_url: str,
    ) -> None:
        self._http = http
        self._tokens = TokenCache(redis, keys.platform_token(PLATFORM), self._gettoken)
        self._corp_id = corp_id
        self._secret = secret
        self._api_url = api_url

    async def refresh_token(self) -> None:
        """The platform refused our token: forget it, the next call fetches another. (gettoken
        hands out the same token while WeCom holds it valid: there is nothing to force.)"""
        await self._tokens.drop()

    async def _gettoken(self) -> tuple[str, int]:
        """A token from the corp id and the secret. A refusal (40001: a wrong secret) is the
        delivery's failure, tried again later like the platform's own troubles."""
        reply = await call_json(
            self._http,
            "GET",
            self._api_url + TOKEN_PATH,
            platform="wecom",
            params={"corpid": self._corp_id, "corpsecret": self._secret},
        )
        token = str(reply.get("access_token") or "")
        if errcode_of(reply) or not token:
            raise DeliveryFailed(
                FailureKind.RETRY,
                f"no access token: wecom {errcode_of(reply)}: {reply.get('errmsg', '')}",
            )
        return token, int(reply.get("expires_in") or 7200)

    async def sync(self, account: str, cursor: str, token: str) -> SyncPage:
        """The page after ``cursor`` ("": from the oldest message WeCom keeps, 3 days) of the
        account's messages, with the callback's ``token`` when there is one; DeliveryFailed as
        the errcode says."""
        body: dict[str, Any] = {"limit": SYNC_LIMIT, "voice_format": 0, "open_kfid": account}
        body |= {"cursor": cursor} if cursor else {}
        body |= {"token": token} if token else {}
        reply = await self._post(SYNC_PATH, body)
        if errcode_of(reply) == INVALID_SYNC_TOKEN and token:
            raise SyncTokenRefused(f"wecom {INVALID_SYNC_TOKEN}: {reply.get('errmsg', '')}")
        ERRORS.check(reply)
        listed = reply.get("msg_list")
        return SyncPage(
            messages=[m for m in listed if isinstance(m, dict)] if isinstance(listed, list) else [],
            next_cursor=str(reply.get("next_cursor") or ""),
            has_more=bool(reply.get("has_more")),
        )

    async def send(self, body: dict[str, Any]) -> None:
        """One message to a customer (kf/send_msg); DeliveryFailed as the errcode says."""
        ERRORS.check(await self._post(SEND_PATH, body))

    async def send_welcome(self, body: dict[str, Any]) -> None:
        """The welcome of an ``enter_session`` event, by its code (kf/send_msg_on_event)."""
        ERRORS.check(await self._post(WELCOME_PATH, body))

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await call_json(
            self._http,
            "POST",
            self._api_url + path,
            platform="wecom",
            params={"access_token": await self._tokens.get()},
            body=body,
        )


class WeComSender:
    """The outbox's way to WeCom customers."""

    platform = PLATFORM

    def __init__(self, api: WeComApi, window: ReplyWindow, redis: Redis, keys: Keys) -> None:
        self._api = api
        self._window = window
        self._redis = redis
        self._keys = keys

    def plan(self, messages: Sequence[ChatMessage]) -> list[Outgoing]:
        return plan_merged(messages, LIMITS)

    async def send(self, conversation_id: str, outgoing: Outgoing) -> None:
        message = _message(outgoing)
        if await self._welcome(conversation_id, message):
            return
        state = await self._window.state(conversation_id)
        if not state.open:
            raise DeliveryFailed(
                FailureKind.CLOSED, "quota_used" if state.closes_at else "window_closed"
            )
        account = await self._redis.get(self._keys.platform_account(conversation_id))
        if not account:
            # Kept as long as a window can last: without it, no window is open after all.
            raise DeliveryFailed(FailureKind.CLOSED, "window_closed")
        body = {"touser": platform_user(conversation_id), "open_kfid": str(account), **message}
        await self._api.send(body)
        await self._window.sent(conversation_id)

    async def _welcome(self, conversation_id: str, message: dict[str, Any]) -> bool:
        """Send ``message`` as the welcome if the customer just opened the chat and its code
        is still good; True when it went that way. A code WeCom no longer takes is dropped
        and the message goes the usual way; a failure the outbox retries keeps it."""
        key = self._keys.welcome_code(conversation_id)
        code = await self._redis.get(key)
        if not code:
            return False
        try:
            await self._api.send_welcome({"code": str(code), **message})
        except DeliveryFailed as failed:
            if failed.kind in (FailureKind.RETRY, FailureKind.TOKEN):
                raise
            log.info("welcome code of %s not taken (%s)", conversation_id, failed.reason)
            await self._redis.delete(key)
            return False
        await self._redis.delete(key)
        return True

    async def refresh_token(self) -> None:
        await self._api.refresh_token()


def _message(outgoing: Outgoing) -> dict[str, Any]:
    """The message part of a kf/send_msg (or send_msg_on_event) body."""
    if not outgoing.buttons:
        return {"msgtype": "text", "text": {"content": outgoing.text}}
    items = [
        {"type": "click", "click": {"id": button_ref(outgoing.buttons_of, i), "content": b.title}}
        for i, b in enumerate(outgoing.buttons)
    ]
    return {
        "msgtype": "msgmenu",
        "msgmenu": {"head_content": outgoing.text, "list": items, "tail_content": ""},
    }


@dataclass(frozen=True)
class WeComInbox:
    """What the callback and the sync need (one per process, under ``WECOM``); ``wake`` is
    set by each callback for this process's sync loop."""

    api: WeComApi
    crypto: WxCrypto
    inbound: Inbound
    store: ConversationStore
    window: ReplyWindow
    texts: Texts
    redis: Redis
    keys: Keys
    wake: asyncio.Event = field(default_factory=asyncio.Event)


WECOM = web.AppKey("wecom", WeComInbox)


def add_wecom(app: web.Application) -> None:
    app.router.add_get(WECOM_PATH, verify_url)
    app.router.add_post(WECOM_PATH, receive)


async def verify_url(request: web.Request) -> web.Response:
    """WeCom's check when the URL is saved: ``echostr`` is encrypted and signed like a
    callback, and the answer must be its plaintext."""
    query = request.query
    try:
        echo = request.app[WECOM].crypto.decrypt_echo(
            query.get("msg_signature", ""),
            query.get("timestamp", ""),
            query.get("nonce", ""),
            query.get("echostr", ""),
        )
    except WxCryptoError as error:
        return refuse(request, "WeCom", f"URL check: {error}")
    return web.Response(text=echo)


async def receive(request: web.Request) -> web.Response:
    """A callback: "there is something to read". Acknowledged once the sync it asks for is
    on record (a Redis failure answers 503, and WeCom tries again)."""
    inbox = request.app[WECOM]
    query = request.query
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    body = await request.read()
    try:
        inner = inbox.crypto.decrypt_envelope(
            body, query.get("msg_signature", ""), timestamp, nonce, max_bytes=MAX_BODY_BYTES
        )
        fields = parse_xml(inner, max_bytes=MAX_BODY_BYTES)
    except (WxCryptoError, WxXmlError) as error:
        return refuse(request, "WeCom", str(error))
    if not fresh(timestamp):
        return refuse(request, "WeCom", f"stale or missing timestamp {timestamp[:20]!r}")
    if fields.get("MsgType") != "event" or fields.get("Event") != "kf_msg_or_event":
        log.info("WeCom callback %s/%s noted", fields.get("MsgType"), fields.get("Event"))
        return web.Response(text="success")
    account, token = fields.get("OpenKfId", ""), fields.get("Token", "")
    if not PLATFORM_ID.fullmatch(account) or not 0 < len(token) <= 128:
        return refuse(request, "WeCom", "malformed OpenKfId or Token")
    try:
        await _sync_wanted(inbox, account, token)
    except RedisError:
        log.exception("a WeCom callback could not be stored; WeCom will ask again")
        raise web.HTTPServiceUnavailable() from None
    inbox.wake.set()
    return web.Response(text="success")


async def _sync_wanted(inbox: WeComInbox, account: str, token: str) -> None:
    """The account is known to every process's sync (from its oldest message if new), and
    its next sync may use the callback's token."""
    async with inbox.redis.pipeline(transaction=True) as pipe:
        pipe.hsetnx(inbox.keys.platform_cursor(PLATFORM), account, "")
        pipe.set(inbox.keys.platform_sync_token(PLATFORM, account), token, ex=SYNC_TOKEN_SECONDS)
        await pipe.execute()


async def sync_forever(inbox: WeComInbox, interval: float = SYNC_INTERVAL_SECONDS) -> None:
    """A kefu process's sync loop: at start (what came while kefu was down), whenever a
    callback wakes it, every ``interval`` anyway; after a failure sooner, backing off."""
    retry = SYNC_RETRY_SECONDS
    while True:
        inbox.wake.clear()
        try:
            done = await sync_all(inbox)
        except RedisError as error:
            log.info("WeCom sync waits for Redis: %s", error)
            done = False
        except Exception:
            log.exception("the WeCom sync failed; trying again")
            done = False
        wait, retry = (interval, SYNC_RETRY_SECONDS) if done else (retry, min(retry * 2, interval))
        with suppress(TimeoutError):
            await asyncio.wait_for(inbox.wake.wait(), wait)


async def sync_all(inbox: WeComInbox) -> bool:
    """Read what is new on every known account; False if any could not be read now."""
    done = True
    for account in await inbox.redis.hkeys(inbox.keys.platform_cursor(PLATFORM)):
        try:
            await sync_account(inbox, str(account))
        except DeliveryFailed as failed:
            log.warning("WeCom messages of %s not read now: %s", account, failed)
            done = False
    return done


async def sync_account(inbox: WeComInbox, account: str) -> None:
    """Page through the account's new messages, storing each page before the cursor moves
    past it; a refused access token is fetched again once."""
    cursors = inbox.keys.platform_cursor(PLATFORM)
    token_key = inbox.keys.platform_sync_token(PLATFORM, account)
    token = str(await inbox.redis.get(token_key) or "")
    cursor = str(await inbox.redis.hget(cursors, account) or "")
    refreshed = False
    while True:
        try:
            page = await inbox.api.sync(account, cursor, token)
        except SyncTokenRefused:
            await inbox.redis.delete(token_key)
            token = ""
            continue
        except DeliveryFailed as failed:
            if failed.kind is not FailureKind.TOKEN or refreshed:
                raise
            await inbox.api.refresh_token()
            refreshed = True
            continue
        for message in page.messages:
            await _take(inbox, message)
        if not page.next_cursor or page.next_cursor == cursor:
            return
        cursor = page.next_cursor
        await inbox.redis.hset(cursors, account, cursor)
        if not page.has_more:
            return


async def _take(inbox: WeComInbox, message: Mapping[str, Any]) -> None:
    msgid = str(message.get("msgid") or "")
    origin = message.get("origin")
    if not msgid or origin not in (FROM_CUSTOMER, EVENT):
        return  # 5: a servicer wrote in the WeCom client
    if origin == EVENT:
        event = message.get("event")
        await _take_event(inbox, msgid, _sent_at(message), event if isinstance(event, dict) else {})
        return
    customer, account = _ids(message)
    if not customer:
        log.warning("WeCom message %s without a usable customer or account", msgid)
        return
    sent_at = _sent_at(message)
    conversation_id = f"{PLATFORM}-{customer}"
    if time.time() - sent_at >= WINDOW_SECONDS:
        log.info("WeCom message %s of %s is past answering", msgid, conversation_id)
        return
    await _remember_account(inbox, conversation_id, account)
    await inbox.window.customer_wrote(conversation_id, at=sent_at)
    kind = str(message.get("msgtype"))
    section = message.get(kind)
    content = section if isinstance(section, dict) else {}
    if kind == "text":
        menu_id = str(content.get("menu_id") or "")
        button = await tapped(inbox.store, conversation_id, menu_id) if menu_id else None
        await inbox.inbound.take(
            conversation_id,
            CHANNEL,
            button.title if button else str(content.get("content", "")),
            payload=button.payload if button else "",
            sent_id=msgid,
        )
        return
    label = received_label(inbox.texts, kind)
    await inbox.inbound.take(
        conversation_id,
        CHANNEL,
        f"{label} {_detail(kind, content)}".strip(),
        sent_id=msgid,
        unreadable=True,
    )


def _detail(kind: str, content: Mapping[str, Any]) -> str:
    """What identifies a message that is not text, for the agent: the place, the link, or
    the media id (image, voice, video, file)."""
    parts = DETAILS.get(kind, ("media_id",))
    return " ".join(str(content[part]) for part in parts if content.get(part))


def _ids(record: Mapping[str, Any]) -> tuple[str, str]:
    """The customer's external_userid and the open_kfid of a message or event; ("", "")
    unless both are well-formed."""
    customer = str(record.get("external_userid") or "")
    account = str(record.get("open_kfid") or "")
    if PLATFORM_ID.fullmatch(customer) and PLATFORM_ID.fullmatch(account):
        return customer, account
    return "", ""


def _sent_at(message: Mapping[str, Any]) -> float:
    try:
        return float(message["send_time"])
    except (KeyError, TypeError, ValueError):
        return time.time()


async def _remember_account(inbox: WeComInbox, conversation_id: str, account: str) -> None:
    await inbox.redis.set(inbox.keys.platform_account(conversation_id), account, ex=WINDOW_SECONDS)


async def _take_event(
    inbox: WeComInbox, msgid: str, sent_at: float, event: Mapping[str, Any]
) -> None:
    """Opening the chat with a welcome code greets; the rest is logged."""
    kind = event.get("event_type")
    customer, account = _ids(event)
    conversation_id = f"{PLATFORM}-{customer}"
    if kind == "msg_send_fail":
        log.warning(
            "WeCom did not deliver %s to %s (fail_type %s)",
            event.get("fail_msgid"),
            conversation_id,
            event.get("fail_type"),
        )
        return
    if kind != "enter_session":
        log.info("WeCom event %s of %s noted", kind, conversation_id)
        return
    code = str(event.get("welcome_code") or "")
    usable = int(sent_at + WELCOME_SECONDS - time.time())
    if not (code and usable > 0 and customer):
        log.info("%s opened the chat; no welcome can reach them", conversation_id)
        return
    await _remember_account(inbox, conversation_id, account)
    await inbox.redis.set(inbox.keys.welcome_code(conversation_id), code, ex=usable)
    await inbox.inbound.take(
        conversation_id,
        CHANNEL,
        inbox.texts.get("received_enter_session", "zh"),
        payload="/greet",
        sent_id=msgid,
    )
