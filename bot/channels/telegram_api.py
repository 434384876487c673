"""The Telegram Bot API as kefu's Telegram channel uses it: a few methods and one error shape.

Built on aiogram 3 (its ``Bot`` on an aiohttp session) rather than a client of our own:
aiogram follows each Bot API release, its pydantic types parse every update shape (including
the ones the channel only has to recognise and skip), and it runs on aiohttp, which kefu
already uses. Checked against requirements/app.lock with ``pip install --dry-run aiogram``:
aiogram 3.31.0 adds only itself and magic-filter 1.0.12 and moves none of our pins (it asks
for aiohttp>=3.9,<3.15 and pydantic>=2.4.1,<2.14, and we pin 3.14.5 and 2.13.5). What we take
on with it: those upper bounds hold back a newer aiohttp or pydantic until aiogram widens
them, and importing it builds its models, some seconds and about 130 MB once per process, so
a server without a Telegram channel should not import this module.

Two things aiogram does not do the way kefu needs, and the small session subclass below does:

* its exceptions name a class per status but keep neither the HTTP status nor the error_code,
  so every unsuccessful answer becomes a :class:`TelegramError` right where both are still
  known (``check_response``), and aiogram's network errors (timeouts included) become the same
  shape in :class:`TelegramClient`;
* it opens a ClientSession of its own; given one of the caller's, it uses that one and leaves
  closing it to its owner.

The token is part of every request's path (``/bot<token>/<method>``) and so of the URLs inside
aiohttp's exceptions: nothing here logs, the errors raised carry no cause (``from None``) and
a network error's text has the token masked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramNetworkError
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    GetMe,
    GetUpdates,
    Response,
    SendMessage,
    SetWebhook,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update, User
from aiogram.utils.token import TokenValidationError

DEFAULT_BASE_URL = "https://api.telegram.org"

ErrorKind = Literal["retry", "refused", "unauthorized", "conflict"]
# Rows of (title, callback_data): an inline keyboard of callback buttons.
Buttons = Sequence[Sequence[tuple[str, str]]]

T = TypeVar("T")


class TelegramError(Exception):
    """A Bot API call that did not succeed. ``status`` is the HTTP status (None: no answer, a
    network error or a timeout); ``error_code`` and ``description`` are the answer's own;
    ``retry_after`` is the seconds flood control asks to wait (``parameters.retry_after``)."""

    def __init__(
        self,
        method: str,
        description: str,
        *,
        status: int | None = None,
        error_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{method}: {description}" + (f" (HTTP {status})" if status else ""))
        self.method = method
        self.description = description
        self.status = status
        self.error_code = error_code
        self.retry_after = retry_after

    @property
    def kind(self) -> ErrorKind:
        """What the caller can do about it:

        * ``retry``: the same call may succeed later (no answer, a timeout, a 5xx, flood
          control: wait ``retry_after`` first);
        * ``refused``: Telegram will not take this call (400 bad request, chat not found,
          403 blocked by the user): trying it again is useless, the next message may go;
        * ``unauthorized``: the bot's credentials are wrong (401; a 404 for one of these
          methods means a wrong token or base URL too): no call will succeed until fixed;
        * ``conflict``: something else holds this bot's updates (409: a webhook is set while
          polling, or another poller): polling must not spin, and must not give up either.
        """
        status = self.status
        if status is None or self.retry_after is not None or status == 429 or status >= 500:
            return "retry"
        if status in (401, 404):
            return "unauthorized"
        if status == 409:
            return "conflict"
        if status >= 400:
            return "refused"
        return "retry"  # a 2xx that was not a Bot API answer: a proxy's page, a cut-off read


def _answer_error(method: str, status: int, content: str) -> TelegramError:
    """The error in an unsuccessful answer, tolerant of bodies that are not the Bot API's."""
    try:
        answer = json.loads(content)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or answer.get("ok") is not False:
        return TelegramError(method, f"HTTP {status}: not a Bot API answer", status=status)
    parameters = answer.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    error_code = answer.get("error_code")
    description = answer.get("description")
    return TelegramError(
        method,
        description if isinstance(description, str) else f"HTTP {status}",
        status=status,
        error_code=error_code if isinstance(error_code, int) else None,
        retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
    )


