"""python -m tools.bench.channels (make bench-channels): messaging-app customers against the
whole system, with WeChat and Telegram faked on 127.0.0.1 (tools/fakes).

Starts ``python -m bot run`` on free ports (embedded Redis, Rasa, actions) and, beside it, a kefu
server of this benchmark's own configured for the fakes (on the system's Redis and Rasa), then
has customers write at once and prints, per platform:

* the platform's request to kefu's acknowledgement (p50 / p95): must stay far below WeChat's
  5-second limit, because kefu answers before the bot has;
* the customer's message to the reply delivered at the platform's API (p50 / p95);
* messages sent, answered, lost (no answer within 2 minutes) and delivered twice.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from bot.server import create_app
from core.settings import Settings
from tools.fakes.telegram import FakeTelegram
from tools.fakes.wechat import FakeWeChat
from tools.launch import LaunchedSystem, free_port, launch

QUESTIONS = ["你好", "什么时候发货", "包邮吗", "可以开发票吗", "发什么快递"]
REPLY_TIMEOUT = 120.0


@dataclass
class Run:
    acks: list[float] = field(default_factory=list)
    replies: list[float] = field(default_factory=list)
    sent: int = 0
    lost: int = 0
    twice: int = 0  # the same message delivered to the same customer again


def kefu_settings(system: LaunchedSystem, var_dir: Path) -> Settings:
    return Settings(
        port=free_port(),
        redis_url=system.redis_url,
        rasa_port=system.ports["rasa"],
        action_port=system.ports["actions"],
        var_dir=var_dir,
        secret="bench-secret",
        rasa_token=system.rasa_token,
    )


async def _serve(settings: Settings) -> TestServer:
    server = TestServer(create_app(settings), host="127.0.0.1", port=settings.port)
    await server.start_server()
    return server


async def _until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll the fake's records (it has no events to wait on) until ``condition`` holds."""
    deadline = time.perf_counter() + timeout
    while True:
        if condition():
            return True
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.005)


async def _conversation(
    run: Run,
    ask: Callable[[str], Awaitable[None]],
    answers: Callable[[], int],
) -> None:
    """One customer: each question once its answer came (customers wait for the answer)."""
    for question in QUESTIONS:
        before = answers()
        started = time.perf_counter()
        await ask(question)
        run.acks.append((time.perf_counter() - started) * 1000)
        run.sent += 1

        def answered(before: int = before) -> bool:
            return answers() > before

        if not await _until(answered, REPLY_TIMEOUT):
            run.lost += 1
            continue
        run.replies.append((time.perf_counter() - started) * 1000)


async def bench_wechat(system: LaunchedSystem, var_dir: Path, customers: int) -> Run:
    wechat = FakeWeChat()
    run = Run()
    async with wechat.serve() as api:
        server = await _serve(
            dataclasses.replace(
                kefu_settings(system, var_dir),
                wechat_token=wechat.token,
                wechat_app_id=wechat.appid,
                wechat_app_secret=wechat.secret,
                wechat_aes_key=wechat.encoding_aes_key,
                wechat_api_url=api,
            )
        )
        wechat.callback_url = str(server.make_url("/channels/wechat"))
        try:

            def customer(n: int) -> Awaitable[None]:
                openid = f"oBench{n:06d}"

                async def ask(text: str) -> None:
                    await wechat.send_text(openid, text, encrypted=True)

                return _conversation(
                    run, ask, lambda: sum(d.touser == openid for d in wechat.deliveries)
                )

            await asyncio.gather(*(customer(n) for n in range(customers)))
        finally:
            await server.close()
    seen = [(d.touser, d.content) for d in wechat.deliveries]
    run.twice = len(seen) - len(set(seen))
    return run


async def bench_telegram(system: LaunchedSystem, var_dir: Path, customers: int) -> Run:
    telegram = FakeTelegram()
    run = Run()
    async with telegram.serve() as api:
        base = kefu_settings(system, var_dir)
        server = await _serve(
            dataclasses.replace(
                base,
                public_url=f"http://127.0.0.1:{base.port}",
                telegram_bot_token=telegram.token,
                telegram_api_url=api,
                telegram_mode="webhook",
            )
        )
        try:

            def customer(n: int) -> Awaitable[None]:
                chat = 900_000 + n

                async def ask(text: str) -> None:
                    update = telegram.user_sends(chat, text)

                    def acknowledged() -> bool:
                        return any(
                            a.update_id == update["update_id"] and a.status == 200
                            for a in telegram.webhook_attempts
                        )

                    if not await _until(acknowledged, REPLY_TIMEOUT):
                        raise TimeoutError("Telegram's webhook delivery was never acknowledged")

                return _conversation(run, ask, lambda: len(telegram.sent_to(chat)))

            await asyncio.gather(*(customer(n) for n in range(customers)))
        finally:
            await server.close()
    seen = [(m.chat_id, m.text) for sent in telegram.sent.values() for m in sent]
    run.twice = len(seen) - len(set(seen))
    return run


async def warm_up(system: LaunchedSystem) -> None:
    """Rasa's first turns are slow (its graph warms up): not what a platform customer sees."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{system.url}/api/chat/session") as response:
            conversation = await response.json()
        for question in QUESTIONS:
            body = {**conversation, "text": question}
            async with http.post(f"{system.url}/api/chat/messages", json=body) as response:
                response.raise_for_status()


def _summary(values: list[float]) -> str:
    if len(values) < 2:
        return "no samples"
    p95 = statistics.quantiles(values, n=20)[18]
    return f"p50 {statistics.median(values):7.1f} ms  p95 {p95:7.1f} ms  ({len(values)} samples)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.channels", description=__doc__)
    parser.add_argument("--customers", type=int, default=10, help="customers at once (default 10)")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="kefu-bench-channels-"))
    system = launch(scratch / "system")
    try:
        system.wait_until_up(timeout=300)
        asyncio.run(warm_up(system))
        for name, bench in (
            ("WeChat (encrypted)", bench_wechat),
            ("Telegram (webhook)", bench_telegram),
        ):
            run = asyncio.run(bench(system, scratch / name.split()[0].lower(), args.customers))
            print(f"== {name}: {args.customers} customers x {len(QUESTIONS)} messages")
            print(f"  platform request to acknowledgement : {_summary(run.acks)}")
            print(f"  message to reply at the platform    : {_summary(run.replies)}")
            print(
                f"  sent {run.sent}, answered {len(run.replies)}, lost {run.lost}, twice {run.twice}"
            )
    finally:
        system.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
