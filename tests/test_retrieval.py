"""Retrieval: the best-sentence ranking fused into the engine's hybrid ranking, on FAISS and on Milvus."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fakes import FakeEmbedder

from rag.build import build_settings_index
from rag.retrieval import Retriever

# One sentence says it all among unrelated ones (its chunk vector is an average of five topics) …
DILUTED = ("Le prix du billet de train entre Paris et Lyon atteint cinquante euros. Les vaches normandes broutent "
           "une herbe verte et grasse. Les pommiers du verger donnent des fruits rouges en automne. Le boulanger "
           "pétrit sa pâte avant l'aube chaque matin. Les marins réparent leurs filets sur le quai du port.")
# … against a short chunk whose words are the question's, one per sentence, and never together.
SCATTERED = "Le train part de Paris. Lyon attend. Le billet est vendu. Le prix change. Le train arrive."
OTHER = "La chorale du village répète chaque jeudi soir dans la salle des fêtes, sous la direction du curé."
QUESTION = "Quel est le prix du billet de train entre Paris et Lyon ?"


@pytest.fixture(params=["faiss", "milvus"])
def retriever(request, project):
    for name, text in {"diluted.txt": DILUTED, "scattered.txt": SCATTERED, "other.txt": OTHER}.items():
        (project.sources_path / name).write_text(text, encoding="utf-8")
    settings = replace(project, index=replace(project.index, backend=request.param,
                                              collection=f"r_{project.home.name[-10:]}".replace("-", "_")))
    embedder = FakeEmbedder()
    build_settings_index(settings, embedder)
    return Retriever.open(settings, embedder)


def _paths(retriever: Retriever, sentence_weight: float, k: int = 3, mode: str = "hybrid") -> list[str]:
    retriever.settings = replace(retriever.settings, sentence_weight=sentence_weight)
    return [h.source.path for h in retriever.search(QUESTION, k=k, mode=mode)]  # type: ignore[arg-type]


def test_a_chunk_whose_one_sentence_answers_rises_with_the_best_sentence_ranking(retriever):
    # without it, the chunk holding every word of the question in short sentences comes first on both sides
    assert _paths(retriever, 0.0)[:2] == ["scattered.txt", "diluted.txt"]
    # the diluted chunk's best sentence holds the whole question: fused in with enough weight, it comes first
    assert _paths(retriever, 3.0)[:2] == ["diluted.txt", "scattered.txt"]
    assert _paths(retriever, 3.0, k=1) == ["diluted.txt"]  # the candidates are re-ranked, then cut to k
    hits = retriever.search(QUESTION, k=3)
    assert [h.rank for h in hits] == [1, 2, 3] and hits[0].score > hits[1].score > hits[2].score
    # one side alone ("rag search --mode dense") is that side's ranking, untouched
    assert _paths(retriever, 3.0, mode="lexical")[0] == "scattered.txt"
