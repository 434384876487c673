"""The kefu server: customer channels, the agent console, health and metrics (aiohttp)."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.availability import ServiceHours
from bot.channels.setup import CHANNELS, add_channels
from bot.queue_watch import QueuePolicy, QueueWatcher
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.reminders import PaymentReminders, ReminderPolicy
from bot.router import Router
from bot.state import SERVICES, Services
from bot.webchat import add_webchat
from core.background import stop_all
from core.keys import Keys
from core.records import ChatMessage, Role
from core.settings import Settings
from core.store import ConversationStore
from core.texts import Texts, console_texts, error_texts
from faq.canned import standard_answers
from faq.knowledge import load_policy
from handoff.access import AgentAudience
from handoff.agents import AgentDirectory, Session
from handoff.console import CONSOLE, ConsoleHooks, ConsoleServices, add_console
from handoff.facts import FactStore
from handoff.live import LiveHub, relay_events
from handoff.login_throttle import LoginThrottle
from handoff.metrics import CONTENT_TYPE, ServiceMetrics
from handoff.models import Ticket
from handoff.queue import TicketQueue
from handoff.sentiment import EmotionModel
from handoff.signals import load_rules
from handoff.supervision import Supervision
from handoff.trajectory import SignalHistory
from orders.client import OrderBackend
from orders.demo_store import DemoOrderStore
from orders.factory import open_backend
from orders.models import OrderError

log = logging.getLogger(__name__)

REDELIVERY_INTERVAL_SECONDS = 2.0
QUEUE_WATCH_INTERVAL_SECONDS = 2.0
# Unpaid orders are looked at every 5 minutes: a reminder minutes late is still on time.
REMINDER_INTERVAL_SECONDS = 300.0
CONTACT_CLOSE_INTERVAL_SECONDS = 60.0
# A scrape reaches one worker: the others' socket counts are this old at most.
SOCKET_COUNT_INTERVAL_SECONDS = 5.0
MAX_BODY_BYTES = 64 * 1024


def create_app(settings: Settings) -> web.Application:
    # Read once, now: the error messages (handoff.webutil.json_error) and what the system
    # writes for the agents (the packet, the duty report, transfer notes).
    error_texts()
    console_texts()
    app = web.Application(
        client_max_size=MAX_BODY_BYTES, middlewares=[errors_as_json, security_headers]
    )
    app.cleanup_ctx.append(_services_ctx(settings))
    app.cleanup_ctx.append(_background_ctx)
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    add_webchat(app)
    add_console(app)
    add_channels(app, settings)
    return app


async def _close_sockets(app: web.Application) -> None:
    """Before the server waits for open requests to end: a live socket would hold it open."""
    await app[SERVICES].hub.close_all()


def _services_ctx(settings: Settings) -> Any:
    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        redis = Redis.from_url(
            settings.effective_redis_url, decode_responses=True, health_check_interval=30
        )
        http = aiohttp.ClientSession()
        keys = Keys(settings.redis_prefix)
        ttl = settings.conversation_ttl_seconds
        store = ConversationStore(redis, keys, ttl)
        metrics = ServiceMetrics()
        queue = TicketQueue(
            redis, keys, ttl, facts_ttl_seconds=settings.facts_ttl_seconds, metrics=metrics
        )
        rasa = RasaClient(http, settings.rasa_urls, settings.rasa_token, settings.rasa_timeout)
        texts, rules, emotion, policy = await asyncio.to_thread(
            lambda: (Texts.load(), load_rules(), EmotionModel.load(), load_policy(settings.faq_dir))
        )
        agents = AgentDirectory(redis, keys)
        facts = FactStore(
            redis,
            keys,
            ttl_seconds=settings.facts_ttl_seconds,
            contact_idle_seconds=settings.contact_idle_minutes * 60,
            metrics=metrics,
        )
        hours = ServiceHours.parse(policy.get("service_hours", "00:00-23:59"))
        router = Router(
            store,
            queue,
            rasa,
            rules,
            texts,
            emotion,
            agents,
            hours,
            SignalHistory(redis, keys, ttl),
            facts,
            metrics,
            lease_seconds=int(2 * settings.rasa_timeout) + 5,
        )
        hub = LiveHub(AgentAudience(agents, queue, store))
        services = Services(
            settings=settings,
            redis=redis,
            http=http,
            store=store,
            queue=queue,
            agents=agents,
            rasa=rasa,
            router=router,
            hub=hub,
            texts=texts,
            metrics=metrics,
            orders=open_backend(settings),
            facts=facts,
        )
        app[SERVICES] = services
        app[CONSOLE] = ConsoleServices(
            agents=services.agents,
            queue=queue,
            store=store,
            hub=hub,
            hooks=_console_hooks(services),
            secure_cookies=settings.kefu_url.startswith("https://"),
            canned=functools.partial(standard_answers, settings.faq_dir),
            supervision=Supervision(redis, keys, queue, ttl),
            throttle=LoginThrottle(redis, keys),
            facts=services.facts,
            first_response_target=settings.first_response_seconds,
            promises=promised_follow_ups(services.orders),
            # The channels open after these services (bot/channels/setup.py).
            reach=lambda conversation_id: app[CHANNELS].reach(conversation_id),
        )
        yield
        await services.orders.aclose()
        await http.close()
        await redis.aclose()

    return services_ctx


def promised_follow_ups(
    orders: OrderBackend,
) -> Callable[[], Awaitable[list[dict[str, Any]]]] | None:
    """The demo store keeps the promised follow-ups; a shop's own system keeps its own."""
    if not isinstance(orders, DemoOrderStore):
        return None
    store = orders

    async def open_follow_ups() -> list[dict[str, Any]]:
        now = datetime.now().isoformat(sep=" ", timespec="seconds")
        return [
            {**asdict(task), "late": task.due_at < now}
            for task in await store.follow_ups()
            if not task.done
        ]

    return open_follow_ups


