"""A question in another language than the articles: its words carried to the articles' nearest words
(rag.term_bridge) for the lexical side of retrieval and for passage choice."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from fakes import FakeEmbedder

from rag.build import build_index
from rag.index import Index
from rag.messages import say
from rag.retrieval import Retriever
from rag.term_bridge import TermBridge, words_of

FRENCH = ["Sa valorisation actuelle tourne autour de 260 milliards de dollars, une valeur record.",
          "Microsoft a investi 13 milliards de dollars dans OpenAI, un investissement historique."]


class GlossEmbedder(FakeEmbedder):
    """Words of one meaning in both languages share an axis ("valuation", "valorisation", "valeur");
    any other word gets its own hashed direction. Records the words it embeds as queries."""

    MEANINGS = {"valuation": 1, "valorisation": 1, "valeur": 1, "invest": 2, "investi": 2, "investissement": 2,
                "contract": 3, "contrat": 3}

    def __init__(self) -> None:
        super().__init__(dim=64)
        self.queries: list[str] = []

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if not is_query or any(" " in t for t in texts):
            return super()._encode(texts, is_query)
        self.queries.extend(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, word in enumerate(texts):
            own = 8 + int(hashlib.md5(word.encode()).hexdigest(), 16) % (self.dim - 8)
            meaning = self.MEANINGS.get(word)
            out[row, meaning or own] = 1.0
            if meaning:
                out[row, own] = 0.2  # one meaning, different words: close, not identical
        return out


def test_an_english_questions_words_are_carried_to_the_articles_nearest_words():
    embedder = GlossEmbedder()
    bridge = TermBridge.build(FRENCH, embedder)
    assert bridge.language == "fr" and "valorisation" in bridge.words and "de" not in bridge.words
    assert set(bridge.carry("What is OpenAI's valuation?", embedder, floor=0.92)) == {"valorisation", "valeur"}
    assert bridge.carry("What is OpenAI's valuation?", embedder, floor=0.92, per_word=1) in (["valorisation"],
                                                                                           ["valeur"])
    assert set(bridge.carry("How much did Microsoft invest?", embedder, floor=0.92)) == {"investi", "investissement"}
    # a question in the articles' own language is left as it is, and so are words with no near word
    assert bridge.carry("Quelle est la valorisation d'OpenAI ?", embedder, floor=0.92) == []
    assert bridge.carry("What is the weather like?", embedder, floor=0.92) == []
    # names (both languages spell them alike) and function words are not carried
    assert words_of("What does OpenAI plan to reduce?") == ["plan", "reduce"]


def test_a_word_the_articles_also_hold_as_written_is_carried_or_left_to_bm25_by_the_setting():
    embedder = GlossEmbedder()
    # an English word in the articles (a quote, a link) beside the French word of the same meaning
    bridge = TermBridge.build(["Le contrat initial a été signé en 2019 (« the first contract »)."], embedder)
    assert {"contract", "contrat"} <= set(bridge.words)
    question = "When was the first contract signed?"
    # by default the word itself is the nearest (1.0) and leaves "contrat" (0.96) outside the margin
    assert "contrat" not in bridge.carry(question, embedder, floor=0.92)
    assert {"contract", "first"} <= set(bridge.carry(question, embedder, floor=0.92))
    # without the question's own words: the nearest other word, which BM25 could not read from the question
    carried = bridge.carry(question, embedder, floor=0.92, own_words=False)
    assert "contrat" in carried and "contract" not in carried
    # a word whose only near word is itself carries nothing
    assert "first" not in bridge.carry(question, embedder, floor=0.92, own_words=False)


def test_words_embedded_by_the_previous_build_are_not_embedded_again():
    embedder = GlossEmbedder()
    first = TermBridge.build(FRENCH[:1], embedder)
    embedder.queries.clear()
    steps: list[tuple[int, int, str]] = []
    second = TermBridge.build(FRENCH, embedder, previous=first, progress=lambda *step: steps.append(step))
    assert set(embedder.queries) == set(second.words) - set(first.words) and "investi" in embedder.queries
    new = len(embedder.queries)
    assert steps == [(new, new, "embedding words")] and say("embedding words", "fr") == "calcul des vecteurs des mots"
    kept = second.words.index("valorisation")
    assert np.array_equal(second.vectors[kept], first.vectors[first.words.index("valorisation")])


def test_the_index_keeps_the_collections_words_and_retrieval_reads_english_through_them(seeded_project):
    embedder = GlossEmbedder()
    build_index(seeded_project.sources_path, seeded_project.index_path, embedder, seeded_project.chunk)
    index = Index.load(seeded_project.index_path, embedder.id)
    assert index.terms is not None and index.terms.language == "fr" and "valorisation" in index.terms.words
    retriever = Retriever(index, embedder, seeded_project.retrieval)
    question = "What is OpenAI's valuation?"
    assert "valorisation" in retriever.lexical_query(question).split()
    found = retriever.search(question, k=3, mode="lexical")
    assert any("valorisation" in h.chunk.text for h in found)
    # off (`bridge_per_word = 0` in rag.toml): the lexical side reads the English words alone, and finds no
    # chunk about the valuation
    retriever.settings = replace(retriever.settings, bridge_per_word=0)
    assert retriever.lexical_query(question) == question
    assert not any("valorisation" in h.chunk.text for h in retriever.search(question, k=3, mode="lexical"))
