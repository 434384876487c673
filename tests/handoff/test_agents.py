import pytest
from redis.asyncio import Redis

from core.keys import Keys
from handoff.agents import AgentDirectory, AgentRole


async def test_agents_log_in_with_their_password_only(redis: Redis, keys: Keys):
    directory = AgentDirectory(redis, keys)
    await directory.add("alice", "correct horse", AgentRole.SUPERVISOR, "小爱")
    agent = await directory.authenticate("alice", "correct horse")
    assert agent is not None and agent.role is AgentRole.SUPERVISOR and agent.display_name == "小爱"
    assert await directory.authenticate("alice", "wrong password") is None
    assert await directory.authenticate("nobody", "correct horse") is None
    stored = await redis.hget(keys.agents, "alice")
    assert "correct horse" not in stored


async def test_sessions_carry_a_csrf_token_and_end_on_logout(redis: Redis, keys: Keys):
    directory = AgentDirectory(redis, keys)
    agent = await directory.add("alice", "correct horse")
    session = await directory.open_session(agent)
    found = await directory.session(session.session_id)
    assert found is not None and found.csrf_token == session.csrf_token
    assert await redis.ttl(keys.session(session.session_id)) > 0
    await directory.close_session(session.session_id)
    assert await directory.session(session.session_id) is None


@pytest.mark.parametrize(
    ("name", "password"), [("a", "long enough"), ("bob", "short"), ("x y", "long enough")]
)
async def test_bad_names_and_short_passwords_are_refused(redis: Redis, keys: Keys, name, password):
    with pytest.raises(ValueError):
        await AgentDirectory(redis, keys).add(name, password)


async def test_agents_have_teams_and_a_capacity_that_can_change(redis: Redis, keys: Keys):
    directory = AgentDirectory(redis, keys)
    plain = await directory.add("alice", "correct horse")
    assert (plain.teams, plain.capacity) == (("pre_sale", "after_sale"), 3)
    assert not plain.sees_all_teams
    boss = await directory.add("sue", "correct horse", AgentRole.SUPERVISOR)
    assert boss.sees_all_teams
    changed = await directory.update("alice", teams=["complaints", "after_sale"], capacity=5)
    assert changed is not None and (changed.teams, changed.capacity) == (
        ("after_sale", "complaints"),
        5,
    )
    assert await directory.get("alice") == changed
    assert await directory.authenticate("alice", "correct horse") == changed, "password kept"
    assert await directory.update("nobody", capacity=2) is None


async def test_accounts_saved_before_teams_existed_get_the_defaults(redis: Redis, keys: Keys):
    old = '{"name": "old", "role": "agent", "display_name": "老王", "password": "x"}'
    await redis.hset(keys.agents, "old", old)
    agent = await AgentDirectory(redis, keys).get("old")
    assert agent is not None and (agent.teams, agent.capacity) == (("pre_sale", "after_sale"), 3)


@pytest.mark.parametrize(("teams", "capacity"), [([], 3), (["sales"], 3), (["pre_sale"], 0)])
async def test_bad_teams_and_capacities_are_refused(redis: Redis, keys: Keys, teams, capacity):
    with pytest.raises(ValueError):
        await AgentDirectory(redis, keys).add(
            "alice", "long enough", teams=teams, capacity=capacity
        )


async def test_online_agents_are_counted_from_one_key_and_their_marks_run_out(
    redis: Redis, keys: Keys
):
    agents = AgentDirectory(redis, keys)
    await redis.set(f"{keys.prefix}:agent:zoe:online", "1")  # an old-style key: not counted
    await agents.mark_online("alice", 60)
    await agents.mark_online("bob", 60)
    assert await agents.online_count() == 2
    assert await agents.is_online("alice") and not await agents.is_online("zoe")
    await redis.zadd(keys.agents_online, {"bob": 1.0})  # bob's mark ran out long ago
    assert await agents.online_count() == 1 and not await agents.is_online("bob")
    assert 0 < await redis.ttl(keys.agents_online) <= 60
