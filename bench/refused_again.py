"""A retry option that acts only once every attempt was refused, measured on the questions a report
refused: `retry.whole_chunks` (a last attempt on the best chunks read whole) cannot change an answer the
default gave, so only the refused questions are asked again, with the default settings and with the
option, one after the other in the same run. The default column checks that greedy decoding gives the
report's refusals again; a question it answers this time is counted apart, not credited to the option.

    python bench/refused_again.py REPORT.json [--whole-chunks 3]                 # a gold-set report
    python bench/refused_again.py REPORT.json --set eval/test_fr.jsonl           # another question file
    python bench/refused_again.py REPORT.json --squad PIAF.json --split tune     # a `rag eval --squad` report
                                                  [--articles 40 --questions 200]

Only ids, types, languages and outcomes are printed (a test split's questions stay unread); the rows are
saved in bench/results/.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PIAF, ROOT, machine_line, piaf_half, save, table  # noqa: E402

from rag.answer import Assistant  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.evaluation import load_gold, run  # noqa: E402
from rag.llm import open_llm  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402
from rag.support import get_scorer  # noqa: E402


def outcome(r) -> str:
    if r.abstained:
        return "refused"
    if not r.answerable:
        return "answered (unanswerable)"
    return "right" if r.alias_hit else "wrong"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path, help="a `rag eval` JSON report of the default settings")
    ap.add_argument("--set", type=Path, default=ROOT / "eval" / "gold_fr.jsonl")
    ap.add_argument("--squad", type=Path, help=f"a SQuAD-layout file, e.g. {PIAF}")
    ap.add_argument("--split", choices=["tune", "test"])
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--whole-chunks", type=int, default=3)
    args = ap.parse_args()

    report = json.loads(args.report.read_text("utf-8"))
    refused = {q["id"] for q in report["questions"] if q["abstained"]}
    settings = load_settings(ROOT)
    embedder = get_embedder(settings.embedder)
    halves = piaf_half(settings, embedder, args.articles, args.questions, args.split, args.squad) if args.squad \
        else nullcontext((load_gold(args.set)[0], Retriever.open(settings, embedder)))
    with halves as (questions, retriever):
        by_id = {q.id: q for q in questions}
        chosen = [q for q in questions if q.id in refused]
        leads = [by_id[q.follow_up] for q in chosen if q.follow_up in by_id and q.follow_up not in refused]
        asked = leads + chosen
        print(machine_line())
        print(f"{len(refused)} refused questions in {args.report.name}; asking {len(chosen)} again "
              f"({len(leads)} lead questions of follow-ups with them)")
        llm = open_llm(settings)
        scorer = get_scorer("lexical", embedder, llm, settings.verify)
        default = Assistant(settings, retriever, llm, scorer)
        option_settings = replace(settings, retry=replace(settings.retry, whole_chunks=args.whole_chunks))
        option = Assistant(option_settings, retriever, llm, scorer)  # its policy has WholeChunks from the settings
        before = {x.id: x for x in run(default, asked, scorer)}
        after = {x.id: x for x in run(option, asked, scorer)}
    rows, moves = [], Counter()
    for q in chosen:
        b, a = before[q.id], after[q.id]
        rows.append({"id": q.id, "type": b.type, "lang": b.lang, "default": outcome(b), "attempts": b.attempts,
                     f"whole_chunks={args.whole_chunks}": outcome(a), "attempts ": a.attempts,
                     "reason": a.reason, "s": round(a.total_ms / 1000, 1)})
        moves["refused again by default" if b.abstained else "answered by default this time"] += 1
        if b.abstained:
            moves[f"option: {outcome(a)}"] += 1
    print(table(rows))
    for k, v in sorted(moves.items()):
        print(f"{k}: {v}")
    save(f"refused_again-{args.report.stem}",
         {"report": str(args.report), "whole_chunks": args.whole_chunks, "rows": rows, "moves": dict(moves)})


if __name__ == "__main__":
    main()
