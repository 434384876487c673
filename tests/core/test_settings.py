from dataclasses import replace
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT, RedisAddress, load, read_dotenv


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


def test_the_demo_order_store_is_the_default_backend(tmp_path: Path):
    settings = load({}, dotenv=tmp_path / "none")
    assert settings.orders_backend == "demo" and settings.return_window_days == 7


def test_the_http_order_backend_is_configured_from_the_environment(tmp_path: Path):
    settings = load(
        {
            "KEFU_ORDERS_BACKEND": "http",
            "KEFU_ORDERS_API_URL": "https://shop.example/api/",
            "KEFU_ORDERS_API_TOKEN": "t0ken",
            "KEFU_RETURN_WINDOW_DAYS": "15",
        },
        dotenv=tmp_path / "none",
    )
    assert settings.orders_api_url == "https://shop.example/api"
    assert (settings.orders_api_token, settings.return_window_days) == ("t0ken", 15)
    assert load(settings.as_env(), dotenv=tmp_path / "none") == replace(
        settings, redis_url=settings.effective_redis_url
    )


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"KEFU_ORDERS_BACKEND": "http"}, "KEFU_ORDERS_API_URL"),
        (
            {"KEFU_ORDERS_BACKEND": "http", "KEFU_ORDERS_API_URL": "shop.local"},
            "KEFU_ORDERS_API_URL",
        ),
        ({"KEFU_ORDERS_BACKEND": "erp"}, "KEFU_ORDERS_BACKEND"),
        ({"KEFU_RETURN_WINDOW_DAYS": "-1"}, "KEFU_RETURN_WINDOW_DAYS"),
    ],
)
def test_an_unusable_order_backend_setting_is_a_clear_error(tmp_path: Path, environ, named):
    with pytest.raises(ValueError, match=named):
        load(environ, dotenv=tmp_path / "none")


WECOM = {
    "KEFU_WECOM_CORP_ID": "ww0fake0kefu00001",
    "KEFU_WECOM_SECRET": "fake-kf-secret",
    "KEFU_WECOM_TOKEN": "kefutoken",
    "KEFU_WECOM_AES_KEY": "a" * 43,
}


def test_wecom_is_on_with_all_four_credentials_and_reaches_child_processes(tmp_path: Path):
    settings = load({**WECOM, "KEFU_WECOM_API_URL": "http://127.0.0.1:9/"}, dotenv=tmp_path / "no")
    assert settings.wecom_enabled and not load({}, dotenv=tmp_path / "none").wecom_enabled
    assert settings.wecom_api_url == "http://127.0.0.1:9"
    assert load(settings.as_env(), dotenv=tmp_path / "none") == replace(
        settings, redis_url=settings.effective_redis_url
    )


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({**WECOM, "KEFU_WECOM_AES_KEY": ""}, "KEFU_WECOM_AES_KEY"),
        ({"KEFU_WECOM_CORP_ID": "ww0fake"}, "KEFU_WECOM_SECRET"),
        ({**WECOM, "KEFU_WECOM_AES_KEY": "short"}, "43-character"),
    ],
)
def test_wecom_needs_all_of_its_credentials(tmp_path: Path, environ, named):
    with pytest.raises(ValueError, match=named):
        load(environ, dotenv=tmp_path / "none")
