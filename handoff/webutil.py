"""JSON request and error helpers shared by the customer channels and the agent console."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

from aiohttp import web

from core.texts import error_texts


def json_error(
    status: int, code: str, *, key: str = "", notice: str | None = None, **values: object
) -> web.HTTPException:
    """An HTTP error whose body is ``{"error": code, "message": message}``. The message is the
    entry ``key`` (by default the code) of core/errors.yml in Chinese and English, filled with
    ``values``; or ``notice``, a text already in the customer's language."""
    message = error_texts().both(key or code, **values) if notice is None else notice
    error_class: type[web.HTTPException] = web.HTTPException
    for candidate in (
        web.HTTPBadRequest,
        web.HTTPUnauthorized,
        web.HTTPForbidden,
        web.HTTPNotFound,
        web.HTTPConflict,
        web.HTTPRequestEntityTooLarge,
        web.HTTPUnsupportedMediaType,
        web.HTTPUnprocessableEntity,
        web.HTTPServiceUnavailable,
    ):
        if candidate.status_code == status:
            error_class = candidate
    body = json.dumps({"error": code, "message": message}, ensure_ascii=False)
    if error_class is web.HTTPRequestEntityTooLarge:
        return web.HTTPRequestEntityTooLarge(
            max_size=0, actual_size=0, text=body, content_type="application/json"
        )
    return error_class(text=body, content_type="application/json")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a clear 4xx error."""
    if request.content_type != "application/json":
        raise json_error(415, "unsupported_media_type")
    try:
        raw = await request.read()
        body = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise json_error(400, "invalid_json", key="invalid_json_nested") from None
    except web.HTTPRequestEntityTooLarge:
        raise json_error(413, "body_too_large") from None
    except UnicodeDecodeError:
        raise json_error(400, "invalid_encoding") from None
    except ValueError:  # not JSON, or a number longer than Python reads (4,300 digits)
        raise json_error(400, "invalid_json") from None
    if not isinstance(body, dict):
        raise json_error(400, "invalid_json", key="invalid_json_object")
    if not encodes(json.dumps(body, ensure_ascii=False)):
        # A "\\ud800" escape decodes to a lone surrogate, which no store or socket can carry.
        raise json_error(400, "invalid_encoding", key="invalid_characters")
    return body


def encodes(text: str) -> bool:
    """True when the text is valid Unicode (no lone surrogates) and can be sent on."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def string_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise json_error(400, "missing_field", name=name)
    return value


def same_secret(given: str, expected: str) -> bool:
    """A constant-time comparison that refuses, rather than fails on, a token with characters
    outside ASCII (``hmac.compare_digest`` raises TypeError on those)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


# A Redis stream id (milliseconds-sequence), each part a 64-bit unsigned number.
_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


def is_message_id(value: str) -> bool:
    """A message id as the transcript gives them: ASCII digits only (``\\d`` would take other
    scripts' digits), each part in the range Redis accepts."""
    return bool(_STREAM_ID.fullmatch(value)) and all(int(part) < 2**64 for part in value.split("-"))
