"""The search engine's interface: given a question (its text and its vector), the best chunk rows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rag.config import RetrievalSettings

Mode = Literal["hybrid", "dense", "lexical"]


@dataclass(frozen=True)
class Scored:
    row: int  # the chunk's row in the index build
    score: float  # the fused score (rank-based), or the one side's score in dense/lexical mode
    dense_score: float | None  # cosine similarity, when known
    lexical_score: float | None  # BM25 score, when the chunk matched the query's terms


@dataclass(frozen=True)
class Allowed:
    """The chunks a filtered search may return: their rows and the ids of their sources."""

    rows: np.ndarray  # sorted int64
    source_ids: tuple[str, ...]


class SearchEngine(ABC):
    """Finds chunk rows for a query; knows nothing of passages, prompts or answers."""

    name: str

    @abstractmethod
    def count(self) -> int:
        """Chunks searchable."""

    @abstractmethod
    def search(self, query: str, query_vector: np.ndarray, k: int, settings: RetrievalSettings,
               mode: Mode = "hybrid", allowed: "Allowed | None" = None) -> list[Scored]:
        """The `k` best rows, best first: dense and lexical rankings over `settings.candidates` each,
        fused by reciprocal rank (`settings.rrf_k`); only `allowed` rows when given (a filter applied
        before ranking, not after)."""
