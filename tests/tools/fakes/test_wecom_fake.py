"""The fake WeCom customer-service platform over real HTTP on 127.0.0.1: its token rules,
paging, reply limits and errors as a client sees them, and its callbacks as a server that
checks every signature sees them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.channels.wxcrypto import WxCrypto, WxCryptoError
from bot.channels.wxxml import WxXmlError, parse_xml
from tools.fakes.wecom import FakeWeCom
from tools.launch import free_port

START = 1_700_000_000.0
HOUR = 3600.0
CUSTOMER = "wmFakeCustomer0001"


class KefuStub:
    """A callback endpoint doing what kefu's must: it checks the message signature, decrypts
    with the corp id as receive id, parses, records, then answers ``answer`` (after ``gate``
    for the first ``hold`` posts: a server too slow for WeCom)."""

    def __init__(self, fake: FakeWeCom) -> None:
        self.crypto = WxCrypto(fake.token, fake.encoding_aes_key, fake.corp_id)
        self.received: list[dict[str, str]] = []
        self.hold = 0
        self.gate = asyncio.Event()
        self.answer = "success"

    async def push(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            xml = self.crypto.decrypt_envelope(
                await request.read(), query["msg_signature"], query["timestamp"], query["nonce"]
            )
            fields = parse_xml(xml, max_bytes=64 * 1024)
        except (KeyError, WxCryptoError, WxXmlError) as error:
            return web.Response(status=403, text=str(error))
        self.received.append(fields)
        if len(self.received) <= self.hold:
            await self.gate.wait()
        return web.Response(text=self.answer)

    async def verify(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            echo = self.crypto.decrypt_echo(
                query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]
            )
        except (KeyError, WxCryptoError):
            return web.Response(status=403)
        return web.Response(text=echo)


@pytest.fixture
def fake() -> FakeWeCom:
    return FakeWeCom(clock=lambda: START, callback_timeout=0.5)


@pytest.fixture
async def kefu(aiohttp_server, fake: FakeWeCom) -> AsyncIterator[KefuStub]:
    stub = KefuStub(fake)
    app = web.Application()
    app.router.add_post("/wecom", stub.push)
    app.router.add_get("/wecom", stub.verify)
    server = await aiohttp_server(app)
    fake.callback_url = str(server.make_url("/wecom"))
    yield stub
    stub.gate.set()  # let held handlers finish before the server closes


class Api:
    """kefu's side of the API, as plain HTTP calls."""

    def __init__(self, fake: FakeWeCom, session: aiohttp.ClientSession, base_url: str) -> None:
        self.fake = fake
        self.session = session
        self.base_url = base_url

    async def gettoken(self, **overrides: str) -> dict:
        query = {"corpid": self.fake.corp_id, "corpsecret": self.fake.secret, **overrides}
        async with self.session.get(f"{self.base_url}/cgi-bin/gettoken", params=query) as r:
            return await r.json(content_type=None)

    async def token(self) -> str:
        return (await self.gettoken())["access_token"]

    async def post(self, path: str, access_token: str | None, body: dict | bytes, **client) -> dict:
        params = {} if access_token is None else {"access_token": access_token}
        data, payload = (body, None) if isinstance(body, bytes) else (None, body)
        async with self.session.post(
            f"{self.base_url}/cgi-bin/kf/{path}", params=params, json=payload, data=data, **client
        ) as response:
            return await response.json(content_type=None)

    async def sync(self, access_token: str, **body) -> dict:
        return await self.post("sync_msg", access_token, {"open_kfid": self.fake.open_kfid, **body})

    async def send_text(self, access_token: str, content: str, touser: str = CUSTOMER) -> dict:
        return await self.post(
            "send_msg",
            access_token,
            {
                "touser": touser,
                "open_kfid": self.fake.open_kfid,
                "msgtype": "text",
                "text": {"content": content},
            },
        )


