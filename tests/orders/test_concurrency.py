"""Doubled and simultaneous requests: a change happens once, whoever fires it and how often."""

import asyncio
import threading
from collections import Counter

import pytest

from orders.client import OrderBackend
from orders.demo_store import DemoOrderStore
from orders.models import Order, OrderError, OrderStatus

CALLERS = 20
# Paid and packed orders: each can be cancelled, and is refunded when it is.
CANCELLABLE = ["2025110300007", "2025110300008", "2025110300015", "2025110300016", "2025110300017"]
DELIVERED_IN_WINDOW = ["2025110300038", "2025110300039", "2025110300040"]


def outcome(answer: object) -> str:
    if isinstance(answer, OrderError):
        return answer.reason
    assert isinstance(answer, Order), answer
    return answer.status.value


async def refunds_of(store: DemoOrderStore, order_id: str) -> int:
    return len([r for r in await store.refunds() if r.order_id == order_id])


@pytest.mark.parametrize("order_id", CANCELLABLE)
async def test_one_request_fired_many_times_at_once_cancels_once(
    backend: OrderBackend, store: DemoOrderStore, order_id: str
):
    answers = await asyncio.gather(
        *(backend.cancel(order_id, request_id="the-same") for _ in range(CALLERS))
    )
    assert all(answer == answers[0] for answer in answers)
    assert answers[0].status is OrderStatus.CANCELLED
    assert await refunds_of(store, order_id) == 1


@pytest.mark.parametrize("order_id", CANCELLABLE)
async def test_of_many_requests_at_once_exactly_one_cancels(
    backend: OrderBackend, store: DemoOrderStore, order_id: str
):
    answers = await asyncio.gather(
        *(backend.cancel(order_id, request_id=f"caller-{n}") for n in range(CALLERS)),
        return_exceptions=True,
    )
    assert Counter(map(outcome, answers)) == {"cancelled": 1, "already_cancelled": CALLERS - 1}
    assert await refunds_of(store, order_id) == 1


@pytest.mark.parametrize("order_id", CANCELLABLE)
def test_threads_with_their_own_loops_cancel_exactly_once(store: DemoOrderStore, order_id: str):
    """Other processes and threads share the file: the database, not the loop, serialises."""
    start = threading.Barrier(CALLERS)
    answers: list[object] = [None] * CALLERS

    def caller(n: int) -> None:
        start.wait()
        try:
            answers[n] = asyncio.run(store.cancel(order_id, request_id=f"thread-{n % 2}"))
        except OrderError as error:
            answers[n] = error

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = Counter(map(outcome, answers))
    # Both request ids are answered consistently: one cancelled it, the other was refused.
    assert counts == {"cancelled": 10, "already_cancelled": 10}
    assert len({outcome(a) for a in answers[0::2]}) == len({outcome(a) for a in answers[1::2]}) == 1
    assert asyncio.run(refunds_of(store, order_id)) == 1


@pytest.mark.parametrize("order_id", DELIVERED_IN_WINDOW)
async def test_of_many_return_requests_at_once_exactly_one_is_recorded(
    backend: OrderBackend, store: DemoOrderStore, order_id: str
):
    answers = await asyncio.gather(
        *(
            backend.request_return(
                order_id, kind="return", reason="quality", request_id=f"caller-{n}"
            )
            for n in range(CALLERS)
        ),
        return_exceptions=True,
    )
    refusals = [a.reason for a in answers if isinstance(a, OrderError)]
    assert refusals == ["already_requested"] * (CALLERS - 1)
    assert len([r for r in await store.returns() if r.order_id == order_id]) == 1


async def test_many_urges_at_once_open_one_follow_up(backend: OrderBackend, store: DemoOrderStore):
    answers = await asyncio.gather(
        *(backend.urge_delivery("2025110300033", request_id=f"u{n}") for n in range(CALLERS))
    )
    assert len({a.id for a in answers}) == 1
    assert len(await store.follow_ups()) == 1
