"""Hostile input, generated (hypothesis): the customer API, the agent API and both websockets of
a real kefu server (``python -m bot serve``, on the test's Redis, Rasa down) answer every
request with a 4xx or a 200, never a 5xx; no socket is killed; the server is healthy after.

``KEFU_FUZZ_EXAMPLES`` sets the examples per test (CI: 60; try thousands locally)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from core.keys import Keys
from core.settings import PROJECT_ROOT
from handoff.agents import AgentDirectory, AgentRole
from tests.waiting import wait_until
from tools.launch import free_port

EXAMPLES = int(os.environ.get("KEFU_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PASSWORD = "fuzz-password-1"


@dataclass(frozen=True)
class Server:
    url: str
    conversation: dict[str, str]
    ticket_id: str


@pytest.fixture(scope="module")
def server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port, prefix = free_port(), f"kefufuzz{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KEFU_")},
        "REDIS_URL": redis_url,
        "KEFU_REDIS_PREFIX": prefix,
        "KEFU_PORT": str(port),
        "KEFU_RASA_PORT": str(free_port()),  # nothing there: Rasa is down
        "KEFU_ACTION_PORT": str(free_port()),
        "KEFU_VAR_DIR": str(tmp_path_factory.mktemp("fuzz")),
        "KEFU_SECRET": "fuzz-secret",
        "KEFU_RASA_TOKEN": "fuzz-token",
        "KEFU_LOG_LEVEL": "ERROR",
    }
    process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=PROJECT_ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: asyncio.run(_answers(url)), timeout=60, what="kefu to serve")
        yield asyncio.run(_prepare(url, redis_url, prefix))
    finally:
        process.terminate()
        process.wait(timeout=30)
        asyncio.run(_clean(redis_url, prefix))
    assert process.returncode == 0


async def _answers(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as response:
            return response.status in (200, 503)
    except aiohttp.ClientError:
        return False


async def _prepare(url: str, redis_url: str, prefix: str) -> Server:
    """A supervisor account, a conversation and a ticket for the fuzzed requests to aim at."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await AgentDirectory(redis, Keys(prefix)).add("fuzzer", PASSWORD, AgentRole.SUPERVISOR)
    finally:
        await redis.aclose()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/chat/session") as response:
            conversation = await response.json()
        async with http.post(
            f"{url}/api/chat/messages", json={**conversation, "text": "转人工"}
        ) as response:
            assert response.status == 200
    return Server(url, conversation, "1")


async def _clean(redis_url: str, prefix: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        async for key in redis.scan_iter(match=f"{prefix}:*", count=500):
            await redis.delete(key)
    finally:
        await redis.aclose()


# Text of every kind: control characters, lone surrogates (as JSON escapes), emoji, CJK.
TEXT = st.text(st.characters(codec=None), max_size=60) | st.sampled_from(
    ["", " ", "/request_human", '/rate{"rating":"5"}', "\ud800", "1" * 5000, "٣٤٥-١"]
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=30,
)
FIELDS = ("conversation_id", "token", "text", "payload", "channel", "id", "outcome", "team")


def body_strategy(server_fields: dict[str, str]) -> st.SearchStrategy[Any]:
    """JSON objects with the real fields (the real values, or anything) and stray ones."""
    real = st.fixed_dictionaries(
        {},
        optional={name: st.sampled_from([server_fields.get(name, "")]) | JSON for name in FIELDS},
    )
    return real | JSON


DEEP = st.integers(min_value=900, max_value=100_000).map(lambda n: "[" * n + "]" * n)
HUGE_NUMBER = st.integers(min_value=4301, max_value=20_000).map(
    lambda n: '{"text": ' + "9" * n + "}"
)
RAW = st.binary(max_size=200) | DEEP | HUGE_NUMBER


def encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=True, allow_nan=True).encode()


async def _request(
    method: str, url: str, *, data: bytes, headers: dict[str, str] | None = None
) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.request(
            method, url, data=data, headers={"Content-Type": "application/json", **(headers or {})}
        ) as response,
    ):
        await response.read()
        return response.status


@dataclass(frozen=True)
class AgentLogin:
    cookie: str
    csrf: str


@pytest.fixture(scope="module")
def agent(server: Server) -> AgentLogin:
    async def log_in() -> AgentLogin:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.post(
                f"{server.url}/agent/login",
                data={"username": "fuzzer", "password": PASSWORD},
                allow_redirects=False,
            ) as response:
                assert response.status == 303
            async with http.get(f"{server.url}/api/agent/me") as response:
                csrf = (await response.json())["csrf_token"]
            cookie = "; ".join(f"{c.key}={c.value}" for c in jar)
            return AgentLogin(cookie, csrf)

    return asyncio.run(log_in())


@FUZZ
@given(data=st.data())
def test_the_customer_api_answers_every_body_with_a_4xx_or_200(server: Server, data: Any):
    if data.draw(st.booleans()):
        raw = encode(data.draw(body_strategy(server.conversation)))
    else:
        raw = data.draw(RAW)
    status = asyncio.run(_request("POST", f"{server.url}/api/chat/messages", data=raw))
    assert status < 500


