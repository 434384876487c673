"""The entry classifier: what all of an entry's phrasings share, learnt at load."""

from __future__ import annotations

import pytest

from faq.classifier import EntryClassifier
from faq.index import EmbeddingIndex
from faq.knowledge import KnowledgeBase
from faq.retriever import FaqRetriever
from faq.text import clean


def probabilities(retriever: FaqRetriever, classifier: EntryClassifier, text: str):
    query = clean(text)
    return classifier.probabilities(query, retriever.encoder.encode([query])[0])


def test_a_question_unlike_any_one_phrasing_goes_to_the_entry_its_words_share(shipped):
    classifier = EntryClassifier(shipped.index)
    # No phrasing of price protection says this; several of its phrasings share a piece of it.
    found = probabilities(shipped, classifier, "付款后隔了两天就便宜了一百多 这个差价怎么算")
    assert max(found, key=found.__getitem__) == "price_protection"
    assert sum(found.values()) == pytest.approx(1.0)
    assert set(found) == {entry.id for entry in shipped.knowledge.entries}


def test_a_knowledge_base_of_one_entry_has_nothing_to_tell_apart(shipped, use_encoder):
    entry = shipped.knowledge.entries[0]
    one = KnowledgeBase((entry,), shipped.knowledge.policy)
    classifier = EntryClassifier(EmbeddingIndex.build(one, use_encoder))
    assert probabilities(shipped, classifier, "随便问问") == {entry.id: 1.0}


def test_an_empty_knowledge_base_gives_no_entry(shipped, use_encoder):
    empty = KnowledgeBase((), shipped.knowledge.policy)
    classifier = EntryClassifier(EmbeddingIndex.build(empty, use_encoder))
    assert probabilities(shipped, classifier, "随便问问") == {}
