"""The reply window of WeChat and WeCom: what a business may still send a customer.

Both platforms let a business send a customer at most 5 messages within 48 hours of the
customer's last message (WeChat's customer-service messages since 2023, errors 45015 / 45047;
WeCom's kf/send_msg the same). Each customer message opens the window again with a fresh
count. Kept in Redis (shared by every kefu process, gone with the window), so the outbox does
not spend a call on a message the platform will refuse, and the console shows the agent how
many messages are left and until when.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from core.keys import Keys

MESSAGES_PER_WINDOW = 5
WINDOW_SECONDS = 48 * 3600

# Count a message in the window only while it is open (a closed one stays gone).
_COUNT_SENT = """
-- KEYS[1] the conversation's reply window hash
-- Returns the messages sent in the window, or -1 when there is none
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HINCRBY', KEYS[1], 'sent', 1)
"""


@dataclass(frozen=True)
class WindowState:
    remaining: int  # messages that may still be sent
    closes_at: float  # when the window closes (0: never opened or closed already)

    @property
    def open(self) -> bool:
        return self.remaining > 0 and self.closes_at > time.time()

    def to_wire(self) -> dict[str, float | int | bool]:
        return {"remaining": self.remaining, "closes_at": self.closes_at, "open": self.open}


class ReplyWindow:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        limit: int = MESSAGES_PER_WINDOW,
        seconds: int = WINDOW_SECONDS,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._limit = limit
        self._seconds = seconds
        self._count_sent = redis.register_script(_COUNT_SENT)

    async def customer_wrote(
        self,
        conversation_id: str,
        at: float | None = None,
        *,
        limit: int | None = None,
        seconds: int | None = None,
    ) -> None:
        """The customer sent something: the window opens again with a full count. Some acts
        open a smaller one (WeChat: following the account allows 3 messages within a minute)."""
        at = time.time() if at is None else at
        if seconds is not None:
            current = await self.state(conversation_id, at)
            if current.open and current.closes_at > at + seconds:
                return  # a longer window is open already
        seconds = self._seconds if seconds is None else seconds
        limit = self._limit if limit is None else limit
        key = self._keys.reply_window(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key, mapping={"last": repr(at), "sent": 0, "limit": limit, "seconds": seconds}
            )
            pipe.expireat(key, int(at + seconds) + 1)
            await pipe.execute()

    async def state(self, conversation_id: str, now: float | None = None) -> WindowState:
        now = time.time() if now is None else now
        record = await self._redis.hgetall(self._keys.reply_window(conversation_id))
        if not record:
            return WindowState(0, 0.0)
        closes_at = float(record["last"]) + int(record.get("seconds", self._seconds))
        if closes_at <= now:
            return WindowState(0, 0.0)
        limit = int(record.get("limit", self._limit))
        return WindowState(max(limit - int(record["sent"]), 0), closes_at)

    async def sent(self, conversation_id: str) -> None:
        """One more message went out in the window."""
        await self._count_sent(keys=[self._keys.reply_window(conversation_id)])