@pytest.fixture
async def api(fake: FakeWeCom) -> AsyncIterator[Api]:
    async with fake.serve() as base_url, aiohttp.ClientSession() as session:
        yield Api(fake, session, base_url)


def errcode(answer: dict) -> int:
    return int(answer.get("errcode", 0))


# -- tokens --------------------------------------------------------------------------------


async def test_gettoken_hands_out_the_same_token_while_it_lives(api: Api):
    first = await api.gettoken()
    assert (first["errcode"], first["expires_in"]) == (0, 7200)
    api.fake.advance(HOUR)
    assert await api.gettoken() == {**first, "expires_in": 3600}
    api.fake.advance(HOUR)
    renewed = await api.gettoken()
    assert renewed["access_token"] != first["access_token"] and renewed["expires_in"] == 7200
    assert errcode(await api.sync(first["access_token"])) == 42001
    assert errcode(await api.sync(renewed["access_token"])) == 0
    assert api.fake.token_calls == 3


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"corpsecret": "wrong"}, 40001),
        ({"corpsecret": ""}, 41004),
        ({"corpid": "ww0000000000000000"}, 40013),
        ({"corpid": ""}, 41002),
    ],
)
async def test_wrong_credentials_get_wecoms_codes(api: Api, overrides, code):
    answer = await api.gettoken(**overrides)
    assert errcode(answer) == code and "hint: [" in answer["errmsg"]
    assert "access_token" not in answer


async def test_expire_tokens_kills_them_early_and_the_next_gettoken_issues_another(api: Api):
    old = await api.token()
    api.fake.expire_tokens()
    assert errcode(await api.sync(old)) == 42001
    new = await api.token()
    assert new != old and errcode(await api.sync(new)) == 0


async def test_a_missing_or_unknown_token_is_refused_and_get_is_no_kf_call(api: Api):
    assert errcode(await api.sync("")) == 41001
    assert errcode(await api.post("send_msg", None, {})) == 41001
    assert errcode(await api.sync("made-up")) == 40014
    async with api.session.get(f"{api.base_url}/cgi-bin/kf/sync_msg") as response:
        assert errcode(await response.json(content_type=None)) == 43002


# -- callbacks and reading messages --------------------------------------------------------


async def test_a_message_is_announced_by_an_encrypted_callback(fake: FakeWeCom, kefu: KefuStub):
    push = await fake.customer_sends(CUSTOMER, "  我要退货 ]]>")
    assert push is not None and push.outcome == "ack"
    assert [(a.status, a.body) for a in push.attempts] == [(200, "success")]
    [fields] = kefu.received
    assert fields == {
        "ToUserName": fake.corp_id,
        "CreateTime": str(int(START)),
        "MsgType": "event",
        "Event": "kf_msg_or_event",
        "Token": push.token,
        "OpenKfId": fake.open_kfid,
    }
    assert "我要退货".encode() not in push.body.encode()
    [message] = fake.messages
    assert message == {
        "msgid": message["msgid"],
        "send_time": int(START),
        "open_kfid": fake.open_kfid,
        "external_userid": CUSTOMER,
        "origin": 3,
        "msgtype": "text",
        "text": {"content": "  我要退货 ]]>"},
    }


async def test_sync_pages_from_the_cursor_with_has_more(api: Api, kefu: KefuStub):
    api.fake.page_size = 2
    for n in range(5):
        await api.fake.customer_sends(CUSTOMER, f"第{n}条", notify=False)
    token = await api.token()
    pages, cursor = [], ""
    while True:
        answer = await api.sync(token, cursor=cursor, limit=1000)
        pages.append(([m["text"]["content"] for m in answer["msg_list"]], answer["has_more"]))
        cursor = answer["next_cursor"]
        if not answer["has_more"]:
            break
    assert pages == [(["第0条", "第1条"], 1), (["第2条", "第3条"], 1), (["第4条"], 0)]
    assert (await api.sync(token, cursor=cursor))["msg_list"] == []
    await api.fake.customer_sends(CUSTOMER, "新的", notify=False)
    assert [m["text"]["content"] for m in (await api.sync(token, cursor=cursor))["msg_list"]] == [
        "新的"
    ]
    limited = await api.sync(token, limit=1)
    assert len(limited["msg_list"]) == 1 and limited["has_more"] == 1
    assert errcode(await api.sync(token, cursor="not-given-out")) == 40058
    assert kefu.received == []  # nobody was told


