"""Hybrid retrieval: dense (FAISS) and lexical (BM25) rankings fused by weighted reciprocal rank.

Fused score of a chunk = dense_weight / (rrf_k + dense_rank) + lexical_weight / (rrf_k + lexical_rank),
ranks starting at 1 and taken over each side's top `candidates`; a chunk missing from one side gets
nothing from it. The weights and rrf_k were chosen on the PIAF dev split (`bench/retrieval.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rag.config import RetrievalSettings, Settings
from rag.embedders import Embedder, get_embedder
from rag.index import Chunk, Index, SourceInfo

Mode = Literal["hybrid", "dense", "lexical"]


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
        self.last_ms: dict[str, float] = {}

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder | None = None) -> "Retriever":
        embedder = embedder or get_embedder(settings.embedder)
        index = Index.load(settings.index_path, embedder.id, settings.chunk)
        return cls(index, embedder, settings.retrieval)

    def dense_ranking(self, query: str, n: int, query_vector: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        if query_vector is None:
            query_vector = self.embedder.embed_query(query)
        return self.index.dense.search(query_vector, n)

    def lexical_ranking(self, query: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        scores = self.index.lexical.scores(query)
        if scores is None:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return scores[top], top

    def search(self, query: str, k: int | None = None, mode: Mode = "hybrid",
               query_vector: np.ndarray | None = None) -> list[Hit]:
        """The `k` best chunks for `query` (whose embedding may be passed in when already known)."""
        s = self.settings
        k = k or s.k
        if self.index.count() == 0 or not query.strip():
            return []
        n = max(s.candidates, k)
        t0 = time.perf_counter()
        dense_scores, dense_ids = self.dense_ranking(query, n, query_vector) if mode != "lexical" else (np.zeros(0), np.zeros(0, int))
        t1 = time.perf_counter()
        lex_scores, lex_ids = self.lexical_ranking(query, n) if mode != "dense" else (np.zeros(0), np.zeros(0, int))
        t2 = time.perf_counter()
        dense = {int(i): (r, float(sc)) for r, (i, sc) in enumerate(zip(dense_ids, dense_scores), 1)}
        lexical = {int(i): (r, float(sc)) for r, (i, sc) in enumerate(zip(lex_ids, lex_scores), 1)}
        fused: dict[int, float] = {}
        for row, (rank, _) in dense.items():
            fused[row] = fused.get(row, 0.0) + s.dense_weight / (s.rrf_k + rank)
        for row, (rank, _) in lexical.items():
            fused[row] = fused.get(row, 0.0) + s.lexical_weight / (s.rrf_k + rank)
        order = sorted(fused, key=lambda row: (-fused[row], row))[:k]
        self.last_ms = {"dense": (t1 - t0) * 1000, "lexical": (t2 - t1) * 1000,
                        "total": (time.perf_counter() - t0) * 1000}
        hits = []
        for rank, row in enumerate(order, 1):
            chunk = self.index.chunks[row]
            hits.append(Hit(rank, fused[row], chunk, self.index.sources[chunk.source_id],
                            dense.get(row, (0, None))[1], lexical.get(row, (0, None))[1], row))
        return hits



def found_relevant(hits: list[Hit], min_dense: float, min_lexical: float) -> bool:
    """The retrieval gate: was anything relevant found? The best chunk's cosine reaches `min_dense`
    (the embedder's own floor by default) or its BM25 score reaches `min_lexical`."""
    if not hits:
        return False
    best_dense = max((h.dense_score or 0.0) for h in hits)
    best_lexical = max((h.lexical_score or 0.0) for h in hits)
    return best_dense >= min_dense or best_lexical >= min_lexical
