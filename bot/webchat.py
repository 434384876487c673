"""The customer channels: the web chat page and websocket, and the REST API for other channels."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import unicodedata
from pathlib import Path

from aiohttp import WSMsgType, web
from redis.exceptions import RedisError

from bot.router import EXTERNAL_INTENTS, Acceptance, payload_intent
from bot.state import SERVICES, Services
from core.language import detect_language
from core.records import Button
from handoff.webutil import (
    encodes,
    is_message_id,
    json_error,
    read_json_object,
    same_secret,
    string_field,
)

STATIC_DIR = Path(__file__).with_name("static")
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CUSTOMER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHANNEL = re.compile(r"[a-z0-9_-]{1,32}")
# The channel's own id for a message (the page makes one per message it sends): a message
# sent again with it, after a lost acknowledgement, is the same message.
SENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
routes = web.RouteTableDef()
log = logging.getLogger(__name__)


class InvalidMessage(Exception):
    """A message the customer must resend differently; ``notice`` tells them how, politely."""

    def __init__(self, code: str, status: int, notice: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.notice = notice


def add_webchat(app: web.Application) -> None:
    app.add_routes(routes)
    app.router.add_static("/static/", STATIC_DIR, name="static")


def conversation_token(secret: str, conversation_id: str) -> str:
    return hmac.new(secret.encode(), conversation_id.encode(), hashlib.sha256).hexdigest()[:32]


def customer_signature(secret: str, customer_id: str) -> str:
    """What the shop's own site signs for a logged-in customer, so the chat knows who they are
    without asking (a different message from conversation tokens, so one is never the other)."""
    message = f"customer:{customer_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def clean_text(text: str, limit: int) -> str:
    """Printable text with control characters removed, or InvalidMessage."""
    cleaned = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C"
    ).strip()
    if not cleaned:
        raise InvalidMessage("empty_message", 422)
    if len(cleaned) > limit:
        raise InvalidMessage("message_too_long", 413)
    return cleaned


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


def _authorised(services: Services, conversation_id: str, token: str) -> None:
    if not CONVERSATION_ID.match(conversation_id) or not same_secret(
        token, conversation_token(services.settings.secret, conversation_id)
    ):
        raise json_error(403, "bad_conversation")


@routes.get("/")
async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/chat")


@routes.get("/chat")
async def chat_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "chat.html")


@routes.post("/api/chat/session")
async def new_session(request: web.Request) -> web.Response:
    """A new conversation id and the token that proves it is the caller's. A logged-in shop
    customer comes with ``customer_id`` and the shop's ``customer_sig``: their orders are then
    theirs without giving phone digits."""
    services = _services(request)
    body = await read_json_object(request) if request.can_read_body else {}
    customer_id = str(body.get("customer_id") or "")
    conversation_id = "web-" + secrets.token_urlsafe(12)
    if customer_id:
        signature = str(body.get("customer_sig") or "")
        expected = customer_signature(services.settings.secret, customer_id)
        if not CUSTOMER_ID.match(customer_id) or not same_secret(signature, expected):
            raise json_error(403, "bad_customer")
        await services.store.identify(conversation_id, customer_id)
    token = conversation_token(services.settings.secret, conversation_id)
    return web.json_response(
        {"conversation_id": conversation_id, "token": token, "customer_id": customer_id}
    )


@routes.post("/api/chat/messages")
async def post_message(request: web.Request) -> web.Response:
    services = _services(request)
    body = await read_json_object(request)
    conversation_id = string_field(body, "conversation_id")
    _authorised(services, conversation_id, string_field(body, "token"))
    channel = body.get("channel") or "rest"
    if not isinstance(channel, str) or not CHANNEL.fullmatch(channel):
        raise json_error(400, "bad_channel")
    payload = body.get("payload", "")
    if not isinstance(payload, str):
        raise json_error(400, "bad_payload")
    sent_id = _sent_id(body.get("id"))
    if sent_id is None:
        raise json_error(400, "bad_id")
    try:
        acceptance = await _accept(
            services, conversation_id, channel, string_field(body, "text"), payload, sent_id
        )
    except InvalidMessage as invalid:
        raise json_error(invalid.status, invalid.code, notice=invalid.notice) from None
    replies = await services.router.answer(acceptance)
    return web.json_response(
        {
            "accepted": acceptance.stored.message.id,
            "messages": [m.to_wire() for m in replies],
        }
    )


def _sent_id(value: object) -> str | None:
    """The channel's id for a message ("" when it gave none), or None when it is not one."""
    if not value:
        return ""
    return value if isinstance(value, str) and SENT_ID.fullmatch(value) else None


