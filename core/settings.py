"""The one place that reads the environment (``KEFU_*``, ``REDIS_URL`` and a ``.env`` file).

Every default is documented in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# "demo": the embedded SQLite store; "http": the shop's own order API (orders/http_backend.py).
ORDER_BACKENDS = ("demo", "http")
REDIS_PASSWORD_FILE = "redis-password"
WECHAT_API_URL = "https://api.weixin.qq.com"
WECOM_API_URL = "https://qyapi.weixin.qq.com"
TELEGRAM_API_URL = "https://api.telegram.org"
TELEGRAM_MODES = ("auto", "webhook", "polling")
# Rasa replicas or kefu workers on one machine: more than this is a mistake, not a plan.
MAX_PROCESSES = 16


@dataclass(frozen=True)
class RedisAddress:
    host: str
    port: int
    db: int
    password: str

    @classmethod
    def from_url(cls, url: str) -> RedisAddress:
        parts = urlsplit(url)
        if parts.scheme not in ("redis", ""):
            raise ValueError(f"REDIS_URL must be redis://host:port/db, got {url!r}")
        db = parts.path.lstrip("/")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(db) if db else 0,
            password=parts.password or "",
        )


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    rasa_port: int = 5005
    action_port: int = 5055
    redis_url: str = ""
    embedded_redis_port: int = 6399
    # The embedded server's password: generated once, kept in var/redis-password.
    embedded_redis_password: str = ""
    redis_prefix: str = "kefu"
    var_dir: Path = PROJECT_ROOT / "var"
    model_path: Path = PROJECT_ROOT / "models" / "kefu.tar.gz"
    rasa_python: Path = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
    rasa_token: str = ""
    secret: str = ""
    orders_db: Path = field(default=PROJECT_ROOT / "var" / "orders.sqlite3")
    orders_backend: str = "demo"
    orders_api_url: str = ""
    orders_api_token: str = ""
    return_window_days: int = 7
    faq_dir: Path = PROJECT_ROOT / "faq" / "kb"
    faq_encoder: str = "use+e5"
    rasa_timeout: float = 15.0
    max_message_chars: int = 2000
    conversation_ttl_days: int = 30
    # The service's facts (core/facts.py) for reports: kept this long.
    facts_ttl_days: int = 400
    # A contact ends when its customer has been quiet this long (and no ticket is open).
    contact_idle_minutes: float = 30.0
    first_response_seconds: float = 30.0
    minutes_per_ticket: float = 3.0
    start_timeout: float = 240.0
    log_level: str = "INFO"
    # Scale: Rasa servers (each with its action server, on consecutive ports) and kefu server
    # processes (sharing the port); each conversation always goes to the same Rasa replica.
    rasa_replicas: int = 1
    workers: int = 1
    # Messaging apps: each is off until its credentials are given (README, Configuration).
    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_aes_key: str = ""  # EncodingAESKey: given -> encrypted mode, empty -> plaintext
    wechat_api_url: str = WECHAT_API_URL
    # WeCom customer service (微信客服): callbacks are always encrypted, so the EncodingAESKey
    # is one of the credentials.
    wecom_corp_id: str = ""
    wecom_secret: str = ""
    wecom_token: str = ""
    wecom_aes_key: str = ""
    wecom_api_url: str = WECOM_API_URL
    telegram_bot_token: str = ""
    telegram_api_url: str = TELEGRAM_API_URL
    telegram_mode: str = "auto"  # webhook, polling, or auto: webhook when public_url is https

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_token and self.wechat_app_id and self.wechat_app_secret)

    @property
    def wecom_enabled(self) -> bool:
        return bool(
            self.wecom_corp_id and self.wecom_secret and self.wecom_token and self.wecom_aes_key
        )

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def telegram_uses_webhook(self) -> bool:
        if self.telegram_mode == "auto":
            return self.kefu_url.startswith("https://")
        return self.telegram_mode == "webhook"

    @property
    def rasa_url(self) -> str:
        return self.rasa_urls[0]

    @property
    def rasa_urls(self) -> list[str]:
        """Every Rasa replica, the i-th on ``rasa_port + i``."""
        return [f"http://{self.host}:{self.rasa_port + i}" for i in range(self.rasa_replicas)]

    @property
    def action_url(self) -> str:
        return self.action_urls[0]

    @property
    def action_urls(self) -> list[str]:
        """The action server of each Rasa replica, the i-th on ``action_port + i``."""
        return [f"http://{self.host}:{self.action_port + i}" for i in range(self.rasa_replicas)]

    @property
    def kefu_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def conversation_ttl_seconds(self) -> int:
        return self.conversation_ttl_days * 86400

    @property
    def facts_ttl_seconds(self) -> int:
        return self.facts_ttl_days * 86400

    @property
    def effective_redis_url(self) -> str:
        """``REDIS_URL`` when given, else the embedded server the runner starts."""
        if self.redis_url:
            return self.redis_url
        login = f":{self.embedded_redis_password}@" if self.embedded_redis_password else ""
        return f"redis://{login}127.0.0.1:{self.embedded_redis_port}/0"

    @property
    def redis_address(self) -> RedisAddress:
        return RedisAddress.from_url(self.effective_redis_url)

    def with_secrets(self) -> Settings:
        """Fill in the secrets that may be left empty: a persisted signing secret, a per-run Rasa
        token and, without ``REDIS_URL``, the persisted password of the embedded Redis."""
        secret = self.secret or _persistent_secret(self.var_dir / "secret")
        token = self.rasa_token or secrets.token_urlsafe(24)
        redis_password = self.embedded_redis_password or (
            "" if self.redis_url else _persistent_secret(self.var_dir / REDIS_PASSWORD_FILE)
        )
        return replace(
            self, secret=secret, rasa_token=token, embedded_redis_password=redis_password
        )

    def as_env(self) -> dict[str, str]:
        """The environment that gives a child process exactly these settings."""
        return {
            "KEFU_HOST": self.host,
            "KEFU_PORT": str(self.port),
            "KEFU_PUBLIC_URL": self.public_url,
            "KEFU_RASA_PORT": str(self.rasa_port),
            "KEFU_ACTION_PORT": str(self.action_port),
            "REDIS_URL": self.effective_redis_url,
            "KEFU_EMBEDDED_REDIS_PORT": str(self.embedded_redis_port),
            "KEFU_EMBEDDED_REDIS_PASSWORD": self.embedded_redis_password,
            "KEFU_REDIS_PREFIX": self.redis_prefix,
            "KEFU_VAR_DIR": str(self.var_dir),
            "KEFU_MODEL": str(self.model_path),
            "KEFU_RASA_PYTHON": str(self.rasa_python),
            "KEFU_RASA_TOKEN": self.rasa_token,
            "KEFU_SECRET": self.secret,
            "KEFU_ORDERS_DB": str(self.orders_db),
            "KEFU_ORDERS_BACKEND": self.orders_backend,
            "KEFU_ORDERS_API_URL": self.orders_api_url,
            "KEFU_ORDERS_API_TOKEN": self.orders_api_token,
            "KEFU_RETURN_WINDOW_DAYS": str(self.return_window_days),
            "KEFU_FAQ_DIR": str(self.faq_dir),
            "KEFU_FAQ_ENCODER": self.faq_encoder,
            "KEFU_RASA_TIMEOUT": str(self.rasa_timeout),
            "KEFU_MAX_MESSAGE_CHARS": str(self.max_message_chars),
            "KEFU_CONVERSATION_TTL_DAYS": str(self.conversation_ttl_days),
            "KEFU_FACTS_TTL_DAYS": str(self.facts_ttl_days),
            "KEFU_CONTACT_IDLE_MINUTES": str(self.contact_idle_minutes),
            "KEFU_FIRST_RESPONSE_SECONDS": str(self.first_response_seconds),
            "KEFU_MINUTES_PER_TICKET": str(self.minutes_per_ticket),
            "KEFU_START_TIMEOUT": str(self.start_timeout),
            "KEFU_LOG_LEVEL": self.log_level,
            "KEFU_RASA_REPLICAS": str(self.rasa_replicas),
            "KEFU_WORKERS": str(self.workers),
            "KEFU_WECHAT_TOKEN": self.wechat_token,
            "KEFU_WECHAT_APP_ID": self.wechat_app_id,
            "KEFU_WECHAT_APP_SECRET": self.wechat_app_secret,
            "KEFU_WECHAT_AES_KEY": self.wechat_aes_key,
            "KEFU_WECHAT_API_URL": self.wechat_api_url,
            "KEFU_WECOM_CORP_ID": self.wecom_corp_id,
            "KEFU_WECOM_SECRET": self.wecom_secret,
            "KEFU_WECOM_TOKEN": self.wecom_token,
            "KEFU_WECOM_AES_KEY": self.wecom_aes_key,
            "KEFU_WECOM_API_URL": self.wecom_api_url,
            "KEFU_TELEGRAM_BOT_TOKEN": self.telegram_bot_token,
            "KEFU_TELEGRAM_API_URL": self.telegram_api_url,
            "KEFU_TELEGRAM_MODE": self.telegram_mode,
        }


def _existing_secret(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def _persistent_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines; ``#`` comments, blank lines and optional quotes around values."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def load(environ: Mapping[str, str] | None = None, dotenv: Path | None = None) -> Settings:
    """Settings from the environment, falling back to ``.env`` in the project root, then defaults."""
    env: dict[str, str] = read_dotenv(dotenv or PROJECT_ROOT / ".env")
    env.update(os.environ if environ is None else environ)
    defaults = Settings()
    var_dir = _path(env.get("KEFU_VAR_DIR"), defaults.var_dir)

    def text(name: str, default: str) -> str:
        return env.get(name) or default

    def integer(name: str, default: int) -> int:
        return _parse(name, env.get(name), default, int)

    def number(name: str, default: float) -> float:
        return _parse(name, env.get(name), default, float)

    orders_backend = text("KEFU_ORDERS_BACKEND", defaults.orders_backend).lower()
    orders_api_url = text("KEFU_ORDERS_API_URL", defaults.orders_api_url).rstrip("/")
    if orders_backend not in ORDER_BACKENDS:
        raise ValueError(
            f"KEFU_ORDERS_BACKEND={orders_backend!r} must be one of {', '.join(ORDER_BACKENDS)}"
        )
    if orders_backend == "http" and urlsplit(orders_api_url).scheme not in ("http", "https"):
        raise ValueError(
            "KEFU_ORDERS_BACKEND=http needs KEFU_ORDERS_API_URL, the http(s):// address of "
            f"the shop's order API (got {orders_api_url!r})"
        )
    return_window_days = integer("KEFU_RETURN_WINDOW_DAYS", defaults.return_window_days)
    if return_window_days < 0:
        raise ValueError(f"KEFU_RETURN_WINDOW_DAYS={return_window_days} must not be negative")
    wechat = {
        name: text(name, "")
        for name in ("KEFU_WECHAT_TOKEN", "KEFU_WECHAT_APP_ID", "KEFU_WECHAT_APP_SECRET")
    }
    if any(wechat.values()) and not all(wechat.values()):
        missing = ", ".join(name for name, value in wechat.items() if not value)
        raise ValueError(f"WeChat needs all of its credentials: {missing} not given")
    wechat_aes_key = text("KEFU_WECHAT_AES_KEY", "")
    if wechat_aes_key and len(wechat_aes_key) != 43:
        raise ValueError("KEFU_WECHAT_AES_KEY must be the account's 43-character EncodingAESKey")
    wecom = {
        name: text(name, "")
        for name in (
            "KEFU_WECOM_CORP_ID",
            "KEFU_WECOM_SECRET",
            "KEFU_WECOM_TOKEN",
            "KEFU_WECOM_AES_KEY",
        )
    }
    if any(wecom.values()) and not all(wecom.values()):
        missing = ", ".join(name for name, value in wecom.items() if not value)
        raise ValueError(f"WeCom needs all of its credentials: {missing} not given")
    if wecom["KEFU_WECOM_AES_KEY"] and len(wecom["KEFU_WECOM_AES_KEY"]) != 43:
        raise ValueError("KEFU_WECOM_AES_KEY must be the callback's 43-character EncodingAESKey")
    telegram_mode = text("KEFU_TELEGRAM_MODE", defaults.telegram_mode).lower()
    if telegram_mode not in TELEGRAM_MODES:
        raise ValueError(
            f"KEFU_TELEGRAM_MODE={telegram_mode!r} must be one of {', '.join(TELEGRAM_MODES)}"
        )
    return Settings(
        host=text("KEFU_HOST", defaults.host),
        port=integer("KEFU_PORT", defaults.port),
        public_url=text("KEFU_PUBLIC_URL", defaults.public_url).rstrip("/"),
        rasa_port=integer("KEFU_RASA_PORT", defaults.rasa_port),
        action_port=integer("KEFU_ACTION_PORT", defaults.action_port),
        redis_url=text("REDIS_URL", defaults.redis_url),
        embedded_redis_port=integer("KEFU_EMBEDDED_REDIS_PORT", defaults.embedded_redis_port),
        # The tools (python -m handoff agents ...) find the running system's password here.
        embedded_redis_password=text("KEFU_EMBEDDED_REDIS_PASSWORD", "")
        or _existing_secret(var_dir / REDIS_PASSWORD_FILE),
        redis_prefix=text("KEFU_REDIS_PREFIX", defaults.redis_prefix),
        var_dir=var_dir,
        model_path=_path(env.get("KEFU_MODEL"), defaults.model_path),
        rasa_python=_path(env.get("KEFU_RASA_PYTHON"), defaults.rasa_python),
        rasa_token=text("KEFU_RASA_TOKEN", ""),
        secret=text("KEFU_SECRET", ""),
        orders_db=_path(env.get("KEFU_ORDERS_DB"), var_dir / "orders.sqlite3"),
        orders_backend=orders_backend,
        orders_api_url=orders_api_url,
        orders_api_token=text("KEFU_ORDERS_API_TOKEN", defaults.orders_api_token),
        return_window_days=return_window_days,
        faq_dir=_path(env.get("KEFU_FAQ_DIR"), defaults.faq_dir),
        faq_encoder=text("KEFU_FAQ_ENCODER", defaults.faq_encoder),
        rasa_timeout=number("KEFU_RASA_TIMEOUT", defaults.rasa_timeout),
        max_message_chars=integer("KEFU_MAX_MESSAGE_CHARS", defaults.max_message_chars),
        conversation_ttl_days=integer("KEFU_CONVERSATION_TTL_DAYS", defaults.conversation_ttl_days),
        facts_ttl_days=integer("KEFU_FACTS_TTL_DAYS", defaults.facts_ttl_days),
        contact_idle_minutes=number("KEFU_CONTACT_IDLE_MINUTES", defaults.contact_idle_minutes),
        first_response_seconds=number(
            "KEFU_FIRST_RESPONSE_SECONDS", defaults.first_response_seconds
        ),
        minutes_per_ticket=number("KEFU_MINUTES_PER_TICKET", defaults.minutes_per_ticket),
        start_timeout=number("KEFU_START_TIMEOUT", defaults.start_timeout),
        log_level=text("KEFU_LOG_LEVEL", defaults.log_level).upper(),
        rasa_replicas=_bounded(
            "KEFU_RASA_REPLICAS", integer("KEFU_RASA_REPLICAS", 1), MAX_PROCESSES
        ),
        workers=_bounded("KEFU_WORKERS", integer("KEFU_WORKERS", 1), MAX_PROCESSES),
        wechat_token=wechat["KEFU_WECHAT_TOKEN"],
        wechat_app_id=wechat["KEFU_WECHAT_APP_ID"],
        wechat_app_secret=wechat["KEFU_WECHAT_APP_SECRET"],
        wechat_aes_key=wechat_aes_key,
        wechat_api_url=text("KEFU_WECHAT_API_URL", defaults.wechat_api_url).rstrip("/"),
        wecom_corp_id=wecom["KEFU_WECOM_CORP_ID"],
        wecom_secret=wecom["KEFU_WECOM_SECRET"],
        wecom_token=wecom["KEFU_WECOM_TOKEN"],
        wecom_aes_key=wecom["KEFU_WECOM_AES_KEY"],
        wecom_api_url=text("KEFU_WECOM_API_URL", defaults.wecom_api_url).rstrip("/"),
        telegram_bot_token=text("KEFU_TELEGRAM_BOT_TOKEN", ""),
        telegram_api_url=text("KEFU_TELEGRAM_API_URL", defaults.telegram_api_url).rstrip("/"),
        telegram_mode=telegram_mode,
    )


def _bounded(name: str, value: int, most: int) -> int:
    if not 1 <= value <= most:
        raise ValueError(f"{name}={value} must be between 1 and {most}")
    return value


def _path(value: str | None, default: Path) -> Path:
    if not value:
        return default
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _parse(name: str, value: str | None, default: T, kind: Callable[[str], T]) -> T:
    if value is None or value == "":
        return default
    try:
        return kind(value)
    except ValueError:
        raise ValueError(
            f"{name}={value!r} is not a valid {getattr(kind, '__name__', 'value')}"
        ) from None
