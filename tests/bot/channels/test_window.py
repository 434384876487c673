import time

from redis.asyncio import Redis

from bot.channels.window import ReplyWindow
from core.keys import Keys


async def test_five_messages_within_48_hours_of_the_customers_last(redis: Redis, keys: Keys):
    window = ReplyWindow(redis, keys)
    assert not (await window.state("wx-a")).open  # the customer never wrote
    wrote = time.time()
    await window.customer_wrote("wx-a", wrote)
    for _ in range(4):
        await window.sent("wx-a")
    state = await window.state("wx-a")
    assert state.remaining == 1 and state.closes_at == wrote + 48 * 3600
    await window.sent("wx-a")
    assert not (await window.state("wx-a")).open
    await window.customer_wrote("wx-a")  # a new message opens it again, fully
    assert (await window.state("wx-a")).remaining == 5


async def test_the_window_closes_48_hours_after_the_last_message(redis: Redis, keys: Keys):
    window = ReplyWindow(redis, keys)
    await window.customer_wrote("wx-a", time.time() - 48 * 3600 - 1)
    assert not (await window.state("wx-a")).open
    await window.sent("wx-a")  # a message counted after the window is gone reopens nothing
    assert not (await window.state("wx-a")).open
