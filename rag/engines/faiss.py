"""The default engine: a FAISS vector index and a bm25s index, files inside each build; the two
rankings are fused in Python by weighted reciprocal rank:

fused score = dense_weight / (rrf_k + dense rank) + lexical_weight / (rrf_k + lexical rank),
ranks from 1 over each side's top `candidates`; a chunk missing from one side gets nothing from it.
The weights and rrf_k were chosen on the PIAF dev split (`bench/retrieval.py`).
"""

from __future__ import annotations

import numpy as np

from rag.config import RetrievalSettings
from rag.engines.base import Allowed, Mode, Scored, SearchEngine
from rag.lexical import LexicalIndex
from rag.vectors import VectorIndex

NOTHING = (np.zeros(0, np.float32), np.zeros(0, np.int64))


class FaissEngine(SearchEngine):
    name = "faiss"

    def __init__(self, dense: VectorIndex, lexical: LexicalIndex) -> None:
        self.dense = dense
        self.lexical = lexical

    def count(self) -> int:
        return self.dense.count()

    def dense_ranking(self, query_vector: np.ndarray, n: int,
                      rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.dense.search(query_vector, n, rows)

    def lexical_ranking(self, query: str, n: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        scores = self.lexical.scores(query)
        if scores is None:
            return NOTHING
        if rows is not None:
            kept = np.zeros_like(scores)
            kept[rows] = scores[rows]
            scores = kept
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return scores[top], top

    def search(self, query: str, query_vector: np.ndarray, k: int, settings: RetrievalSettings,
               mode: Mode = "hybrid", allowed: Allowed | None = None) -> list[Scored]:
        n = max(settings.candidates, k)
        rows = allowed.rows if allowed is not None else None
        dense_scores, dense_ids = self.dense_ranking(query_vector, n, rows) if mode != "lexical" else NOTHING
        lex_scores, lex_ids = self.lexical_ranking(query, n, rows) if mode != "dense" else NOTHING
        dense = {int(i): (r, float(sc)) for r, (i, sc) in enumerate(zip(dense_ids, dense_scores), 1)}
        lexical = {int(i): (r, float(sc)) for r, (i, sc) in enumerate(zip(lex_ids, lex_scores), 1)}
        fused: dict[int, float] = {}
        for row, (rank, _) in dense.items():
            fused[row] = fused.get(row, 0.0) + settings.dense_weight / (settings.rrf_k + rank)
        for row, (rank, _) in lexical.items():
            fused[row] = fused.get(row, 0.0) + settings.lexical_weight / (settings.rrf_k + rank)
        order = sorted(fused, key=lambda row: (-fused[row], row))[:k]
        return [Scored(row, fused[row], dense.get(row, (0, None))[1], lexical.get(row, (0, None))[1])
                for row in order]
