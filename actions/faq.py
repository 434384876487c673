"""Answers from the shop's knowledge base (retrieval in ``faq.retriever``)."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import previous_question, reply_language
from actions.conversation import question as customer_question
from core import settings as settings_module
from core.texts import Texts
from faq.knowledge import Entry
from faq.retriever import FaqRetriever, Result

log = logging.getLogger(__name__)

# Where one question ends and the next starts in a customer's message.
_CLAUSE_BREAK = re.compile(
    r"[，,。.！!？?；;\s]+|还有|另外|顺便问下|再问下|and also", re.IGNORECASE
)
MIN_CLAUSE_CHARS = 2
# The clarifying question's last button: none of the entries offered is what was asked.
NONE_OF_THESE = "none"
MAX_QUESTIONS = 3


class ActionAnswerFaq(Action):
    def __init__(self) -> None:
        self._retriever: FaqRetriever | None = None
        # Made on the event loop, not here: the server pickles its actions into its worker.
        self._building: asyncio.Lock | None = None
        self._reloading: asyncio.Task[None] | None = None
        self._texts = Texts.load()

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        retriever = await self._loaded()
        language = reply_language(tracker)
        chosen = next(tracker.get_latest_entity_values("faq_id"), None)
        if chosen == NONE_OF_THESE:  # the customer asked something else: say so honestly
            dispatcher.utter_message(response="utter_faq_unknown")
            return []
        if chosen:  # a clarification button: answer that entry directly
            entry = retriever.entry(str(chosen))
            if entry is not None:
                dispatcher.utter_message(text=_answer(entry, language), faq_entry=entry.id)
                return []
        question = customer_question(tracker)
        several = await asyncio.to_thread(entries_asked, retriever, question)
        if several:
            for entry in several:
                dispatcher.utter_message(text=_answer(entry, language), faq_entry=entry.id)
            return []
        result = await asyncio.to_thread(
            search_in_context, retriever, question, previous_question(tracker)
        )
        if result.outcome == "answer" and result.entry is not None:
            # The entry travels with the answer (the reply's metadata): kefu's reports count it.
            dispatcher.utter_message(
                text=_answer(result.entry, language), faq_entry=result.entry.id
            )
        elif result.outcome == "clarify":
            buttons = [
                {"title": _title(m.entry, language), "payload": _payload(m.entry.id)}
                for m in result.candidates
            ]
            # A product question can look like a policy one: the way out is always offered.
            title = self._texts.get("faq_none_of_these", language)
            buttons.append({"title": title, "payload": _payload(NONE_OF_THESE)})
            dispatcher.utter_message(response="utter_faq_clarify", buttons=buttons)
        elif result.reason == "low_score":  # the KB has no answer: say so, offer a person
            dispatcher.utter_message(response="utter_faq_unknown")
        else:  # unreadable, or about the customer's own order
            dispatcher.utter_message(response="utter_default")
        return []

    async def warm_up(self) -> None:
        """Load the encoders and build the index now, not on the first customer's question
        (encoding a fresh knowledge base takes about 20 s). A failure is logged, and the
        first question tries again."""
        try:
            await self._loaded()
        except Exception:
            log.exception("FAQ retriever not loaded at start; the first question retries")

    async def _loaded(self) -> FaqRetriever:
        """The retriever, built once (a question during the warm-up waits for it); the blocking
        work runs in a worker thread. A shop's edit is re-encoded in the background while the
        old index answers: with both encoders that takes about 20 s, longer than a customer
        may wait."""
        if self._retriever is None:
            if self._building is None:
                self._building = asyncio.Lock()
            async with self._building:
                if self._retriever is None:
                    self._retriever = await asyncio.to_thread(self._build)
            return self._retriever
        retriever = self._retriever
        if self._reloading is None and await asyncio.to_thread(retriever.changed_since_last_look):
            self._reloading = asyncio.create_task(self._reload(retriever))
        return retriever

    @staticmethod
    def _build() -> FaqRetriever:
        settings = settings_module.load()
        return FaqRetriever(
            settings.faq_dir,
            cache_dir=settings.var_dir / "faq-cache",
            encoder=settings.faq_encoder,
        ).load()

    async def _reload(self, retriever: FaqRetriever) -> None:
        """Swap the edited knowledge base in; a broken edit leaves the old one answering."""
        try:
            for problem in await asyncio.to_thread(retriever.reload):
                log.warning("FAQ edit not applied: %s", problem)
        except Exception:
            log.exception("FAQ reload failed; the old index keeps answering")
        finally:
            self._reloading = None


def entries_asked(retriever: FaqRetriever, text: str) -> list[Entry]:
    """The entries a message asks about when it asks several ("什么时候发货 包邮吗"): each
    clause that the retriever answers with confidence, in order; [] for a single question."""
    clauses = [c for c in _CLAUSE_BREAK.split(text) if len(c.strip()) >= MIN_CLAUSE_CHARS]
    if len(clauses) < 2:
        return []
    found: list[Entry] = []
    for clause in clauses[:MAX_QUESTIONS]:
        result = retriever.search(clause)
        if result.outcome == "answer" and result.entry is not None and result.entry not in found:
            found.append(result.entry)
    return found if len(found) >= 2 else []


def search_in_context(retriever: FaqRetriever, question: str, previous: str) -> Result:
    """The retriever's result for ``question``; when no entry comes near it (``那我自己先垫付
    是吧`` after ``退货运费谁出``), the entries it finds read with the customer's previous
    message, whose topic it usually continues, offered as a clarifying question: borrowed from
    the context, they are asked, never assumed (the message may open a new topic). Only a miss
    is retried: a question that finds entries on its own words keeps them, and an order
    question or an unreadable one stays what it is. The question comes first, so that the
    retriever's length cut takes the end of a long previous message, not the question."""
    result = retriever.search(question)
    if result.reason != "low_score" or not previous:
        return result
    in_context = retriever.search(f"{question} {previous}")
    return Result("clarify", in_context.candidates) if in_context.candidates else result


def _answer(entry: Entry, language: str) -> str:
    return entry.answers.get(language) or entry.answers["zh"]


def _title(entry: Entry, language: str) -> str:
    english = entry.paraphrases.get("en") or ()
    return english[0] if language == "en" and english else entry.question


def _payload(faq_id: str) -> str:
    return '/faq{"faq_id":"' + faq_id + '"}'
