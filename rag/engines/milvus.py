"""Milvus as the search engine: one collection holds every chunk's text, dense vector and BM25 sparse
vector; the engine runs both searches and fuses them by reciprocal rank (`RRFRanker`). The same code
talks to an embedded milvus-lite file (`index.uri = "index/milvus.db"`) or a Milvus server
(`"http://host:19530"`, token from `RAG_MILVUS_TOKEN`).

What stays in the index build folder, as with FAISS: the manifest, chunk texts and offsets, the chunk
and sentence vectors (evidence windows, reuse of unchanged sources) and the BM25 document frequencies
(the verifier's rare terms). The collection is brought in line with each build by content hash
(`sync`): chunks of changed or removed sources are deleted by source, new ones inserted; everything
else stays. Milvus has no transaction across those writes, so a build killed mid-sync leaves the
collection partly updated while `current` still names the previous build: readers skip chunk ids
their build does not know, loading notices the count differs, and the next `rag index` finishes
the sync (nothing is embedded again).

Lexical side: chunk texts are analysed by this project's French tokenizer (elisions, stop words,
Snowball stems, folded accents: `rag.lexical.tokenize`) and stored as space-separated terms that the
engine's standard analyzer indexes as they are. milvus-lite 3.2.2 accepts a French stemmer/asciifolding
analyzer but did not apply it ("investissements" did not match "investissement", "eleve" not "élève");
pre-analysed terms give the same BM25 vocabulary as the FAISS backend's bm25s on every Milvus.

Fusion: plain RRF with `retrieval.rrf_k` (the engine's ranker has no per-side weights; the FAISS
engine's dense_weight / lexical_weight do not apply here).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import IndexSettings, RetrievalSettings
from rag.engines.base import Allowed, Mode, Scored, SearchEngine
from rag.errors import IndexDamaged, IndexProblem, MissingDependency
from rag.lexical import tokenize
from rag.vectors import APPROXIMATE_THRESHOLD, ivf_cells, ivf_probes

logger = logging.getLogger(__name__)

TOKEN_VARIABLE = "RAG_MILVUS_TOKEN"
MAX_TEXT = 65_535  # VARCHAR limit, in bytes
INSERT_BATCH = 2_000
BM25_K1 = 1.2  # Milvus's default, as the bm25s index of the FAISS backend (rag.lexical)
SIGNATURE = "rag.signature"  # collection property: the embedder and chunker its vectors come from
NLIST = "rag.nlist"  # collection property: the dense IVF index's cell count


class _QuietLite(logging.Filter):
    """milvus-lite logs tracebacks this module reports itself in one line: its embedded gRPC server, for
    each call it does not implement (AllocTimestamp, asked by every query iterator, which then falls
    back by itself); its server manager, for a file another process holds (an IndexProblem here)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "Method not implemented" not in message and "Failed to start MilvusLite server" not in message


for _name in ("grpc._server", "milvus_lite.server_manager"):
    logging.getLogger(_name).addFilter(_QuietLite())

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _pymilvus():
    try:
        import pymilvus
    except ImportError as exc:
        raise MissingDependency('the Milvus backend needs the milvus extra: pip install -e ".[milvus]"') from exc
    return pymilvus


def resolve_uri(settings: IndexSettings, home: Path) -> str:
    """A server address as it is; a milvus-lite file resolved against the project home."""
    if settings.uri.startswith(("http://", "https://", "tcp://")):
        return settings.uri
    path = Path(settings.uri).expanduser()
    return str(path if path.is_absolute() else home / path)


def client(uri: str):
    """One client per address for the whole process (milvus-lite runs one embedded server per file)."""
    pymilvus = _pymilvus()
    with _clients_lock:
        if uri not in _clients:
            if not uri.startswith(("http://", "https://", "tcp://")):
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            try:
                _clients[uri] = pymilvus.MilvusClient(uri=uri, token=os.environ.get(TOKEN_VARIABLE, ""))
            except Exception as exc:  # connection refused, a lite file locked by another process…
                raise IndexProblem(f"Milvus at {uri} cannot be opened ({type(exc).__name__}: {str(exc)[:200]}); "
                                   "is it running, or is the file open in another process (the chat)?") from exc
        return _clients[uri]


def close_client(uri: str) -> None:
    """Close the client of `uri` (for milvus-lite, stop its embedded server)."""
    with _clients_lock:
        milvus = _clients.pop(uri, None)
    if milvus is not None:
        milvus.close()


def terms(text: str) -> str:
    """The text as the lexical side indexes it: this project's French stems, space-separated."""
    return " ".join(tokenize(text))


