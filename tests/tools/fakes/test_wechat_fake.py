"""The fake WeChat platform over real HTTP on 127.0.0.1: its token rules, quotas and errors as
a client sees them, and its pushes as a callback server that checks every signature sees
them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

from bot.channels.wxcrypto import WxCrypto, WxCryptoError
from bot.channels.wxxml import WxInbound, WxXmlError, build_xml, parse_xml
from tools.fakes.wechat import FakeWeChat
from tools.launch import free_port

START = 1_700_000_000.0
HOUR = 3600.0
Answer = Callable[[WxInbound, bool], web.Response]


class KefuStub:
    """A callback endpoint doing what kefu's adapter must: it checks the signature (and, for
    encrypted pushes, the message signature), decrypts, parses, records, then answers with
    ``answer``. The first ``hold`` posts wait on ``gate`` (a server too slow for WeChat)."""

    def __init__(self, fake: FakeWeChat) -> None:
        self.crypto = WxCrypto(fake.token, fake.encoding_aes_key, fake.appid)
        self.received: list[WxInbound] = []
        self.bodies: list[bytes] = []
        self.hold = 0
        self.gate = asyncio.Event()
        self.answer: Answer = lambda _inbound, _encrypted: web.Response(text="success")

    async def push(self, request: web.Request) -> web.Response:
        query = request.query
        body = await request.read()
        self.bodies.append(body)
        try:
            self.crypto.check_signature(query["signature"], query["timestamp"], query["nonce"])
            encrypted = query.get("encrypt_type") == "aes"
            xml = (
                self.crypto.decrypt_envelope(
                    body, query["msg_signature"], query["timestamp"], query["nonce"]
                )
                if encrypted
                else body.decode("utf-8")
            )
            inbound = WxInbound.from_fields(parse_xml(xml, max_bytes=64 * 1024))
        except (KeyError, WxCryptoError, WxXmlError) as error:
            return web.Response(status=403, text=str(error))
        assert query["openid"] == inbound.from_user
        self.received.append(inbound)
        if len(self.received) <= self.hold:
            await self.gate.wait()
        return self.answer(inbound, encrypted)

    async def verify(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            self.crypto.check_signature(query["signature"], query["timestamp"], query["nonce"])
        except WxCryptoError:
            return web.Response(status=403)
        return web.Response(text=query["echostr"])

    def text_reply(self, content: str) -> Answer:
        """Answers each push with a passive text reply (encrypted when the push was)."""

        def answer(inbound: WxInbound, encrypted: bool) -> web.Response:
            xml = build_xml(
                {
                    "ToUserName": inbound.from_user,
                    "FromUserName": inbound.to_user,
                    "CreateTime": inbound.create_time,
                    "MsgType": "text",
                    "Content": content,
                }
            )
            if encrypted:
                xml = self.crypto.encrypt_reply(xml, "20240101", inbound.create_time)
            return web.Response(text=xml, content_type="application/xml")

        return answer


@pytest.fixture
def fake() -> FakeWeChat:
    return FakeWeChat(clock=lambda: START, callback_timeout=0.5)


@pytest.fixture
async def kefu(aiohttp_server, fake: FakeWeChat) -> AsyncIterator[KefuStub]:
    stub = KefuStub(fake)
    app = web.Application()
    app.router.add_post("/wechat", stub.push)
    app.router.add_get("/wechat", stub.verify)
    server = await aiohttp_server(app)
    fake.callback_url = str(server.make_url("/wechat"))
    yield stub
    stub.gate.set()  # let held handlers finish before the server closes


@pytest.fixture
async def api(fake: FakeWeChat) -> AsyncIterator[Api]:
    async with fake.serve() as base_url, aiohttp.ClientSession() as session:
        yield Api(fake, session, base_url)


class Api:
    """kefu's side of the API, as plain HTTP calls."""

    def __init__(self, fake: FakeWeChat, session: aiohttp.ClientSession, base_url: str) -> None:
        self.fake = fake
        self.session = session
        self.base_url = base_url

    async def token(self, **overrides: str) -> dict:
        query = {
            "grant_type": "client_credential",
            "appid": self.fake.appid,
            "secret": self.fake.secret,
            **overrides,
        }
        async with self.session.get(f"{self.base_url}/cgi-bin/token", params=query) as response:
            return await response.json(content_type=None)

    async def stable_token(self, force_refresh: bool | None = None, **overrides: str) -> dict:
        body: dict = {
            "grant_type": "client_credential",
            "appid": self.fake.appid,
            "secret": self.fake.secret,
            **overrides,
        }
        if force_refresh is not None:
            body["force_refresh"] = force_refresh
        async with self.session.post(f"{self.base_url}/cgi-bin/stable_token", json=body) as r:
            return await r.json(content_type=None)

    async def send(self, access_token: str | None, body: dict | bytes, **client) -> dict:
        params = {} if access_token is None else {"access_token": access_token}
        data = body if isinstance(body, bytes) else None
        payload = None if isinstance(body, bytes) else body
        async with self.session.post(
            f"{self.base_url}/cgi-bin/message/custom/send",
            params=params,
            json=payload,
            data=data,
            **client,
        ) as response:
            return await response.json(content_type=None)

    async def send_text(self, access_token: str, touser: str, content: str) -> dict:
        return await self.send(
            access_token, {"touser": touser, "msgtype": "text", "text": {"content": content}}
        )


