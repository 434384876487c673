"""``python -m handoff agents``: teams and capacity given at creation and changed later."""

import io
from collections.abc import Iterator

import pytest
from redis import Redis as SyncRedis

from core.keys import Keys
from handoff.__main__ import main


@pytest.fixture
def cli_redis(redis_url: str, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Iterator[SyncRedis]:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("KEFU_REDIS_PREFIX", keys.prefix)
    client = SyncRedis.from_url(redis_url, decode_responses=True)
    yield client
    client.delete(keys.agents)
    client.close()


def run(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["agents", *argv])


def test_add_with_teams_and_capacity_then_change_them(
    cli_redis: SyncRedis, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    added = run(
        monkeypatch,
        "add",
        "wang",
        "--teams",
        "complaints,after_sale",
        "--capacity",
        "4",
        "--password-stdin",
        stdin="long enough password\n",
    )
    assert added == 0
    assert "wang\tagent\tafter_sale,complaints\t4" in capsys.readouterr().out
    assert run(monkeypatch, "set", "wang", "--capacity", "5", "--teams", "pre_sale") == 0
    assert run(monkeypatch, "list") == 0
    assert "wang\tagent\tpre_sale\t5\twang" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (("set", "wang", "--teams", "sales"), "unknown team sales"),
        (("set", "wang", "--capacity", "0"), "capacity is 1-50"),
        (("set", "nobody", "--capacity", "2"), "no agent nobody"),
    ],
)
def test_bad_teams_capacities_and_names_are_refused(
    cli_redis: SyncRedis,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    error: str,
):
    run(monkeypatch, "add", "wang", "--password-stdin", stdin="long enough password\n")
    assert run(monkeypatch, *argv) != 0
    assert error in capsys.readouterr().err
