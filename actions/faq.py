"""Answers from the shop's knowledge base."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import settings as settings_module
from faq.knowledge import load
from faq.retriever import CharNgramScorer, Retriever

# Chosen on the knowledge base's own paraphrases: below it, answers drift to the wrong topic.
CONFIDENT_SCORE = 0.55


class ActionAnswerFaq(Action):
    def __init__(self) -> None:
        self._retriever: Retriever | None = None

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        retriever = await self._loaded()
        text = (tracker.latest_message or {}).get("text") or ""
        match = await asyncio.to_thread(retriever.best, text)
        if match is None:
            dispatcher.utter_message(response="utter_default")
            return []
        language = tracker.get_slot("language") or "zh"
        dispatcher.utter_message(text=match.entry.answers.get(language, match.entry.answers["zh"]))
        return []

    async def _loaded(self) -> Retriever:
        if self._retriever is None:
            directory = settings_module.load().faq_dir
            knowledge = await asyncio.to_thread(load, directory)
            self._retriever = Retriever(CharNgramScorer(knowledge), CONFIDENT_SCORE)
        return self._retriever
