"""``python -m actions.server``: rasa-sdk's action server, answering only this system's Rasa.

rasa-sdk authenticates nothing: any local process could post a forged tracker (one naming a
verified customer) and read that customer's orders. Rasa sends the token of ``endpoints.yml``
(``KEFU_RASA_TOKEN``) with every action call; without it the webhook answers 401. ``/health``
stays open for the runner.

Each server process opens its backends once (the order backend, Redis, the shop's rules and
policy), shares them with every action and closes them when it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import logging
import sys
from functools import partial
from typing import TypeVar

from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic.worker.loader import AppLoader

from actions.backends import Backends, UsesBackends
from actions.faq import ActionAnswerFaq
from core import settings as settings_module
from core.texts import console_texts

log = logging.getLogger(__name__)
T = TypeVar("T")


def create_app(executor: ActionExecutor, token: str) -> Sanic:
    """Module level: Sanic's loader builds it again in its worker process."""
    app = create_app_for_serve(executor, cors_origins=None, endpoints="endpoints.yml")
    console_texts()  # read once, now: the handoff's context packet is written with it
    expected = token.encode()
    backends = share_backends(executor)
    warm_ups = WarmUps()

    @app.after_server_start
    async def warm_up(_: Sanic) -> None:
        warm_ups.start(executor)

    @app.get("/ready")
    async def ready(_: Request) -> HTTPResponse:
        """200 once the warm-ups have finished (loaded, or failed and logged): the runner
        waits for it at start; ``/health`` only says the process answers."""
        if warm_ups.done:
            return response.json({"status": "ready"})
        return response.json({"status": "loading"}, status=503)

    @app.after_server_stop
    async def close_backends(_: Sanic) -> None:
        await backends.aclose()

    @app.on_request
    async def authenticate(request: Request) -> HTTPResponse | None:
        if request.path != "/webhook":
            return None
        given = str(request.args.get("token", "")).encode("utf-8", "surrogateescape")
        if hmac.compare_digest(given, expected):
            return None
        log.warning("refused an action call without the token from %s", request.ip)
        return response.json({"error": "unauthorised"}, status=401)

    return app


def share_backends(executor: ActionExecutor) -> Backends:
    """One set of backends for every registered action of this process."""
    backends = Backends()
    for action in registered(executor, UsesBackends):
        action.share(backends)
    return backends


class WarmUps:
    """What the first answers would wait for, loaded once the server is up: the FAQ's
    encoders and index (about 20 s on a fresh install, 5 s from the cache)."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] | None = None

    def start(self, executor: ActionExecutor) -> None:
        actions = registered(executor, ActionAnswerFaq)
        self._tasks = [asyncio.create_task(action.warm_up()) for action in actions]

    @property
    def done(self) -> bool:
        return self._tasks is not None and all(task.done() for task in self._tasks)


def registered(executor: ActionExecutor, kind: type[T]) -> list[T]:
    """The executor's action instances of one kind."""
    actions = (getattr(run, "__self__", None) for run in executor.actions.values())
    return [action for action in actions if isinstance(action, kind)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.server", description=__doc__)
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    settings = settings_module.load()
    if not settings.rasa_token:
        print("KEFU_RASA_TOKEN is not set: the action server would answer anyone", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    executor = ActionExecutor()
    executor.register_package("actions")
    loader = AppLoader(factory=partial(create_app, executor, settings.rasa_token))
    app = loader.load()
    app.prepare(host=settings.host, port=args.port, workers=1)
    Sanic.serve(primary=app, app_loader=loader)
    return 0


if __name__ == "__main__":
    sys.exit(main())
