import pytest
from redis.asyncio import Redis

from handoff.agents import AgentDirectory, AgentRole
from handoff.keys import Keys


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
