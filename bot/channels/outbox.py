"""The one way out to messaging apps: everything said to a WeChat, WeCom or Telegram customer.

Whatever speaks to a customer (the bot's answers, an agent's replies, queue notices, the
hand-back, reminders) stores its message in the conversation's transcript; for a messaging-app
conversation the store also adds a wake-up to the outbox stream in the same step
(``ConversationStore``). So nothing said can miss the outbox, whoever said it, and nothing is
queued twice.

Delivery, per conversation:

* **In order, once.** A cursor per conversation (``Keys.delivered``) holds the transcript id of
  the last message delivered; delivery walks the transcript after it and moves it after each
  message the platform accepted. One process delivers a conversation at a time (a lease), so
  two kefu processes never send the same message. (A process killed between the platform's
  acceptance and the cursor's move sends that one message again: the platforms take no
  idempotency key, so that window, milliseconds wide, cannot be closed from our side.)
* **Surviving restarts.** Wake-ups are read through the consumer group ``deliver``; one is
  acknowledged only after its conversation was looked at, and a process that died holding some
  has them claimed by another (or by itself after a restart) once they have idled
  ``CLAIM_IDLE_MS``.
* **Retried with backoff.** A platform or network failure leaves the message where it is and
  books the conversation in ``Keys.outbox_retry`` for later (2 s, 4 s, ... up to 5 minutes);
  a token error has the sender refresh its token and try once more at once.
* **Never dropped silently.** A message the platform will not take (the customer's reply
  window is closed, the customer blocked the account) or that failed ``MAX_ATTEMPTS`` times is
  recorded as undelivered on its conversation and announced to the consoles, and delivery goes
  on with the next one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from core.keys import Keys
from core.records import TO_CUSTOMER, Button, ChatMessage, Event, platform_of

log = logging.getLogger(__name__)

GROUP = "deliver"
# A wake-up read by a process that then died is taken over after this long unacknowledged.
CLAIM_IDLE_MS = 30_000
BATCH = 50
MAX_ATTEMPTS = 10
FIRST_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 300.0
# Longer than one delivery takes (a few platform calls with their timeouts).
LEASE_SECONDS = 60
UNDELIVERED_KEPT = 200


class FailureKind(StrEnum):
    RETRY = "retry"  # the platform or the network failed: try again later
    TOKEN = "token"  # the access token was refused: refresh it and try again at once
    CLOSED = "closed"  # the platform will not let us reach this customer now (reply window)
    REFUSED = "refused"  # the platform refuses this message for good (blocked, bad request)


class DeliveryFailed(Exception):
    """Every sender's one error shape."""

    def __init__(self, kind: FailureKind, reason: str, retry_after: float | None = None) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind = kind
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Outgoing:
    """One platform message: one or several transcript messages (merged where the platform
    counts messages), the buttons of the last, and the transcript ids it carries. A message too
    long for the platform leaves in parts; all but the last carry no id (the cursor moves when
    the last part is delivered, so a part is never skipped, though a process killed between
    parts sends the earlier ones again)."""

    text: str
    message_ids: tuple[str, ...]
    buttons: tuple[Button, ...] = ()
    # The transcript id of the message whose buttons these are (the button references).
    buttons_of: str = ""


class Sender(Protocol):
    """A platform's way out (one per platform, opened once per process)."""

    platform: str

    def plan(self, messages: Sequence[ChatMessage]) -> list[Outgoing]:
        """The platform messages that carry ``messages`` (in order), merged as it allows."""
        ...

    async def send(self, conversation_id: str, outgoing: Outgoing) -> None:
        """Deliver one message; raises DeliveryFailed."""
        ...

    async def refresh_token(self) -> None:
        """Fetch a new access token (after a token error)."""
        ...


def one_each(messages: Sequence[ChatMessage]) -> list[Outgoing]:
    """A platform message per transcript message (platforms that do not count messages)."""
    return [
        Outgoing(m.text, (m.id,), m.buttons, m.id if m.buttons else "") for m in messages if m.text
    ]


