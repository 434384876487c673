"""A fake WeCom customer-service platform (微信客服, 企业微信 kf) on 127.0.0.1, for tests and
benchmarks: one corp with one customer-service account.

Both sides of the real protocol:

* the API that kefu calls (``qyapi.weixin.qq.com``): ``GET /cgi-bin/gettoken``,
  ``POST /cgi-bin/kf/sync_msg``, ``/cgi-bin/kf/send_msg`` and ``/cgi-bin/kf/send_msg_on_event``,
  with WeCom's JSON errcodes over HTTP 200 (``{"errcode": 42001, "errmsg": "access_token
  expired, hint: [...]"}``), its token rules, paging and reply limits;
* the customers: :meth:`FakeWeCom.customer_sends` and :meth:`FakeWeCom.enter_session` add a
  message or event to the account's log and post the encrypted ``kf_msg_or_event`` callback
  (``msg_signature``, ``timestamp``, ``nonce`` in the query, the corp id as receive id) to the
  callback URL, with WeCom's 5-second timeout and up to 3 attempts; :meth:`verify_url` is the
  URL check of the admin console (an encrypted ``echostr``, answered in 1 second).

What the platform does is recorded (``deliveries``, ``pushes``, ``calls``, the ``messages``
log) and can be steered (a clock to move, tokens to kill, failures to inject, the page size).
The rules, each from WeCom's documentation unless marked as the fake's choice:

* tokens live 7200 s, and gettoken hands out the same token while it lives. A wrong corpid is
  40013, a wrong secret 40001, a missing one 41002 / 41004; an unknown token 40014, a missing
  one 41001, an expired one 42001.
* sync_msg returns the account's messages and events of the last 3 days, oldest first, from
  ``cursor`` (none: from the oldest), at most ``limit`` (1000 at most) and, as WeCom may, fewer:
  at most ``page_size``; ``has_more`` is 1 while more follow. Messages sent through the API are
  not in it. A callback's token is good for 10 minutes (then, as for one never given out,
  95007). A cursor it never gave out: 40058 (the fake's choice).
* send_msg: a customer's message allows 5 messages within 48 hours, and each new message starts
  that allowance afresh: past the count 95001, past the time (or never written) 95002, after
  :meth:`end_session` 95013 until they write again. A customer WeCom does not know: 40096;
  another account's open_kfid: 95000. A text over 2048 bytes of UTF-8, or a msgmenu's head or
  tail over 1024: 45002; empty: 44004. Only ``text`` and ``msgmenu`` (of 1 to 10 ``click``
  items, ids of 1-64 bytes, titles of 1-128) are supported (another msgtype: 40008; a broken
  body or menu: 40058, the fake's choice).
* enter_session carries a ``welcome_code`` when the customer got no welcome and no message
  within 48 hours (the shop is taken to have set no welcome of its own). send_msg_on_event
  takes it once, within 20 seconds; another, used or late code is 40058 (the fake's choice:
  WeCom documents none).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Literal

import aiohttp
from aiohttp import web

from bot.channels.wxcrypto import WxCrypto
from bot.channels.wxxml import build_xml

TOKEN_LIFETIME = 7200.0
SYNC_TOKEN_LIFETIME = 600.0
KEPT_SECONDS = 3 * 86400.0  # sync_msg returns the last 3 days
WINDOW_SECONDS = 48 * 3600.0
WINDOW_MESSAGES = 5
WELCOME_SECONDS = 20.0
MAX_LIMIT = 1000
TEXT_LIMIT = 2048  # bytes of UTF-8
MENU_TEXT_LIMIT = 1024
MENU_ITEMS = 10
MENU_ID_BYTES = 64
MENU_TITLE_BYTES = 128
CALLBACK_TIMEOUT = 5.0
CALLBACK_ATTEMPTS = 3
VERIFY_TIMEOUT = 1.0
FROM_CUSTOMER = 3
EVENT = 4

TOKEN_PATH = "/cgi-bin/gettoken"
SYNC_PATH = "/cgi-bin/kf/sync_msg"
SEND_PATH = "/cgi-bin/kf/send_msg"
WELCOME_PATH = "/cgi-bin/kf/send_msg_on_event"

ERRMSG = {
    -1: "system busy",
    40001: "invalid credential, secret is invalid",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40058: "invalid Parameter",
    40096: "invalid external userid",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    42001: "access_token expired",
    43002: "require POST method",
    44004: "empty content",
    45002: "content size out of limit",
    95000: "invalid open_kfid",
    95001: "send msg count limit",
    95002: "send msg time limit",
    95007: "invalid msg token",
    95013: "session already ended",
}

FailKind = Literal["http500", "busy", "hang"]
Endpoint = Literal["token", "sync", "send"]
ENDPOINTS: dict[str, Endpoint] = {
    TOKEN_PATH: "token",
    SYNC_PATH: "sync",
    SEND_PATH: "send",
    WELCOME_PATH: "send",
}


@dataclass(frozen=True)
class Delivered:
    """A message the customer received, in order: with send_msg or, ``via`` "welcome", with
    send_msg_on_event. ``content`` is the text (a msgmenu's head_content); a msgmenu also has
    its click items as ``(id, content)`` pairs and its tail."""

    touser: str
    msgtype: str
    content: str
    time: float
    via: Literal["send_msg", "welcome"] = "send_msg"
    menu: tuple[tuple[str, str], ...] = ()
    tail_content: str = ""


@dataclass(frozen=True)
class Attempt:
    """One POST of a callback: the answer's status and body, or (``status`` None) why none
    came: ``"timeout"`` or the connection error."""

    status: int | None
    body: str = ""
    error: str = ""


@dataclass
class Push:
    """A ``kf_msg_or_event`` callback and how it went: ``"ack"`` (HTTP 200, "success" or an
    empty body), ``"invalid"`` (any other answer; ``problem`` says what) or ``"no_answer"``
    (every attempt timed out or failed to connect). ``query`` and ``body`` are what was posted,
    for posting it again."""

    token: str
    xml: str
    attempts: list[Attempt] = field(default_factory=list)
    outcome: Literal["ack", "invalid", "no_answer"] = "no_answer"
    problem: str = ""
    query: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass
class _Customer:
    wrote_at: float | None = None  # their latest message
    sent: int = 0  # messages sent to them since
    last_sent_at: float | None = None
    welcomed_at: float | None = None
    ended: bool = False


@dataclass
class _WelcomeCode:
    customer: str
    issued_at: float
    used: bool = False


def _random_aes_key() -> str:
    return secrets.token_urlsafe(32).replace("-", "+").replace("_", "/")[:43]


def _error(errcode: int) -> web.Response:
    hint = secrets.token_hex(10)
    return web.json_response({"errcode": errcode, "errmsg": f"{ERRMSG[errcode]}, hint: [{hint}]"})


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


class FakeWeCom:
    """One corp and one customer-service account on a fake WeCom platform.

    ``clock`` gives the platform's time (seconds since the epoch); :meth:`advance` moves it on
    without waiting. ``callback_timeout`` and ``callback_attempts`` are WeCom's 5 s and 3;
    ``page_size`` bounds a sync_msg answer below its ``limit``. ``hang_seconds`` bounds an
    injected hang (shutting the server down ends it sooner)."""

    def __init__(
        self,
        *,
        corp_id: str = "ww0fake0kefu00001",
        secret: str = "fake-kf-secret-0123456789abcdef0123",
        token: str = "kefutoken",
        encoding_aes_key: str | None = None,
        open_kfid: str = "wk0Fake0KefuAccount0001",
        callback_url: str | None = None,
        clock: Callable[[], float] = time.time,
        callback_timeout: float = CALLBACK_TIMEOUT,
        callback_attempts: int = CALLBACK_ATTEMPTS,
        verify_timeout: float = VERIFY_TIMEOUT,
        page_size: int = MAX_LIMIT,
        hang_seconds: float = 60.0,
    ) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.token = token
        self.encoding_aes_key = encoding_aes_key or _random_aes_key()
        self.open_kfid = open_kfid
        self.callback_url = callback_url
        self.callback_timeout = callback_timeout
        self.callback_attempts = callback_attempts
        self.verify_timeout = verify_timeout
        self.page_size = page_size
        self.hang_seconds = hang_seconds
        self.crypto = WxCrypto(token, self.encoding_aes_key, corp_id)
        self.base_url = ""
        self.messages: list[dict[str, Any]] = []  # the account's log, as sync_msg returns it
        self.deliveries: list[Delivered] = []
        self.pushes: list[Push] = []
        self.calls: Counter[str] = Counter()
        self._clock = clock
        self._offset = 0.0
        self._tokens: dict[str, float] = {}  # access token -> expires at
        self._current_token: str | None = None
        self._sync_tokens: dict[str, float] = {}  # callback token -> issued at
        self._cursors: dict[str, int] = {}  # cursor given out -> position in the log
        self._customers: dict[str, _Customer] = {}
        self._welcome_codes: dict[str, _WelcomeCode] = {}
        self._failures: list[tuple[FailKind, Endpoint | None]] = []
        self._msg_ids = count(4622416642169452483)
        self._release = asyncio.Event()

    # -- the clock and the controls ------------------------------------------------------

    def now(self) -> float:
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the platform's time on (token expiry, the reply window, welcome codes)."""
        self._offset += seconds

    @property
    def token_calls(self) -> int:
        return self.calls[TOKEN_PATH]

    def expire_tokens(self) -> None:
        """Kill every access token issued so far, before its time (42001); the next gettoken
        issues a new one."""
        now = self.now()
        for value, expires_at in self._tokens.items():
            self._tokens[value] = min(expires_at, now)
        self._current_token = None

    def fail_next(self, n: int, kind: FailKind, *, endpoint: Endpoint | None = None) -> None:
        """Make the next ``n`` API calls (of ``endpoint`` only: "token", "sync", or "send" for
        both send endpoints; else of any) fail: ``http500``, ``busy`` (errcode -1, system busy)
        or ``hang`` (no answer for ``hang_seconds``, longer than any client waits)."""
        self._failures.extend((kind, endpoint) for _ in range(n))

    def end_session(self, external_userid: str) -> None:
        """The session ends (a servicer or the API closed it): nothing reaches the customer
        until they write again (95013); the sync log gets the session_status_change event."""
        self._customers.setdefault(external_userid, _Customer()).ended = True
        self._log_event(
            {"event_type": "session_status_change", "change_type": 3},
            external_userid,
        )

    # -- the API that kefu calls ---------------------------------------------------------

    def make_app(self) -> web.Application:
        """The API as an aiohttp app (one per run: :meth:`serve` makes its own)."""
        app = web.Application()
        app.router.add_route("*", TOKEN_PATH, self._token_endpoint)
        app.router.add_route("*", SYNC_PATH, self._sync_endpoint)
        app.router.add_route("*", SEND_PATH, self._send_endpoint)
        app.router.add_route("*", WELCOME_PATH, self._welcome_endpoint)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, _app: web.Application) -> None:
        self._release.set()

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Run the API on a free port of 127.0.0.1; yields (and sets ``base_url``) its URL."""
        self._release = asyncio.Event()
        runner = web.AppRunner(self.make_app(), shutdown_timeout=5.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            self.base_url = f"http://{host}:{port}"
            yield self.base_url
        finally:
            self._release.set()
            await runner.cleanup()

    async def _checked(self, request: web.Request, *, kf_call: bool) -> web.Response | None:
        """Count the call; an injected failure answers it here, and for a kf call (POST, with
        an access token) a wrong method or a refused token."""
        self.calls[request.path] += 1
        endpoint = ENDPOINTS[request.path]
        index = next(
            (i for i, (_, only) in enumerate(self._failures) if only in (None, endpoint)), None
        )
        if index is not None:
            kind, _ = self._failures.pop(index)
            if kind == "http500":
                return web.Response(status=500, text="<html><body>500 Internal Server Error</body>")
            if kind == "hang":
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._release.wait(), self.hang_seconds)
            return _error(-1)
        if not kf_call:
            return None
        if request.method != "POST":
            return _error(43002)
        access_token = request.query.get("access_token", "")
        if not access_token:
            return _error(41001)
        expires_at = self._tokens.get(access_token)
        if expires_at is None:
            return _error(40014)
        if self.now() >= expires_at:
            return _error(42001)
        return None

    async def _token_endpoint(self, request: web.Request) -> web.Response:
        if (refused := await self._checked(request, kf_call=False)) is not None:
            return refused
        corpid, secret = request.query.get("corpid", ""), request.query.get("corpsecret", "")
        if not corpid:
            return _error(41002)
        if corpid != self.corp_id:
            return _error(40013)
        if not secret:
            return _error(41004)
        if secret != self.secret:
            return _error(40001)
        now = self.now()
        current = self._current_token
        if current is None or self._tokens[current] <= now:
            current = f"{secrets.token_urlsafe(48)}-{secrets.token_urlsafe(48)}"
            self._tokens[current] = now + TOKEN_LIFETIME
            self._current_token = current
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "access_token": current,
                "expires_in": int(self._tokens[current] - now),
            }
        )

    async def _body(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def _sync_endpoint(self, request: web.Request) -> web.Response:
        if (refused := await self._checked(request, kf_call=True)) is not None:
            return refused
        body = await self._body(request)
        if body is None:
            return _error(40058)
        open_kfid = body.get("open_kfid") or self.open_kfid
        if open_kfid != self.open_kfid:
            return _error(95000)
        token, cursor, limit = body.get("token") or "", body.get("cursor") or "", body.get("limit")
        now = self.now()
        if (
            token
            and now - self._sync_tokens.get(token, -SYNC_TOKEN_LIFETIME) >= SYNC_TOKEN_LIFETIME
        ):
            return _error(95007)
        if cursor and cursor not in self._cursors:
            return _error(40058)
        if limit is None:
            limit = MAX_LIMIT
        if not isinstance(limit, int) or limit < 1:
            return _error(40058)
        position = self._cursors.get(cursor, 0)
        while (
            position < len(self.messages)
            and self.messages[position]["send_time"] <= now - KEPT_SECONDS
        ):
            position += 1
        end = min(position + min(limit, MAX_LIMIT, self.page_size), len(self.messages))
        next_cursor = secrets.token_urlsafe(15)
        self._cursors[next_cursor] = end
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "next_cursor": next_cursor,
                "has_more": int(end < len(self.messages)),
                "msg_list": self.messages[position:end],
            }
        )

    def _message(
        self, body: dict[str, Any], via: Literal["send_msg", "welcome"], touser: str
    ) -> Delivered | int:
        """The message ``body`` asks to deliver, or the errcode that refuses it."""
        msgtype = body.get("msgtype")
        if msgtype not in ("text", "msgmenu"):
            return 40008
        section = body.get(msgtype)
        if not isinstance(section, dict):
            return 40058
        if msgtype == "text":
            content = section.get("content")
            if not isinstance(content, str):
                return 40058
            if not content.strip():
                return 44004
            if _bytes(content) > TEXT_LIMIT:
                return 45002
            return Delivered(touser, "text", content, self.now(), via)
        head, tail, items = (
            section.get("head_content", ""),
            section.get("tail_content", ""),
            section.get("list"),
        )
        if not (isinstance(head, str) and isinstance(tail, str) and isinstance(items, list)):
            return 40058
        if _bytes(head) > MENU_TEXT_LIMIT or _bytes(tail) > MENU_TEXT_LIMIT:
            return 45002
        menu = [_click(item) for item in items]
        if not 1 <= len(menu) <= MENU_ITEMS or None in menu:
            return 40058
        options = tuple(option for option in menu if option is not None)
        return Delivered(touser, "msgmenu", head, self.now(), via, options, tail)

    async def _send_endpoint(self, request: web.Request) -> web.Response:
        if (refused := await self._checked(request, kf_call=True)) is not None:
            return refused
        body = await self._body(request)
        if body is None:
            return _error(40058)
        touser = body.get("touser")
        if not isinstance(touser, str) or touser not in self._customers:
            return _error(40096)
        if body.get("open_kfid") != self.open_kfid:
            return _error(95000)
        message = self._message(body, "send_msg", touser)
        if isinstance(message, int):
            return _error(message)
        customer = self._customers[touser]
        now = self.now()
        if customer.ended:
            return _error(95013)
        if customer.wrote_at is None or now >= customer.wrote_at + WINDOW_SECONDS:
            return _error(95002)
        if customer.sent >= WINDOW_MESSAGES:
            return _error(95001)
        customer.sent += 1
        customer.last_sent_at = now
        self.deliveries.append(message)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": secrets.token_hex(16)})

    async def _welcome_endpoint(self, request: web.Request) -> web.Response:
        if (refused := await self._checked(request, kf_call=True)) is not None:
            return refused
        body = await self._body(request)
        if body is None:
            return _error(40058)
        code = self._welcome_codes.get(str(body.get("code") or ""))
        if code is None or code.used or self.now() - code.issued_at > WELCOME_SECONDS:
            return _error(40058)
        message = self._message(body, "welcome", code.customer)
        if isinstance(message, int):
            return _error(message)
        code.used = True
        self._customers[code.customer].welcomed_at = self.now()
        self.deliveries.append(message)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": secrets.token_hex(16)})

    # -- the customers' side -------------------------------------------------------------

    def _log(self, entry: dict[str, Any]) -> None:
        self.messages.append(
            {"msgid": f"from_msgid_{next(self._msg_ids)}", "send_time": int(self.now()), **entry}
        )

    def _log_event(self, event: dict[str, Any], external_userid: str) -> None:
        self._log(
            {
                "origin": EVENT,
                "msgtype": "event",
                "event": {"open_kfid": self.open_kfid, "external_userid": external_userid, **event},
            }
        )

    async def customer_sends(
        self,
        external_userid: str,
        text: str = "",
        *,
        menu_id: str = "",
        media: tuple[str, str] | None = None,
        notify: bool = True,
    ) -> Push | None:
        """The customer writes ``text`` (with ``menu_id``: taps that item of a msgmenu, which
        WeCom sends as a text with the item's id) or sends ``media``, ``(msgtype, media_id)``
        with msgtype image, voice, video or file. Then (unless not ``notify``) WeCom tells
        kefu with a callback: the Push it made."""
        if media is None:
            kind, section = "text", {"content": text, **({"menu_id": menu_id} if menu_id else {})}
        else:
            kind, section = media[0], {"media_id": media[1]}
        self._log(
            {
                "open_kfid": self.open_kfid,
                "external_userid": external_userid,
                "origin": FROM_CUSTOMER,
                "msgtype": kind,
                kind: section,
            }
        )
        customer = self._customers.setdefault(external_userid, _Customer())
        customer.wrote_at, customer.sent, customer.ended = self.now(), 0, False
        return await self.notify() if notify else None

    async def enter_session(
        self, external_userid: str, *, scene: str = "", scene_param: str = "", notify: bool = True
    ) -> Push | None:
        """The customer opens the chat (from a link with ``scene``); a welcome_code comes with
        it when they got no welcome and no message within 48 hours."""
        customer = self._customers.setdefault(external_userid, _Customer())
        now = self.now()
        event: dict[str, Any] = {
            "event_type": "enter_session",
            "scene": scene,
            "scene_param": scene_param,
        }
        if all(
            at is None or now - at >= WINDOW_SECONDS
            for at in (customer.welcomed_at, customer.last_sent_at)
        ):
            code = secrets.token_urlsafe(24)
            self._welcome_codes[code] = _WelcomeCode(external_userid, now)
            event["welcome_code"] = code
        self._log_event(event, external_userid)
        return await self.notify() if notify else None

    async def notify(self) -> Push:
        """Post a ``kf_msg_or_event`` callback with a fresh token (what WeCom does after each
        message or event; without ``notify`` in the calls above, kefu misses it)."""
        if self.callback_url is None:
            raise RuntimeError("no callback_url: where would WeCom post?")
        token = "ENC" + secrets.token_urlsafe(33)
        self._sync_tokens[token] = self.now()
        xml = build_xml(
            {
                "ToUserName": self.corp_id,
                "CreateTime": int(self.now()),
                "MsgType": "event",
                "Event": "kf_msg_or_event",
                "Token": token,
                "OpenKfId": self.open_kfid,
            }
        )
        timestamp, nonce = str(int(self.now())), str(secrets.randbelow(10**10))
        encrypted, msg_signature = self.crypto.encrypt(xml, nonce, timestamp)
        push = Push(
            token,
            xml,
            query={"msg_signature": msg_signature, "timestamp": timestamp, "nonce": nonce},
            body=build_xml({"ToUserName": self.corp_id, "Encrypt": encrypted, "AgentID": ""}),
        )
        self.pushes.append(push)
        return await self._post(push)

    async def push_again(self, push: Push) -> Push:
        """Post the same callback once more, byte for byte (WeCom repeating one whose answer it
        did not get in time, seen from the server's side)."""
        again = dataclasses.replace(push, attempts=[], outcome="no_answer", problem="")
        self.pushes.append(again)
        return await self._post(again)

    async def _post(self, push: Push) -> Push:
        assert self.callback_url is not None
        timeout = aiohttp.ClientTimeout(total=self.callback_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for _ in range(self.callback_attempts):
                try:
                    async with session.post(
                        self.callback_url,
                        params=push.query,
                        data=push.body.encode("utf-8"),
                        headers={"Content-Type": "text/xml"},
                    ) as response:
                        answer = (await response.read()).decode("utf-8", errors="replace")
                        status = response.status
                except TimeoutError:
                    push.attempts.append(Attempt(None, error="timeout"))
                    continue
                except aiohttp.ClientError as error:
                    push.attempts.append(Attempt(None, error=f"{type(error).__name__}: {error}"))
                    continue
                push.attempts.append(Attempt(status, answer))
                if status == 200 and answer in ("", "success"):
                    push.outcome = "ack"
                else:
                    push.outcome, push.problem = "invalid", f"HTTP {status}: {answer[:100]}"
                break
        return push

    async def verify_url(self, callback_url: str | None = None) -> bool:
        """What WeCom does when the URL is saved in the admin console: a GET whose encrypted,
        signed ``echostr`` must come back decrypted, within a second."""
        url = callback_url or self.callback_url
        if url is None:
            raise RuntimeError("no callback_url to verify")
        plain = str(secrets.randbelow(10**19))
        timestamp, nonce = str(int(self.now())), str(secrets.randbelow(10**10))
        echostr, msg_signature = self.crypto.encrypt(plain, nonce, timestamp)
        query = {
            "msg_signature": msg_signature,
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        timeout = aiohttp.ClientTimeout(total=self.verify_timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, params=query) as response,
            ):
                return response.status == 200 and await response.text() == plain
        except (TimeoutError, aiohttp.ClientError):
            return False


def _click(item: Any) -> tuple[str, str] | None:
    """A msgmenu item as ``(id, content)``, if it is a well-formed ``click`` item."""
    if not isinstance(item, dict) or item.get("type") != "click":
        return None
    click = item.get("click")
    if not isinstance(click, dict):
        return None
    item_id, content = click.get("id"), click.get("content")
    if not (isinstance(item_id, str) and isinstance(content, str)):
        return None
    if not (1 <= _bytes(item_id) <= MENU_ID_BYTES and 1 <= _bytes(content) <= MENU_TITLE_BYTES):
        return None
    return item_id, content
