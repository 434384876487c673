"""JSON request and error helpers shared by the customer channels and the agent console."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def json_error(status: int, code: str, message: str) -> web.HTTPException:
    """An HTTP error whose body is ``{"error": code, "message": message}``."""
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
        raise json_error(
            415, "unsupported_media_type", "请以 application/json 发送 / Send application/json"
        )
    try:
        raw = await request.read()
        body = json.loads(raw.decode("utf-8"))
    except web.HTTPRequestEntityTooLarge:
        raise json_error(
            413, "body_too_large", "请求内容过大 / The request body is too large"
        ) from None
    except UnicodeDecodeError:
        raise json_error(
            400, "invalid_encoding", "请使用 UTF-8 编码 / The body must be UTF-8"
        ) from None
    except json.JSONDecodeError:
        raise json_error(
            400, "invalid_json", "请求不是有效的 JSON / The body is not valid JSON"
        ) from None
    if not isinstance(body, dict):
        raise json_error(400, "invalid_json", "请求应为 JSON 对象 / The body must be a JSON object")
    return body


def string_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise json_error(
            400, "missing_field", f"缺少字段 {name} / The field {name!r} must be a string"
        )
    return value
