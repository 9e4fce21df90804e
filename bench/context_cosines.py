"""Sentences read in context: does embedding each sentence after the one before it choose better evidence?

    python bench/context_cosines.py [--piaf-articles 40] [--piaf-questions 200]
    python bench/context_cosines.py --answers DIR     # `rag eval` on the gold set with the "mean" cosines

A news sentence often names its subject only through the sentence before it ("Sa valorisation actuelle
tourne autour de 260 milliards", "Cette clause était initialement conçue pour protéger OpenAI"), so its
own e5 vector, which `rag.evidence` compares with the question to cut the evidence windows, misses the
subject the question names. Here each candidate sentence is embedded again at question time after its
previous sentence in the article (the headline for an article's first sentence), and the window scores
use that cosine instead of the sentence's own ("context"), the larger of the two ("max") or their mean
("mean"). Without the model, the figure is the share of answerable questions whose gold evidence lies in
the passages (as `bench/evidence.py`), on the seed gold set and the PIAF tune half; with `--answers`, the
whole `rag eval` of the gold set runs with the "mean" cosines, to compare with a default run
(`rag compare`). A measurement only: the product's cosines stay the sentences' own.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine_line, piaf_half, save, table  # noqa: E402
from evidence import evidence_recall  # noqa: E402

import rag.evidence  # noqa: E402
from rag.chunking import split_sentences  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.embedders import Embedder, get_embedder  # noqa: E402
from rag.evaluation import load_gold  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402

COMBINE: dict[str, Callable[[float, float], float]] = {
    "own": lambda own, context: own,
    "context": lambda own, context: context,
    "max": max,
    "mean": lambda own, context: (own + context) / 2,
}
OWN_SENTENCES = rag.evidence._sentences


class ContextCosines:
    """Replaces `rag.evidence._sentences` so that a chunk's sentence cosines come from `combine`(own,
    cosine of the sentence embedded after its previous one); the texts' vectors are cached."""

    def __init__(self, embedder: Embedder, combine: str = "own") -> None:
        self.embedder, self.combine, self.cache = embedder, combine, {}

    def install(self) -> None:
        rag.evidence._sentences = self.sentences

    def sentences(self, hit, index, query_vector):
        spans, cosines = OWN_SENTENCES(hit, index, query_vector)
        if self.combine == "own" or not spans or index is None or query_vector is None:
            return spans, cosines
        text = index.source_text(hit.chunk.source_id)
        in_context = [f"{previous_sentence(text, start) or hit.source.title} {sentence}" for start, _, sentence in spans]
        context = self.vectors(in_context) @ query_vector
        return spans, [float(COMBINE[self.combine](own, float(c))) for own, c in zip(cosines, context)]

    def vectors(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, self.embedder.embed_passages(missing)))
        return np.array([self.cache[t] for t in texts])


def previous_sentence(text: str, start: int, reach: int = 600) -> str:
    """The sentence that ends before character `start` of `text` ("" at the article's start)."""
    before = text[max(0, start - reach):start]
    spans = split_sentences(before)
    return before[spans[-1].start:spans[-1].end] if spans else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--piaf-articles", type=int, default=40)
    ap.add_argument("--piaf-questions", type=int, default=200)
    ap.add_argument("--answers", type=Path, help="run `rag eval` on the gold set with the mean cosines, reports in DIR")
    args = ap.parse_args()
    settings = load_settings(ROOT)
    embedder = get_embedder(settings.embedder)
    patch = ContextCosines(embedder)
    patch.install()
    if args.answers:
        from rag.cli import app
        patch.combine = "mean"
        app(["eval", "--home", str(ROOT), "--out", str(args.answers)])
        return
    print(machine_line(), flush=True)
    logging.basicConfig(level=logging.ERROR)
    gold, _ = load_gold(ROOT / "eval" / "gold_fr.jsonl")
    rows: list[dict] = []

    def measure(name: str, retriever: Retriever, questions) -> None:
        for combine in COMBINE:
            patch.combine = combine
            share, chars, _, _ = evidence_recall(retriever, questions, settings.evidence, settings.retrieval.k)
            rows.append({"set": name, "sentence cosine": combine, "evidence in passages": share, "passage chars": chars})
            print(table([rows[-1]]), flush=True)

    measure("seed gold set", Retriever.open(settings, embedder), gold)
    with piaf_half(settings, embedder, args.piaf_articles, args.piaf_questions, "tune",
                   prefix="rag-context-") as (questions, retriever):
        measure(f"PIAF tune half ({args.piaf_articles} articles)", retriever, questions)
    print("\n## Evidence in the passages, sentences read alone or after the one before\n")
    print(table(rows))
    print(f"\nresults: {save('context_cosines', {'rows': rows})}")


if __name__ == "__main__":
    main()