async def test_sync_keeps_three_days(api: Api):
    await api.fake.customer_sends(CUSTOMER, "很久以前", notify=False)
    api.fake.advance(3 * 24 * HOUR)
    await api.fake.customer_sends(CUSTOMER, "现在", notify=False)
    token = await api.token()
    assert [m["text"]["content"] for m in (await api.sync(token))["msg_list"]] == ["现在"]


async def test_a_callbacks_token_is_good_for_ten_minutes(api: Api, kefu: KefuStub):
    push = await api.fake.customer_sends(CUSTOMER, "在吗")
    assert push is not None
    access_token = await api.token()
    assert errcode(await api.sync(access_token, token=push.token)) == 0
    api.fake.advance(600)
    assert errcode(await api.sync(access_token, token=push.token)) == 95007
    assert errcode(await api.sync(access_token, token="ENCmadeup")) == 95007
    assert errcode(await api.sync(access_token)) == 0  # without a token
    assert errcode(await api.post("sync_msg", access_token, {"open_kfid": "wkOther"})) == 95000


async def test_a_menu_tap_comes_back_as_a_text_with_its_id(api: Api, kefu: KefuStub):
    await api.fake.customer_sends(CUSTOMER, "评价")
    menu = {
        "head_content": "您对本次服务是否满意呢？",
        "list": [
            {"type": "click", "click": {"id": "101", "content": "满意"}},
            {"type": "click", "click": {"id": "102", "content": "不满意"}},
        ],
        "tail_content": "欢迎再次光临",
    }
    body = {"touser": CUSTOMER, "open_kfid": api.fake.open_kfid, "msgtype": "msgmenu"}
    assert errcode(await api.post("send_msg", await api.token(), {**body, "msgmenu": menu})) == 0
    [delivered] = api.fake.deliveries
    assert (delivered.msgtype, delivered.content, delivered.tail_content, delivered.menu) == (
        "msgmenu",
        "您对本次服务是否满意呢？",
        "欢迎再次光临",
        (("101", "满意"), ("102", "不满意")),
    )
    await api.fake.customer_sends(CUSTOMER, "满意", menu_id="101")
    await api.fake.customer_sends(CUSTOMER, media=("image", "MEDIA_ID_1"))
    assert api.fake.messages[-2]["text"] == {"content": "满意", "menu_id": "101"}
    assert api.fake.messages[-1]["image"] == {"media_id": "MEDIA_ID_1"}


# -- sending and its limits ----------------------------------------------------------------


async def test_five_messages_within_48_hours_of_the_customers_message(api: Api, kefu: KefuStub):
    token = await api.token()
    assert errcode(await api.send_text(token, "还没来过")) == 40096
    await api.fake.customer_sends(CUSTOMER, "我的快递到哪了")
    for n in range(5):
        answer = await api.send_text(token, f"回复{n}")
        assert answer["errcode"] == 0 and answer["msgid"]
    assert errcode(await api.send_text(token, "第六条")) == 95001
    await api.fake.customer_sends(CUSTOMER, "还在吗")  # a new message: a new allowance
    assert errcode(await api.send_text(token, "在的")) == 0
    api.fake.advance(48 * HOUR)
    token = await api.token()
    assert errcode(await api.send_text(token, "太晚了")) == 95002
    assert [d.content for d in api.fake.deliveries] == [*(f"回复{n}" for n in range(5)), "在的"]
    assert {(d.touser, d.via, d.time) for d in api.fake.deliveries[:5]} == {
        (CUSTOMER, "send_msg", START)
    }


