"""Learned passage choice against the hand-set window score, on the PIAF tune half (issue 13, item 5).

    python bench/passage_choice.py [--articles 40] [--questions 200] [--k 6]

Every candidate window `rag.evidence` cuts from the retrieved chunks gets features (its hand-set score,
its sentences' cosines, the question-term coverage, the chunk's rank and its dense and BM25 scores
relative to the best, its position in the article, the title's share of the question's terms, whether
it holds an entity of the asked type, its length) and a label (does it hold the gold answer span?).
A logistic regression (scikit-learn, from the `st` extra) is trained on them, and windows are chosen by
its score with the same budget and overlap rules. The figure is the share of questions whose gold
span ends up in the chosen passages, from 5-fold cross-validation grouped by article (a question is
scored by a model that never saw its article), beside the hand-set score, at two budgets. Only the
tune half is read.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine_line, piaf_half, save, table  # noqa: E402

from rag import evidence as ev  # noqa: E402
from rag.answer_types import expected_type, mentions, question_gives  # noqa: E402
from rag.config import EvidenceSettings, load_settings  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.evaluation import evidence_spans, holds  # noqa: E402
from rag.lexical import tokenize  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402

FOLDS = 5


def window_features(retriever: Retriever, question: str, hits, vector, s: EvidenceSettings):
    """(window, features) for every candidate window of the question's hits."""
    index = retriever.index
    weights = ev.question_weights(question, index)
    asked = expected_type(question)
    given = question_gives(question, asked) if asked else set()
    best_lexical = max([h.lexical_score or 0.0 for h in hits] + [1e-6])
    best_dense = max([h.dense_score or 0.0 for h in hits] + [1e-6])
    stems = set(tokenize(question))
    out = []
    for w in ev.candidate_windows(question, hits, s, index, vector):
        hit = w.hit
        length = len(index.source_text(hit.chunk.source_id)) or 1
        title = set(tokenize(hit.source.title))
        inside = list(w.cosines) or [0.0]
        out.append((w, [w.score, max(inside), float(np.mean(inside)), ev.coverage(w.text, weights),
                        1 / hit.rank, (hit.dense_score or 0.0) / best_dense,
                        (hit.lexical_score or 0.0) / best_lexical, w.start / length,
                        len(stems & title) / max(len(stems), 1),
                        float(bool(asked) and bool(mentions(w.text, asked) - given)), float(bool(asked)),
                        len(w.text) / s.window_chars]))
    return out


def recall(questions, scorer, s: EvidenceSettings) -> tuple[float, float]:
    """Share of questions whose span is in the windows chosen by `scorer`, and mean characters."""
    found = chars = 0
    for spans, candidates in questions:
        windows = [replace(w, score=scorer(f, w)) for w, f in candidates]
        chosen = ev.choose_windows(windows, s)
        found += any(holds(c.hit.chunk.source_id, c.start, c.end, spans) for c in chosen)
        chars += sum(len(c.text) for c in chosen)
    return found / max(len(questions), 1), chars / max(len(questions), 1)


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--k", type=int, default=6)
    args = ap.parse_args()
    print(machine_line(), flush=True)
    logging.basicConfig(level=logging.ERROR)
    settings = load_settings(ROOT)
    embedder = get_embedder(settings.embedder)
    with piaf_half(settings, embedder, args.articles, args.questions, "tune",
                   prefix="rag-passage-choice-") as (gold, retriever):
        data = []  # (article, spans, candidates)
        for q in gold:
            vector = embedder.embed_query(q.question)
            hits = retriever.search(q.question, k=args.k, query_vector=vector)
            spans = evidence_spans(q, retriever.index)
            data.append((q.source, spans, window_features(retriever, q.question, hits, vector, settings.evidence)))
    articles = sorted({a for a, _, _ in data})
    np.random.default_rng(0).shuffle(articles)
    fold = {a: i % FOLDS for i, a in enumerate(articles)}
    rows = []
    for budget in (settings.evidence.context_chars, 1200):
        s = replace(settings.evidence, context_chars=budget)
        hand, hand_chars = recall([(sp, c) for _, sp, c in data], lambda f, w: w.score, s)
        found = chars = 0.0
        for k in range(FOLDS):
            train = [(f, holds(w.hit.chunk.source_id, w.start, w.end, sp))
                     for a, sp, c in data if fold[a] != k for w, f in c]
            model = LogisticRegression(C=1.0, max_iter=2000).fit(np.array([f for f, _ in train]),
                                                                 np.array([y for _, y in train]))
            held = [(sp, c) for a, sp, c in data if fold[a] == k]
            r, ch = recall(held, lambda f, w: float(model.decision_function([f])[0]), s)
            found += r * len(held)
            chars += ch * len(held)
        rows.append({"budget (chars)": budget, "hand-set score": hand, "learned (5-fold by article)": found / len(data),
                     "passage chars (hand / learned)": f"{hand_chars:.0f} / {chars / len(data):.0f}"})
        print(table([rows[-1]]), flush=True)
    print(f"\n## Gold span inside the chosen passages, PIAF tune half ({len(data)} questions, k={args.k})\n")
    print(table(rows))
    print(f"\nresults: {save('passage_choice', {'rows': rows})}")


if __name__ == "__main__":
    main()
