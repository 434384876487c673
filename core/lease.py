"""A lease in Redis: one holder at a time among kefu processes, gone when the holder is."""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

# Take the lease if it is free, or keep it if it is ours; in one step.
_HOLD = """
-- KEYS[1] the lease key; ARGV[1] our token, ARGV[2] seconds it lasts
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
return 0
"""


class Lease:
    def __init__(self, redis: Redis, key: str, seconds: int) -> None:
        self._key = key
        self._seconds = seconds
        self._token = secrets.token_hex(8)
        self._hold = redis.register_script(_HOLD)

    async def hold(self) -> bool:
        """Take or renew the lease; False while another process holds it."""
        return bool(await self._hold(keys=[self._key], args=[self._token, self._seconds]))