async def test_an_ended_session_reaches_nobody_until_the_customer_writes(api: Api, kefu: KefuStub):
    token = await api.token()
    await api.fake.customer_sends(CUSTOMER, "谢谢")
    api.fake.end_session(CUSTOMER)
    assert errcode(await api.send_text(token, "不客气")) == 95013
    assert api.fake.messages[-1]["event"] == {
        "open_kfid": api.fake.open_kfid,
        "external_userid": CUSTOMER,
        "event_type": "session_status_change",
        "change_type": 3,
    }
    await api.fake.customer_sends(CUSTOMER, "还有个问题")
    assert errcode(await api.send_text(token, "请说")) == 0


def menu_of(*items: dict, head: str = "选一个") -> dict:
    return {"head_content": head, "list": list(items), "tail_content": ""}


def click(item_id: str, content: str) -> dict:
    return {"type": "click", "click": {"id": item_id, "content": content}}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", 40058),
        ({"msgtype": "image", "image": {"media_id": "m"}}, 40008),
        ({"msgtype": "text", "text": "hi"}, 40058),
        ({"msgtype": "text", "text": {"content": " "}}, 44004),
        ({"msgtype": "text", "text": {"content": "退" * 682 + "abc"}}, 45002),
        ({"msgtype": "msgmenu", "msgmenu": menu_of()}, 40058),
        (
            {"msgtype": "msgmenu", "msgmenu": menu_of(*[click(str(n), "x") for n in range(11)])},
            40058,
        ),
        ({"msgtype": "msgmenu", "msgmenu": menu_of(click("x" * 65, "x"))}, 40058),
        ({"msgtype": "msgmenu", "msgmenu": menu_of(click("1", "x" * 129))}, 40058),
        ({"msgtype": "msgmenu", "msgmenu": menu_of(click("1", "x"), head="x" * 1025)}, 45002),
        ({"touser": "wmStranger", "msgtype": "text", "text": {"content": "hi"}}, 40096),
        ({"open_kfid": "wkOther", "msgtype": "text", "text": {"content": "hi"}}, 95000),
    ],
)
async def test_bad_requests_get_wecoms_codes(api: Api, kefu: KefuStub, body, code):
    await api.fake.customer_sends(CUSTOMER, "你好")
    if isinstance(body, dict):
        body = {"touser": CUSTOMER, "open_kfid": api.fake.open_kfid, **body}
    assert errcode(await api.post("send_msg", await api.token(), body)) == code
    assert api.fake.deliveries == []


async def test_a_text_of_exactly_2048_bytes_is_taken(api: Api, kefu: KefuStub):
    await api.fake.customer_sends(CUSTOMER, "发长文")
    exactly = "退" * 682 + "ab"  # 2046 + 2 bytes
    assert errcode(await api.send_text(await api.token(), exactly)) == 0


async def test_a_welcome_code_works_once_within_20_seconds(api: Api, kefu: KefuStub):
    await api.fake.enter_session(CUSTOMER, scene="order_page")
    event = api.fake.messages[-1]
    assert event["origin"] == 4 and event["event"]["event_type"] == "enter_session"
    assert event["event"]["scene"] == "order_page"
    code = event["event"]["welcome_code"]
    token = await api.token()
    welcome = {"code": code, "msgtype": "text", "text": {"content": "您好，有什么可以帮您？"}}
    assert errcode(await api.send_text(token, "不能直接发")) == 95002  # they have not written
    assert errcode(await api.post("send_msg_on_event", token, welcome)) == 0
    assert errcode(await api.post("send_msg_on_event", token, welcome)) == 40058  # used
    [delivered] = api.fake.deliveries
    assert (delivered.touser, delivered.via) == (CUSTOMER, "welcome")
    # Welcomed within 48 hours: no code next time.
    await api.fake.enter_session(CUSTOMER)
    assert "welcome_code" not in api.fake.messages[-1]["event"]
    await api.fake.enter_session("wmLateCustomer")
    late = {**welcome, "code": api.fake.messages[-1]["event"]["welcome_code"]}
    api.fake.advance(21)
    assert errcode(await api.post("send_msg_on_event", token, late)) == 40058


