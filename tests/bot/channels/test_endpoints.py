from dataclasses import replace

from bot.channels.endpoints import registration_lines
from core.settings import Settings


def test_only_enabled_platforms_are_announced_with_what_to_register():
    base = Settings(public_url="https://shop.example.com")
    assert registration_lines(base) == []
    wechat = replace(base, wechat_token="t", wechat_app_id="wx1", wechat_app_secret="s")
    [line] = registration_lines(wechat)
    assert "https://shop.example.com/channels/wechat" in line and "plaintext" in line
    telegram = replace(base, telegram_bot_token="1:abc")
    assert "webhook https://shop.example.com/channels/telegram" in registration_lines(telegram)[0]
    polling = replace(telegram, public_url="http://127.0.0.1:8000")
    assert "long polling" in registration_lines(polling)[0]
    wecom = replace(
        base, wecom_corp_id="c", wecom_secret="s", wecom_token="t", wecom_aes_key="k" * 43
    )
    assert "/channels/wecom" in registration_lines(wecom)[0]
