"""The service's Prometheus metrics (``GET /metrics``, prometheus_client), counted where things
happen: customer messages and reply times in the kefu server's router, hand-overs, claims, first
responses and finished contacts where their facts are recorded (handoff/facts.py), in whichever
process records them, kefu server or action server.

Several processes: ``python -m bot run`` gives every kefu worker and action server
``PROMETHEUS_MULTIPROC_DIR`` (a directory it empties at each start), so prometheus_client keeps
each process's values in files there, and a scrape, whichever worker it reaches, adds up every
process's (``MultiProcessCollector``). Without the variable (a test's app, ``python -m bot
serve`` alone) the values live in this instance's own registry. The variable must be in the
environment before prometheus_client is imported, which a child's environment is; in that mode
a process has one ``ServiceMetrics`` (two would write the same entries of the same files).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

from core.facts import ContactFact, TicketFact

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# kefu's own channels. A REST caller may name its channel as it likes: each name a series of
# its own would let any client grow every process's metrics without end, so those count as
# "other".
CHANNEL_LABELS = frozenset({"rest", "web", "wechat", "wecom", "telegram"})
OTHER_CHANNEL = "other"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# A reply normally takes a Rasa turn (tens of milliseconds to a few seconds); a message kept
# while Rasa was down is answered by the recovery loop, minutes later.
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)
RASA_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
# People: seconds to an hour, with the shop's 30 s first-response target as a bucket edge.
HUMAN_BUCKETS = (5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)


class ServiceMetrics:
    """The metrics of one process, registered in ``registry`` (a new one when not given)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._multiprocess_dir = os.environ.get(MULTIPROCESS_ENV) or None
        counter, histogram = self._counter, self._histogram
        self._messages = counter("kefu_customer_messages", "Customer messages accepted", "channel")
        self._held_delivered = counter(
            "kefu_held_messages_delivered",
            "Conversations whose kept messages the recovery loop answered",
        )
        self._contacts = counter("kefu_contacts", "Finished contacts", "outcome")
        self._handoffs = counter("kefu_handoffs", "Tickets opened, by the rule that did", "rule")
        self._reply = histogram(
            "kefu_reply_latency_seconds",
            "Customer message accepted to the bot's answer stored",
            REPLY_BUCKETS,
        )
        self._rasa = histogram(
            "kefu_rasa_latency_seconds", "One answered call of Rasa's webhook", RASA_BUCKETS
        )
        self._claim = histogram(
            "kefu_handoff_claim_seconds",
            "Ticket opened to claimed by an agent (each claim)",
            HUMAN_BUCKETS,
        )
        self._first_response = histogram(
            "kefu_first_response_seconds",
            "Ticket opened to an agent's first message to the customer",
            HUMAN_BUCKETS,
        )
        # Each process's own sockets, summed over the live processes.
        self._sockets = Gauge(
            "kefu_live_sockets",
            "Open websockets (customers' chats and agents' consoles)",
            multiprocess_mode="livesum",
            registry=self.registry,
        )

    def _counter(self, name: str, documentation: str, *labels: str) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def _histogram(self, name: str, documentation: str, buckets: tuple[float, ...]) -> Histogram:
        return Histogram(name, documentation, buckets=buckets, registry=self.registry)

    # ---- what happened ---------------------------------------------------------------------

    def customer_message(self, channel: str) -> None:
        self._messages.labels(channel=channel if channel in CHANNEL_LABELS else OTHER_CHANNEL).inc()

    def held_delivered(self, conversations: int) -> None:
        self._held_delivered.inc(conversations)

    def reply(self, seconds: float) -> None:
        self._reply.observe(seconds)

    def rasa_call(self, seconds: float) -> None:
        self._rasa.observe(seconds)

    def live_sockets(self, count: int) -> None:
        self._sockets.set(count)

    def contact_closed(self, contact: ContactFact) -> None:
        self._contacts.labels(outcome=contact.outcome).inc()

    def ticket_recorded(
        self, before: TicketFact | None, ticket: TicketFact, *, opened: bool
    ) -> None:
        """A ticket changed (``before``: its fact until now): what this change was."""
        if opened:
            self._handoffs.labels(rule=ticket.rule or "unknown").inc()
        claimed = ticket.wait_seconds
        if claimed is not None and not (before and before.claimed_at):
            self._claim.observe(claimed)
        answered = ticket.first_response_seconds
        if answered is not None and not (before and before.first_response_at):
            self._first_response.observe(answered)

    # ---- scraping --------------------------------------------------------------------------

    def exposition(self, *, queue_waiting: int) -> bytes:
        """The text a scrape gets (``CONTENT_TYPE``): every process's values in multiprocess
        mode, else this registry's; and ``queue_waiting``, read from Redis for this scrape."""
        counted: Collector = (
            MultiProcessCollector(None, path=self._multiprocess_dir)
            if self._multiprocess_dir
            else self.registry
        )
        return generate_latest(_Scrape(counted, queue_waiting))


class _Scrape:
    """The counted metrics, and what the scrape reads now (a number the processes share, so no
    process counts it)."""

    def __init__(self, counted: Collector, queue_waiting: int) -> None:
        self._counted = counted
        self._queue_waiting = queue_waiting

    def collect(self) -> Iterable[Metric]:
        yield from self._counted.collect()
        yield GaugeMetricFamily(
            "kefu_queue_waiting", "Tickets waiting for an agent", value=self._queue_waiting
        )


def fresh_multiprocess_dir(path: Path) -> Path:
    """The runner's directory for its children's metric files, emptied: values of an earlier
    run must not count again (prometheus_client's rule for multiprocess mode)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def forget_process(pid: int, path: str) -> None:
    """A child that ended: its live gauges (sockets) no longer count; its counters do."""
    mark_process_dead(pid, path)