@routes.get("/api/chat/messages")
async def get_messages(request: web.Request) -> web.Response:
    """The conversation's messages (after a message id), so REST clients see agents' replies."""
    services = _services(request)
    conversation_id = request.query.get("conversation_id", "")
    _authorised(services, conversation_id, request.query.get("token", ""))
    after = request.query.get("after", "")
    if after and not is_message_id(after):
        raise json_error(400, "bad_after")
    messages = await services.store.transcript(conversation_id, after=after)
    conversation = await services.store.get(conversation_id)
    return web.json_response(
        {"messages": [m.to_wire() for m in messages], "owner": conversation.owner.value}
    )


@routes.get("/ws/chat")
async def chat_socket(request: web.Request) -> web.StreamResponse:
    services = _services(request)
    conversation_id = request.query.get("conversation_id", "")
    _authorised(services, conversation_id, request.query.get("token", ""))
    socket = web.WebSocketResponse(heartbeat=25, max_msg_size=64 * 1024)
    await socket.prepare(request)
    services.hub.customers[conversation_id].add(socket)
    try:
        # Registered first, then history: the page drops duplicates by message id.
        after = request.query.get("after", "")
        history = await services.store.transcript(
            conversation_id, after=after if is_message_id(after) else ""
        )
        conversation = await services.store.get(conversation_id)
        await socket.send_json(
            {
                "type": "history",
                "messages": [m.to_wire() for m in history],
                "owner": conversation.owner.value,
            }
        )
        async for frame in socket:
            if frame.type is not WSMsgType.TEXT:
                continue
            await _socket_frame(services, socket, conversation_id, frame.data)
    finally:
        services.hub.customers[conversation_id].discard(socket)
        if not services.hub.customers[conversation_id]:
            del services.hub.customers[conversation_id]
    return socket


async def _socket_frame(
    services: Services, socket: web.WebSocketResponse, conversation_id: str, data: str
) -> None:
    try:
        frame = json.loads(data)
    except (ValueError, RecursionError):  # not JSON, a huge number, or nested too deeply
        frame = None
    if not isinstance(frame, dict) or not encodes(json.dumps(frame, ensure_ascii=False)):
        frame = {}
    text, payload, sent_id = frame.get("text"), frame.get("payload", ""), _sent_id(frame.get("id"))
    if (
        frame.get("type") != "message"
        or not isinstance(text, str)
        or not isinstance(payload, str)
        or sent_id is None
    ):
        await socket.send_json({"type": "error", "error": "invalid_frame"})
        return
    try:
        acceptance = await _accept(services, conversation_id, "web", text, payload, sent_id)
    except InvalidMessage as invalid:
        await socket.send_json(
            {"type": "notice", "error": invalid.code, "text": invalid.notice, "id": sent_id}
        )
        return
    except RedisError:
        # Not stored, so not acknowledged: the page keeps the message and sends it again.
        log.warning("could not accept a message of %s: storage unavailable", conversation_id)
        await socket.send_json({"type": "retry", "id": sent_id})
        return
    # Kept: the page may forget it. The answer reaches the page as "message" frames.
    await socket.send_json(
        {"type": "ack", "id": sent_id, "message_id": acceptance.stored.message.id}
    )
    await services.router.answer(acceptance)


async def _accept(
    services: Services,
    conversation_id: str,
    channel: str,
    text: str,
    payload: str,
    sent_id: str,
) -> Acceptance:
    """A typed message (``text``), or a tapped button: its title and its ``payload``; checked,
    then stored as awaiting its answer."""
    limit = services.settings.max_message_chars
    try:
        cleaned = clean_text(text, limit)
        if payload:
            await _check_tap(services, conversation_id, Button(text, payload))
    except InvalidMessage as invalid:
        notice = services.texts.get(invalid.code, detect_language(text[:200]), limit=limit)
        raise InvalidMessage(invalid.code, invalid.status, notice) from None
    return await services.router.accept(conversation_id, channel, cleaned, payload, sent_id)


async def _check_tap(services: Services, conversation_id: str, button: Button) -> None:
    """A payload reaches Rasa as an intent with entities, past NLU: only one of the buttons the
    bot offered last in this conversation may send one, exactly as offered (an older button
    would answer a question no longer asked), and never an intent only the server triggers."""
    if payload_intent(button.payload) in EXTERNAL_INTENTS or not await services.store.is_offered(
        conversation_id, button
    ):
        raise InvalidMessage("unknown_button", 422)