def _lucene_bm25(distance: float) -> float:
    """A Milvus BM25 score in the units of the FAISS backend's bm25s (Lucene's formula), which the
    retrieval gate's `min_lexical_score` was calibrated in: Milvus keeps the (k1 + 1) factor of the
    original BM25 numerator that Lucene drops (on the seed articles its scores are 2.2-2.3 times
    bm25s's for the same chunk), and milvus-lite reports the score as a negative distance."""
    return abs(float(distance)) / (1 + BM25_K1)


def _dense_index(n: int) -> tuple[str, dict]:
    """Exact search below the FAISS backend's threshold, an inverted file above it (same cells)."""
    if n < APPROXIMATE_THRESHOLD:
        return "FLAT", {}
    return "IVF_FLAT", {"nlist": ivf_cells(n)}


class MilvusEngine(SearchEngine):
    name = "milvus"

    def __init__(self, uri: str, collection: str, row_of: dict[str, int], vectors: np.ndarray) -> None:
        self.uri = uri
        self.collection = collection
        self._client = client(uri)
        self._row_of = row_of  # chunk id -> row of the build that opened this engine
        self._vectors = vectors
        description = self._client.describe_collection(collection) if self._client.has_collection(collection) else None
        if description is None:
            raise IndexDamaged(f"the Milvus collection {collection!r} at {uri} is missing; run `rag index` to fill it")
        # cells scanned per query, as the FAISS engine does (the cell count is kept as a collection property:
        # milvus-lite's describe_index does not report index parameters)
        nlist = (description.get("properties") or {}).get(NLIST)
        self._nprobe = ivf_probes(int(nlist)) if nlist else 0

    def count(self) -> int:
        rows = self._client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def _dense_request(self, query_vector: np.ndarray, n: int, expr: str | None):
        pymilvus = _pymilvus()
        params: dict[str, Any] = {"metric_type": "IP"}
        if self._nprobe:
            params["params"] = {"nprobe": self._nprobe}
        return pymilvus.AnnSearchRequest([np.asarray(query_vector, np.float32).tolist()], "dense", params, limit=n,
                                         expr=expr)

    def _lexical_request(self, query_terms: str, n: int, expr: str | None):
        pymilvus = _pymilvus()
        return pymilvus.AnnSearchRequest([query_terms], "sparse", {"metric_type": "BM25"}, limit=n, expr=expr)

    def search(self, query: str, query_vector: np.ndarray, k: int, settings: RetrievalSettings,
               mode: Mode = "hybrid", allowed: Allowed | None = None) -> list[Scored]:
        pymilvus = _pymilvus()
        n = max(settings.candidates, k)
        query_terms = terms(query)
        if allowed is not None and not allowed.source_ids:
            return []
        expr = f"source_id in {_strings(list(allowed.source_ids))}" if allowed is not None else None
        requests = []
        if mode != "lexical":
            requests.append(self._dense_request(query_vector, n, expr))
        if mode != "dense" and query_terms:
            requests.append(self._lexical_request(query_terms, n, expr))
        if not requests:
            return []
        try:
            if len(requests) == 2:
                found = self._client.hybrid_search(self.collection, requests, pymilvus.RRFRanker(settings.rrf_k),
                                                   limit=k, output_fields=["chunk_id"])
            else:
                r = requests[0]
                found = self._client.search(self.collection, data=r.data, anns_field=r.anns_field, limit=k,
                                            search_params=r.param, output_fields=["chunk_id"], filter=expr or "")
        except Exception as exc:
            raise IndexProblem(f"Milvus at {self.uri} failed to search ({type(exc).__name__}: {str(exc)[:200]})") from exc
        ranked = [(hit["entity"]["chunk_id"], float(hit["distance"])) for hit in found[0]]
        ranked = [(cid, score) for cid, score in ranked if cid in self._row_of]  # ids this build knows
        lexical = self._bm25_scores(query_terms, [cid for cid, _ in ranked]) if query_terms and mode != "dense" else {}
        qv = np.asarray(query_vector, np.float32)
        out = []
        for cid, score in ranked:
            row = self._row_of[cid]
            dense = float(self._vectors[row] @ qv) if mode != "lexical" else None
            out.append(Scored(row, _lucene_bm25(score) if mode == "lexical" else score, dense, lexical.get(cid)))
        return out

    def _bm25_scores(self, query_terms: str, ids: list[str]) -> dict[str, float]:
        """BM25 score of each of `ids` for the query (the retrieval gate compares it with its floor)."""
        if not ids:
            return {}
        found = self._client.search(self.collection, data=[query_terms], anns_field="sparse", limit=len(ids),
                                    filter=f"chunk_id in {_strings(ids)}",
                                    search_params={"metric_type": "BM25"}, output_fields=["chunk_id"])
        return {hit["entity"]["chunk_id"]: _lucene_bm25(hit["distance"]) for hit in found[0]}


