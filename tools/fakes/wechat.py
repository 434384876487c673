"""A fake WeChat Official Account platform on 127.0.0.1, for tests and benchmarks.

Both sides of the real protocol:

* the API that kefu calls (``api.weixin.qq.com``): ``GET /cgi-bin/token``,
  ``POST /cgi-bin/stable_token`` and ``POST /cgi-bin/message/custom/send``, with WeChat's JSON
  error codes (``{"errcode": 42001, "errmsg": "access_token expired rid: ..."}`` over HTTP 200),
  its token rules and its per-customer quota for customer-service messages;
* the customers: :meth:`FakeWeChat.send_text` and :meth:`FakeWeChat.send_event` push signed
  (optionally encrypted) XML to kefu's callback URL the way WeChat does, with its 5-second
  timeout and up to 3 attempts, and judge the answer as WeChat would.

What the platform does is recorded (``deliveries``, ``pushes``, ``calls``) and can be steered
(a clock to move, tokens to kill, failures to inject). The rules, each from WeChat's
documentation unless marked as the fake's choice where WeChat documents none:

* tokens live 7200 s. ``/cgi-bin/token`` issues a new token on every call and the previous
  one keeps working for 5 more minutes, then answers 40001 (not latest). ``stable_token``
  returns the same token while it has over 5 minutes left (then a new one, the old one living
  out its time); ``force_refresh`` revokes the current one at once (40001), at most once per
  30 s (45011: the fake's choice of code) and 20 times a day (45009). The two endpoints'
  tokens are independent. An unknown token is 40014, a missing one 41001, an expired one 42001.
* customer-service messages: a customer's message allows 5 messages within 48 hours, and each
  new message starts that allowance afresh; a subscribe, SCAN, CLICK or scancode event allows
  3 within a minute. Past the count: 45047; past the time (or unsubscribed): 45015. An openid
  that never wrote to the account: 40003. A text (or, the fake's choice, a msgmenu's texts
  together) over 2048 bytes of UTF-8: 45002; an empty one: 44004. Only ``text`` and
  ``msgmenu`` are supported (anything else: 40008).
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

from bot.channels.wxcrypto import WxCrypto, WxCryptoError
from bot.channels.wxxml import WxXmlError, build_xml, parse_xml

TOKEN_LIFETIME = 7200.0
TOKEN_OVERLAP = 300.0  # old /cgi-bin/token tokens live on, and stable tokens renew, 5 min
FORCE_REFRESH_GAP = 30.0
FORCE_REFRESH_PER_DAY = 20
DAY = 86400.0
TEXT_LIMIT = 2048  # bytes of UTF-8
CALLBACK_TIMEOUT = 5.0
CALLBACK_ATTEMPTS = 3
REPLY_MAX_BYTES = 64 * 1024
PASSIVE_TYPES = frozenset(
    {"text", "image", "voice", "video", "music", "news", "transfer_customer_service"}
)

TOKEN_PATH = "/cgi-bin/token"
STABLE_TOKEN_PATH = "/cgi-bin/stable_token"
SEND_PATH = "/cgi-bin/message/custom/send"

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    43002: "require POST method",
    44002: "empty post data",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
}

FailKind = Literal["http500", "busy", "hang"]
Endpoint = Literal["token", "send"]


@dataclass(frozen=True)
class Quota:
    """How many customer-service messages an interaction allows, and for how long."""

    messages: int
    seconds: float


MESSAGE_QUOTA = Quota(5, 48 * 3600.0)
EVENT_QUOTA = Quota(3, 60.0)
QUOTA_EVENTS = frozenset({"subscribe", "SCAN", "CLICK", "scancode_push", "scancode_waitmsg"})


@dataclass(frozen=True)
class Delivered:
    """A message the customer received, in order: sent with ``custom/send`` or as the passive
    reply to a push. ``content`` is the text (a msgmenu's head_content); a msgmenu also has
    its options as ``(id, content)`` pairs and its tail."""

    touser: str
    msgtype: str
    content: str
    time: float
    via: Literal["custom", "passive"] = "custom"
    menu: tuple[tuple[str, str], ...] = ()
    tail_content: str = ""


@dataclass(frozen=True)
class Attempt:
    """One POST of a push: the answer's status and body, or (``status`` None) why none came:
    ``"timeout"`` or the connection error."""

    status: int | None
    body: str = ""
    error: str = ""


@dataclass
class Push:
    """A message or event WeChat pushed to the callback URL, and how it went.

    ``outcome``: ``"ack"`` ("success" or an empty body), ``"reply"`` (a valid passive reply,
    in ``reply``, decrypted in encrypted mode), ``"invalid"`` (WeChat would show the customer
    "该公众号暂时无法提供服务"; ``problem`` says why) or ``"no_answer"`` (every attempt timed out
    or failed to connect)."""

    openid: str
    xml: str
    msg_id: str
    create_time: int
    encrypted: bool
    attempts: list[Attempt] = field(default_factory=list)
    outcome: Literal["ack", "reply", "invalid", "no_answer"] = "no_answer"
    reply: dict[str, str] | None = None
    problem: str = ""
    # What was posted (the signed query and the body), for pushing it again.
    query: dict[str, str] = field(default_factory=dict)
    body: str = ""


@dataclass
class _Token:
    expires_at: float
    revoked_at: float | None = None


@dataclass
class _Grant:
    quota: Quota
    since: float
    used: int = 0


@dataclass
class _Customer:
    subscribed: bool = True
    grants: dict[str, _Grant] = field(default_factory=dict)


def _random_aes_key() -> str:
    return secrets.token_urlsafe(32).replace("-", "+").replace("_", "/")[:43]


def _rid() -> str:
    return "-".join(secrets.token_hex(4) for _ in range(3))


def _error(errcode: int) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": f"{ERRMSG[errcode]} rid: {_rid()}"})


class FakeWeChat:
    """One Official Account on a fake WeChat platform.

    ``clock`` gives the platform's time (seconds since the epoch); :meth:`advance` moves it on
    without waiting. ``callback_timeout`` and ``callback_attempts`` are WeChat's 5 s and 3;
    tests shorten the timeout. ``hang_seconds`` bounds an injected hang (shutting the server
    down ends it sooner). Without ``encoding_aes_key`` the account gets a random one, for
    encrypted pushes.
    """

    def __init__(
        self,
        *,
        appid: str = "wx0fake0kefu00001",
        secret: str = "fake-app-secret-0123456789abcdef",
        token: str = "kefutoken",
        encoding_aes_key: str | None = None,
        account: str = "gh_0fake0kefu01",
        callback_url: str | None = None,
        clock: Callable[[], float] = time.time,
        callback_timeout: float = CALLBACK_TIMEOUT,
        callback_attempts: int = CALLBACK_ATTEMPTS,
        hang_seconds: float = 60.0,
    ) -> None:
        self.appid = appid
        self.secret = secret
        self.token = token
        self.encoding_aes_key = encoding_aes_key or _random_aes_key()
        self.account = account
        self.callback_url = callback_url
        self.callback_timeout = callback_timeout
        self.callback_attempts = callback_attempts
        self.hang_seconds = hang_seconds
        self.crypto = WxCrypto(token, self.encoding_aes_key, appid)
        self.base_url = ""
        self.deliveries: list[Delivered] = []
        self.pushes: list[Push] = []
        self.calls: Counter[str] = Counter()
        self._clock = clock
        self._offset = 0.0
        self._tokens: dict[str, _Token] = {}
        self._latest_token: str | None = None
        self._stable_token: str | None = None
        self._force_refreshes: list[float] = []
        self._customers: dict[str, _Customer] = {}
        self._failures: list[tuple[FailKind, Endpoint | None]] = []
        self._token_serial = count(1)
        self._msg_ids = count(24_000_000_000_000_001)
        self._release = asyncio.Event()

    # -- the clock and the controls ------------------------------------------------------

    def now(self) -> float:
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the platform's time on (token expiry, the quota windows, CreateTime)."""
        self._offset += seconds

    @property
    def token_calls(self) -> int:
        return self.calls[TOKEN_PATH] + self.calls[STABLE_TOKEN_PATH]

    def expire_tokens(self, errcode: Literal[42001, 40001] = 42001) -> None:
        """Kill every token issued so far, before its time: as expired (42001) or as
        revoked, e.g. by another server's refresh (40001). The next token request gets a new
        one."""
        now = self.now()
        for issued in self._tokens.values():
            if errcode == 42001:
                issued.expires_at = min(issued.expires_at, now)
            else:
                issued.revoked_at = min(issued.revoked_at or now, now)
        self._latest_token = self._stable_token = None

    def fail_next(self, n: int, kind: FailKind, *, endpoint: Endpoint | None = None) -> None:
        """Make the next ``n`` API calls (of ``endpoint`` only: "token" for both token
        endpoints, "send"; else of any) fail: ``http500``, ``busy`` (errcode -1, system error)
        or ``hang`` (no answer for ``hang_seconds``, longer than any client waits)."""
        self._failures.extend((kind, endpoint) for _ in range(n))

    # -- the API that kefu calls ---------------------------------------------------------

    def make_app(self) -> web.Application:
        """The API as an aiohttp app (one per run: :meth:`serve` makes its own)."""
        app = web.Application()
        app.router.add_route("*", TOKEN_PATH, self._token_endpoint)
        app.router.add_route("*", STABLE_TOKEN_PATH, self._stable_token_endpoint)
        app.router.add_route("*", SEND_PATH, self._send_endpoint)
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

    async def _injected(self, endpoint: Endpoint) -> web.Response | None:
        index = next(
            (i for i, (_, only) in enumerate(self._failures) if only in (None, endpoint)), None
        )
        if index is None:
            return None
        kind, _ = self._failures.pop(index)
        if kind == "http500":
            return web.Response(status=500, text="<html><body>500 Internal Server Error</body>")
        if kind == "hang":
            with suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.hang_seconds)
        return _error(-1)

    def _issue(self, lifetime: float = TOKEN_LIFETIME) -> str:
        value = f"{next(self._token_serial)}_{secrets.token_urlsafe(96)}"
        self._tokens[value] = _Token(expires_at=self.now() + lifetime)
        return value

    def _credentials_error(self, grant_type: Any, appid: Any, secret: Any) -> int:
        if grant_type != "client_credential":
            return 40002
        if not appid:
            return 41002
        if appid != self.appid:
            return 40013
        if not secret:
            return 41004
        if secret != self.secret:
            return 40125
        return 0

    async def _token_endpoint(self, request: web.Request) -> web.Response:
        self.calls[TOKEN_PATH] += 1
        if (failed := await self._injected("token")) is not None:
            return failed
        query = request.query
        errcode = self._credentials_error(
            query.get("grant_type"), query.get("appid"), query.get("secret")
        )
        if errcode:
            return _error(errcode)
        now = self.now()
        previous = self._tokens.get(self._latest_token or "")
        if (
            previous is not None
            and previous.revoked_at is None
            and now + TOKEN_OVERLAP < previous.expires_at
        ):
            previous.revoked_at = now + TOKEN_OVERLAP
        self._latest_token = self._issue()
        return web.json_response(
            {"access_token": self._latest_token, "expires_in": int(TOKEN_LIFETIME)}
        )

    async def _stable_token_endpoint(self, request: web.Request) -> web.Response:
        self.calls[STABLE_TOKEN_PATH] += 1
        if (failed := await self._injected("token")) is not None:
            return failed
        if request.method != "POST":
            return _error(43002)
        raw = await request.read()
        if not raw.strip():
            return _error(44002)
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(47001)
        if not isinstance(body, dict) or not isinstance(body.get("force_refresh", False), bool):
            return _error(47001)
        errcode = self._credentials_error(
            body.get("grant_type"), body.get("appid"), body.get("secret")
        )
        if errcode:
            return _error(errcode)
        now = self.now()
        current = self._tokens.get(self._stable_token or "")
        if body.get("force_refresh", False):
            recent = [at for at in self._force_refreshes if now - at < DAY]
            if recent and now - recent[-1] < FORCE_REFRESH_GAP:
                return _error(45011)
            if len(recent) >= FORCE_REFRESH_PER_DAY:
                return _error(45009)
            self._force_refreshes = [*recent, now]
            if current is not None:
                current.revoked_at = now
        elif (
            self._stable_token is not None
            and current is not None
            and current.revoked_at is None
            and current.expires_at - now > TOKEN_OVERLAP
        ):
            return web.json_response(
                {"access_token": self._stable_token, "expires_in": int(current.expires_at - now)}
            )
        self._stable_token = self._issue()
        return web.json_response(
            {"access_token": self._stable_token, "expires_in": int(TOKEN_LIFETIME)}
        )

    def _access_token_error(self, access_token: str) -> int:
        if not access_token:
            return 41001
        issued = self._tokens.get(access_token)
        if issued is None:
            return 40014
        now = self.now()
        if issued.revoked_at is not None and now >= issued.revoked_at:
            return 40001
        if now >= issued.expires_at:
            return 42001
        return 0

    async def _send_endpoint(self, request: web.Request) -> web.Response:
        self.calls[SEND_PATH] += 1
        if (failed := await self._injected("send")) is not None:
            return failed
        if request.method != "POST":
            return _error(43002)
        errcode = self._access_token_error(request.query.get("access_token", ""))
        if errcode:
            return _error(errcode)
        raw = await request.read()
        if not raw.strip():
            return _error(44002)
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(47001)
        if not isinstance(body, dict):
            return _error(47001)
        touser = body.get("touser")
        if not isinstance(touser, str) or touser not in self._customers:
            return _error(40003)
        customer = self._customers[touser]
        message = self._message(touser, body)
        if isinstance(message, int):
            return _error(message)
        errcode = self._use_quota(customer)
        if errcode:
            return _error(errcode)
        self.deliveries.append(message)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def _message(self, touser: str, body: dict[str, Any]) -> Delivered | int:
        """The message ``body`` asks to deliver, or the errcode that refuses it."""
        msgtype = body.get("msgtype")
        section = body.get(msgtype) if isinstance(msgtype, str) else None
        if msgtype not in ("text", "msgmenu"):
            return 40008
        if not isinstance(section, dict):
            return 47001
        if msgtype == "text":
            content = section.get("content")
            if not isinstance(content, str):
                return 47001
            menu: tuple[tuple[str, str], ...] = ()
            tail = ""
            texts = [content]
        else:
            content, tail, options = (
                section.get("head_content", ""),
                section.get("tail_content", ""),
                section.get("list"),
            )
            if not (
                isinstance(content, str)
                and isinstance(tail, str)
                and isinstance(options, list)
                and options
                and all(
                    isinstance(option, dict)
                    and isinstance(option.get("id"), str)
                    and isinstance(option.get("content"), str)
                    and option["id"]
                    and option["content"]
                    for option in options
                )
            ):
                return 47001
            menu = tuple((option["id"], option["content"]) for option in options)
            texts = [content, tail, *(text for _, text in menu)]
        if not "".join(texts).strip():
            return 44004
        if sum(len(text.encode("utf-8")) for text in texts) > TEXT_LIMIT:
            return 45002
        return Delivered(touser, msgtype, content, self.now(), "custom", menu, tail)

    def _use_quota(self, customer: _Customer) -> int:
        if not customer.subscribed:
            return 45015
        now = self.now()
        open_grants = [
            grant for grant in customer.grants.values() if now < grant.since + grant.quota.seconds
        ]
        for grant in open_grants:
            if grant.used < grant.quota.messages:
                grant.used += 1
                return 0
        return 45047 if open_grants else 45015

    # -- the customers' side -------------------------------------------------------------

    async def send_text(
        self, openid: str, content: str, *, encrypted: bool = False, menu_id: str = ""
    ) -> Push:
        """The customer ``openid`` writes ``content`` (with ``menu_id``: clicks that option
        of a msgmenu, which WeChat sends as a text with ``bizmsgmenuid``)."""
        msg_id = next(self._msg_ids)
        fields: dict[str, str | int] = {
            "ToUserName": self.account,
            "FromUserName": openid,
            "CreateTime": int(self.now()),
            "MsgType": "text",
            "Content": content,
            "MsgId": msg_id,
        }
        if menu_id:
            fields["bizmsgmenuid"] = menu_id
        customer = self._customers.setdefault(openid, _Customer())
        customer.grants["message"] = _Grant(MESSAGE_QUOTA, self.now())
        return await self._push(openid, fields, str(msg_id), encrypted)

    async def send_media(
        self, openid: str, msg_type: str, media_id: str, *, encrypted: bool = False
    ) -> Push:
        """The customer sends a photo, voice message or video (``msg_type`` image, voice,
        video, shortvideo), as WeChat pushes it: with a MediaId and a MsgId."""
        msg_id = next(self._msg_ids)
        fields: dict[str, str | int] = {
            "ToUserName": self.account,
            "FromUserName": openid,
            "CreateTime": int(self.now()),
            "MsgType": msg_type,
            "MediaId": media_id,
            "MsgId": msg_id,
        }
        customer = self._customers.setdefault(openid, _Customer())
        customer.grants["message"] = _Grant(MESSAGE_QUOTA, self.now())
        return await self._push(openid, fields, str(msg_id), encrypted)

    async def send_event(
        self, openid: str, event: str, event_key: str = "", *, encrypted: bool = False
    ) -> Push:
        """The customer ``openid`` causes ``event`` (``subscribe``, ``unsubscribe``,
        ``CLICK`` with the menu's key, ``SCAN``, ...)."""
        fields: dict[str, str | int] = {
            "ToUserName": self.account,
            "FromUserName": openid,
            "CreateTime": int(self.now()),
            "MsgType": "event",
            "Event": event,
        }
        if event_key:
            fields["EventKey"] = event_key
        customer = self._customers.setdefault(openid, _Customer())
        if event == "unsubscribe":
            customer.subscribed = False
            customer.grants.clear()
        elif event == "subscribe":
            customer.subscribed = True
        if event in QUOTA_EVENTS:
            customer.grants["event"] = _Grant(EVENT_QUOTA, self.now())
        return await self._push(openid, fields, "", encrypted)

    def signed_query(self) -> tuple[str, str, dict[str, str]]:
        """A timestamp, a nonce and the query WeChat signs a push with (also for tests that
        post pushes of their own)."""
        timestamp = str(int(self.now()))
        nonce = str(secrets.randbelow(10**10))
        return (
            timestamp,
            nonce,
            {
                "signature": self.crypto.signature(timestamp, nonce),
                "timestamp": timestamp,
                "nonce": nonce,
            },
        )

    async def _push(
        self, openid: str, fields: dict[str, str | int], msg_id: str, encrypted: bool
    ) -> Push:
        if self.callback_url is None:
            raise RuntimeError("no callback_url: where would WeChat push?")
        xml = build_xml(fields)
        timestamp, nonce, query = self.signed_query()
        query["openid"] = openid
        body = xml
        if encrypted:
            ciphertext, msg_signature = self.crypto.encrypt(xml, nonce, timestamp)
            query |= {"encrypt_type": "aes", "msg_signature": msg_signature}
            body = build_xml({"ToUserName": self.account, "Encrypt": ciphertext})
        push = Push(
            openid, xml, msg_id, int(fields["CreateTime"]), encrypted, query=query, body=body
        )
        self.pushes.append(push)
        return await self._post(push)

    async def push_again(self, push: Push) -> Push:
        """Post the same push once more, byte for byte (WeChat repeating a message whose
        answer it did not get in time, seen from the server's side)."""
        again = dataclasses.replace(push, attempts=[], outcome="no_answer", reply=None, problem="")
        self.pushes.append(again)
        return await self._post(again)

    async def _post(self, push: Push) -> Push:
        assert self.callback_url is not None
        query, body = push.query, push.body
        timeout = aiohttp.ClientTimeout(total=self.callback_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for _ in range(self.callback_attempts):
                try:
                    async with session.post(
                        self.callback_url,
                        params=query,
                        data=body.encode("utf-8"),
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
                self._judge(push, status, answer)
                break
        return push

    def _judge(self, push: Push, status: int, answer: str) -> None:
        """How WeChat takes the answer to a push: an acknowledgement, a passive reply that it
        delivers to the customer, or a failure the customer is told about."""
        if status != 200:
            push.outcome, push.problem = "invalid", f"HTTP {status}"
            return
        if answer in ("", "success"):
            push.outcome = "ack"
            return
        try:
            reply = self._open_reply(push, answer)
        except (WxXmlError, WxCryptoError) as error:
            push.outcome, push.problem = "invalid", str(error)
            return
        problem = self._reply_problem(push, reply)
        if problem:
            push.outcome, push.problem = "invalid", problem
            return
        push.outcome, push.reply = "reply", reply
        if reply["MsgType"] != "transfer_customer_service":
            self.deliveries.append(
                Delivered(
                    push.openid, reply["MsgType"], reply.get("Content", ""), self.now(), "passive"
                )
            )

    def _open_reply(self, push: Push, answer: str) -> dict[str, str]:
        fields = parse_xml(answer, max_bytes=REPLY_MAX_BYTES)
        if not push.encrypted:
            if "Encrypt" in fields:
                raise WxXmlError("an encrypted reply to a plaintext push")
            return fields
        if "Encrypt" not in fields:
            raise WxXmlError("a plaintext reply to an encrypted push")
        self.crypto.check_msg_signature(
            fields.get("MsgSignature", ""),
            fields.get("TimeStamp", ""),
            fields.get("Nonce", ""),
            fields["Encrypt"],
        )
        return parse_xml(self.crypto.decrypt(fields["Encrypt"]), max_bytes=REPLY_MAX_BYTES)

    def _reply_problem(self, push: Push, reply: dict[str, str]) -> str:
        if reply.get("ToUserName") != push.openid:
            return f"ToUserName {reply.get('ToUserName')!r} is not the customer {push.openid!r}"
        if reply.get("FromUserName") != self.account:
            return f"FromUserName {reply.get('FromUserName')!r} is not the account {self.account!r}"
        if not reply.get("CreateTime", "").isdigit():
            return "CreateTime is not a number"
        if reply.get("MsgType") not in PASSIVE_TYPES:
            return f"MsgType {reply.get('MsgType')!r} is not a passive reply"
        if reply["MsgType"] == "text" and not reply.get("Content"):
            return "a text reply without Content"
        return ""

    async def verify_url(self, callback_url: str | None = None) -> bool:
        """What WeChat does when the URL is saved in the console: a signed GET whose answer
        must be the ``echostr`` it carries, as it came."""
        url = callback_url or self.callback_url
        if url is None:
            raise RuntimeError("no callback_url to verify")
        _, _, query = self.signed_query()
        query["echostr"] = str(secrets.randbelow(10**19))
        timeout = aiohttp.ClientTimeout(total=self.callback_timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, params=query) as response,
            ):
                return response.status == 200 and await response.text() == query["echostr"]
        except (TimeoutError, aiohttp.ClientError):
            return False
