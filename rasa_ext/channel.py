"""kefu's own input channel: Rasa's REST webhook, answering only the kefu server, and each
customer message once.

Rasa's ``rest`` channel takes any caller who can reach the port as any customer, and believes
the metadata it is sent (the verified ``customer_id`` whose orders the actions then show).
This channel is the same webhook at ``/webhooks/kefu/webhook``, but every request must carry
``Authorization: Bearer <token>`` with the token kefu and Rasa share (``KEFU_RASA_TOKEN``,
from ``credentials.yml``); anything else gets 401 before a message is read.

kefu sends every message with its own ``message_id`` and sends it again when it cannot know
whether Rasa answered (a timeout, a kefu process killed mid-turn). Under the conversation's
lock, a message id the tracker already holds is not run again: the answer it got then is
returned, so no action (an order change) runs twice and the customer reads one answer.

A turn without the action server would answer nothing (Rasa logs a failed action and
listens): while it does not answer its health check, messages get 503 without being run,
and kefu keeps them until it is back. When it goes away during a turn, the turn is undone
(the tracker as it was before) and gets 503 too, so it runs again, whole, once it is back.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore, TrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

import rasa_ext.server  # noqa: F401  (the faster check of the action server's answers)
from core.facts import TURN_HEADER

log = logging.getLogger(__name__)


class KefuInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "kefu"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> KefuInput:
        token = str((credentials or {}).get("token") or "")
        if not token:
            raise ValueError("the kefu channel needs a token in credentials.yml")
        return cls(token)

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()
        # One client for the action server's health checks, opened with the first message
        # (inside the server's event loop) and closed when the server stops.
        self._http: aiohttp.ClientSession | None = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("kefu_webhook", __name__)

        @webhook.listener("after_server_stop")
        async def close_client(*_: Any) -> None:
            if self._http is not None:
                await self._http.close()

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, self._expected):
                log.warning("refused an unauthenticated webhook call from %s", request.ip)
                return response.json({"error": "unauthorised"}, status=401)
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return response.json({"error": "sender and message are required"}, status=400)
            metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
            message_id = str(body.get("message_id") or "") or None
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                sender,
                input_channel=self.name(),
                metadata=metadata,
                message_id=message_id,
            )
            agent = request.app.ctx.agent
            try:
                # Shielded: kefu giving up on the request (its timeout) must not cut a turn
                # in half; the turn ends and is recorded, and the copy kefu sends later finds it.
                turn = await asyncio.shield(
                    _answer_once(agent, message, lambda: self._actions_answer(agent))
                )
            except ActionsUnavailable:
                return response.json({"error": "the action server is unavailable"}, status=503)
            except Exception:
                log.exception("message %s of %s failed", message_id, sender)
                # kefu keeps the message and tries again; an empty 200 would lose it.
                return response.json({"error": "the message could not be processed"}, status=500)
            return response.json(
                collector.messages if turn.replies is None else turn.replies,
                headers={TURN_HEADER: json.dumps(turn.reading)},  # ASCII: header-safe
            )

        return webhook

    async def _actions_answer(self, agent: Any) -> bool:
        endpoint = getattr(agent, "action_endpoint", None)
        if endpoint is None or not endpoint.url:
            return True  # no action server configured: nothing to wait for
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2))
        try:
            async with self._http.get(endpoint.url.rsplit("/", 1)[0] + "/health") as answer:
                return answer.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):  # noqa: UP041 (not the same in 3.10)
            return False


class ActionsUnavailable(Exception):
    """The action server does not answer: a turn now would answer nothing."""


@dataclass
class Turn:
    """A message's turn: the bot's replies in the webhook's format (None: the collector has
    them, the turn ran now) and what kefu's reports need of it (``reading``, the X-Kefu-Turn
    header: intent, confidence, actions run, each reply's response name, FAQ entries)."""

    replies: list[dict[str, Any]] | None
    reading: dict[str, Any] = field(default_factory=dict)