def errcode(answer: dict) -> int:
    return int(answer.get("errcode", 0))


# -- tokens --------------------------------------------------------------------------------


async def test_both_token_endpoints_issue_two_hour_tokens(api: Api):
    plain = await api.token()
    stable = await api.stable_token()
    assert plain["expires_in"] == stable["expires_in"] == 7200
    assert plain["access_token"] != stable["access_token"]
    assert len(plain["access_token"]) > 100
    assert api.fake.calls["/cgi-bin/token"] == 1
    assert api.fake.calls["/cgi-bin/stable_token"] == 1
    assert api.fake.token_calls == 2


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"secret": "wrong"}, 40125),
        ({"secret": ""}, 41004),
        ({"appid": "wx0000000000000000"}, 40013),
        ({"appid": ""}, 41002),
        ({"grant_type": "password"}, 40002),
    ],
)
async def test_wrong_credentials_get_wechats_codes(api: Api, overrides, code):
    for answer in (await api.token(**overrides), await api.stable_token(**overrides)):
        assert errcode(answer) == code
        assert "rid: " in answer["errmsg"]
        assert "access_token" not in answer
    assert api.fake.token_calls == 2


async def test_stable_token_stays_the_same_until_forced(api: Api):
    first = (await api.stable_token())["access_token"]
    api.fake.advance(HOUR)
    again = await api.stable_token(force_refresh=False)
    assert again == {"access_token": first, "expires_in": 3600}
    forced = (await api.stable_token(force_refresh=True))["access_token"]
    assert forced != first
    assert errcode(await api.send_text(first, "o_nobody", "x")) == 40001
    assert errcode(await api.stable_token(force_refresh=True)) == 45011  # within 30 s
    api.fake.advance(31)
    assert (await api.stable_token(force_refresh=True))["access_token"] not in (first, forced)


async def test_stable_token_force_refresh_is_limited_to_20_a_day(api: Api):
    for _ in range(20):
        assert "access_token" in await api.stable_token(force_refresh=True)
        api.fake.advance(31)
    assert errcode(await api.stable_token(force_refresh=True)) == 45009
    api.fake.advance(24 * HOUR)
    assert "access_token" in await api.stable_token(force_refresh=True)


