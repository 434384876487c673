"""python -m orders, as a person trying the flows by hand uses it."""

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT
from orders.__main__ import main
from orders.demo_store import DemoOrderStore
from orders.http_backend import HttpOrderBackend
from orders.models import OrderError, OrderStatus


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DemoOrderStore:
    path = tmp_path / "orders.sqlite3"
    monkeypatch.setenv("KEFU_ORDERS_DB", str(path))
    return DemoOrderStore(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_seed_then_list_every_order(demo: DemoOrderStore, capsys):
    assert run(capsys, "seed") == (0, "created\n", "")
    assert run(capsys, "seed") == (0, "already there\n", "")
    _, listing, _ = run(capsys, "list")
    assert len(listing.splitlines()) == 64 and "2025110300030  shipped" in listing
    _, delayed, _ = run(capsys, "list", "--status", "delayed")
    assert len(delayed.splitlines()) == 5


def test_personal_data_is_shown_masked(demo: DemoOrderStore, capsys):
    demo.ensure_seeded()
    order = asyncio.run(demo.get_order("2025110300030"))
    _, shown, _ = run(capsys, "show", order.id)
    assert order.receiver_phone not in shown and order.receiver_phone[-4:] in shown
    assert order.receiver_name not in shown and order.address not in shown
    assert order.tracking_no in shown and order.tracking[-1].description in shown
    _, people, _ = run(capsys, "customers")
    assert len(people.splitlines()) == 25 and "VIP" in people
    assert "****" in people and order.receiver_phone not in people


def test_an_order_is_walked_from_unpaid_to_delivered(demo: DemoOrderStore, capsys):
    steps = [run(capsys, "advance", "2025110300001")[1] for _ in range(4)]
    assert [s.split()[1] for s in steps] == ["paid", "packed", "shipped", "delivered"]
    assert "快递员已揽收" in steps[2] and "已签收" in steps[3]
    order = asyncio.run(demo.get_order("2025110300001"))
    assert order.paid_at and order.shipped_at and order.delivered_at and order.tracking_no
    assert run(capsys, "advance", "2025110300001") == (1, "", "not_allowed: cannot_advance\n")


def test_pay_delay_and_a_new_scan(demo: DemoOrderStore, capsys):
    assert run(capsys, "pay", "2025110300002")[1].split()[1] == "paid"
    assert run(capsys, "pay", "2025110300002")[0] == 1
    assert run(capsys, "delay", "2025110300021")[1].split()[1] == "delayed"
    code, moved, _ = run(capsys, "event", "2025110300021", "上海市", "已到达上海分拨中心")
    assert code == 0 and moved.split()[1] == "shipped" and "已到达上海分拨中心" in moved
    assert run(capsys, "delay", "2025110300038")[0] == 1, "a delivered parcel cannot stall"


def test_returns_refunds_and_follow_ups_are_listed(demo: DemoOrderStore, capsys):
    _, returns, _ = run(capsys, "returns")
    assert len(returns.splitlines()) == 10 and "postage:shop" in returns
    assert run(capsys, "followups")[1] == "no follow-ups\n"
    asyncio.run(demo.urge_delivery("2025110300033", request_id="u"))
    _, tasks, _ = run(capsys, "followups")
    assert "2025110300033  urge_delivery" in tasks and "open" in tasks
    asyncio.run(demo.cancel("2025110300012", request_id="c"))
    _, shown, _ = run(capsys, "show", "2025110300012")
    assert "refund ¥" in shown and "(cancelled)" in shown


def test_a_follow_up_is_marked_done_and_urging_again_opens_a_new_one(demo: DemoOrderStore, capsys):
    demo.ensure_seeded()
    task = asyncio.run(demo.urge_delivery("2025110300033", request_id="u1"))
    assert run(capsys, "followup-done", task.id)[1] == f"{task.id}  2025110300033  done\n"
    _, tasks, _ = run(capsys, "followups")
    assert f"{task.id}  2025110300033  urge_delivery" in tasks and "done" in tasks
    again = asyncio.run(demo.urge_delivery("2025110300033", request_id="u2"))
    assert again.id != task.id and not again.done
    assert run(capsys, "followup-done", "F-nope")[0] == 1


def test_reseed_starts_again(demo: DemoOrderStore, capsys):
    run(capsys, "advance", "2025110300001")
    assert run(capsys, "reseed")[0] == 0
    assert asyncio.run(demo.get_order("2025110300001")).status is OrderStatus.UNPAID


def test_an_unknown_order_is_an_error_message(demo: DemoOrderStore, capsys):
    assert run(capsys, "show", "42") == (1, "", "not_found: no_such_order\n")


async def test_serve_answers_the_http_contract(tmp_path: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "KEFU_ORDERS_DB": str(tmp_path / "orders.sqlite3")}
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "orders",
        "serve",
        "--port",
        str(port),
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    backend = HttpOrderBackend(f"http://127.0.0.1:{port}")
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:
            try:
                order = await backend.get_order("2025110300030")
                break
            except OrderError:
                # Polls until the server is up, never a fixed wait; fails if it died.
                assert server.returncode is None, "serve exited"
                assert loop.time() < deadline, "serve did not start in 30 s"
                await asyncio.sleep(0.1)
        assert order.status is OrderStatus.SHIPPED
    finally:
        await backend.aclose()
        server.terminate()
        await asyncio.wait_for(server.wait(), 10)
