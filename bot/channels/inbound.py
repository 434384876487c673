"""The one way in from messaging apps: a platform's customer message into the router.

A platform is acknowledged only after its message is stored (``Router.accept``): from then on
it is answered even if this process dies (the router's recovery loop). The answer is worked out
in the background, because Rasa may take longer than a platform waits (WeChat: 5 seconds), and
reaches the customer through the outbox. The platform's own message id is the message's
``sent_id``: a platform retrying a message it thinks was lost gets it answered once.
"""

from __future__ import annotations

import asyncio
import logging

from bot.router import Acceptance, Router
from bot.webchat import InvalidMessage, clean_text
from core.language import detect_language
from core.texts import Texts

log = logging.getLogger(__name__)


class Inbound:
    def __init__(self, router: Router, texts: Texts, max_chars: int) -> None:
        self._router = router
        self._texts = texts
        self._max_chars = max_chars
        self._answering: set[asyncio.Task[None]] = set()

    async def take(
        self,
        conversation_id: str,
        channel: str,
        text: str,
        *,
        payload: str = "",
        sent_id: str,
        unreadable: bool = False,
    ) -> bool:
        """Store the message and start answering it; False when the platform had sent it
        before (nothing is stored or answered again). Raises what storing raises (RedisError):
        then the platform must not be told the message arrived. ``unreadable``: ``text``
        describes what was sent (a photo, say); the customer is asked to type. An empty or too
        long text gets the web chat's answers (kept for the agent, not read by the bot)."""
        language = detect_language(text[:200])
        notice = self._texts.get("unreadable_message", language) if unreadable else ""
        try:
            text = clean_text(text, self._max_chars)
        except InvalidMessage as invalid:
            notice = self._texts.get(invalid.code, language, limit=self._max_chars)
            text = text.strip()[: self._max_chars] or text
        acceptance = await self._router.accept(
            conversation_id, channel, text, payload, sent_id, notice=notice
        )
        if not acceptance.stored.new:
            log.info("%s message %s of %s came again", channel, sent_id, conversation_id)
            return False
        task = asyncio.create_task(self._answer(acceptance))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)
        return True

    async def _answer(self, acceptance: Acceptance) -> None:
        try:
            await self._router.answer(acceptance)
        except Exception:
            # The message is stored as pending: the recovery loop answers it.
            log.exception("answering %s failed", acceptance.stored.message.conversation_id)

    async def close(self) -> None:
        """Stop answering (at shutdown): what was not answered stays pending for the next start."""
        for task in list(self._answering):
            task.cancel()
        await asyncio.gather(*self._answering, return_exceptions=True)