async def test_stable_token_renews_in_its_last_five_minutes(api: Api, kefu: KefuStub):
    await api.fake.send_text("o_customer", "在吗")
    first = (await api.stable_token())["access_token"]
    api.fake.advance(7200 - 299)
    renewed = await api.stable_token()
    assert renewed["access_token"] != first
    assert errcode(await api.send_text(first, "o_customer", "旧的还能用")) == 0
    api.fake.advance(299)
    assert errcode(await api.send_text(first, "o_customer", "过期了")) == 42001
    assert errcode(await api.send_text(renewed["access_token"], "o_customer", "新的")) == 0


async def test_a_new_plain_token_leaves_the_old_one_five_minutes(api: Api, kefu: KefuStub):
    await api.fake.send_text("o_customer", "在吗")
    old = (await api.token())["access_token"]
    new = (await api.token())["access_token"]
    assert old != new
    api.fake.advance(299)
    assert errcode(await api.send_text(old, "o_customer", "1")) == 0
    api.fake.advance(1)
    assert errcode(await api.send_text(old, "o_customer", "2")) == 40001
    assert errcode(await api.send_text(new, "o_customer", "3")) == 0


async def test_tokens_expire_after_two_hours(api: Api, kefu: KefuStub):
    await api.fake.send_text("o_customer", "在吗")
    access_token = (await api.token())["access_token"]
    api.fake.advance(7199)
    assert errcode(await api.send_text(access_token, "o_customer", "1")) == 0
    api.fake.advance(1)
    assert errcode(await api.send_text(access_token, "o_customer", "2")) == 42001


@pytest.mark.parametrize("code", [42001, 40001])
async def test_expire_tokens_kills_them_early_and_the_next_request_gets_a_new_one(
    api: Api, kefu: KefuStub, code
):
    await api.fake.send_text("o_customer", "在吗")
    old = (await api.stable_token())["access_token"]
    api.fake.expire_tokens(code)
    assert errcode(await api.send_text(old, "o_customer", "x")) == code
    new = (await api.stable_token())["access_token"]
    assert new != old
    assert errcode(await api.send_text(new, "o_customer", "x")) == 0


async def test_a_missing_or_unknown_token_is_refused(api: Api):
    assert errcode(await api.send_text("", "o_x", "x")) == 41001
    assert errcode(await api.send(None, {"touser": "o_x"})) == 41001
    assert errcode(await api.send_text("87_made_up", "o_x", "x")) == 40014


# -- custom messages and their quota -------------------------------------------------------


async def test_five_messages_per_customer_message_within_48_hours(api: Api, kefu: KefuStub):
    token = (await api.stable_token())["access_token"]
    assert errcode(await api.send_text(token, "o_customer", "还没来过")) == 40003
    await api.fake.send_text("o_customer", "我的快递到哪了")
    for n in range(5):
        assert await api.send_text(token, "o_customer", f"回复{n}") == {
            "errcode": 0,
            "errmsg": "ok",
        }
    assert errcode(await api.send_text(token, "o_customer", "第六条")) == 45047
    await api.fake.send_text("o_customer", "还在吗")  # a new message: a new allowance
    assert errcode(await api.send_text(token, "o_customer", "在的")) == 0
    api.fake.advance(48 * HOUR)
    token = (await api.stable_token())["access_token"]
    assert errcode(await api.send_text(token, "o_customer", "太晚了")) == 45015
    assert [d.content for d in api.fake.deliveries] == [*(f"回复{n}" for n in range(5)), "在的"]
    assert {(d.touser, d.msgtype, d.via, d.time) for d in api.fake.deliveries[:5]} == {
        ("o_customer", "text", "custom", START)
    }


async def test_events_allow_three_messages_within_a_minute(api: Api, kefu: KefuStub):
    token = (await api.stable_token())["access_token"]
    await api.fake.send_event("o_new", "subscribe")
    for _ in range(3):
        assert errcode(await api.send_text(token, "o_new", "欢迎")) == 0
    assert errcode(await api.send_text(token, "o_new", "欢迎")) == 45047
    await api.fake.send_event("o_new", "CLICK", "ORDER_STATUS")
    assert errcode(await api.send_text(token, "o_new", "订单")) == 0
    api.fake.advance(60)
    assert errcode(await api.send_text(token, "o_new", "晚了")) == 45015
    await api.fake.send_event("o_new", "VIEW", "https://example.com/")  # opens nothing
    assert errcode(await api.send_text(token, "o_new", "还是晚了")) == 45015


