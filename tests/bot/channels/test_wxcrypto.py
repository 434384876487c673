"""WXBizMsgCrypt against Tencent's own sample vectors (公众号 and 企业微信), round trips, and
every way a message can fail to verify."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.wxcrypto import WxCrypto, WxCryptoCode, WxCryptoError, signature
from bot.channels.wxxml import parse_xml

# The Official Account sample of WXBizMsgCrypt (Sample.py): a text message in compatible
# mode (plaintext fields beside Encrypt).
OA_TOKEN = "spamtest"
OA_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OA_APPID = "wx2c2769f8efd9abc2"
OA_TIMESTAMP = "1409735669"
OA_NONCE = "1320562132"
OA_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
OA_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PG"
    "HQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6"
    "tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp"
    "3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhv"
    "Ql+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
OA_PUSH = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>"
    "<CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[abcdteT]]></Content><MsgId>6054768590064713728</MsgId>"
    f"<Encrypt><![CDATA[{OA_ENCRYPT}]]></Encrypt></xml>"
)
OA_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
    "<CreateTime>1409735668</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[abcdteT]]></Content>\n"
    "<MsgId>6054768590064713728</MsgId>\n"
    "</xml>"
)
OA_RANDOM = b"89465c840c5f116f"  # the sample's 16-byte prefix, read back by decrypting it

# The WeCom sample (企业微信 Sample): URL verification and a text message.
WECOM_TOKEN = "QDG6eK"
WECOM_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
WECOM_CORP_ID = "wx5823bf96d3bd56c7"
WECOM_VERIFY = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==",
}
WECOM_ECHO = "1616140317555161061"
WECOM_ECHO_RANDOM = b"c41b64491c2468d0"
WECOM_MSG_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
WECOM_TIMESTAMP = "1409659813"
WECOM_NONCE = "1372623149"
WECOM_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUp"
    "j911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue"
    "06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+"
    "3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH"
    "27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8"
    "R07+qN+E7Q=="
)
WECOM_PUSH = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
    f"<Encrypt><![CDATA[{WECOM_ENCRYPT}]]></Encrypt></xml>"
)
WECOM_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>"
)
WECOM_RANDOM = b"0960688932c47ef1"


def fixed(prefix: bytes):
    return lambda n: prefix[:n]


def oa(**kwargs) -> WxCrypto:
    return WxCrypto(OA_TOKEN, OA_KEY, OA_APPID, **kwargs)


def wecom(**kwargs) -> WxCrypto:
    return WxCrypto(WECOM_TOKEN, WECOM_KEY, WECOM_CORP_ID, **kwargs)


def raw_encrypt(plain: bytes, key_text: str = OA_KEY) -> str:
    """AES-256-CBC of ``plain`` exactly as given (no padding added): to forge bad buffers."""
    key = base64.b64decode(key_text + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def padded(content: bytes, pad: int | None = None) -> bytes:
    pad = pad or 32 - len(content) % 32
    return content + bytes([pad]) * pad


def code_of(call) -> WxCryptoCode:
    with pytest.raises(WxCryptoError) as caught:
        call()
    return caught.value.code


# -- the official vectors ------------------------------------------------------------------


def test_the_official_accounts_url_verification_example_signs_as_documented():
    # 接入指南: Token "AAAAA", timestamp 1714036504, nonce 1514711492.
    crypto = WxCrypto("AAAAA", None, "")
    assert crypto.signature("1714036504", "1514711492") == (
        "f464b24fc39322e44b38aa78f5edd27bd1441696"
    )
    crypto.check_signature("f464b24fc39322e44b38aa78f5edd27bd1441696", "1714036504", "1514711492")


def test_the_official_account_sample_verifies_and_decrypts():
    assert signature(OA_TOKEN, OA_TIMESTAMP, OA_NONCE, OA_ENCRYPT) == OA_MSG_SIGNATURE
    assert oa().decrypt_envelope(OA_PUSH, OA_MSG_SIGNATURE, OA_TIMESTAMP, OA_NONCE) == OA_PLAINTEXT


def test_encrypting_with_the_samples_random_prefix_gives_the_samples_ciphertext():
    encrypted, msg_signature = oa(random_bytes=fixed(OA_RANDOM)).encrypt(
        OA_PLAINTEXT, OA_NONCE, OA_TIMESTAMP
    )
    assert (encrypted, msg_signature) == (OA_ENCRYPT, OA_MSG_SIGNATURE)


def test_the_wecom_url_verification_sample_decrypts_its_echostr():
    assert wecom().decrypt_echo(**WECOM_VERIFY) == WECOM_ECHO
    encrypted, msg_signature = wecom(random_bytes=fixed(WECOM_ECHO_RANDOM)).encrypt(
        WECOM_ECHO, WECOM_VERIFY["nonce"], WECOM_VERIFY["timestamp"]
    )
    assert (encrypted, msg_signature) == (WECOM_VERIFY["echostr"], WECOM_VERIFY["msg_signature"])


def test_the_wecom_message_sample_verifies_decrypts_and_reencrypts():
    plaintext = wecom().decrypt_envelope(
        WECOM_PUSH, WECOM_MSG_SIGNATURE, WECOM_TIMESTAMP, WECOM_NONCE
    )
    assert plaintext == WECOM_PLAINTEXT
    assert parse_xml(plaintext, max_bytes=4096)["AgentID"] == "218"
    assert wecom(random_bytes=fixed(WECOM_RANDOM)).encrypt(
        WECOM_PLAINTEXT, WECOM_NONCE, WECOM_TIMESTAMP
    ) == (WECOM_ENCRYPT, WECOM_MSG_SIGNATURE)


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "a", "你好，我的订单还没发货", "😀" * 500, "x" * 31, "x" * 32, "]]><xml/>"]
)
def test_encrypt_then_decrypt_gives_the_text_back(text):
    crypto = oa()
    encrypted, msg_signature = crypto.encrypt(text, "nonce", "1700000000")
    crypto.check_msg_signature(msg_signature, "1700000000", "nonce", encrypted)
    assert crypto.decrypt(encrypted) == text
    assert len(base64.b64decode(encrypted)) % 32 == 0


@given(st.text())
def test_any_text_survives_the_round_trip(text):
    crypto = wecom()
    assert crypto.decrypt(crypto.encrypt(text, "1", "2")[0]) == text


def test_the_random_prefix_makes_each_ciphertext_new():
    crypto = oa()
    assert crypto.encrypt("同一句话", "n", "1")[0] != crypto.encrypt("同一句话", "n", "1")[0]


def test_an_encrypted_reply_envelope_opens_with_its_own_signature():
    crypto = oa()
    reply = "<xml><Content><![CDATA[您好]]></Content></xml>"
    envelope = crypto.encrypt_reply(reply, "5566", 1700000000)
    fields = parse_xml(envelope, max_bytes=4096)
    assert set(fields) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert fields["TimeStamp"] == "1700000000"
    assert "<TimeStamp>1700000000</TimeStamp>" in envelope
    opened = crypto.decrypt_envelope(envelope, fields["MsgSignature"], "1700000000", "5566")
    assert opened == reply


# -- failures ------------------------------------------------------------------------------


def test_a_wrong_signature_is_refused_in_both_modes():
    crypto = oa()
    bad = "0" * 40
    assert code_of(lambda: crypto.check_signature(bad, OA_TIMESTAMP, OA_NONCE)) == (
        WxCryptoCode.VALIDATE_SIGNATURE
    )
    assert code_of(lambda: crypto.check_msg_signature(bad, OA_TIMESTAMP, OA_NONCE, OA_ENCRYPT)) == (
        WxCryptoCode.VALIDATE_SIGNATURE
    )
    # The plaintext-mode signature is not the message signature.
    plain_signature = crypto.signature(OA_TIMESTAMP, OA_NONCE)
    assert code_of(
        lambda: crypto.decrypt_envelope(OA_PUSH, plain_signature, OA_TIMESTAMP, OA_NONCE)
    ) == (WxCryptoCode.VALIDATE_SIGNATURE)


@pytest.mark.parametrize("given_signature", ["签名" * 20, "", OA_MSG_SIGNATURE.upper()])
def test_odd_signatures_are_refused_not_crashed_on(given_signature):
    assert code_of(
        lambda: oa().check_msg_signature(given_signature, OA_TIMESTAMP, OA_NONCE, OA_ENCRYPT)
    ) == (WxCryptoCode.VALIDATE_SIGNATURE)


def test_a_changed_timestamp_or_nonce_breaks_the_signature():
    crypto = oa()
    for timestamp, nonce in [("1409735670", OA_NONCE), (OA_TIMESTAMP, "1320562133")]:
        assert code_of(
            lambda t=timestamp, n=nonce: crypto.decrypt_envelope(OA_PUSH, OA_MSG_SIGNATURE, t, n)
        ) == (WxCryptoCode.VALIDATE_SIGNATURE)


@pytest.mark.parametrize(
    "key", ["", OA_KEY[:-1], OA_KEY + "H", "-" * 43, "你" * 43, OA_KEY[:-1] + "="]
)
def test_an_encoding_aes_key_that_is_not_43_base64_characters_is_refused(key):
    assert code_of(lambda: WxCrypto(OA_TOKEN, key, OA_APPID)) == WxCryptoCode.ILLEGAL_AES_KEY


def test_plaintext_mode_signs_but_cannot_encrypt():
    crypto = WxCrypto(OA_TOKEN, None, OA_APPID)
    assert not crypto.encrypted
    assert oa().encrypted
    assert code_of(lambda: crypto.decrypt(OA_ENCRYPT)) == WxCryptoCode.ILLEGAL_AES_KEY
    assert code_of(lambda: crypto.encrypt("hi", "1", "2")) == WxCryptoCode.ILLEGAL_AES_KEY


def test_a_message_for_another_receive_id_is_refused():
    other = WxCrypto(OA_TOKEN, OA_KEY, "wx0000000000000000")
    assert code_of(lambda: other.decrypt(OA_ENCRYPT)) == WxCryptoCode.VALIDATE_RECEIVE_ID
    # ... also when one is a prefix of the other.
    shorter = WxCrypto(OA_TOKEN, OA_KEY, OA_APPID[:-1])
    assert code_of(lambda: shorter.decrypt(OA_ENCRYPT)) == WxCryptoCode.VALIDATE_RECEIVE_ID


def test_the_wrong_key_is_refused():
    other = WxCrypto(OA_TOKEN, WECOM_KEY, OA_APPID)
    assert code_of(lambda: other.decrypt(OA_ENCRYPT)) in {
        WxCryptoCode.DECRYPT_AES,
        WxCryptoCode.ILLEGAL_BUFFER,
        WxCryptoCode.VALIDATE_RECEIVE_ID,
    }


def flip(encrypted: str, position: int) -> str:
    data = bytearray(base64.b64decode(encrypted))
    data[position] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


@pytest.mark.parametrize("position", [0, 5, 16, 100, 200, 290, 319])
def test_a_signature_catches_any_tampering(position):
    assert code_of(
        lambda: oa().check_msg_signature(
            OA_MSG_SIGNATURE, OA_TIMESTAMP, OA_NONCE, flip(OA_ENCRYPT, position)
        )
    ) == (WxCryptoCode.VALIDATE_SIGNATURE)


@pytest.mark.parametrize(
    ("position", "code"),
    [
        (0, WxCryptoCode.ILLEGAL_BUFFER),  # flips the length field in the next block
        (290, WxCryptoCode.VALIDATE_RECEIVE_ID),  # garbles the block holding the appid
        (303, WxCryptoCode.DECRYPT_AES),  # flips the pad byte in the last block
    ],
)
def test_tampering_with_the_structure_fails_decryption_too(position, code):
    # CBC has no integrity of its own (that is the signature's job), but where a flip lands
    # on the length, the receive id or the padding, decryption refuses as well.
    assert code_of(lambda: oa().decrypt(flip(OA_ENCRYPT, position))) == code


@pytest.mark.parametrize(
    "pad_bytes",
    [
        b"\x00",  # a zero pad
        b"\x21" * 33,  # over the 32-byte block
        b"\x01\x02\x03\x04",  # not all the same
    ],
)
def test_bad_padding_is_refused(pad_bytes):
    content = b"r" * 16 + (2).to_bytes(4, "big") + b"hi" + OA_APPID.encode()
    body = content + b"\x00" * (-(len(content) + len(pad_bytes)) % 16) + pad_bytes
    assert code_of(lambda: oa().decrypt(raw_encrypt(body))) == WxCryptoCode.DECRYPT_AES


def test_a_length_field_beyond_the_content_is_refused():
    content = b"r" * 16 + (10_000).to_bytes(4, "big") + b"hi" + OA_APPID.encode()
    assert code_of(lambda: oa().decrypt(raw_encrypt(padded(content)))) == (
        WxCryptoCode.ILLEGAL_BUFFER
    )


def test_a_buffer_without_room_for_the_length_is_refused():
    assert code_of(lambda: oa().decrypt(raw_encrypt(padded(b"r" * 16 + b"\x00\x00")))) == (
        WxCryptoCode.ILLEGAL_BUFFER
    )


def test_a_message_that_is_not_utf8_is_refused():
    content = b"r" * 16 + (2).to_bytes(4, "big") + b"\xff\xfe" + OA_APPID.encode()
    assert code_of(lambda: oa().decrypt(raw_encrypt(padded(content)))) == (
        WxCryptoCode.ILLEGAL_BUFFER
    )


@pytest.mark.parametrize(
    "text", ["not base64!", "abc", OA_ENCRYPT[:-2] + "@@", "密文", OA_ENCRYPT.replace("+", " ")]
)
def test_ciphertext_that_is_not_base64_is_refused(text):
    assert code_of(lambda: oa().decrypt(text)) == WxCryptoCode.DECODE_BASE64


@pytest.mark.parametrize("data", [b"", b"x" * 15, b"x" * 33])
def test_ciphertext_that_is_not_whole_blocks_is_refused(data):
    assert code_of(lambda: oa().decrypt(base64.b64encode(data).decode())) == (
        WxCryptoCode.DECRYPT_AES
    )


@pytest.mark.parametrize(
    "body",
    [
        "<xml><ToUserName>gh</ToUserName></xml>",  # no Encrypt
        "<xml><Encrypt></Encrypt></xml>",  # an empty one
        "<xml><Encrypt>abc</Encrypt>",  # not well-formed
        '<!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>&e;</Encrypt></xml>',
    ],
)
def test_an_envelope_that_does_not_parse_is_refused(body):
    assert code_of(
        lambda: oa().decrypt_envelope(body, OA_MSG_SIGNATURE, OA_TIMESTAMP, OA_NONCE)
    ) == (WxCryptoCode.PARSE_XML)


def test_an_oversized_envelope_is_refused_before_parsing():
    assert code_of(
        lambda: oa().decrypt_envelope(
            OA_PUSH, OA_MSG_SIGNATURE, OA_TIMESTAMP, OA_NONCE, max_bytes=100
        )
    ) == (WxCryptoCode.PARSE_XML)


def test_the_error_carries_the_official_code():
    error = WxCryptoError(WxCryptoCode.VALIDATE_SIGNATURE, "signature does not match")
    assert error.code == -40001
    assert str(error) == "-40001: signature does not match"
