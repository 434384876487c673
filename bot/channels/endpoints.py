"""Where each platform reaches kefu, and what an operator registers with it."""

from __future__ import annotations

from core.settings import Settings

WECHAT_PATH = "/channels/wechat"
TELEGRAM_PATH = "/channels/telegram"
WECOM_PATH = "/channels/wecom"


def registration_lines(settings: Settings) -> list[str]:
    """For the start-up message: each enabled platform and what to do about it."""
    url = settings.kefu_url
    lines = []
    if settings.wechat_enabled:
        mode = "encrypted" if settings.wechat_aes_key else "plaintext"
        lines.append(
            f"  WeChat callback   : {url}{WECHAT_PATH}  (register it as the account's server URL, {mode} mode)"
        )
    if settings.wecom_enabled:
        lines.append(
            f"  WeCom callback    : {url}{WECOM_PATH}  (register it as the customer-service"
            " app's callback URL)"
        )
    if settings.telegram_enabled:
        how = (
            f"webhook {url}{TELEGRAM_PATH}, set by kefu"
            if settings.telegram_uses_webhook
            else "long polling (no public HTTPS address)"
        )
        lines.append(f"  Telegram          : {how}")
    return lines