# -- injected failures ---------------------------------------------------------------------


async def test_injected_failures_hit_the_next_calls_then_stop(api: Api):
    api.fake.fail_next(1, "http500")
    api.fake.fail_next(1, "busy", endpoint="sync")
    async with api.session.get(f"{api.base_url}/cgi-bin/gettoken") as response:
        assert response.status == 500
    token = await api.token()  # not affected: the busy one waits for a sync
    busy = await api.sync(token)
    assert busy["errcode"] == -1 and busy["errmsg"].startswith("system busy")
    assert errcode(await api.sync(token)) == 0


async def test_a_hang_outlasts_the_clients_timeout(api: Api, kefu: KefuStub):
    await api.fake.customer_sends(CUSTOMER, "在吗")
    token = await api.token()
    api.fake.fail_next(1, "hang", endpoint="send")
    with pytest.raises(TimeoutError):
        await api.post(
            "send_msg",
            token,
            {"touser": CUSTOMER, "open_kfid": api.fake.open_kfid, "msgtype": "text"},
            timeout=aiohttp.ClientTimeout(total=0.3),
        )
    assert errcode(await api.send_text(token, "再试")) == 0
    assert [d.content for d in api.fake.deliveries] == ["再试"]


# -- the callback's delivery ---------------------------------------------------------------


async def test_a_slow_server_gets_up_to_three_attempts_of_the_same_callback(
    fake: FakeWeCom, kefu: KefuStub
):
    kefu.hold = 2
    push = await fake.customer_sends(CUSTOMER, "在吗")
    assert push is not None
    assert [a.error for a in push.attempts] == ["timeout", "timeout", ""]
    assert push.outcome == "ack"
    assert [f["Token"] for f in kefu.received] == [push.token] * 3


async def test_a_server_that_never_answers_in_time_gets_three_attempts(
    fake: FakeWeCom, kefu: KefuStub
):
    kefu.hold = 3
    push = await fake.notify()
    assert [a.error for a in push.attempts] == ["timeout"] * 3
    assert push.outcome == "no_answer"


async def test_an_answer_other_than_success_is_invalid_and_not_retried(
    fake: FakeWeCom, kefu: KefuStub
):
    kefu.answer = "ok"
    push = await fake.notify()
    assert (push.outcome, len(push.attempts)) == ("invalid", 1)
    assert push.problem.startswith("HTTP 200")


async def test_a_callback_can_be_posted_again_byte_for_byte(fake: FakeWeCom, kefu: KefuStub):
    first = await fake.notify()
    again = await fake.push_again(first)
    assert again.outcome == "ack" and kefu.received[0] == kefu.received[1]


async def test_an_unreachable_server_is_recorded(fake: FakeWeCom):
    fake.callback_url = f"http://127.0.0.1:{free_port()}/wecom"
    push = await fake.enter_session(CUSTOMER)
    assert push is not None and push.outcome == "no_answer"
    assert all(a.status is None and "Connect" in a.error for a in push.attempts)
    assert len(push.attempts) == 3 and fake.pushes == [push]


async def test_url_verification_wants_the_decrypted_echo(fake: FakeWeCom, kefu: KefuStub):
    assert await fake.verify_url()
    kefu.crypto = WxCrypto("another-token", fake.encoding_aes_key, fake.corp_id)
    assert not await fake.verify_url(fake.callback_url)


async def test_posting_without_a_callback_url_is_a_mistake():
    with pytest.raises(RuntimeError, match="callback_url"):
        await FakeWeCom().customer_sends(CUSTOMER, "hi")
