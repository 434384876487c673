"""Failed console logins counted per account and per address, so passwords cannot be guessed.

After ``per_account`` failures for one name (or ``per_address`` from one address) within the
window, logins for it are refused without checking the password until the window has passed;
a successful login clears the account's count. Counting by address too stops one client from
trying many names; counting by account stops many clients from trying one.
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from core.keys import Keys

ACCOUNT, ADDRESS = "account", "address"


class LoginThrottle:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        per_account: int = 5,
        per_address: int = 20,
        window_seconds: int = 15 * 60,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._limits = {ACCOUNT: per_account, ADDRESS: per_address}
        self._window = window_seconds

    async def wait_seconds(self, name: str, address: str) -> int:
        """0 when a login may be tried now, else the seconds until it may."""
        counted = [(ACCOUNT, self._key(ACCOUNT, name)), (ADDRESS, self._key(ADDRESS, address))]
        async with self._redis.pipeline(transaction=False) as pipe:
            for _, key in counted:
                pipe.get(key)
                pipe.ttl(key)
            replies = await pipe.execute()
        wait = 0
        for index, (kind, _) in enumerate(counted):
            failures, ttl = replies[2 * index], replies[2 * index + 1]
            if failures is not None and int(failures) >= self._limits[kind]:
                wait = max(wait, int(ttl) if int(ttl) > 0 else self._window)
        return wait

    async def failed(self, name: str, address: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for kind, value in ((ACCOUNT, name), (ADDRESS, address)):
                key = self._key(kind, value)
                # Created with the window's TTL if new; INCR keeps the TTL it has.
                pipe.set(key, 0, ex=self._window, nx=True)
                pipe.incr(key)
            await pipe.execute()

    async def succeeded(self, name: str) -> None:
        await self._redis.delete(self._key(ACCOUNT, name))

    def _key(self, kind: str, value: str) -> str:
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        return self._keys.login_failures(kind, digest)