@dataclass(frozen=True)
class Undelivered:
    """A message the customer's app did not get, as the console shows it."""

    message_ids: tuple[str, ...]
    text: str
    reason: str
    kind: str
    ts: float

    def to_json(self) -> str:
        return json.dumps(
            {
                "message_ids": list(self.message_ids),
                "text": self.text,
                "reason": self.reason,
                "kind": self.kind,
                "ts": self.ts,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, data: str) -> Undelivered:
        record = json.loads(data)
        return cls(
            message_ids=tuple(record["message_ids"]),
            text=record["text"],
            reason=record["reason"],
            kind=record["kind"],
            ts=float(record["ts"]),
        )


@dataclass
class OutboxCounts:
    delivered: int = 0
    retried: int = 0
    undelivered: int = 0


def backoff_seconds(attempts: int) -> float:
    return float(min(FIRST_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


class Outbox:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        senders: Mapping[str, Sender],
        ttl_seconds: int,
        *,
        claim_idle_ms: int = CLAIM_IDLE_MS,
    ) -> None:
        self._claim_idle_ms = claim_idle_ms
        self._redis = redis
        self._keys = keys
        self._senders = dict(senders)
        self._ttl = ttl_seconds
        self._consumer = f"kefu-{secrets.token_hex(4)}"
        self.counts = OutboxCounts()

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(self._senders)

    async def start(self) -> None:
        """Create the consumer group (from the stream's start: wake-ups added before any
        kefu ran are not lost)."""
        try:
            await self._redis.xgroup_create(self._keys.outbox, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def run_once(self, block_ms: int = 1000) -> int:
        """One step of the delivery loop: wake-ups of this process's own that were never
        acknowledged, wake-ups other processes left, new ones, and the retries that are due.
        How many conversations were looked at."""
        entries = await self._claim_stale()
        entries += await self._read_new(block_ms if not entries else 0)
        looked_at = 0
        for entry_id, conversation_id in entries:
            if platform_of(conversation_id) in self._senders:
                await self.deliver(conversation_id)
                looked_at += 1
            await self._redis.xack(self._keys.outbox, GROUP, entry_id)
        for conversation_id in await self._due_retries():
            await self.deliver(conversation_id, retrying=True)
            looked_at += 1
        return looked_at

    async def _read_new(self, block_ms: int) -> list[tuple[str, str]]:
        reply = await self._redis.xreadgroup(
            GROUP,
            self._consumer,
            {self._keys.outbox: ">"},
            count=BATCH,
            block=block_ms or None,
        )
        return [
            (entry_id, fields["c"]) for _, entries in reply or [] for entry_id, fields in entries
        ]

    async def _claim_stale(self) -> list[tuple[str, str]]:
        _, claimed, *_ = await self._redis.xautoclaim(
            self._keys.outbox, GROUP, self._consumer, self._claim_idle_ms, count=BATCH
        )
        return [(entry_id, fields["c"]) for entry_id, fields in claimed if fields]

    async def _due_retries(self) -> list[str]:
        due = await self._redis.zrangebyscore(
            self._keys.outbox_retry, "-inf", time.time(), start=0, num=BATCH
        )
        return [str(c) for c in due]

    async def deliver(self, conversation_id: str, *, retrying: bool = False) -> int:
        """Deliver what the conversation's customer has not got yet, in order; how many
        transcript messages were delivered. Another process at it, or the conversation waiting
        out a backoff (its retry comes when due): nothing."""
        sender = self._senders.get(platform_of(conversation_id))
        if sender is None:
            return 0
        if not retrying:
            retry_at = await self._redis.zscore(self._keys.outbox_retry, conversation_id)
            if retry_at is not None and retry_at > time.time():
                return 0
        token = secrets.token_hex(8)
        lease = self._keys.delivering(conversation_id)
        if not await self._redis.set(lease, token, nx=True, ex=LEASE_SECONDS):
            return 0
        try:
            return await self._deliver_leased(conversation_id, sender, lease)
        finally:
            if await self._redis.get(lease) == token:
                await self._redis.delete(lease)

    async def _deliver_leased(self, conversation_id: str, sender: Sender, lease: str) -> int:
        delivered = 0
        while True:
            pending = await self._undelivered_messages(conversation_id)
            if not pending:
                await self._settled(conversation_id)
                return delivered
            for outgoing in sender.plan(pending):
                # Still ours while we deliver, however slow the platform is.
                await self._redis.expire(lease, LEASE_SECONDS)
                try:
                    await self._send(sender, conversation_id, outgoing)
                except DeliveryFailed as failed:
                    if not await self._failed(conversation_id, outgoing, failed):
                        return delivered
                else:
                    self.counts.delivered += len(outgoing.message_ids)
                    delivered += len(outgoing.message_ids)
                if outgoing.message_ids:
                    await self._move_cursor(conversation_id, outgoing.message_ids[-1])

    async def _send(self, sender: Sender, conversation_id: str, outgoing: Outgoing) -> None:
        try:
            await sender.send(conversation_id, outgoing)
        except DeliveryFailed as failed:
            if failed.kind is not FailureKind.TOKEN:
                raise
            await sender.refresh_token()
            try:
                await sender.send(conversation_id, outgoing)
            except DeliveryFailed as again:
                # A token refused right after it was fetched is the platform's trouble.
                kind = FailureKind.RETRY if again.kind is FailureKind.TOKEN else again.kind
                raise DeliveryFailed(kind, again.reason, again.retry_after) from again

    async def _failed(
        self, conversation_id: str, outgoing: Outgoing, failed: DeliveryFailed
    ) -> bool:
        """Book a retry (False: stop here for now) or record the message as undelivered (True:
        go on with the next one)."""
        if failed.kind is FailureKind.RETRY:
            attempts = int(
                await self._redis.hincrby(self._keys.outbox_attempts, conversation_id, 1)
            )
            if attempts < MAX_ATTEMPTS:
                wait = max(backoff_seconds(attempts), failed.retry_after or 0.0)
                await self._redis.zadd(
                    self._keys.outbox_retry, {conversation_id: time.time() + wait}
                )
                self.counts.retried += 1
                log.info(
                    "delivery to %s failed (%s); attempt %d again in %.0f s",
                    conversation_id,
                    failed.reason,
                    attempts + 1,
                    wait,
                )
                return False
        log.warning("message to %s not delivered: %s", conversation_id, failed)
        await self._record_undelivered(conversation_id, outgoing, failed)
        await self._redis.hdel(self._keys.outbox_attempts, conversation_id)
        return True

    async def _record_undelivered(
        self, conversation_id: str, outgoing: Outgoing, failed: DeliveryFailed
    ) -> None:
        record = Undelivered(
            outgoing.message_ids, outgoing.text, failed.reason, failed.kind.value, time.time()
        )
        key = self._keys.undelivered(conversation_id)
        event = Event(
            "undelivered",
            conversation_id=conversation_id,
            message=json.loads(record.to_json()),
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, record.to_json())
            pipe.ltrim(key, -UNDELIVERED_KEPT, -1)
            pipe.expire(key, self._ttl)
            pipe.publish(self._keys.events, event.to_json())
            await pipe.execute()
        self.counts.undelivered += len(outgoing.message_ids)

    async def _undelivered_messages(self, conversation_id: str) -> list[ChatMessage]:
        cursor = await self._redis.get(self._keys.delivered(conversation_id))
        start = f"({cursor}" if cursor else "-"
        entries = await self._redis.xrange(
            self._keys.transcript(conversation_id), min=start, max="+", count=BATCH
        )
        if not entries:
            return []
        messages = [ChatMessage.from_json(fields["m"], entry_id) for entry_id, fields in entries]
        to_customer = [m for m in messages if m.role in TO_CUSTOMER]
        if not to_customer:
            # Only the customer's own messages since: the cursor moves past them.
            await self._move_cursor(conversation_id, messages[-1].id)
            return await self._undelivered_messages(conversation_id)
        return to_customer

    async def _move_cursor(self, conversation_id: str, message_id: str) -> None:
        await self._redis.set(self._keys.delivered(conversation_id), message_id, ex=self._ttl)

    async def _settled(self, conversation_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._keys.outbox_retry, conversation_id)
            pipe.hdel(self._keys.outbox_attempts, conversation_id)
            await pipe.execute()

    async def undelivered(self, conversation_id: str) -> list[Undelivered]:
        """What the customer's app did not get, oldest first (the console shows it)."""
        records = await self._redis.lrange(self._keys.undelivered(conversation_id), 0, -1)
        return [Undelivered.from_json(r) for r in records]


async def deliver_forever(outbox: Outbox) -> None:
    """The delivery loop of a kefu process (every process runs one; leases keep them apart)."""
    await outbox.start()
    while True:
        try:
            await outbox.run_once()
        except RedisError as error:
            log.info("outbox paused: %s", error)
            await asyncio.sleep(1.0)
        except Exception:
            log.exception("the outbox failed; trying again")
            await asyncio.sleep(1.0)