async def test_an_unsubscribed_customer_gets_nothing(api: Api, kefu: KefuStub):
    token = (await api.stable_token())["access_token"]
    await api.fake.send_text("o_customer", "再见")
    await api.fake.send_event("o_customer", "unsubscribe")
    assert errcode(await api.send_text(token, "o_customer", "别走")) == 45015


async def test_text_is_limited_to_2048_bytes(api: Api, kefu: KefuStub):
    token = (await api.stable_token())["access_token"]
    await api.fake.send_text("o_customer", "发长文")
    exactly = "退" * 682 + "ab"  # 2046 + 2 bytes
    assert errcode(await api.send_text(token, "o_customer", exactly)) == 0
    assert errcode(await api.send_text(token, "o_customer", exactly + "c")) == 45002
    assert errcode(await api.send_text(token, "o_customer", " ")) == 44004
    assert [d.content for d in api.fake.deliveries] == [exactly]


async def test_a_msgmenu_is_delivered_with_its_options(api: Api, kefu: KefuStub):
    token = (await api.stable_token())["access_token"]
    await api.fake.send_text("o_customer", "评价")
    menu = {
        "head_content": "您对本次服务是否满意呢？",
        "list": [{"id": "101", "content": "满意"}, {"id": "102", "content": "不满意"}],
        "tail_content": "欢迎再次光临",
    }
    body = {"touser": "o_customer", "msgtype": "msgmenu", "msgmenu": menu}
    assert errcode(await api.send(token, body)) == 0
    (delivered,) = api.fake.deliveries
    assert (delivered.msgtype, delivered.content, delivered.tail_content) == (
        "msgmenu",
        "您对本次服务是否满意呢？",
        "欢迎再次光临",
    )
    assert delivered.menu == (("101", "满意"), ("102", "不满意"))
    # The customer taps an option: WeChat sends it back as a text with its id.
    await api.fake.send_text("o_customer", "满意", menu_id="101")
    assert (kefu.received[-1].content, kefu.received[-1].menu_id) == ("满意", "101")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", 44002),
        (b"{not json", 47001),
        (b"[1, 2]", 47001),
        ({"touser": "o_customer", "msgtype": "image", "image": {"media_id": "m"}}, 40008),
        ({"touser": "o_customer", "msgtype": "text", "text": "hi"}, 47001),
        ({"touser": "o_customer", "msgtype": "text", "text": {}}, 47001),
        ({"touser": "o_customer", "msgtype": "msgmenu", "msgmenu": {"list": []}}, 47001),
        (
            {
                "touser": "o_customer",
                "msgtype": "msgmenu",
                "msgmenu": {"list": [{"id": "1", "content": "x" * 2049}]},
            },
            45002,
        ),
        ({"touser": "o_stranger", "msgtype": "text", "text": {"content": "hi"}}, 40003),
    ],
)
async def test_bad_requests_get_wechats_codes(api: Api, kefu: KefuStub, body, code):
    token = (await api.stable_token())["access_token"]
    await api.fake.send_text("o_customer", "你好")
    assert errcode(await api.send(token, body)) == code
    assert api.fake.deliveries == []


async def test_get_is_refused_where_wechat_wants_post(api: Api):
    for path in ("/cgi-bin/stable_token", "/cgi-bin/message/custom/send"):
        async with api.session.get(f"{api.base_url}{path}") as response:
            assert errcode(await response.json(content_type=None)) == 43002


# -- injected failures ---------------------------------------------------------------------


