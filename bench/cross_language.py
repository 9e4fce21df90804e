"""Questions asked in another language than the articles (English over French): does retrieval find
the evidence, how much should the lexical side (a French BM25) count, does the model's French
translation of the question help it, and do the question's words carried into French by the embedder
(rag.term_bridge, the default) help it? Should a word the articles also hold as written ("contract") be
one of the carried words (`bridge_own_words`)? And once retrieved, is the evidence among the passages the
model reads, with each passage budget of a question asked across languages (`across_context_chars`)?

    python bench/cross_language.py [--split tune|test] [--articles 40] [--questions 200]

Two sets of English questions over French articles:
- the PIAF questions of one half (`--split`: the articles and questions of `rag eval --squad … --split`),
  translated into English by the default model;
- the seed gold set's English lines (`eval/gold_fr.jsonl`, `"lang": "en"`) over the project's index.
Each is searched with smaller lexical weights (without the carried words), with the carried words at
several floors and counts per word (`RetrievalSettings.bridge_*`), and with the model's French
translation of the English question (alone, in one query with the English, or as a second ranking fused with the first); the
PIAF questions also as first written, in French (what a perfect translation would give). Translations
are asked once and kept in `bench/data/` (committed), so every run searches the same queries and anyone
can read them. A hit is a retrieved chunk that holds the gold evidence; the reading table gives the share
of questions whose evidence lies in the passages chosen from the chunks (rag.evidence.select_passages).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PIAF, ROOT, machine_line, piaf_half, save, table  # noqa: E402
from retrieval import fuse  # noqa: E402  (bench/retrieval.py)

from rag.config import load_settings  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.evaluation import evidence_spans, holds, load_gold  # noqa: E402
from rag.evidence import select_passages  # noqa: E402
from rag.language import detect_language  # noqa: E402
from rag.llm import open_llm  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402

LEXICAL_WEIGHTS = [1.0, 0.5, 0.25, 0.0]
BRIDGES = [(0.90, 1), (0.90, 2), (0.92, 1), (0.92, 2), (0.94, 1), (0.94, 2)]  # (floor, words per word)
DEPTHS = [1, 3, 5, 6, 10]
DATA = ROOT / "bench" / "data"
PROMPTS = {("fr", "en"): "Translate this French question into English. Write only the English question.\n\n"
                         "French: {question}\nEnglish:",
           ("en", "fr"): "Translate this English question into French. Write only the French question.\n\n"
                         "English: {question}\nFrench:"}
READING_BUDGETS = (0, 1200, 1500)  # EvidenceSettings.across_context_chars measured by `reading_rows`
FUSE_K = 10  # reciprocal-rank constant when the rankings of a question and of its translation are fused


def translate(questions: dict[str, str], cache: Path, direction: tuple[str, str]) -> dict[str, str]:
    """`questions` (id -> text) translated by the default model, kept in `cache` (asked only once)."""
    done: dict[str, str] = json.loads(cache.read_text("utf-8")) if cache.exists() else {}
    todo = {i: q for i, q in questions.items() if i not in done}
    if todo:
        llm = open_llm(load_settings(ROOT))
        for n, (i, q) in enumerate(todo.items(), 1):
            reply = "".join(llm.stream([{"role": "user", "content": PROMPTS[direction].format(question=q)}], 60))
            done[i] = reply.strip().splitlines()[0].strip(" \"'«»") if reply.strip() else q
            if n % 25 == 0:
                print(f"  translated {n}/{len(todo)} ({direction[0]} -> {direction[1]})", flush=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(done, ensure_ascii=False, indent=1), "utf-8")
    return {i: done[i] for i in questions}


def evidence_rank(retriever: Retriever, text: str, spans: list[tuple[str, int, int]]) -> int | None:
    """Rank of the first retrieved chunk holding the evidence when `text` is searched."""
    return next((h.rank for h in retriever.search(text, k=max(DEPTHS))
                 if holds(h.chunk.source_id, h.chunk.start, h.chunk.end, spans)), None)


def hit_row(label: str, variant: str, ranks: list[int | None]) -> dict:
    return {"questions": label, "variant": variant,
            **{f"hit@{k}": sum(r is not None and r <= k for r in ranks) / len(ranks) for k in DEPTHS}}


def weight_rows(retriever: Retriever, queries: list[tuple[str, list[tuple[str, int, int]]]], label: str) -> list[dict]:
    """hit@k of `queries` (text, evidence spans) for each lexical weight, the words as written; then with
    the words carried into French (rag.term_bridge) at each of `BRIDGES`."""
    base = retriever.settings
    rows = []
    for weight in LEXICAL_WEIGHTS:
        retriever.settings = replace(base, lexical_weight=weight, bridge_floor=None)
        ranks = [evidence_rank(retriever, text, spans) for text, spans in queries]
        rows.append(hit_row(label, f"lexical weight {weight}, words as written", ranks))
    for floor, per_word in BRIDGES:
        retriever.settings = replace(base, bridge_floor=floor, bridge_per_word=per_word)
        ranks = [evidence_rank(retriever, text, spans) for text, spans in queries]
        default = (floor, per_word) == (base.bridge_floor, base.bridge_per_word)
        rows.append(hit_row(label, f"words carried: floor {floor}, {per_word} per word" + " (default)" * default,
                            ranks))
    retriever.settings = replace(base, bridge_own_words=not base.bridge_own_words)
    ranks = [evidence_rank(retriever, text, spans) for text, spans in queries]
    rows.append(hit_row(label, f"words carried as by default, the question's own words {'not ' * base.bridge_own_words}"
                               "among them", ranks))
    retriever.settings = base
    return rows


def reading_rows(retriever: Retriever, settings, queries: list[tuple[str, list[tuple[str, int, int]]]], label: str,
                 budgets: tuple[int, ...] = READING_BUDGETS) -> list[dict]:
    """Evidence in the passages the model reads: the share of `queries` (text, evidence spans) whose evidence
    lies in the passages chosen from the retrieved chunks as the assistant chooses them (the carried words
    in the lexical query and the term coverage), for each passage budget of a question asked across
    languages (`EvidenceSettings.across_context_chars`; 0: the same budget as a question in the articles'
    language, `context_chars`), with the share in the chunks they are cut from (`settings`: the project's)."""
    k = settings.retrieval.k
    searched = []
    for text, spans in queries:
        vector = retriever.embedder.embed_query(text)
        terms = retriever.lexical_query(text)
        searched.append((terms, retriever.search(text, k=k, query_vector=vector, lexical_text=terms), vector, spans))
    in_chunks = sum(any(holds(h.chunk.source_id, h.chunk.start, h.chunk.end, spans) for h in hits)
                    for _, hits, _, spans in searched) / max(len(searched), 1)
    rows = []
    for budget in budgets:
        evidence = replace(settings.evidence, across_context_chars=budget).reading(across=True)
        found = sum(any(holds(p.source_id, p.start, p.end, spans)
                        for p in select_passages(terms, hits, evidence, retriever.index, vector))
                    for terms, hits, vector, spans in searched)
        default = budget == settings.evidence.across_context_chars
        rows.append({"questions": label, "passage budget": evidence.context_chars, "default": "yes" * default,
                     "evidence in the passages": found / max(len(searched), 1),
                     "in the chunks they are cut from": in_chunks})
    return rows


def fused_rank(retriever: Retriever, texts: list[str], spans: list[tuple[str, int, int]]) -> int | None:
    """Rank of the evidence when the rankings of two wordings of one question are fused (bench/retrieval.py's
    reciprocal-rank fusion, equal weights)."""
    rankings = [retriever.search(text, k=retriever.settings.candidates) for text in texts]
    chunks = {h.row: h.chunk for hits in rankings for h in hits}
    order = fuse(*([h.row for h in hits] for hits in rankings), FUSE_K, 1.0, k=max(DEPTHS))
    return next((n for n, row in enumerate(order, 1)
                 if holds(chunks[row].source_id, chunks[row].start, chunks[row].end, spans)), None)


def translation_rows(retriever: Retriever, items: list[tuple[str, str, list[tuple[str, int, int]]]], label: str,
                     original: list[str] | None = None) -> list[dict]:
    """The English question with the model's French translation of it (the English alone is `weight_rows`'
    lexical weight 1.0): (english, french, spans) per question;
    `original` the question as first written in French, when there is one (an upper bound)."""
    base = retriever.settings
    retriever.settings = replace(base, bridge_floor=None)  # the words as written, translated or not
    search = lambda text, spans: evidence_rank(retriever, text, spans)  # noqa: E731
    rows = [hit_row(label, "the model's French translation alone", [search(f, s) for _, f, s in items]),
            hit_row(label, "English and its translation, one query", [search(f"{e} {f}", s) for e, f, s in items]),
            hit_row(label, "English and its translation, rankings fused",
                    [fused_rank(retriever, [e, f], s) for e, f, s in items])]
    if original is not None:
        rows.append(hit_row(label, "the original French question",
                            [search(o, s) for o, (_, _, s) in zip(original, items)]))
    retriever.settings = base
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--squad", type=Path, default=PIAF)
    ap.add_argument("--split", default="tune", choices=["tune", "test"])
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--questions", type=int, default=200)
    args = ap.parse_args()
    print(machine_line(), flush=True)
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(ROOT)
    embedder = get_embedder(settings.embedder)

    with piaf_half(settings, embedder, args.articles, args.questions, args.split, args.squad,
                   prefix="rag-xling-") as (questions, retriever):
        stem = f"piaf-{args.split}-{args.articles}-{args.questions}"
        english = translate({q.id: q.question for q in questions}, DATA / f"{stem}-en.json", ("fr", "en"))
        back = translate(english, DATA / f"{stem}-en-fr.json", ("en", "fr"))
        still_french = sum(detect_language(english[q.id]) == "fr" for q in questions)
        print(f"PIAF {args.split} half: {args.articles} articles, {len(questions)} questions, translated in "
              f"{DATA} ({still_french} still read as French)", flush=True)
        spans = {q.id: evidence_spans(q, retriever.index) for q in questions}
        label = f"PIAF {args.split}, in English"
        rows = weight_rows(retriever, [(english[q.id], spans[q.id]) for q in questions], label)
        rows += translation_rows(retriever, [(english[q.id], back[q.id], spans[q.id]) for q in questions], label,
                                 [q.question for q in questions])
        reading = reading_rows(retriever, settings, [(english[q.id], spans[q.id]) for q in questions], label)
        reading += reading_rows(retriever, settings, [(q.question, spans[q.id]) for q in questions],
                                f"PIAF {args.split}, the original French questions", budgets=(0,))

    gold, _ = load_gold(ROOT / "eval" / "gold_fr.jsonl")
    seed = Retriever.open(settings, embedder)
    english_gold = [q for q in gold if q.lang == "en" and q.answerable and q.quote]
    french = translate({q.id: q.question for q in english_gold}, DATA / "gold-en-fr.json", ("en", "fr"))
    label = f"gold set, English ({len(english_gold)})"
    gold_spans = {q.id: evidence_spans(q, seed.index) for q in english_gold}
    rows += weight_rows(seed, [(q.question, gold_spans[q.id]) for q in english_gold], label)
    rows += translation_rows(seed, [(q.question, french[q.id], gold_spans[q.id]) for q in english_gold], label)
    reading += reading_rows(seed, settings, [(q.question, gold_spans[q.id]) for q in english_gold], label)
    print()
    print(table(rows))
    print("\n## Evidence in the passages the model reads (English questions, by passage budget)\n")
    print(table(reading))
    path = save("cross_language", {"split": args.split, "articles": args.articles, "questions": len(questions),
                                   "still_french": still_french, "rows": rows, "reading": reading})
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