def _console_hooks(services: Services) -> ConsoleHooks:
    async def on_claimed(ticket: Ticket, session: Session) -> None:
        packet = await services.queue.packet(ticket.id)
        language = str(packet.get("language") or "zh")
        notice = services.texts.get("agent_joined", language, agent=session.agent.display_name)
        await services.store.append(
            ChatMessage(ticket.conversation_id, Role.SYSTEM, notice, time.time())
        )

    async def on_closed(ticket: Ticket) -> None:
        await services.router.hand_back(ticket.conversation_id)

    return ConsoleHooks(on_claimed=on_claimed, on_closed=on_closed)


async def _background_ctx(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    tasks = [
        asyncio.create_task(
            relay_events(services.redis, Keys(services.settings.redis_prefix).events, services.hub)
        ),
        asyncio.create_task(_redeliver_forever(services)),
        asyncio.create_task(_watch_queue_forever(services)),
        asyncio.create_task(_remind_forever(services)),
        asyncio.create_task(_close_contacts_forever(services)),
        asyncio.create_task(_count_sockets_forever(services)),
    ]
    yield
    await stop_all(tasks)


async def _redeliver_forever(services: Services) -> None:
    """Accepted messages nobody answered (Rasa was down, a process died while answering, the
    answer could not be stored) are answered as soon as that can be, at start and after."""
    while True:
        try:
            services.metrics.held_delivered(await services.router.answer_pending())
        except (RasaUnavailable, RedisError) as error:
            log.info("pending messages wait: %s", error)
        except Exception:
            log.exception("answering pending messages failed; trying again")
        await asyncio.sleep(REDELIVERY_INTERVAL_SECONDS)


async def _watch_queue_forever(services: Services) -> None:
    settings = services.settings
    watcher = QueueWatcher(
        services.queue,
        services.agents,
        services.store,
        services.texts,
        services.redis,
        Keys(settings.redis_prefix),
        QueuePolicy(
            first_response_seconds=settings.first_response_seconds,
            minutes_per_ticket=settings.minutes_per_ticket,
        ),
    )
    while True:
        await asyncio.sleep(QUEUE_WATCH_INTERVAL_SECONDS)
        try:
            await watcher.tick()
        except RedisError as error:
            log.info("queue watch paused: %s", error)
        except Exception:
            log.exception("the queue watch failed; trying again")


async def _remind_forever(services: Services) -> None:
    reminders = PaymentReminders(
        services.orders,
        services.store,
        services.redis,
        Keys(services.settings.redis_prefix),
        services.texts,
        ReminderPolicy(),
    )
    while True:
        await asyncio.sleep(REMINDER_INTERVAL_SECONDS)
        try:
            await reminders.tick()
        except (OrderError, RedisError) as error:
            log.info("payment reminders wait: %s", error)
        except Exception:
            log.exception("payment reminders failed; trying again")


async def _close_contacts_forever(services: Services) -> None:
    """Contacts whose customers went quiet are recorded with their outcome (any process may:
    each contact is recorded once)."""
    while True:
        await asyncio.sleep(CONTACT_CLOSE_INTERVAL_SECONDS)
        try:
            await services.facts.close_idle()
        except RedisError as error:
            log.info("closing contacts waits: %s", error)
        except Exception:
            log.exception("closing contacts failed; trying again")


async def _count_sockets_forever(services: Services) -> None:
    while True:
        services.metrics.live_sockets(len(services.hub.all_sockets()))
        await asyncio.sleep(SOCKET_COUNT_INTERVAL_SECONDS)


async def healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    checks = await asyncio.gather(
        _timed(_redis_ok(services.redis)),
        _timed(services.rasa.is_ready()),
        _timed(_all_ok(services.http, [url + "/health" for url in services.settings.action_urls])),
    )
    components = {
        name: check for name, check in zip(("redis", "rasa", "actions"), checks, strict=True)
    }
    healthy = all(c["status"] == "ok" for c in components.values())
    return web.json_response(
        {"status": "ok" if healthy else "degraded", "components": components},
        status=200 if healthy else 503,
    )


async def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    ok = await check
    return {
        "status": "ok" if ok else "down",
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


async def _redis_ok(redis: Redis) -> bool:
    try:
        return bool(await asyncio.wait_for(redis.ping(), 2))
    except (RedisError, OSError, TimeoutError):
        return False


async def _all_ok(http: aiohttp.ClientSession, urls: list[str]) -> bool:
    return all(await asyncio.gather(*(_http_ok(http, url) for url in urls)))


async def _http_ok(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def metrics(request: web.Request) -> web.Response:
    """Prometheus' scrape: every kefu and action server process's counts (handoff/metrics.py)."""
    services = request.app[SERVICES]
    waiting = await services.redis.zcard(Keys(services.settings.redis_prefix).queue)
    services.metrics.live_sockets(len(services.hub.all_sockets()))
    body = services.metrics.exposition(queue_waiting=waiting)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


@web.middleware
async def errors_as_json(request: web.Request, handler: Any) -> web.StreamResponse:
    """No trace ever reaches a client: unexpected failures become a short JSON 500 (or 503)."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except RedisError:
        log.exception("Redis unavailable while serving %s", request.path)
        return _error_response(503, "storage_unavailable")
    except Exception:
        log.exception("failed serving %s", request.path)
        return _error_response(500, "internal")


def _error_response(status: int, code: str) -> web.Response:
    return web.json_response({"error": code, "message": error_texts().both(code)}, status=status)


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; object-src 'none'",
    )
    if request.path.startswith("/agent"):
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response