async def _answer_once(
    agent: Any, message: UserMessage, actions_answer: Callable[[], Awaitable[bool]]
) -> Turn:
    """Run the message, as ``Agent.handle_message`` does (under the conversation's lock), unless
    the tracker holds its id already: then the replies it got."""
    async with agent.lock_store.lock(message.sender_id):
        store = getattr(agent.tracker_store, "_tracker_store", agent.tracker_store)
        raw = isinstance(store, (RedisTrackerStore, InMemoryTrackerStore))
        # The stored record as it is, read as JSON: no tracker is rebuilt from its events
        # for this (Rasa rebuilds its own for the turn).
        record = _stored_record(store, message.sender_id) if raw else None
        earlier = await _turn_of(agent, store, message, record)
        if earlier is not None and earlier.replies is not None:
            log.info("message %s of %s was answered before", message.message_id, message.sender_id)
            return earlier
        if not await actions_answer():
            raise ActionsUnavailable()
        await agent.processor.handle_message(message)
        said = message.output_channel.messages  # type: ignore[attr-defined]
        if not said and not await actions_answer() and _undo(store, message.sender_id, record):
            raise ActionsUnavailable()
        after = _stored_record(store, message.sender_id) if raw else None
        ran = await _turn_of(agent, store, message, after)
    return Turn(None, ran.reading if ran is not None else {})


async def _turn_of(
    agent: Any, store: TrackerStore, message: UserMessage, record: str | bytes | None
) -> Turn | None:
    """The turn of the message in the stored conversation; None before it is there."""
    if not message.message_id:
        return None
    if isinstance(store, (RedisTrackerStore, InMemoryTrackerStore)):
        if record is None:
            return None
        dialogue = json.loads(record)
        return _turn_in(dialogue.get("events") or [], dialogue.get("name"), message.message_id)
    tracker = await agent.tracker_store.retrieve(message.sender_id)
    if tracker is None:
        return None
    events = [event.as_dict() for event in tracker.events]
    return _turn_in(events, tracker.sender_id, message.message_id)


def _stored_record(store: TrackerStore, sender: str) -> str | bytes | None:
    """The conversation's record as the store keeps it (serialised JSON), None if none."""
    if isinstance(store, RedisTrackerStore):
        record: str | bytes | None = store.red.get(store.key_prefix + sender)
        return record
    if isinstance(store, InMemoryTrackerStore):
        return store.store.get(sender)
    raise TypeError(f"no raw records in {type(store).__name__}")


def _undo(store: TrackerStore, sender: str, record: str | bytes | None) -> bool:
    """Put the conversation back as it was before the message: the stored record itself is
    written back (Rasa's stores merge what is saved with what is stored). Only for the stores
    kefu configures: Redis (``endpoints.yml``) and the in-memory one; False otherwise."""
    if isinstance(store, RedisTrackerStore):
        key = store.key_prefix + sender
        if record is None:
            store.red.delete(key)
        else:
            store.red.set(key, record, ex=store.record_exp or None)
    elif isinstance(store, InMemoryTrackerStore):
        if record is None:
            store.store.pop(sender, None)
        else:
            store.store[sender] = record
    else:
        return False
    log.warning("the action server went away during a turn of %s: undone", sender)
    return True


def _turn_in(events: list[dict[str, Any]], sender: Any, message_id: str) -> Turn | None:
    """The turn of the customer message with this id, from the conversation's events as JSON
    (every session of it): its replies in the webhook's format and its reading."""
    turn: Turn | None = None
    for event in events:
        kind = event.get("event")
        if kind == UserUttered.type_name:
            if turn is not None:
                break
            if event.get("message_id") == message_id:
                intent = (event.get("parse_data") or {}).get("intent") or {}
                turn = Turn(
                    [],
                    {
                        "intent": intent.get("name") or "",
                        "confidence": intent.get("confidence") or 0.0,
                        "actions": [],
                        "responses": [],
                        "faq_entries": [],
                    },
                )
        elif turn is None:
            continue
        elif kind == ActionExecuted.type_name and event.get("name") != ACTION_LISTEN_NAME:
            turn.reading["actions"].append(event.get("name") or "")
        elif kind == BotUttered.type_name:
            reply: dict[str, Any] = {"recipient_id": sender, "text": event.get("text")}
            data = event.get("data") or {}
            for name in ("buttons", "image", "attachment", "custom"):
                if data.get(name) is not None:
                    reply[name] = data[name]
            assert turn.replies is not None
            turn.replies.append(reply)
            metadata = event.get("metadata") or {}
            turn.reading["responses"].append(metadata.get("utter_action") or "")
            if metadata.get("faq_entry"):
                turn.reading["faq_entries"].append(str(metadata["faq_entry"]))
    return turn
