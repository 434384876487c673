"""The kefu server's long-lived services, kept under one typed app key."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.rasa_client import RasaClient
from bot.router import Router
from core.settings import Settings
from core.store import ConversationStore
from core.texts import Texts
from handoff.agents import AgentDirectory
from handoff.facts import FactStore
from handoff.live import LiveHub
from handoff.metrics import ServiceMetrics
from handoff.queue import TicketQueue
from orders.client import OrderBackend


@dataclass(frozen=True)
class Services:
    settings: Settings
    redis: Redis
    http: aiohttp.ClientSession
    store: ConversationStore
    queue: TicketQueue
    agents: AgentDirectory
    rasa: RasaClient
    router: Router
    hub: LiveHub
    texts: Texts
    metrics: ServiceMetrics
    orders: OrderBackend
    facts: FactStore


SERVICES = web.AppKey("services", Services)
