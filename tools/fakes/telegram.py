"""A local Telegram Bot API for tests: the methods kefu's Telegram channel calls, in the real
wire format (``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code": ...,
"description": ...}``), with the real limits and error descriptions, and the customer's side
of the chat (messages, photos, stickers, locations, button taps) as real update objects.

A test makes a :class:`FakeTelegram`, serves it with ``async with fake.serve() as base_url``
(127.0.0.1, a free port) and points the client at ``base_url``: requests go to
``/bot<token>/<method>`` with their parameters in the query string, a form, multipart or
JSON, as the Bot API takes them, and method names are case-insensitive. While a webhook is
set the fake POSTs each update to it (JSON, the ``X-Telegram-Bot-Api-Secret-Token`` header
when a secret is set) and tries again on a non-2xx answer, a timeout or a refused
connection, with a doubling pause; the update is dropped after the last attempt, as Telegram
"gives up after a reasonable number of attempts" (the fake's numbers are short, for tests).

Where it is a model rather than Telegram, so a test does not lean on it:

* HTTP webhooks are taken on loopback hosts only (Telegram wants HTTPS; a local Bot API
  server does not), and at most one delivery is in flight (Telegram opens up to
  ``max_connections``), so updates arrive in order;
* ``parse_mode`` HTML is parsed only far enough to count the text the customer sees (tags
  dropped, entities unescaped); Markdown and MarkdownV2 are refused rather than half-modelled;
* text length counts code points (a measurement against Telegram found astral characters
  count as one) after stripping surrounding whitespace;
* how long a button tap can be answered is not documented; ``callback_query_ttl`` (15 s by
  default) stands in for it, measured on the ``clock`` the fake is given;
* malformed parameters (a number that is not one, JSON that does not parse) get a 400 in the
  fake's own wording; the descriptions of the errors listed in this module are Telegram's.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import html
import itertools
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web
from yarl import URL

DEFAULT_TOKEN = "123456789:AAF4keKefuTestToken-0123456789abcdef"
MAX_TEXT = 4096  # characters after entity parsing
MAX_CALLBACK_DATA = 64  # bytes
MAX_LIMIT = 100  # getUpdates' limit
# What getUpdates and webhooks deliver when allowed_updates is empty or never given.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SECRET_CHARACTERS = re.compile(r"[A-Za-z0-9_-]*")
TAG = re.compile(r"<[^>]*>")

UNAUTHORIZED = "Unauthorized"
NOT_FOUND = "Not Found"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
TOO_LONG = "Bad Request: message is too long"
EMPTY_TEXT = "Bad Request: message text is empty"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
TEXT_BUTTON = (
    "Bad Request: can't parse inline keyboard button: "
    "Text buttons are unallowed in the inline keyboard"
)
BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
CHAT_NOT_FOUND = "Bad Request: chat not found"
CHAT_ID_EMPTY = "Bad Request: chat_id is empty"
BLOCKED = "Forbidden: bot was blocked by the user"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
SECRET_UNALLOWED = "Bad Request: secret token contains unallowed characters"
SECRET_TOO_LONG = "Bad Request: secret token is too long"
HTTPS_REQUIRED = "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
UNSUPPORTED_PARSE_MODE = "Bad Request: unsupported parse_mode"

FailureKind = Literal[500, 429, "hang"]


@dataclass(frozen=True)
class Call:
    """One request the fake took (with the right token), in the order they came."""

    method: str  # the canonical name, e.g. "sendMessage"
    params: dict[str, Any]


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent, as the customer sees it."""

    chat_id: int
    message_id: int
    text: str
    buttons: list[list[dict[str, Any]]]  # the inline keyboard's rows ([]: none)
    message: dict[str, Any]  # the Message object the fake answered with


