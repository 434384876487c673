"""The records every part shares, kept in Redis as JSON (never pickle): who owns a conversation,
its messages, the events the live pages get."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

# Conversations on a messaging app are named after the platform's user: wx-<openid> (WeChat
# Official Account), wk-<external_userid> (WeCom customer service), tg-<chat_id> (Telegram).
# What is said to them leaves through the outbox (bot/channels/outbox.py); the web chat's own
# conversations (web-...) get their messages over the page's socket.
MESSAGING_PLATFORMS = ("wx", "wk", "tg")


def platform_of(conversation_id: str) -> str:
    """The messaging platform of a conversation ("wx", "wk", "tg"), or "" for the web chat."""
    prefix, dash, _ = conversation_id.partition("-")
    return prefix if dash and prefix in MESSAGING_PLATFORMS else ""


def platform_user(conversation_id: str) -> str:
    """The platform's id of the customer behind a messaging-app conversation."""
    return conversation_id.partition("-")[2]


class Owner(StrEnum):
    """Who answers the conversation's next message."""

    BOT = "bot"
    QUEUE = "queue"
    AGENT = "agent"


class Role(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


# Who speaks to the customer: everything but the customer's own messages reaches them.
TO_CUSTOMER = frozenset({Role.BOT, Role.AGENT, Role.SYSTEM})


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class ChatMessage:
    conversation_id: str
    role: Role
    text: str
    ts: float
    buttons: tuple[Button, ...] = ()
    author: str = ""
    id: str = ""
    # The channel's own id for a customer message: the page that sent it knows it as its own.
    sent_id: str = ""

    def to_json(self) -> str:
        record = asdict(self)
        del record["id"]  # the stream assigns it
        return json.dumps(record, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str, message_id: str = "") -> ChatMessage:
        record = json.loads(data)
        return cls(
            conversation_id=record["conversation_id"],
            role=Role(record["role"]),
            text=record["text"],
            ts=float(record["ts"]),
            buttons=tuple(Button(**b) for b in record.get("buttons", ())),
            author=record.get("author", ""),
            id=message_id,
            sent_id=record.get("sent_id", ""),
        )

    def to_wire(self) -> dict[str, Any]:
        """The shape sent to pages and API clients."""
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "role": self.role.value,
            "text": self.text,
            "ts": self.ts,
            "buttons": [asdict(b) for b in self.buttons],
            "author": self.author,
            "sent_id": self.sent_id,
        }


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    owner: Owner = Owner.BOT
    channel: str = ""
    ticket_id: str = ""
    customer_id: str = ""  # the shop customer the channel vouched for; "" when anonymous


@dataclass(frozen=True)
class Event:
    """Published on the events channel for the live pages of every kefu server process."""

    type: str
    conversation_id: str = ""
    ticket_id: str = ""
    message: dict[str, Any] = field(default_factory=dict)
    owner: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: str | bytes) -> Event:
        record = json.loads(data)
        return cls(
            type=record["type"],
            conversation_id=record.get("conversation_id", ""),
            ticket_id=record.get("ticket_id", ""),
            message=record.get("message") or {},
            owner=record.get("owner", ""),
        )
