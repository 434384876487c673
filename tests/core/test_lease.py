from redis.asyncio import Redis

from core.keys import Keys
from core.lease import Lease


async def test_one_holder_at_a_time_and_the_holder_keeps_it(redis: Redis, keys: Keys):
    key = keys.platform_poller("tg")
    first, second = Lease(redis, key, 60), Lease(redis, key, 60)
    assert await first.hold()
    assert not await second.hold()
    assert await first.hold()  # renewed
    assert 0 < await redis.ttl(key) <= 60


async def test_a_lease_its_holder_no_longer_renews_passes_on(redis: Redis, keys: Keys):
    key = keys.platform_poller("tg")
    first, second = Lease(redis, key, 60), Lease(redis, key, 60)
    assert await first.hold()
    await redis.delete(key)  # its time ran out (the holder died)
    assert await second.hold()
    assert not await first.hold()
