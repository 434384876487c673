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
