import time

from redis.asyncio import Redis

from bot.channels.buttons import button_ref, tapped
from core.keys import Keys
from core.records import Button, ChatMessage, Role
from core.store import ConversationStore

YES, NO = Button("是", "/affirm"), Button("否", "/deny")


async def offer(store: ConversationStore, *buttons: Button) -> ChatMessage:
    return await store.append(ChatMessage("tg-1", Role.BOT, "要转人工吗？", time.time(), buttons))


async def test_a_reference_names_a_button_the_bot_offers_now(redis: Redis, keys: Keys):
    store = ConversationStore(redis, keys, 60)
    message = await offer(store, YES, NO)
    assert await tapped(store, "tg-1", button_ref(message.id, 1)) == NO
    assert len(button_ref(message.id, 1).encode()) <= 64  # Telegram's callback_data limit


async def test_old_forged_and_foreign_references_are_no_taps(redis: Redis, keys: Keys):
    store = ConversationStore(redis, keys, 60)
    old = await offer(store, YES, NO)
    new = await offer(store, Button("退货", "/return_request"))
    assert await tapped(store, "tg-1", button_ref(old.id, 0)) is None  # no longer offered
    assert await tapped(store, "tg-1", button_ref(new.id, 5)) is None
    assert await tapped(store, "tg-2", button_ref(new.id, 0)) is None  # another conversation
    for forged in ("", "~", "abc~0", f"{new.id}~x", f"{new.id}", "0-0~0", "/affirm"):
        assert await tapped(store, "tg-1", forged) is None
    assert await tapped(store, "tg-1", button_ref(new.id, 0)) == Button("退货", "/return_request")
