"""The Milvus engine on a real milvus-lite file (no mock): index, search, incremental updates by
content hash, a half-finished sync, mixed embedders, and the whole answer path; then (real) retrieval
parity with the FAISS engine on a slice of PIAF."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fakes import FakeEmbedder, assistant_over

from rag.build import build_settings_index
from rag.config import load_settings
from rag.engines.milvus import client, resolve_uri, sync
from rag.errors import IndexDamaged, IndexMismatch
from rag.index import Index
from rag.retrieval import Retriever

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def milvus_project(seeded_project):
    settings = replace(seeded_project, index=replace(seeded_project.index, backend="milvus",
                                                     collection=f"t_{seeded_project.home.name[-12:]}".replace("-", "_")))
    return settings


def collection_ids(settings) -> dict[str, str]:
    milvus = client(resolve_uri(settings.index, settings.home))
    rows = milvus.query(settings.index.collection, filter='chunk_id != ""', output_fields=["chunk_id", "source_id"],
                        limit=10_000)
    return {r["chunk_id"]: r["source_id"] for r in rows}


def test_index_and_search_on_milvus(milvus_project, embedder):
    summary = build_settings_index(milvus_project, embedder)
    assert summary.added == 5 and summary.chunks_total > 20
    retriever = Retriever.open(milvus_project, embedder)
    assert retriever.index.engine.name == "milvus" and retriever.index.engine.count() == summary.chunks_total
    assert not (retriever.index.folder / "dense.faiss").exists()  # the vectors are searched in Milvus
    # the engine's own fused ranking (the best-sentence ranking fused on top is tested in test_retrieval.py,
    # on both engines; the fake embedder hashes words into 64 dimensions, where a short sentence's words collide)
    retriever.settings = replace(retriever.settings, sentence_weight=0.0)
    hits = retriever.search("Stargate centres de données", k=4)
    assert len(hits) == 4 and any("Stargate" in h.chunk.text for h in hits[:2])
    assert all(h.dense_score is not None for h in hits) and hits[0].lexical_score > 0
    assert [h.row for h in retriever.search("Stargate", k=3, mode="lexical")]
    assert len(collection_ids(milvus_project)) == summary.chunks_total


def test_incremental_updates_delete_by_source_and_embed_only_what_changed(milvus_project):
    first = FakeEmbedder()
    build_settings_index(milvus_project, first)
    sources = sorted(milvus_project.sources_path.glob("*.txt"))
    sources[0].write_text(sources[0].read_text("utf-8") + "\n\nUn paragraphe ajouté sur Quuxcorp.", "utf-8")
    sources[1].unlink()
    (milvus_project.sources_path / "nouveau.txt").write_text("Zorblat rachète une start-up à Lyon.", "utf-8")
    again = FakeEmbedder()
    summary = build_settings_index(milvus_project, again)
    assert (summary.added, summary.changed, summary.removed, summary.unchanged) == (1, 1, 1, 3)
    assert summary.chunks_embedded < summary.chunks_total / 2  # unchanged sources were not embedded again
    index = Index.load(milvus_project.index_path, again.id, milvus_project.chunk, milvus_project.index)
    in_milvus = collection_ids(milvus_project)
    assert set(in_milvus) == {c.id for c in index.chunks}  # removed source's chunks are gone
    hits = Retriever(index, again, milvus_project.retrieval).search("Zorblat Lyon", k=1)
    assert hits[0].source.path == "nouveau.txt"
    assert Retriever(index, again).search("Quuxcorp", k=1)[0].source.path == sources[0].name


def test_a_half_finished_sync_is_noticed_and_the_next_build_finishes_it(milvus_project, embedder):
    build_settings_index(milvus_project, embedder)
    index = Index.load(milvus_project.index_path)
    uri = resolve_uri(milvus_project.index, milvus_project.home)
    # as if a build had been killed after deleting one source and before inserting it again
    victim = index.chunks[0].source_id
    client(uri).delete(milvus_project.index.collection, filter=f'source_id == "{victim}"')
    with pytest.raises(IndexDamaged, match="in milvus.*rag index"):
        Index.load(milvus_project.index_path)
    fresh = FakeEmbedder()
    summary = build_settings_index(milvus_project, fresh)
    assert summary.chunks_embedded == 0 and not fresh.embedded  # repaired from the build's own vectors
    assert Index.load(milvus_project.index_path).engine.count() == index.count()


def test_a_collection_filled_by_another_embedder_is_refilled_not_mixed(milvus_project):
    build_settings_index(milvus_project, FakeEmbedder(id="fake-a"))
    other = FakeEmbedder(dim=32, id="fake-b")
    with pytest.raises(IndexMismatch, match="rag index --rebuild"):
        Retriever.open(milvus_project, other)
    build_settings_index(milvus_project, other, rebuild=True)
    retriever = Retriever.open(milvus_project, other)
    assert retriever.search("Stargate", k=2)  # 32-dimensional vectors, a new collection
    # the collection remembers what filled it: a build under another signature starts it over
    uri = resolve_uri(milvus_project.index, milvus_project.home)
    index = retriever.index
    done = sync(uri, milvus_project.index.collection, "another embedder", index.chunks, index.vectors,
                {s: i.hash for s, i in index.sources.items()})
    assert done["inserted"] == index.count() and done["kept"] == 0


def test_moving_between_engines_needs_no_embedding(milvus_project, embedder):
    faiss = replace(milvus_project, index=replace(milvus_project.index, backend="faiss"))
    build_settings_index(faiss, embedder)
    with pytest.raises(IndexMismatch, match="searched with faiss.*rag index"):
        Retriever.open(milvus_project, embedder)
    fresh = FakeEmbedder()
    build_settings_index(milvus_project, fresh)
    assert not fresh.embedded and Retriever.open(milvus_project, embedder).index.engine.name == "milvus"


def test_the_answer_path_runs_on_milvus(milvus_project, embedder):
    build_settings_index(milvus_project, embedder)
    assistant = assistant_over(milvus_project, embedder,
                               ["Microsoft a injecté 1 milliard de dollars dans OpenAI en 2019 [1]."])
    answer = assistant.answer("Combien Microsoft a-t-il injecté dans OpenAI en 2019 ?")
    assert not answer.abstained and "1 milliard" in answer.text
    cited = answer.passages[answer.sentences[0].attributed[0] - 1]
    assert "1 milliard" in cited.text and cited.path.startswith("003_")


@pytest.mark.real
def test_retrieval_parity_with_faiss_on_a_piaf_slice(tmp_path):
    """hit@5 (a top-5 chunk holds the gold answer span) within 0.02 of the FAISS engine: 25 articles
    of PIAF's tune half, every question on them."""
    from rag.embedders import get_embedder
    from rag.squad import load_squad, write_corpus

    from rag.squad import piaf_path

    piaf = piaf_path()
    if not piaf.exists():
        pytest.skip(f"{piaf} is not on this machine")
    texts, questions = load_squad(piaf, articles=25, split="tune")
    write_corpus(texts, tmp_path / "sources")
    faiss = load_settings(tmp_path)
    milvus = replace(faiss, index=replace(faiss.index, backend="milvus", collection="piaf_parity"))
    embedder = get_embedder(faiss.embedder)
    build_settings_index(faiss, embedder)
    hit_rates = {}
    for settings in (faiss, milvus):
        build_settings_index(settings, embedder)  # the second build reuses the vectors
        retriever = Retriever.open(settings, embedder)
        hits = 0
        for q in questions:
            found = retriever.search(q.question, k=5)
            hits += any(h.chunk.source_id == q.source_id and h.chunk.start <= q.start and q.end <= h.chunk.end
                        for h in found)
        hit_rates[settings.index.backend] = hits / len(questions)
    print(f"PIAF tune, 25 articles, {len(questions)} questions: hit@5 {hit_rates}")
    assert len(questions) > 100 and hit_rates["faiss"] > 0.7
    assert abs(hit_rates["milvus"] - hit_rates["faiss"]) <= 0.02


def test_a_milvus_file_held_by_another_process_is_one_clear_error(tmp_path):
    import subprocess
    import sys
    import time

    from rag.errors import IndexProblem

    db = tmp_path / "held.db"
    holder = subprocess.Popen([sys.executable, "-c", "import time\nfrom rag.engines.milvus import client\n"
                               f"client({str(db)!r}); print('open', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(IndexProblem, match="open in another process"):
            client(str(db))
    finally:
        holder.kill()
        holder.wait(10)
    time.sleep(0.5)
    assert client(str(db)).list_collections() == []  # free again once the other process is gone


def test_without_the_extra_the_error_says_what_to_install(monkeypatch):
    import sys

    from rag.engines import milvus
    from rag.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "pymilvus", None)  # as if not installed
    with pytest.raises(MissingDependency, match=r'pip install -e "\.\[milvus\]"'):
        milvus.client("/tmp/never-opened.db")
