from dataclasses import replace
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, RedisAddress, load, read_dotenv


def test_defaults_bind_to_localhost(tmp_path: Path):
    settings = load({}, dotenv=tmp_path / "none")
    assert settings.host == "127.0.0.1" and settings.port == 8000
    assert settings.effective_redis_url == "redis://127.0.0.1:6399/0"
    assert settings.model_path == PROJECT_ROOT / "models" / "kefu.tar.gz"


def test_environment_overrides_dotenv(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text('# comment\nKEFU_PORT=9000\nexport KEFU_HOST="0.0.0.0"\nKEFU_VAR_DIR=run\n')
    settings = load({"KEFU_PORT": "9100"}, dotenv=dotenv)
    assert settings.port == 9100 and settings.host == "0.0.0.0"
    assert settings.var_dir == PROJECT_ROOT / "run"
    assert settings.orders_db == PROJECT_ROOT / "run" / "orders.sqlite3"
    assert read_dotenv(dotenv)["KEFU_HOST"] == "0.0.0.0"


def test_a_bad_number_names_the_variable(tmp_path: Path):
    with pytest.raises(ValueError, match="KEFU_PORT"):
        load({"KEFU_PORT": "eighty"}, dotenv=tmp_path / "none")


def test_redis_url_parts():
    assert RedisAddress.from_url("redis://:secret@db.local:6380/3") == RedisAddress(
        "db.local", 6380, 3, "secret"
    )


def test_secrets_are_filled_and_the_signing_secret_persists(tmp_path: Path):
    settings = load({"KEFU_VAR_DIR": str(tmp_path)}, dotenv=tmp_path / "none")
    first, second = settings.with_secrets(), settings.with_secrets()
    assert first.secret and first.secret == second.secret
    assert first.rasa_token and first.rasa_token != second.rasa_token
    # Children get the exact settings, the embedded Redis named by its URL.
    child = load(first.as_env(), dotenv=tmp_path / "none")
    assert child == replace(first, redis_url=first.effective_redis_url)
