import ast
import json
from pathlib import Path

import pytest

from core.texts import error_texts
from handoff.webutil import json_error

ROOT = Path(__file__).resolve().parents[2]


def _messages_raised() -> list[tuple[str, str]]:
    """Each json_error call of the servers: where, and the error text it looks up."""
    found = []
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handoff").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "json_error"):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if "notice" in keywords:
                continue
            key = keywords.get("key", node.args[1])
            assert isinstance(key, ast.Constant), f"{path}:{node.lineno}: a literal code or key"
            found.append((f"{path.relative_to(ROOT)}:{node.lineno}", key.value))
    return found


@pytest.mark.parametrize(("where", "key"), _messages_raised())
def test_every_error_raised_has_its_message(where: str, key: str) -> None:
    assert key in error_texts().messages, where


def test_an_error_says_its_code_and_its_message_in_both_languages() -> None:
    error = json_error(413, "message_too_long", key="reply_too_long", limit=4000)
    assert error.status == 413
    assert json.loads(error.text or "") == {
        "error": "message_too_long",
        "message": "回复最多 4000 字 / Reply too long",
    }
    missing = json.loads(json_error(400, "missing_field", name="text").text or "")
    assert missing["message"] == "缺少字段 text / The field 'text' must be a string"


def test_a_notice_in_the_customers_language_is_sent_as_it_is() -> None:
    error = json_error(422, "empty_message", notice="It looks like the message was empty.")
    assert json.loads(error.text or "")["message"] == "It looks like the message was empty."
