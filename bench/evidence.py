"""Does the evidence the model reads hold the answer? Passage selection measured without the model.

    python bench/evidence.py [--piaf-articles 40] [--piaf-questions 200] [--split tune]

For each question, the share whose gold evidence lies inside the passages given to the model
(`rag.evidence.select_passages`), beside the share with it in the retrieved chunks they are cut from and
the median search time, with the default settings and with the levers varied one at a time: passage
budget (characters), window size, weight of the question-term coverage, a retrieval-rank prior, whether
a chunk can offer several windows, how many retrieved chunks they are cut from, and the best-sentence
ranking fused into retrieval; and the wider reading a rejected answer is asked again on
(`RetrySettings.wide_*`: more chunks, longer windows, a larger budget). Sets: the seed gold set over the
project's index, and a PIAF dev slice of the tune half by default (an index built in a temporary
folder). The answer cannot be right when the evidence is not there, so this bounds answer accuracy and
is quick to measure.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine_line, piaf_half, save, table  # noqa: E402

from rag.answer import retrieval_query  # noqa: E402
from rag.config import EvidenceSettings, load_settings  # noqa: E402
from rag.evidence import best_score, select_passages  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.evaluation import evidence_spans, holds, load_gold  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402

VARIANTS = {
    "default": {},
    "budget 600": {"budget": 600},
    "budget 1200": {"budget": 1200},
    "window 200": {"window": 200},
    "window 450": {"window": 450},
    "coverage weight 0": {"weight": 0.0},
    "coverage weight 0.3": {"weight": 0.3},
    "one window per chunk": {"single": True},
    # a retrieval-rank prior on every sentence of a chunk (`EvidenceSettings.rank_weight / rank`)
    "rank prior 0.05": {"rank": 0.05},
    "rank prior 0.1": {"rank": 0.1},
    # how many retrieved chunks the windows are cut from (the default: `retrieval.k` = 6)
    "4 retrieved chunks": {"k": 4},
    "10 retrieved chunks": {"k": 10},
    "a clear match (best window >= 0.95) reads its 2 best": {"strong": 0.95},
    "wider reading (the retry's)": {"wide": True},
    # a window that is only its article's title line not offered (`EvidenceSettings.title_windows`)
    "no title-only windows": {"titles": False},
    # a window overlapping a chosen one keeps the sentences around its seed that the chosen one does not give,
    # as a passage of its own (the default since #29) or joined to the chosen windows it touches
    # (`EvidenceSettings.overlapping`), or is skipped (before #29)
    "overlapping windows skipped": {"overlapping": "skip"},
    "overlapping windows joined": {"overlapping": "join"},
    # an article's own question does not seed a window (`EvidenceSettings.question_seeds`, #32)
    "no question seeds": {"question_seeds": False},
    # without the third ranking fused into retrieval, each candidate chunk's best sentence cosine
    # (`RetrievalSettings.sentence_weight`: 1.5 since #30; 0 = off, before)
    "no best-sentence ranking": {"sentence": 0.0},
    # the wider reading first, for the questions whose best window scores below this (about the weakest
    # quarter on both tune sets); measured with `rag eval` too, not adopted (README, "Read wider when the
    # first passages are weak?")
    "wider reading when the best window < 0.91": {"wide_below": 0.91},
}


def evidence_recall(retriever: Retriever, questions, evidence: EvidenceSettings, k: int,
                    weak: tuple[float, EvidenceSettings, int] | None = None) -> tuple[float, float, float, float]:
    """Share of questions with their evidence in the passages, mean passage characters, the share with it
    in the retrieved chunks the passages are cut from, and the median search time (ms). With `weak`
    (threshold, settings, k), a question whose best window scores below the threshold reads with those."""
    found, chars, history, answered, retrieved, times = 0, 0, {}, 0, 0, []
    for q in questions:
        spans = evidence_spans(q, retriever.index)
        if not q.answerable or not spans:
            continue
        answered += 1
        previous = history.get(q.follow_up)
        query = retrieval_query(q.question, [previous] if previous else None)
        vector = retriever.embedder.embed_query(query)
        started = time.perf_counter()
        hits = retriever.search(query, k=k, query_vector=vector)
        times.append((time.perf_counter() - started) * 1000)
        chosen = evidence
        if weak is not None and best_score(query, hits, evidence, retriever.index, vector) < weak[0]:
            chosen, hits = weak[1], retriever.search(query, k=weak[2], query_vector=vector)
        retrieved += any(holds(h.chunk.source_id, h.chunk.start, h.chunk.end, spans) for h in hits)
        passages = select_passages(query, hits, chosen, retriever.index, vector)
        found += any(holds(p.source_id, p.start, p.end, spans) for p in passages)
        chars += sum(len(p.text) for p in passages)
        history[q.id] = (q.question, q.quote)
    return (found / max(answered, 1), chars / max(answered, 1), retrieved / max(answered, 1),
            statistics.median(times) if times else 0.0)


def run(name: str, retriever: Retriever, questions, settings) -> list[dict]:
    e = settings.evidence
    rows = []
    r = settings.retry
    for label, v in VARIANTS.items():
        variant = replace(e, context_chars=v.get("budget", e.context_chars), window_chars=v.get("window", e.window_chars),
                          coverage_weight=v.get("weight", e.coverage_weight),
                          seeds_per_chunk=1 if v.get("single") else e.seeds_per_chunk,
                          strong_score=v.get("strong", e.strong_score), rank_weight=v.get("rank", e.rank_weight),
                          title_windows=v.get("titles", e.title_windows),
                          overlapping=v.get("overlapping", e.overlapping),
                          question_seeds=v.get("question_seeds", e.question_seeds))
        k = v.get("k", settings.retrieval.k)
        wide = r.wide_reading(e)
        if v.get("wide"):
            variant, k = wide, r.wide_k
        weak = (v["wide_below"], wide, r.wide_k) if "wide_below" in v else None
        searcher = Retriever(retriever.index, retriever.embedder,
                             replace(settings.retrieval, sentence_weight=v.get("sentence",
                                                                               settings.retrieval.sentence_weight)))
        recall, chars, retrieved, search_ms = evidence_recall(searcher, questions, variant, k, weak)
        rows.append({"set": name, "variant": label, "evidence in passages": recall, "passage chars": chars,
                     "in the chunks they are cut from": retrieved, "search p50 ms": search_ms})
        print(table([rows[-1]]), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--piaf-articles", type=int, default=40)
    ap.add_argument("--piaf-questions", type=int, default=200)
    ap.add_argument("--split", choices=["tune", "test"], default="tune", help="which half of PIAF's articles")
    args = ap.parse_args()
    print(machine_line(), flush=True)
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(ROOT)
    embedder = get_embedder(settings.embedder)
    gold, _ = load_gold(ROOT / "eval" / "gold_fr.jsonl")
    rows = run("seed gold set", Retriever.open(settings, embedder), gold, settings)
    with piaf_half(settings, embedder, args.piaf_articles, args.piaf_questions, args.split,
                   prefix="rag-evidence-") as (questions, retriever):
        rows += run(f"PIAF {args.split} half ({args.piaf_articles} articles)", retriever, questions, settings)
    print("\n## Evidence in the passages the model reads\n")
    print(table(rows))
    print(f"\nresults: {save('evidence', {'rows': rows})}")


if __name__ == "__main__":
    main()
