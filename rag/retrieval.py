"""Retrieval: the question's embedding and text go to the index's search engine (rag.engines), whose
rows come back as `Hit`s with their chunk and source. How the dense and lexical rankings are fused is
the engine's (see rag.engines.faiss for the default); a third ranking of its candidates, each chunk's
best sentence cosine to the question, is fused in here for every engine (`fuse_best_sentences`). A
question in another language than the articles reaches the lexical side with its words carried into
theirs (`lexical_query`, rag.term_bridge).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from rag.config import RetrievalSettings, Settings
from rag.embedders import Embedder, get_embedder
from rag.engines.base import Allowed, Mode, Scored
from rag.filters import SourceFilter
from rag.index import Chunk, Index, SourceInfo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    chunk: Chunk
    source: SourceInfo
    dense_score: float | None  # cosine similarity, when the chunk was among the dense candidates
    lexical_score: float | None  # BM25 score, when among the lexical candidates
    row: int  # the chunk's row in the index


class Retriever:
    """Searches a loaded index with the embedder that built it."""

    def __init__(self, index: Index, embedder: Embedder, settings: RetrievalSettings | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None) -> "Retriever":
        embedder = embedder or get_embedder(settings.embedder)
        index = Index.load(settings.index_path, embedder.id, settings.chunk, settings.index)
        return cls(index, embedder, settings.retrieval)

    def search(self, query: str, k: int | None = None, mode: Mode = "hybrid",
               query_vector: np.ndarray | None = None, where: SourceFilter | None = None,
               lexical_text: str | None = None) -> list[Hit]:
        """The `k` best chunks for `query` (whose embedding, and `lexical_query`, may be passed in when
        already known), from the sources `where` keeps when given."""
        k = k or self.settings.k
        if self.index.count() == 0 or not query.strip():
            return []
        allowed = None
        if where is not None:
            kept = where.source_ids(self.index)
            allowed = Allowed(self.index.rows_of(kept), kept)
            if not len(allowed.rows):
                return []
        if query_vector is None:
            query_vector = self.embedder.embed_query(query)
        text = lexical_text if lexical_text is not None else self.lexical_query(query) if mode != "dense" else query
        hits = []
        engine = self.index.engine
        by_sentence = mode == "hybrid" and self.settings.sentence_weight > 0
        found_rows = engine.search(text, query_vector, max(self.settings.candidates, k) if by_sentence else k,
                                   self.settings, mode, allowed)
        if by_sentence:
            found_rows = self.fuse_best_sentences(found_rows, query_vector)[:k]
        for rank, found in enumerate(found_rows, 1):
            chunk = self.index.chunks[found.row]
            hits.append(Hit(rank, found.score, chunk, self.index.sources[chunk.source_id], found.dense_score,
                            found.lexical_score, found.row))
        return hits

    def fuse_best_sentences(self, found: list[Scored], query_vector: np.ndarray) -> list[Scored]:
        """The engine's fused candidates with a third ranking fused in: each chunk's best sentence cosine to
        the question (`sentence_weight / (rrf_k + rank)`; "MaxP"). A chunk of several topics whose one
        sentence answers ranks by that sentence, not by the average its chunk vector makes."""
        best = [float(np.max(v @ query_vector)) if len(v := self.index.sentence_vectors(f.row)) else -1.0
                for f in found]
        rank_of = {i: rank for rank, i in enumerate(sorted(range(len(found)), key=lambda i: -best[i]), 1)}
        weight, rrf_k = self.settings.sentence_weight, self.settings.rrf_k
        fused = [replace(f, score=f.score + weight / (rrf_k + rank_of[i])) for i, f in enumerate(found)]
        return sorted(fused, key=lambda f: (-f.score, f.row))

    def lexical_query(self, query: str) -> str:
        """`query` for the lexical side: with its words carried into the articles' language when it is
        written in another (`carried`)."""
        return with_carried(query, self.carried(query))

    def carried(self, query: str) -> list[str]:
        """The articles' words `query`'s words are carried to when it is written in another language
        (`TermBridge.carry`); none for a query in theirs, or with `settings.bridge_per_word` 0 or
        `bridge_floor` None."""
        s, terms = self.settings, self.index.terms
        if s.bridge_floor is None or not s.bridge_per_word or terms is None:
            return []
        carried = terms.carry(query, self.embedder, s.bridge_floor, s.bridge_per_word, s.bridge_margin,
                              s.bridge_own_words)
        if carried:
            logger.info("words carried into %s: %s", terms.language, ", ".join(carried))
        return carried


def with_carried(text: str, carried: list[str]) -> str:
    """`text` followed by the words carried into the articles' language (`Retriever.carried`)."""
    return " ".join([text, *carried])


def found_relevant(hits: list[Hit], min_dense: float, min_lexical: float) -> bool:
    """The retrieval gate: was anything relevant found? The best chunk's cosine reaches `min_dense`
    (the embedder's own floor by default) or its BM25 score reaches `min_lexical`."""
    if not hits:
        return False
    best_dense = max((h.dense_score or 0.0) for h in hits)
    best_lexical = max((h.lexical_score or 0.0) for h in hits)
    return best_dense >= min_dense or best_lexical >= min_lexical
