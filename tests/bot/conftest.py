from pathlib import Path

import pytest
from aiohttp import web

from bot.launch import free_port
from bot.server import create_app
from bot.settings import Settings
from handoff.keys import Keys


@pytest.fixture
def settings(redis_url: str, keys: Keys, tmp_path: Path) -> Settings:
    """The kefu server on the test's Redis prefix; nothing listens on the Rasa and action ports."""
    return Settings(
        redis_url=redis_url,
        redis_prefix=keys.prefix,
        rasa_port=free_port(),
        action_port=free_port(),
        var_dir=tmp_path,
        secret="test-secret",
        rasa_token="test-token",
        rasa_timeout=2.0,
    )


@pytest.fixture
def app(settings: Settings) -> web.Application:
    return create_app(settings)


@pytest.fixture
async def client(aiohttp_client, app):
    return await aiohttp_client(app)


@pytest.fixture
async def conversation(client):
    response = await client.post("/api/chat/session")
    assert response.status == 200
    return await response.json()


async def say(client, conversation, text, **extra):
    return await client.post("/api/chat/messages", json={**conversation, "text": text, **extra})