@FUZZ
@given(
    query=st.dictionaries(st.sampled_from(["conversation_id", "token", "after"]), TEXT, max_size=3),
    real=st.booleans(),
)
def test_the_customer_history_answers_every_query_with_a_4xx_or_200(
    server: Server, query: dict[str, str], real: bool
):
    params = {**(server.conversation if real else {}), **query}
    params = {k: v.encode("utf-8", "surrogatepass").decode("latin-1") for k, v in params.items()}

    async def get() -> int:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server.url}/api/chat/messages", params=params) as response,
        ):
            return response.status

    assert asyncio.run(get()) < 500


AGENT_CALLS = [
    ("GET", "/api/agent/tickets/{ticket}"),
    ("POST", "/api/agent/tickets/{ticket}/claim"),
    ("POST", "/api/agent/tickets/{ticket}/reply"),
    ("POST", "/api/agent/tickets/{ticket}/notes"),
    ("POST", "/api/agent/tickets/{ticket}/transfer"),
    ("POST", "/api/agent/tickets/{ticket}/close"),
    ("GET", "/api/agent/supervisor/report?hours={ticket}"),
    ("GET", "/api/agent/canned?q={ticket}"),
    ("POST", "/api/agent/handover"),
]


@FUZZ
@given(
    call=st.sampled_from(AGENT_CALLS),
    ticket=st.sampled_from(["1", "nan", "inf", "-1", "99999999999999999999", "١"]) | TEXT,
    body=JSON | RAW,
    csrf=st.sampled_from(["real", "", "wrong"])
    | st.text(
        # What a client can put in a header: no control characters; Latin-1 beyond ASCII.
        st.characters(codec="latin-1", min_codepoint=0x20, exclude_characters="\x7f"),
        max_size=40,
    ),
)
def test_the_agent_api_answers_every_request_with_a_4xx_or_200(
    server: Server, agent: AgentLogin, call: tuple[str, str], ticket: str, body: Any, csrf: str
):
    method, path = call
    url = server.url + path.format(ticket=quote(ticket.encode("utf-8", "surrogatepass"), safe=""))
    raw = body if isinstance(body, bytes) else encode(body)
    headers = {"X-CSRF-Token": agent.csrf if csrf == "real" else csrf, "Cookie": agent.cookie}
    status = asyncio.run(_request(method, url, data=raw, headers=headers))
    assert status < 500


MAX_FRAME = 64 * 1024  # the chat socket's frame limit (bot/webchat.py)


async def _socket_exchange(server: Server, frame: str) -> aiohttp.WSMessage | None:
    """Send ``frame``, then an empty message: None when its polite refusal comes back (the
    socket lives), else what came instead."""
    params = {k: server.conversation[k] for k in ("conversation_id", "token")}
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{server.url}/ws/chat", params=params) as socket,
    ):
        assert (await socket.receive_json(timeout=10))["type"] == "history"
        await socket.send_str(frame)
        await socket.send_json({"type": "message", "text": "", "id": "probe-00001"})
        while True:
            reply = await socket.receive(timeout=10)
            if reply.type is not aiohttp.WSMsgType.TEXT:
                return reply
            if json.loads(reply.data).get("error") == "empty_message":
                return None


@FUZZ
@given(
    frame=(JSON.map(encode).map(bytes.decode) | RAW.filter(lambda r: isinstance(r, str))).filter(
        lambda f: len(f.encode()) < MAX_FRAME
    )
)
def test_the_chat_socket_survives_every_frame(server: Server, frame: str):
    assert asyncio.run(_socket_exchange(server, frame)) is None


def test_a_frame_over_the_limit_closes_the_socket_with_its_code(server: Server):
    async def oversized() -> int | None:
        params = {k: server.conversation[k] for k in ("conversation_id", "token")}
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{server.url}/ws/chat", params=params) as socket,
        ):
            assert (await socket.receive_json(timeout=10))["type"] == "history"
            await socket.send_str("[" * MAX_FRAME)
            ending = await socket.receive(timeout=10)
            assert ending.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), ending
            return socket.close_code

    assert asyncio.run(oversized()) == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


def test_the_server_is_healthy_after_the_fuzzing(server: Server):
    async def check() -> None:
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"{server.url}/api/chat/messages", json={**server.conversation, "text": "在吗"}
            ) as response:
                assert response.status == 200
            async with http.get(f"{server.url}/healthz") as response:
                health = await response.json()
                assert health["components"]["redis"]["status"] == "ok"

    asyncio.run(check())


def test_login_takes_any_form_without_a_5xx(server: Server):
    forms = [
        {"username": "x" * 10_000, "password": "y"},
        {"username": "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"), "password": "p"},
        {"username": "fuzzer"},
    ]

    async def post(form: dict[str, str]) -> int:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{server.url}/agent/login", data=form, allow_redirects=False) as response,
        ):
            return response.status

    for form in forms:
        assert asyncio.run(post(form)) in (303, 403)