@dataclass(frozen=True)
class CallbackAnswer:
    callback_query_id: str
    text: str | None
    show_alert: bool
    latency: float  # seconds from the tap to the answer, on the fake's clock


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of an update to the webhook."""

    update_id: int
    attempt: int  # 1 for the first try of this delivery
    url: str
    secret_token: str | None  # the header sent (None: no secret set)
    status: int | None  # the webhook's answer (None: none came)
    error: str | None  # as getWebhookInfo's last_error_message puts it (None: delivered)


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int


@dataclass
class _Chat:
    """A private chat: its id is the customer's user id, its message ids count both ways."""

    user: dict[str, Any]
    last_message_id: int = 0
    blocked: bool = False
    bot_messages: dict[int, dict[str, Any]] = field(default_factory=dict)

    def next_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id

    def as_chat(self) -> dict[str, Any]:
        chat = {"id": self.user["id"], "type": "private", "first_name": self.user["first_name"]}
        chat.update({k: self.user[k] for k in ("last_name", "username") if k in self.user})
        return chat


@dataclass
class _Query:
    tapped_at: float
    answered: bool = False


class _ApiError(Exception):
    """An unsuccessful answer, as the Bot API gives it."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def response(self) -> web.Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return _json_response(body, self.status)


def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(
        body, status=status, dumps=functools.partial(json.dumps, ensure_ascii=False)
    )


async def _params(request: web.Request) -> dict[str, Any]:
    """The call's parameters from wherever the Bot API takes them: the query string, then a
    JSON, urlencoded or multipart body (files in a multipart body are not modelled)."""
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        with contextlib.suppress(ValueError):
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


def _int(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
    raise _ApiError(400, f"Bad Request: can't parse {name}")


def _bool(params: Mapping[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _json(params: Mapping[str, Any], name: str, description: str | None = None) -> Any:
    """A parameter the Bot API takes JSON-serialised (already decoded in a JSON body)."""
    value = params.get(name)
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _ApiError(400, description or f"Bad Request: can't parse {name}") from None


def _visible_text(text: str, parse_mode: str | None) -> str:
    """What the customer sees of ``text``: the length limit applies to this."""
    if not parse_mode:
        return text.strip()
    if parse_mode.lower() == "html":
        return html.unescape(TAG.sub("", text)).strip()
    raise _ApiError(400, UNSUPPORTED_PARSE_MODE)


def _inline_keyboard(markup: Any) -> list[list[dict[str, Any]]]:
    """An inline keyboard's rows, validated as Telegram does ([]: no inline keyboard)."""
    if markup is None:
        return []
    if not isinstance(markup, dict):
        raise _ApiError(400, BAD_MARKUP)
    rows = markup.get("inline_keyboard")
    if rows is None:
        return []
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _ApiError(400, BAD_MARKUP)
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise _ApiError(400, BAD_MARKUP)
        data = button.get("callback_data")
        if data is None:
            if "url" not in button:
                raise _ApiError(400, TEXT_BUTTON)
        elif not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
            raise _ApiError(400, BUTTON_DATA_INVALID)
    return rows


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _kind(update: Mapping[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


class FakeTelegram:
    """One bot's Bot API and its customers. Nothing runs until :meth:`serve`.

    ``delivery_attempts``/``delivery_backoff``/``delivery_timeout``: how often and how
    patiently an update is POSTed to a webhook (the pause doubles after each failed try).
    ``callback_query_ttl``: how long after a tap answerCallbackQuery is taken, on ``clock``
    (tests pass a clock they move)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "kefu_shop_bot",
        first_update_id: int = 500_000_001,
        delivery_attempts: int = 3,
        delivery_backoff: float = 0.05,
        delivery_timeout: float = 2.0,
        callback_query_ttl: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.bot_user: dict[str, Any] = {
            "id": int(token.partition(":")[0]),
            "is_bot": True,
            "first_name": "客服",
            "username": bot_username,
        }
        self.delivery_attempts = delivery_attempts
        self.delivery_backoff = delivery_backoff
        self.delivery_timeout = delivery_timeout
        self.callback_query_ttl = callback_query_ttl
        self.clock = clock
        # What happened, for the tests to look at.
        self.calls: list[Call] = []
        self.sent: dict[int, list[SentMessage]] = {}
        self.answers: list[CallbackAnswer] = []
        self.webhook_attempts: list[WebhookAttempt] = []

        self._update_ids = itertools.count(first_update_id)
        self._query_ids = itertools.count(4_200_000_000_000_000_001)
        self._file_serials = itertools.count(1)
        self._updates: list[dict[str, Any]] = []  # by update_id; duplicates side by side
        self._allowed_updates: list[str] = []
        self._chats: dict[int, _Chat] = {}
        self._queries: dict[str, _Query] = {}
        self._failures: list[tuple[FailureKind, int, str | None]] = []
        self._webhook: _Webhook | None = None
        self._last_error: tuple[int, str] | None = None
        self._poll = 0  # which getUpdates is the latest: an earlier one still waiting ends
        self._waiting = 0
        self._changed = asyncio.Event()  # set, and replaced, on every change of state
        self._stopping: asyncio.Event | None = None  # set while serve() is ending
        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[tuple[Any, str | None]]]]
        self._methods = {
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "answerCallbackQuery": self._answer_callback_query,
        }
        self._by_lower_name = {name.lower(): name for name in self._methods}

    # -- serving ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Serve the Bot API on 127.0.0.1 (a free port) and deliver to a webhook when one is
        set; yields the base URL (``http://127.0.0.1:<port>``). Waiting long polls and
        requests hung by :meth:`fail_next` end when it does."""
        if self._stopping is not None:
            raise RuntimeError("this fake is already being served")
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{path:.*}", self._not_found)
        try:
            async with contextlib.AsyncExitStack() as stack:
                listener = stack.enter_context(socket.socket())
                listener.bind(("127.0.0.1", 0))
                runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
                await runner.setup()
                stack.push_async_callback(runner.cleanup)
                http = await stack.enter_async_context(aiohttp.ClientSession())
                await web.SockSite(runner, listener).start()
                stack.push_async_callback(_cancel, asyncio.create_task(self._deliver_forever(http)))
                stack.callback(self._stop)  # first of all: end what waits
                yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        finally:
            self._stopping = None

    def _stop(self) -> None:
        assert self._stopping is not None
        self._stopping.set()
        self._pulse()

    async def _not_found(self, request: web.Request) -> web.Response:
        return _ApiError(404, NOT_FOUND).response()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _ApiError(401, UNAUTHORIZED).response()
        name = self._by_lower_name.get(request.match_info["method"].lower())
        if name is None:
            return _ApiError(404, NOT_FOUND).response()
        params = await _params(request)
        self.calls.append(Call(name, params))
        try:
            await self._injected_failure(name)
            result, description = await self._methods[name](params)
        except _ApiError as error:
            return error.response()
        body: dict[str, Any] = {"ok": True, "result": result}
        if description:
            body["description"] = description
        return _json_response(body)

    async def _injected_failure(self, method: str) -> None:
        for index, (kind, retry_after, only) in enumerate(self._failures):
            if only is None or only == method:
                del self._failures[index]
                if kind == 500:
                    raise _ApiError(500, "Internal Server Error")
                if kind == 429:
                    raise _ApiError(
                        429, f"Too Many Requests: retry after {retry_after}", retry_after
                    )
                assert self._stopping is not None
                await self._stopping.wait()  # a hang: no answer while the fake runs
                raise _ApiError(500, "Internal Server Error")

    def _pulse(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- controls for tests ----------------------------------------------------------------

    def fail_next(
        self, n: int, kind: FailureKind, *, retry_after: int = 5, method: str | None = None
    ) -> None:
        """Answer the next ``n`` calls (of ``method`` only, when given) with a 500, with a
        429 asking to wait ``retry_after`` seconds, or not at all ("hang") while the fake
        runs. A failed call does nothing else."""
        if method is not None and method not in self._methods:
            raise ValueError(f"the fake has no method {method!r}")
        self._failures.extend([(kind, retry_after, method)] * n)

    def block(self, chat_id: int) -> dict[str, Any]:
        """The customer blocks the bot: sendMessage to them answers 403 from now on, and
        Telegram tells the bot with a ``my_chat_member`` update (returned)."""
        chat = self._chat(chat_id)
        chat.blocked = True
        return self._enqueue(
            {
                "my_chat_member": {
                    "chat": chat.as_chat(),
                    "from": chat.user,
                    "date": int(time.time()),
                    "old_chat_member": {"user": self.bot_user, "status": "member"},
                    "new_chat_member": {"user": self.bot_user, "status": "kicked", "until_date": 0},
                }
            }
        )

    def deliver_again(self, update: Mapping[str, Any]) -> None:
        """Queue an update a second time, with its update_id, as Telegram does when it did
        not see the first delivery through (a webhook that answered too late). A poller only
        sees the copy while it has not confirmed that update_id (offsets drop it otherwise)."""
        self._insert(copy.deepcopy(dict(update)))

    # -- the customer's side ---------------------------------------------------------------

    def user_sends(
        self, chat_id: int, text: str, *, from_user: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The customer writes ``text`` (a ``/command`` gets its bot_command entity, as
        ``/start`` does when a customer opens the bot); returns the ``message`` update."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            length = len(command.encode("utf-16-le")) // 2  # entity offsets are UTF-16
            content["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
        return self._user_message(chat_id, from_user, content)

    def user_sends_photo(
        self,
        chat_id: int,
        *,
        caption: str | None = None,
        from_user: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A photo (in Telegram's three sizes), with a caption when given."""
        serial = next(self._file_serials)
        photo = [
            {
                "file_id": f"AgACAgUAAxkBAAI{serial}{size}",
                "file_unique_id": f"AQAD{serial}{size}",
                "width": width,
                "height": height,
                "file_size": width * height // 10,
            }
            for size, (width, height) in enumerate(((90, 67), (320, 240), (1280, 960)))
        ]
        content: dict[str, Any] = {"photo": photo}
        if caption is not None:
            content["caption"] = caption
        return self._user_message(chat_id, from_user, content)

    def user_sends_sticker(
        self, chat_id: int, *, emoji: str = "👍", from_user: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        serial = next(self._file_serials)
        sticker = {
            "file_id": f"CAACAgIAAxkBAAI{serial}",
            "file_unique_id": f"AgAD{serial}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._user_message(chat_id, from_user, {"sticker": sticker})

    def user_sends_location(
        self,
        chat_id: int,
        latitude: float,
        longitude: float,
        *,
        from_user: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        location = {"latitude": latitude, "longitude": longitude}
        return self._user_message(chat_id, from_user, {"location": location})

    def user_taps(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        *,
        from_user: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The customer taps the button with ``callback_data`` under the bot's message
        ``message_id``; returns the ``callback_query`` update (its id is what
        answerCallbackQuery takes, within ``callback_query_ttl`` of now)."""
        chat = self._chat(chat_id, from_user)
        message = chat.bot_messages.get(message_id)
        if message is None:
            raise ValueError(f"the bot sent no message {message_id} to chat {chat_id}")
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        if callback_data not in {b.get("callback_data") for row in rows for b in row}:
            raise ValueError(f"message {message_id} has no button {callback_data!r}")
        query_id = str(next(self._query_ids))
        self._queries[query_id] = _Query(tapped_at=self.clock())
        query = {
            "id": query_id,
            "from": chat.user,
            "message": message,
            "chat_instance": str(-7_000_000_000_000_000_000 - chat_id),
            "data": callback_data,
        }
        return self._enqueue({"callback_query": query})

    def _chat(self, chat_id: int, from_user: Mapping[str, Any] | None = None) -> _Chat:
        if from_user and from_user.get("id", chat_id) != chat_id:
            raise ValueError("a private chat's id is its customer's user id")
        chat = self._chats.get(chat_id)
        if chat is None:
            user = {
                "id": chat_id,
                "is_bot": False,
                "first_name": "顾客",
                "language_code": "zh-hans",
            }
            chat = self._chats[chat_id] = _Chat(user)
        if from_user:
            chat.user = {**chat.user, **from_user}
        return chat

    def _user_message(
        self, chat_id: int, from_user: Mapping[str, Any] | None, content: dict[str, Any]
    ) -> dict[str, Any]:
        chat = self._chat(chat_id, from_user)
        message = {
            "message_id": chat.next_message_id(),
            "from": chat.user,
            "chat": chat.as_chat(),
            "date": int(time.time()),
            **content,
        }
        return self._enqueue({"message": message})

    def _enqueue(self, content: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **content}
        self._insert(copy.deepcopy(update))
        return update

    def _insert(self, update: dict[str, Any]) -> None:
        """Queue an update unless the bot's allowed_updates leaves its kind out."""
        kind = _kind(update)
        allowed = self._allowed_updates
        if (kind not in allowed) if allowed else (kind in OPT_IN_UPDATES):
            return
        position = len(self._updates)
        while position and self._updates[position - 1]["update_id"] > update["update_id"]:
            position -= 1
        self._updates.insert(position, update)
        self._pulse()

    # -- what tests read -------------------------------------------------------------------

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        """What the bot sent to this chat, in order."""
        return list(self.sent.get(chat_id, []))

    @property
    def pending(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed (polling) or delivered (webhook), in order."""
        return copy.deepcopy(self._updates)

    @property
    def webhook_url(self) -> str | None:
        return None if self._webhook is None else self._webhook.url

    @property
    def waiting_polls(self) -> int:
        """Long polls waiting for an update right now."""
        return self._waiting

    # -- methods ---------------------------------------------------------------------------

    async def _get_updates(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        if self._webhook is not None:
            raise _ApiError(409, WEBHOOK_ACTIVE)
        self._poll += 1
        mine = self._poll
        self._pulse()  # an earlier poll still waiting answers 409
        offset = _int(params, "offset")
        limit = min(max(_int(params, "limit") or MAX_LIMIT, 1), MAX_LIMIT)
        timeout = max(_int(params, "timeout") or 0, 0)
        self._take_allowed_updates(params)
        if offset:
            # Below a positive offset: confirmed. A negative one keeps the last -offset.
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            else:
                self._updates = self._updates[offset:]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            if self._poll != mine:
                raise _ApiError(409, TERMINATED)
            if self._webhook is not None:
                raise _ApiError(409, WEBHOOK_ACTIVE)
            remaining = deadline - loop.time()
            stopping = self._stopping is not None and self._stopping.is_set()
            if self._updates or remaining <= 0 or stopping:
                return copy.deepcopy(self._updates[:limit]), None
            self._waiting += 1
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass
            finally:
                self._waiting -= 1

    def _take_allowed_updates(self, params: Mapping[str, Any]) -> None:
        """allowed_updates, when given, becomes the bot's setting (for polls and webhooks)."""
        allowed = _json(params, "allowed_updates")
        if allowed is None:
            return
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise _ApiError(400, "Bad Request: can't parse allowed_updates")
        self._allowed_updates = allowed

    async def _set_webhook(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        url = params.get("url")
        if not isinstance(url, str):
            raise _ApiError(400, "Bad Request: can't parse url")
        if not url:
            return await self._delete_webhook(params)
        parsed = URL(url)
        if not (parsed.scheme == "https" or (parsed.scheme == "http" and parsed.host in LOOPBACK)):
            raise _ApiError(400, HTTPS_REQUIRED)
        secret = params.get("secret_token") or None
        if secret is not None:
            if not isinstance(secret, str) or not SECRET_CHARACTERS.fullmatch(secret):
                raise _ApiError(400, SECRET_UNALLOWED)
            if len(secret) > 256:
                raise _ApiError(400, SECRET_TOO_LONG)
        self._take_allowed_updates(params)
        webhook = _Webhook(url, secret, _int(params, "max_connections") or 40)
        if _bool(params, "drop_pending_updates"):
            self._updates.clear()
        unchanged = webhook == self._webhook
        self._webhook = webhook
        self._pulse()
        return True, "Webhook is already set" if unchanged else "Webhook was set"

    async def _delete_webhook(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        if _bool(params, "drop_pending_updates"):
            self._updates.clear()
        was_set = self._webhook is not None
        self._webhook = None
        self._pulse()
        return True, "Webhook was deleted" if was_set else "Webhook is already deleted"

    async def _get_webhook_info(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook is not None:
            info.update(
                url=self._webhook.url,
                ip_address="127.0.0.1",
                max_connections=self._webhook.max_connections,
            )
        if self._last_error is not None:
            info.update(last_error_date=self._last_error[0], last_error_message=self._last_error[1])
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info, None

    async def _get_me(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        me = {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        return me, None

    async def _send_message(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _ApiError(400, CHAT_ID_EMPTY)
        try:
            chat = self._chats[int(chat_id)]
        except (KeyError, ValueError):
            raise _ApiError(400, CHAT_NOT_FOUND) from None
        if chat.blocked:
            raise _ApiError(403, BLOCKED)
        text = params.get("text")
        parse_mode = params.get("parse_mode")
        visible = _visible_text(text if isinstance(text, str) else "", parse_mode or None)
        if not visible:
            raise _ApiError(400, EMPTY_TEXT)
        if len(visible) > MAX_TEXT:
            raise _ApiError(400, TOO_LONG)
        buttons = _inline_keyboard(_json(params, "reply_markup", BAD_MARKUP))
        message: dict[str, Any] = {
            "message_id": chat.next_message_id(),
            "from": self.bot_user,
            "chat": chat.as_chat(),
            "date": int(time.time()),
            "text": visible,
        }
        if buttons:
            message["reply_markup"] = {"inline_keyboard": buttons}
        chat.bot_messages[message["message_id"]] = message
        sent = SentMessage(chat.user["id"], message["message_id"], visible, buttons, message)
        self.sent.setdefault(chat.user["id"], []).append(sent)
        return copy.deepcopy(message), None

    async def _answer_callback_query(self, params: dict[str, Any]) -> tuple[Any, str | None]:
        query_id = params.get("callback_query_id")
        query = self._queries.get(query_id) if isinstance(query_id, str) else None
        now = self.clock()
        if query is None or query.answered or now - query.tapped_at > self.callback_query_ttl:
            raise _ApiError(400, QUERY_TOO_OLD)
        query.answered = True
        text = params.get("text")
        self.answers.append(
            CallbackAnswer(
                callback_query_id=str(query_id),
                text=text if isinstance(text, str) and text else None,
                show_alert=_bool(params, "show_alert"),
                latency=now - query.tapped_at,
            )
        )
        return True, None

    # -- webhook delivery ------------------------------------------------------------------

    async def _deliver_forever(self, http: aiohttp.ClientSession) -> None:
        while True:
            changed = self._changed
            webhook = self._webhook
            if webhook is None or not self._updates:
                await changed.wait()
                continue
            update = self._updates[0]
            if await self._deliver(http, webhook, update) is not None:
                # Delivered, or given up on: either way it leaves the queue.
                self._updates = [u for u in self._updates if u is not update]
                self._pulse()

    async def _deliver(
        self, http: aiohttp.ClientSession, webhook: _Webhook, update: dict[str, Any]
    ) -> bool | None:
        """POST one update until the webhook takes it (True) or the attempts run out
        (False); None when the webhook went away meanwhile (the update stays queued)."""
        headers = {}
        if webhook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
        timeout = aiohttp.ClientTimeout(total=self.delivery_timeout)
        for attempt in range(1, self.delivery_attempts + 1):
            if self._webhook is not webhook:
                return None
            status: int | None = None
            error: str | None
            try:
                async with http.post(
                    webhook.url, json=update, headers=headers, timeout=timeout
                ) as response:
                    status = response.status
                    await response.read()
                ok = 200 <= status < 300
                error = (
                    None if ok else f"Wrong response from the webhook: {status} {response.reason}"
                )
            except TimeoutError:
                error = "Read timeout expired"
            except aiohttp.ClientConnectorError:
                error = "Connection refused"
            except aiohttp.ClientError as failure:
                error = f"Connection failed: {type(failure).__name__}"
            self.webhook_attempts.append(
                WebhookAttempt(
                    update["update_id"], attempt, webhook.url, webhook.secret_token, status, error
                )
            )
            if error is None:
                return True
            self._last_error = (int(time.time()), error)
            if attempt < self.delivery_attempts:
                await asyncio.sleep(self.delivery_backoff * 2 ** (attempt - 1))
        return False
