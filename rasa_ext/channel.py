"""kefu's own input channel: Rasa's REST webhook, answering only the kefu server.

Rasa's ``rest`` channel takes any caller who can reach the port as any customer, and believes
the metadata it is sent (the verified ``customer_id`` whose orders the actions then show).
This channel is the same webhook at ``/webhooks/kefu/webhook``, but every request must carry
``Authorization: Bearer <token>`` with the token kefu and Rasa share (``KEFU_RASA_TOKEN``,
from ``credentials.yml``); anything else gets 401 before a message is read.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)


class KefuInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "kefu"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> KefuInput:
        token = str((credentials or {}).get("token") or "")
        if not token:
            raise ValueError("the kefu channel needs a token in credentials.yml")
        return cls(token)

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def authenticate(request: Request) -> HTTPResponse | None:
            given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
            if hmac.compare_digest(given, self._expected):
                return None
            log.warning("refused an unauthenticated webhook call from %s", request.ip)
            return response.json({"error": "unauthorised"}, status=401)

        return webhook

    def _extract_input_channel(self, req: Request) -> str:
        # The channel the customer wrote on is in the metadata; this is how Rasa was reached.
        return self.name()
