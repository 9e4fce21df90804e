"""The embedder interface: passages and queries in, L2-normalised float32 vectors out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np


class MissingDependency(ImportError):
    """An optional backend is not installed; the message says what to install."""


class Embedder(ABC):
    #: Identifies the model and its version; written into the index so a mismatch is caught.
    id: str
    dim: int

    @abstractmethod
    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        """Raw (n, dim) vectors for `texts`."""

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return normalise(self._encode(list(texts), is_query=False)) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return normalise(self._encode([text], is_query=True))[0]


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as contiguous float32."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