async def test_injected_failures_hit_the_next_calls_then_stop(api: Api, kefu: KefuStub):
    await api.fake.send_text("o_customer", "在吗")
    api.fake.fail_next(1, "http500")
    api.fake.fail_next(1, "busy")
    async with api.session.get(f"{api.base_url}/cgi-bin/token", params={}) as response:
        assert response.status == 500
    busy = await api.stable_token()
    assert busy["errcode"] == -1 and busy["errmsg"].startswith("system error")
    token = (await api.stable_token())["access_token"]
    assert errcode(await api.send_text(token, "o_customer", "好了")) == 0
    assert api.fake.token_calls == 3


async def test_failures_can_target_one_endpoint(api: Api, kefu: KefuStub):
    await api.fake.send_text("o_customer", "在吗")
    api.fake.fail_next(2, "busy", endpoint="send")
    token = (await api.stable_token())["access_token"]  # not affected
    assert errcode(await api.send_text(token, "o_customer", "1")) == -1
    assert errcode(await api.send_text(token, "o_customer", "2")) == -1
    assert errcode(await api.send_text(token, "o_customer", "3")) == 0
    assert [d.content for d in api.fake.deliveries] == ["3"]


async def test_a_hang_outlasts_the_clients_timeout(api: Api, kefu: KefuStub):
    await api.fake.send_text("o_customer", "在吗")
    token = (await api.stable_token())["access_token"]
    api.fake.fail_next(1, "hang", endpoint="send")
    with pytest.raises(TimeoutError):
        await api.send(
            token,
            {"touser": "o_customer", "msgtype": "text", "text": {"content": "x"}},
            timeout=aiohttp.ClientTimeout(total=0.3),
        )
    assert errcode(await api.send_text(token, "o_customer", "再试")) == 0
    assert [d.content for d in api.fake.deliveries] == ["再试"]


# -- pushes to the callback URL ------------------------------------------------------------


async def test_a_plaintext_push_is_signed_and_acknowledged(fake: FakeWeChat, kefu: KefuStub):
    push = await fake.send_text("o_customer", "  我要退货  ")
    (inbound,) = kefu.received
    assert (inbound.to_user, inbound.from_user, inbound.msg_type) == (
        fake.account,
        "o_customer",
        "text",
    )
    assert inbound.content == "  我要退货  "
    assert inbound.create_time == int(START)
    assert inbound.msg_id == push.msg_id
    assert push.outcome == "ack"
    assert [(a.status, a.body) for a in push.attempts] == [(200, "success")]
    second = await fake.send_text("o_customer", "快点")
    assert int(second.msg_id) > int(push.msg_id)


async def test_an_encrypted_push_decrypts_with_the_accounts_key(fake: FakeWeChat, kefu: KefuStub):
    push = await fake.send_text("o_customer", "加密的消息 ]]>", encrypted=True)
    assert push.encrypted and push.outcome == "ack"
    assert kefu.received[0].content == "加密的消息 ]]>"
    (body,) = kefu.bodies
    assert set(parse_xml(body, max_bytes=4096)) == {"ToUserName", "Encrypt"}
    assert "加密的消息".encode() not in body


async def test_an_empty_answer_is_an_acknowledgement(fake: FakeWeChat, kefu: KefuStub):
    kefu.answer = lambda _i, _e: web.Response(text="")
    assert (await fake.send_event("o_customer", "subscribe")).outcome == "ack"
    assert kefu.received[0].event == "subscribe"
    assert kefu.received[0].dedupe_key == f"event:o_customer:{int(START)}:subscribe"


@pytest.mark.parametrize("encrypted", [False, True])
async def test_a_passive_reply_reaches_the_customer(fake: FakeWeChat, kefu: KefuStub, encrypted):
    kefu.answer = kefu.text_reply("您好，请问有什么可以帮您？")
    push = await fake.send_text("o_customer", "你好", encrypted=encrypted)
    assert push.outcome == "reply", push.problem
    assert push.reply is not None and push.reply["Content"] == "您好，请问有什么可以帮您？"
    (delivered,) = fake.deliveries
    assert (delivered.touser, delivered.via, delivered.content) == (
        "o_customer",
        "passive",
        "您好，请问有什么可以帮您？",
    )


