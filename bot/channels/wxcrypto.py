"""WeChat's message signing and encryption (WXBizMsgCrypt), for one account.

WeChat Official Accounts and WeCom use the same scheme: the token signs (SHA-1 of the sorted
parts), and in encrypted ("safe") mode the 43-character EncodingAESKey encrypts each message
with AES-256-CBC over ``16 random bytes + 4-byte big-endian length + message + receive id``,
padded PKCS#7-style to a multiple of 32 bytes. The receive id is the Official Account's appid,
or the WeCom corp id, so a message meant for one account does not decrypt as another's.

Every check here fails closed with a :class:`WxCryptoError` carrying the official error code:
a caller never gets partial data from a message that did not verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from enum import IntEnum

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.wxxml import WxXmlError, build_xml, parse_xml

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
RANDOM_PREFIX = 16
KEY_CHARS = 43
ENVELOPE_MAX_BYTES = 64 * 1024  # far above any real push (2048-byte texts), far below harm


class WxCryptoCode(IntEnum):
    """The official return codes of WXBizMsgCrypt that this module can produce."""

    VALIDATE_SIGNATURE = -40001
    PARSE_XML = -40002
    ILLEGAL_AES_KEY = -40004
    VALIDATE_RECEIVE_ID = -40005
    DECRYPT_AES = -40007
    ILLEGAL_BUFFER = -40008
    DECODE_BASE64 = -40010


class WxCryptoError(Exception):
    """A message that did not verify or decrypt (or a key that cannot): ``code`` is the
    official WXBizMsgCrypt code, ``message`` says what was wrong, for the logs."""

    def __init__(self, code: WxCryptoCode, message: str) -> None:
        super().__init__(f"{int(code)}: {message}")
        self.code = code
        self.message = message


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 (hex) of the parts sorted and joined."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _same(expected: str, given: str) -> bool:
    # Bytes, so that a non-ASCII forgery compares (str compare_digest refuses non-ASCII).
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != KEY_CHARS:
        raise WxCryptoError(
            WxCryptoCode.ILLEGAL_AES_KEY,
            f"EncodingAESKey must be {KEY_CHARS} characters, not {len(encoding_aes_key)}",
        )
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except ValueError as error:  # binascii.Error, or a str that is not ASCII
        raise WxCryptoError(
            WxCryptoCode.ILLEGAL_AES_KEY, "EncodingAESKey is not base64 (A-Z a-z 0-9 + /)"
        ) from error
    if len(key) != 32:
        raise WxCryptoError(
            WxCryptoCode.ILLEGAL_AES_KEY, f"EncodingAESKey decodes to {len(key)} bytes, not 32"
        )
    return key


class WxCrypto:
    """One account's signing and (with an EncodingAESKey) encryption.

    ``encoding_aes_key`` is None for plaintext mode: signatures still work, encryption raises
    ``ILLEGAL_AES_KEY``. ``random_bytes`` makes the 16-byte prefix; tests inject a fixed one
    to reproduce the official samples byte for byte.
    """

    def __init__(
        self,
        token: str,
        encoding_aes_key: str | None,
        receive_id: str,
        *,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.token = token
        self.receive_id = receive_id
        self._key = None if encoding_aes_key is None else _aes_key(encoding_aes_key)
        self._random_bytes = random_bytes

    @property
    def encrypted(self) -> bool:
        return self._key is not None

    def signature(self, *parts: str) -> str:
        """The signature of ``parts`` with this account's token."""
        return signature(self.token, *parts)

    def check_signature(self, given: str, timestamp: str, nonce: str) -> None:
        """Plaintext mode (URL verification, and the ``signature`` query parameter of every
        push): ``given`` must be the signature of token, timestamp and nonce."""
        if not _same(self.signature(timestamp, nonce), given):
            raise WxCryptoError(WxCryptoCode.VALIDATE_SIGNATURE, "signature does not match")

    def check_msg_signature(self, given: str, timestamp: str, nonce: str, encrypted: str) -> None:
        """Encrypted mode: ``msg_signature`` also covers the ciphertext."""
        if not _same(self.signature(timestamp, nonce, encrypted), given):
            raise WxCryptoError(WxCryptoCode.VALIDATE_SIGNATURE, "msg_signature does not match")

    def _require_key(self) -> bytes:
        if self._key is None:
            raise WxCryptoError(
                WxCryptoCode.ILLEGAL_AES_KEY, "no EncodingAESKey: this account is in plaintext mode"
            )
        return self._key

    def decrypt(self, encrypted_b64: str) -> str:
        """The message inside ``encrypted_b64``, after checking its padding, its length field
        and that it was meant for this receive id."""
        key = self._require_key()
        try:
            data = base64.b64decode(encrypted_b64, validate=True)
        except ValueError as error:  # binascii.Error, or a str that is not ASCII
            raise WxCryptoError(WxCryptoCode.DECODE_BASE64, "ciphertext is not base64") from error
        if not data or len(data) % 16:
            raise WxCryptoError(
                WxCryptoCode.DECRYPT_AES, f"ciphertext of {len(data)} bytes is not whole AES blocks"
            )
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise WxCryptoError(WxCryptoCode.DECRYPT_AES, "bad padding (wrong key or tampered)")
        content = plain[RANDOM_PREFIX:-pad]
        if len(content) < 4:
            raise WxCryptoError(WxCryptoCode.ILLEGAL_BUFFER, "too short for a length field")
        length = int.from_bytes(content[:4], "big")
        if length > len(content) - 4:
            raise WxCryptoError(
                WxCryptoCode.ILLEGAL_BUFFER, f"length field {length} exceeds the content"
            )
        message, receive_id = content[4 : 4 + length], content[4 + length :]
        if not hmac.compare_digest(receive_id, self.receive_id.encode("utf-8")):
            raise WxCryptoError(
                WxCryptoCode.VALIDATE_RECEIVE_ID, "message is meant for another receive id"
            )
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as error:
            raise WxCryptoError(WxCryptoCode.ILLEGAL_BUFFER, "message is not UTF-8") from error

    def encrypt(self, plaintext: str, nonce: str, timestamp: str) -> tuple[str, str]:
        """``(encrypted_b64, msg_signature)`` for ``plaintext``, signed with ``timestamp`` and
        ``nonce``."""
        key = self._require_key()
        message = plaintext.encode("utf-8")
        content = (
            self._random_bytes(RANDOM_PREFIX)
            + len(message).to_bytes(4, "big")
            + message
            + self.receive_id.encode("utf-8")
        )
        pad = BLOCK - len(content) % BLOCK
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        data = encryptor.update(content + bytes([pad]) * pad) + encryptor.finalize()
        encrypted = base64.b64encode(data).decode("ascii")
        return encrypted, self.signature(timestamp, nonce, encrypted)

    def encrypt_reply(self, reply_xml: str, nonce: str, timestamp: int) -> str:
        """The envelope WeChat expects as an encrypted passive reply:
        ``<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>``."""
        encrypted, msg_signature = self.encrypt(reply_xml, nonce, str(timestamp))
        return build_xml(
            {
                "Encrypt": encrypted,
                "MsgSignature": msg_signature,
                "TimeStamp": timestamp,
                "Nonce": nonce,
            }
        )

    def decrypt_envelope(
        self,
        body: bytes | str,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        *,
        max_bytes: int = ENVELOPE_MAX_BYTES,
    ) -> str:
        """The message inside an encrypted push (``<xml><ToUserName/><Encrypt/></xml>``, with
        ``msg_signature``, ``timestamp`` and ``nonce`` from the query string): parse, check the
        signature over the ciphertext, decrypt."""
        try:
            fields = parse_xml(body, max_bytes=max_bytes)
        except WxXmlError as error:
            raise WxCryptoError(WxCryptoCode.PARSE_XML, str(error)) from error
        encrypted = fields.get("Encrypt")
        if not encrypted:
            raise WxCryptoError(WxCryptoCode.PARSE_XML, "no Encrypt element")
        self.check_msg_signature(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def decrypt_echo(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """WeCom's URL verification: ``echostr`` is encrypted and signed like a message; the
        answer is its plaintext. (An Official Account's echostr is plain: there
        :meth:`check_signature` suffices and the echostr goes back as it came.)"""
        self.check_msg_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)
