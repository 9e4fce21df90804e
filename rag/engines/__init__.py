"""Search engines behind one narrow interface (`SearchEngine`), one module per backend:

- `rag.engines.faiss`: FAISS + bm25s files inside each index build, fused in Python (the default);
- `rag.engines.milvus`: a Milvus collection (embedded milvus-lite file or a Milvus server), dense and
  BM25 fields searched together by the engine (extra: `pip install -e ".[milvus]"`).

`index.backend` in the settings picks one; the build records which in its manifest.
"""

from rag.engines.base import Scored, SearchEngine

__all__ = ["Scored", "SearchEngine"]