class _Session(AiohttpSession):
    """aiogram's aiohttp session, on the caller's ClientSession when given one, that raises
    :class:`TelegramError` for unsuccessful answers."""

    def __init__(
        self, api: TelegramAPIServer, timeout: float, http: aiohttp.ClientSession | None
    ) -> None:
        super().__init__(api=api, timeout=timeout)
        self._borrowed = http

    async def create_session(self) -> aiohttp.ClientSession:
        if self._borrowed is not None:
            return self._borrowed
        return await super().create_session()

    async def close(self) -> None:
        if self._borrowed is None:  # a borrowed session is closed by its owner
            await super().close()

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        try:
            return super().check_response(
                bot=bot, method=method, status_code=status_code, content=content
            )
        except (TelegramAPIError, ClientDecodeError):
            raise _answer_error(method.__api_method__, status_code, content) from None


class TelegramClient:
    """One bot's Bot API client. ``base_url`` points it elsewhere than Telegram (a local Bot
    API server, the fake in tests); ``http`` is a ClientSession to use (its owner closes it),
    else the client opens its own and :meth:`aclose` closes it; ``timeout`` bounds each call
    (a long poll gets its ``timeout`` on top). Every failure raises :class:`TelegramError`."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
    ) -> None:
        session = _Session(TelegramAPIServer.from_base(base_url), timeout, http)
        try:
            self._bot = Bot(token, session=session)
        except TokenValidationError:
            raise ValueError("malformed Telegram bot token: expected <bot id>:<secret>") from None
        self._timeout = timeout

    async def aclose(self) -> None:
        """Close the client's own ClientSession (a borrowed one stays open)."""
        await self._bot.session.close()

    async def _call(self, method: TelegramMethod[T], request_timeout: int | None = None) -> T:
        try:
            return await self._bot(method, request_timeout=request_timeout)
        except TelegramNetworkError as error:
            masked = error.message.replace(self._bot.token, "<token>")
            raise TelegramError(method.__api_method__, masked) from None

    async def get_me(self) -> User:
        """The bot itself: a cheap check that the token is right and Telegram answers."""
        return await self._call(GetMe())

    async def get_updates(
        self,
        offset: int | None,
        timeout: int,
        allowed_updates: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Update]:
        """Updates from ``offset`` on (that confirms every update below it), waiting up to
        ``timeout`` seconds for one to arrive. ``allowed_updates`` None keeps the bot's last
        setting; an empty list means Telegram's default set."""
        method = GetUpdates(
            offset=offset,
            limit=limit,
            timeout=timeout,
            allowed_updates=None if allowed_updates is None else list(allowed_updates),
        )
        return await self._call(method, request_timeout=timeout + math.ceil(self._timeout))

    async def set_webhook(
        self,
        url: str,
        secret_token: str,
        allowed_updates: Sequence[str],
        drop_pending_updates: bool = False,
    ) -> None:
        """Have Telegram POST each update to ``url`` with ``secret_token`` in the
        X-Telegram-Bot-Api-Secret-Token header (getUpdates answers 409 from then on)."""
        await self._call(
            SetWebhook(
                url=url,
                secret_token=secret_token,
                allowed_updates=list(allowed_updates),
                drop_pending_updates=drop_pending_updates,
            )
        )

    async def delete_webhook(self, drop_pending_updates: bool = False) -> None:
        """Stop webhook delivery, so that getUpdates works again."""
        await self._call(DeleteWebhook(drop_pending_updates=drop_pending_updates))

    async def send_message(
        self, chat_id: int | str, text: str, buttons: Buttons | None = None
    ) -> int:
        """Send ``text`` (plain, no parse mode) with an inline keyboard of callback buttons,
        and return the sent message's id."""
        markup = None
        if buttons:
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [InlineKeyboardButton(text=title, callback_data=data) for title, data in row]
                    for row in buttons
                ]
            )
        message = await self._call(SendMessage(chat_id=chat_id, text=text, reply_markup=markup))
        return message.message_id

    async def answer_callback_query(self, callback_query_id: str, text: str | None = None) -> None:
        """End the progress indicator of a tapped button (showing ``text`` as a notification);
        Telegram takes one answer per query, and only for a short while after the tap."""
        await self._call(AnswerCallbackQuery(callback_query_id=callback_query_id, text=text))

    def parse_update(self, data: Mapping[str, Any]) -> Update:
        """An update as a webhook receives it (the JSON body), typed like :meth:`get_updates`'
        results; raises ValueError when it is not an update."""
        return Update.model_validate(data, context={"bot": self._bot})