# -- writing -------------------------------------------------------------------------------------------

def _create(milvus, name: str, dim: int, signature: str, n: int) -> None:
    pymilvus = _pymilvus()
    DataType = pymilvus.DataType
    schema = milvus.create_schema(auto_id=False)
    schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=512)
    schema.add_field("source_id", DataType.VARCHAR, max_length=512)
    schema.add_field("source_hash", DataType.VARCHAR, max_length=128)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT)
    schema.add_field("terms", DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True,
                     analyzer_params={"tokenizer": "standard"})
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(pymilvus.Function(name="bm25", function_type=pymilvus.FunctionType.BM25,
                                          input_field_names=["terms"], output_field_names=["sparse"]))
    params = milvus.prepare_index_params()
    kind, index_params = _dense_index(n)
    params.add_index("dense", index_type=kind, metric_type="IP", params=index_params)
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    milvus.create_collection(name, schema=schema, index_params=params)
    properties = {SIGNATURE: signature}
    if "nlist" in index_params:
        properties[NLIST] = str(index_params["nlist"])
    milvus.alter_collection_properties(name, properties=properties)


def _signature(milvus, name: str) -> str | None:
    return (milvus.describe_collection(name).get("properties") or {}).get(SIGNATURE)


def _strings(values: list[str]) -> str:
    """A list of strings in Milvus's expression syntax (JSON's string escapes; milvus-lite 3.2.2 has
    no filter templates)."""
    return json.dumps(values, ensure_ascii=False)


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def sync(uri: str, name: str, signature: str, chunks: list, vectors: np.ndarray, source_hashes: dict[str, str],
         rebuild: bool = False, progress: Callable[[int, int, str], None] | None = None) -> dict[str, int]:
    """Bring collection `name` in line with a build: `chunks` (row i has vector i), each source's content
    hash. The collection is recreated when `rebuild` or when it was filled for another embedder or
    chunker (`signature`); otherwise only changed sources are rewritten. Returns what was done."""
    milvus = client(uri)
    try:
        if milvus.has_collection(name) and (rebuild or _signature(milvus, name) != signature):
            logger.info("Milvus collection %s: recreated (%s)", name, "rebuild" if rebuild else "other embedder/chunker")
            milvus.drop_collection(name)
        if not milvus.has_collection(name):
            _create(milvus, name, vectors.shape[1], signature, len(chunks))
        present: dict[str, tuple[str, str]] = {}  # chunk id -> (source id, source hash)
        iterator = milvus.query_iterator(name, batch_size=4_000, filter="",
                                         output_fields=["chunk_id", "source_id", "source_hash"])
        while batch := iterator.next():
            present.update((r["chunk_id"], (r["source_id"], r["source_hash"])) for r in batch)
        iterator.close()
        expected = {c.id: i for i, c in enumerate(chunks)}
        stale = sorted({sid for cid, (sid, h) in present.items()
                        if cid not in expected or source_hashes.get(sid) != h})
        if stale:
            milvus.delete(name, filter=f"source_id in {_strings(stale)}")
        stale_set = set(stale)
        keep = {cid for cid, (sid, _) in present.items() if sid not in stale_set}
        todo = [i for cid, i in expected.items() if cid not in keep]
        for b in range(0, len(todo), INSERT_BATCH):
            rows = [{"chunk_id": chunks[i].id, "source_id": chunks[i].source_id,
                     "source_hash": source_hashes[chunks[i].source_id], "text": _clip(chunks[i].text),
                     "terms": _clip(terms(chunks[i].text)) or "_", "dense": vectors[i].tolist()}
                    for i in todo[b:b + INSERT_BATCH]]
            milvus.insert(name, rows)
            if progress:
                progress(min(b + INSERT_BATCH, len(todo)), len(todo), "writing to Milvus")
        milvus.flush(name)
    except IndexProblem:
        raise
    except Exception as exc:
        raise IndexProblem(f"writing to Milvus at {uri} failed ({type(exc).__name__}: {str(exc)[:200]}); the "
                           "previous index stays in use, run `rag index` again") from exc
    done = {"sources_rewritten": len(stale), "inserted": len(todo), "kept": len(keep)}
    logger.info("Milvus collection %s: %s", name, done)
    return done