@pytest.mark.parametrize(
    ("answer", "encrypted", "problem"),
    [
        (lambda _i, _e: web.Response(status=500, text="oops"), False, "HTTP 500"),
        (lambda _i, _e: web.Response(text="ok"), False, "not well-formed"),
        (lambda _i, _e: web.Response(text="SUCCESS"), False, "not well-formed"),
        (
            lambda i, _e: web.Response(
                text=build_xml(
                    {"ToUserName": "o_other", "FromUserName": i.to_user, "CreateTime": 1}
                    | {"MsgType": "text", "Content": "hi"}
                )
            ),
            False,
            "is not the customer",
        ),
        (
            lambda i, _e: web.Response(
                text=build_xml(
                    {"ToUserName": i.from_user, "FromUserName": i.to_user, "CreateTime": 1}
                    | {"MsgType": "text", "Content": "hi"}
                )
            ),
            True,
            "a plaintext reply to an encrypted push",
        ),
    ],
)
async def test_answers_wechat_would_not_accept(fake, kefu, answer, encrypted, problem):
    kefu.answer = answer
    push = await fake.send_text("o_customer", "你好", encrypted=encrypted)
    assert push.outcome == "invalid"
    assert problem in push.problem
    assert len(push.attempts) == 1  # an answer, even a wrong one, is not retried
    assert fake.deliveries == []


async def test_a_forged_encrypted_reply_is_refused(fake: FakeWeChat, kefu: KefuStub):
    honest = kefu.text_reply("hi")

    def forged(inbound: WxInbound, encrypted: bool) -> web.Response:
        text = honest(inbound, encrypted).text or ""
        return web.Response(
            text=text.replace("<MsgSignature><![CDATA[", "<MsgSignature><![CDATA[0")
        )

    kefu.answer = forged
    push = await fake.send_text("o_customer", "你好", encrypted=True)
    assert (push.outcome, push.problem) == ("invalid", "-40001: msg_signature does not match")


async def test_a_slow_server_gets_up_to_three_attempts_with_the_same_message(
    fake: FakeWeChat, kefu: KefuStub
):
    kefu.hold = 2
    push = await fake.send_text("o_customer", "在吗")
    assert [a.error for a in push.attempts] == ["timeout", "timeout", ""]
    assert push.attempts[-1].status == 200 and push.outcome == "ack"
    # Every attempt carried the same message, so kefu can tell the retries apart.
    assert [i.dedupe_key for i in kefu.received] == [f"msg:{push.msg_id}"] * 3


async def test_a_server_that_never_answers_in_time_gets_three_attempts(
    fake: FakeWeChat, kefu: KefuStub
):
    kefu.hold = 3
    push = await fake.send_event("o_customer", "CLICK", "HUMAN")
    assert [a.error for a in push.attempts] == ["timeout"] * 3
    assert push.outcome == "no_answer"


async def test_an_unreachable_server_is_recorded(fake: FakeWeChat):
    fake.callback_url = f"http://127.0.0.1:{free_port()}/wechat"
    push = await fake.send_text("o_customer", "有人吗")
    assert push.outcome == "no_answer"
    assert len(push.attempts) == 3
    assert all(a.status is None and "Connect" in a.error for a in push.attempts)
    assert fake.pushes == [push]


async def test_url_verification_echoes_only_with_the_right_token(fake: FakeWeChat, kefu: KefuStub):
    assert await fake.verify_url()
    kefu.crypto = WxCrypto("another-token", None, fake.appid)
    assert not await fake.verify_url(fake.callback_url)


async def test_pushing_without_a_callback_url_is_a_mistake():
    with pytest.raises(RuntimeError, match="callback_url"):
        await FakeWeChat().send_text("o_customer", "hi")
