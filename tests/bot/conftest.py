from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.server import create_app
from core.keys import Keys
from core.settings import Settings
from tools.launch import free_port


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


class RasaStub:
    """Rasa's REST webhook: records what the kefu server sends and answers every message with
    ``reply`` (a Rasa message: text and buttons)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.reply: dict | None = {"text": "好的"}  # None: Rasa answers nothing
        self.failing = False  # answer 500, as Rasa does when a turn fails
        self.server: TestServer | None = None

    async def webhook(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        if self.failing:
            return web.json_response({"error": "the message could not be processed"}, status=500)
        return web.json_response([self.reply] if self.reply else [])


@pytest.fixture
async def rasa(aiohttp_server):
    stub = RasaStub()
    stub_app = web.Application()
    stub_app.router.add_post("/webhooks/kefu/webhook", stub.webhook)
    stub.server = await aiohttp_server(stub_app)
    return stub


@pytest.fixture
def stub_settings(settings: Settings, rasa: RasaStub) -> Settings:
    """The app of these tests talks to the stub (bound first, so its port is really its own)."""
    assert rasa.server is not None
    return replace(settings, rasa_port=rasa.server.port)
