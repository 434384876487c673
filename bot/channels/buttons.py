"""Buttons on messaging apps: a short reference instead of the payload.

Platforms limit what a button carries (Telegram's ``callback_data``: 64 bytes; WeChat's menu
item id) and hand it back as the customer sent it, so a button carries only
``<transcript id of the message that offered it>~<its place>``. A tap is accepted only when it
names a button of the conversation's latest offer (``ConversationStore.is_offered``), the rule
the web chat keeps: a forged reference or a button of an old message is no tap.
"""

from __future__ import annotations

from core.records import Button
from core.store import ConversationStore

SEPARATOR = "~"


def button_ref(message_id: str, index: int) -> str:
    return f"{message_id}{SEPARATOR}{index}"


async def tapped(store: ConversationStore, conversation_id: str, ref: str) -> Button | None:
    """The button a reference names, if the bot offers it in this conversation now."""
    message_id, separator, place = ref.rpartition(SEPARATOR)
    if not separator or not place.isdigit():
        return None
    message = await store.message(conversation_id, message_id)
    if message is None or int(place) >= len(message.buttons):
        return None
    button = message.buttons[int(place)]
    return button if await store.is_offered(conversation_id, button) else None
