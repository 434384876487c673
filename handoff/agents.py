"""Agent accounts (scrypt password hashes) and their login sessions, in Redis."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from core.keys import Keys
from handoff.models import TEAMS

SESSION_TTL_SECONDS = 12 * 3600
DEFAULT_CAPACITY = 3  # open conversations an agent works at once
MAX_CAPACITY = 50
# Teams an account gets when none are given: the general lines; complaints and the supervisor
# line are given on purpose.
DEFAULT_TEAMS = {"agent": ("pre_sale", "after_sale"), "supervisor": ("supervisor",)}
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
AGENT_NAME = re.compile(r"^[A-Za-z0-9_.-]{2,32}$")


class AgentRole(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Agent:
    name: str
    role: AgentRole
    display_name: str
    teams: tuple[str, ...] = DEFAULT_TEAMS["agent"]
    capacity: int = DEFAULT_CAPACITY

    @property
    def sees_all_teams(self) -> bool:
        """Supervisors watch every line (overdue tickets come to them from any team)."""
        return self.role is AgentRole.SUPERVISOR or "supervisor" in self.teams


def checked_teams(teams: Iterable[str]) -> tuple[str, ...]:
    """Known team names, each once, in the canonical order; at least one."""
    given = {team.strip() for team in teams if team.strip()}
    unknown = given - set(TEAMS)
    if unknown:
        raise ValueError(f"unknown team {', '.join(sorted(unknown))}: use {', '.join(TEAMS)}")
    if not given:
        raise ValueError(f"an agent needs at least one team of {', '.join(TEAMS)}")
    return tuple(team for team in TEAMS if team in given)


def _checked_capacity(capacity: int) -> int:
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ValueError(f"capacity is 1-{MAX_CAPACITY} open conversations")
    return capacity


@dataclass(frozen=True)
class Session:
    session_id: str
    agent: Agent
    csrf_token: str


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), **_SCRYPT)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


class AgentDirectory:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def add(
        self,
        name: str,
        password: str,
        role: AgentRole = AgentRole.AGENT,
        display_name: str = "",
        *,
        teams: Iterable[str] | None = None,
        capacity: int = DEFAULT_CAPACITY,
    ) -> Agent:
        if not AGENT_NAME.match(name):
            raise ValueError("agent names are 2-32 letters, digits, '.', '_' or '-'")
        if len(password) < 8:
            raise ValueError("passwords need at least 8 characters")
        agent = Agent(
            name=name,
            role=role,
            display_name=display_name or name,
            teams=checked_teams(DEFAULT_TEAMS[role.value] if teams is None else teams),
            capacity=_checked_capacity(capacity),
        )
        record = asdict(agent) | {
            "password": await asyncio.to_thread(hash_password, password),
            "account": secrets.token_hex(8),
        }
        await self._redis.hset(self._keys.agents, name, json.dumps(record, ensure_ascii=False))
        return agent

    async def update(
        self,
        name: str,
        *,
        teams: Iterable[str] | None = None,
        capacity: int | None = None,
        role: AgentRole | None = None,
        display_name: str = "",
    ) -> Agent | None:
        """Change an account's teams, capacity, role or display name, keeping its password; the
        console applies it at the agent's next action, without a new login. None: no such agent."""
        changes: dict[str, object] = {}
        if teams is not None:
            changes["teams"] = checked_teams(teams)
        if capacity is not None:
            changes["capacity"] = _checked_capacity(capacity)
        if role is not None:
            changes["role"] = role
        if display_name:
            changes["display_name"] = display_name

        async def change(pipe: Any) -> Agent | None:
            data = await pipe.hget(self._keys.agents, name)
            if data is None:
                return None
            record = json.loads(data)
            agent = replace(_agent(record), **changes)  # type: ignore[arg-type]
            pipe.multi()
            record |= asdict(agent)
            pipe.hset(self._keys.agents, name, json.dumps(record, ensure_ascii=False))
            return agent

        # WATCH the accounts hash: a concurrent change makes this one retry, never lost.
        return await self._redis.transaction(change, self._keys.agents, value_from_callable=True)

    async def get(self, name: str) -> Agent | None:
        data = await self._redis.hget(self._keys.agents, name)
        return _agent(json.loads(data)) if data is not None else None

    async def remove(self, name: str) -> bool:
        return bool(await self._redis.hdel(self._keys.agents, name))

    async def count(self) -> int:
        return int(await self._redis.hlen(self._keys.agents))

    async def list(self) -> list[Agent]:
        records = await self._redis.hgetall(self._keys.agents)
        return [_agent(json.loads(value)) for _, value in sorted(records.items())]

    async def authenticate(self, name: str, password: str) -> Agent | None:
        data = await self._redis.hget(self._keys.agents, name)
        if data is None:
            # Spend the same time as a real check so names cannot be probed by timing.
            await asyncio.to_thread(lambda: password_matches(password, _dummy_hash()))
            return None
        record = json.loads(data)
        if not await asyncio.to_thread(password_matches, password, record["password"]):
            return None
        return _agent(record)

    async def mark_online(self, name: str, seconds: int) -> None:
        """The agent's console is connected; they count as gone ``seconds`` after the last mark."""
        key = self._keys.agents_online
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {name: time.time() + seconds})
            pipe.expire(key, seconds)
            await pipe.execute()

    async def online_count(self) -> int:
        """Agents online now: one read of one key (marks that ran out are dropped first)."""
        key = self._keys.agents_online
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", time.time())
            pipe.zcard(key)
            _, count = await pipe.execute()
        return int(count)

    async def is_online(self, name: str) -> bool:
        until = await self._redis.zscore(self._keys.agents_online, name)
        return until is not None and float(until) > time.time()

    async def open_session(self, agent: Agent) -> Session:
        data = await self._redis.hget(self._keys.agents, agent.name)
        if data is None:
            raise ValueError(f"no agent {agent.name!r}")
        session = Session(secrets.token_urlsafe(32), agent, secrets.token_urlsafe(24))
        # The account's own id, not only its name: an account removed and made again under the
        # same name does not revive the old account's sessions.
        record = {
            "name": agent.name,
            "account": _account_id(json.loads(data)),
            "csrf_token": session.csrf_token,
        }
        await self._redis.set(
            self._keys.session(session.session_id), json.dumps(record), ex=SESSION_TTL_SECONDS
        )
        return session

    async def session(self, session_id: str) -> Session | None:
        """The session with the account as it is now: None once the account is gone."""
        if not session_id:
            return None
        data = await self._redis.get(self._keys.session(session_id))
        if data is None:
            return None
        record = json.loads(data)
        account = await self._redis.hget(self._keys.agents, str(record.get("name", "")))
        if account is None or _account_id(json.loads(account)) != record.get("account"):
            await self.close_session(session_id)
            return None
        return Session(session_id, _agent(json.loads(account)), record["csrf_token"])

    async def close_session(self, session_id: str) -> None:
        await self._redis.delete(self._keys.session(session_id))


def _account_id(record: dict[str, Any]) -> str:
    # Accounts made before account ids existed are told apart by their password hash.
    return str(record.get("account") or hashlib.sha256(record["password"].encode()).hexdigest())


def _agent(record: dict[str, Any]) -> Agent:
    role = AgentRole(record["role"])
    return Agent(
        record["name"],
        role,
        record["display_name"],
        # Accounts made before teams and capacity existed get the defaults.
        tuple(record.get("teams") or DEFAULT_TEAMS[role.value]),
        int(record.get("capacity") or DEFAULT_CAPACITY),
    )


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(8))
