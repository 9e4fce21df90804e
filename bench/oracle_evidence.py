"""How many answers would be right if the evidence always reached the model? The reader's ceiling.

    python bench/oracle_evidence.py [--place best|worst] -- [rag eval options]
    python bench/oracle_evidence.py -- --squad ../shared/benchmarks/piaf/piaf-dev.json --split tune \
        --articles 40 --questions 200 --out /tmp/oracle

Runs `rag eval` unchanged but for one thing: whenever the passages chosen for a question (first reading
or wider retry) miss its gold evidence, the least relevant passage is dropped and a window of the
source around the gold evidence (its sentences, grown by neighbours up to `evidence.window_chars`) is
put in as the best passage (`--place best`, numbered last, next to the question) or the least (`worst`).
Evidence read is then 1.0 wherever the gold evidence is known, the budget stays that of a normal
prompt, and everything after (prompt, model, checks, retries, scoring) is the pipeline's own.

Issue 13 asks for evidence in the passages ≥ 0.85 and answers right ≥ 0.60 on PIAF: the right share
this prints bounds what any better passage choice can give with this reader. A diagnostic, not a
pipeline: never use it for figures of record.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line  # noqa: E402

import rag.answer  # noqa: E402
import rag.evaluation  # noqa: E402
from rag.chunking import split_sentences  # noqa: E402
from rag.config import EvidenceSettings  # noqa: E402
from rag.evaluation import evidence_spans, holds  # noqa: E402
from rag.evidence import Passage  # noqa: E402
from rag.index import Index  # noqa: E402

_spans: list[tuple[str, int, int]] = []  # the gold evidence of the question being answered
_inserted = {"questions": 0, "readings": 0}


def gold_window(index: Index, span: tuple[str, int, int], window_chars: int) -> Passage:
    """The sentences of the source overlapping `span`, grown by the next then the previous sentence while
    the window stays within `window_chars`."""
    source_id, start, end = span
    text = index.source_text(source_id)
    sentences = [(s.start, s.end) for s in split_sentences(text)]
    inside = [i for i, (s, e) in enumerate(sentences) if s < end and e > start] or [0]
    lo, hi = inside[0], inside[-1]
    grown = True
    while grown:
        grown = False
        for a, b in ((lo, hi + 1), (lo - 1, hi)):
            if 0 <= a and b < len(sentences) and sentences[b][1] - sentences[a][0] <= window_chars:
                lo, hi, grown = a, b, True
                break
    s, e = sentences[lo][0], sentences[hi][1]
    chunk = next((c for c in index.chunks if c.source_id == source_id and c.start <= s < c.end), None)
    source = index.sources[source_id]
    return Passage(0, chunk.id if chunk else "", source_id, source.title, source.path, s, e, text[s:e],
                   0, None, None, source.meta)


def with_gold(passages: list[Passage], index: Index, window_chars: int, place: str) -> list[Passage]:
    """`passages` holding the gold evidence: unchanged when they already do, else with the gold window
    in place of the least relevant passage (numbered first)."""
    if not _spans or any(holds(p.source_id, p.start, p.end, _spans) for p in passages):
        return passages
    _inserted["readings"] += 1
    gold = gold_window(index, _spans[0], window_chars)
    rest = passages[1:]
    ordered = [*rest, gold] if place == "best" else [gold, *rest]
    return [replace(p, number=n) for n, p in enumerate(ordered, 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--place", choices=["best", "worst"], default="best",
                    help="where the gold window goes: numbered last (the best match's place) or first")
    ap.add_argument("eval_args", nargs=argparse.REMAINDER, help="after --: the options of `rag eval`")
    args = ap.parse_args()
    print(machine_line(), flush=True)

    select, evaluate = rag.answer.select_passages, rag.evaluation.evaluate_question

    def select_with_gold(query, hits, settings=None, index=None, query_vector=None):
        passages = select(query, hits, settings, index, query_vector)
        if index is None:
            return passages
        return with_gold(passages, index, (settings or EvidenceSettings()).window_chars, args.place)

    def evaluate_with_gold(assistant, q, judge, history=None, k=None):
        _spans[:] = evidence_spans(q, assistant.retriever.index) if q.answerable else []
        before = _inserted["readings"]
        try:
            return evaluate(assistant, q, judge, history, k)
        finally:
            _inserted["questions"] += _inserted["readings"] > before

    rag.answer.select_passages = select_with_gold
    rag.evaluation.evaluate_question = evaluate_with_gold
    from rag.cli import app

    eval_args = [a for a in args.eval_args if a != "--"]
    try:
        app(["eval", *eval_args], standalone_mode=False)
    finally:
        print(f"\ngold window put in for {_inserted['questions']} questions "
              f"({_inserted['readings']} readings), place: {args.place}")


if __name__ == "__main__":
    main()
