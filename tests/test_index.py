import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeEmbedder

from rag.chunking import sentence_texts
from rag.config import ChunkSettings
from rag.build import _BuildLock, build_index
from rag.errors import BuildInProgress, IndexMismatch, IndexMissing
from rag.index import FORMAT_VERSION, Index
from rag.retrieval import Retriever

CHUNKS = ChunkSettings(max_chars=300, overlap_chars=80)


def build(project, embedder, **kw):
    return build_index(project.sources_path, project.index_path, embedder, CHUNKS, **kw)


def test_first_build_indexes_every_source_with_spans_into_the_source_text(seeded_project, embedder):
    summary = build(seeded_project, embedder)
    assert (summary.added, summary.changed, summary.removed, summary.unchanged) == (5, 0, 0, 0)
    index = Index.load(seeded_project.index_path, embedder.id, CHUNKS)
    assert index.count() == summary.chunks_total == summary.chunks_embedded
    chunk_texts = [c.text for c in index.chunks]
    sentences = list(dict.fromkeys(s for t in chunk_texts for s in sentence_texts(t)))
    # each chunk once and each distinct sentence once (overlapping chunks share sentences)
    assert sorted(embedder.embedded) == sorted(chunk_texts + sentences)
    for row, chunk in enumerate(index.chunks):
        assert index.source_text(chunk.source_id)[chunk.start:chunk.end] == chunk.text
        expected = embedder.embed_passages(sentence_texts(chunk.text))
        assert np.allclose(index.sentence_vectors(row), expected, atol=1e-3)
    manifest = index.manifest
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["embedder"] == {"id": embedder.id, "dim": embedder.dim}
    assert manifest["chunker"] == {"max_chars": 300, "overlap_chars": 80}
    assert sum(len(s["chunks"]) for s in manifest["sources"].values()) == index.count()


def test_incremental_add_change_remove_embed_only_what_changed(seeded_project, embedder):
    build(seeded_project, embedder)
    src = seeded_project.sources_path
    embedder.embedded.clear()
    (src / "new.txt").write_text("Nouvel article. Apple investit dans la pomme.", "utf-8")
    summary = build(seeded_project, embedder)
    assert (summary.added, summary.changed, summary.removed, summary.unchanged) == (1, 0, 0, 5)
    assert embedder.embedded == ["Nouvel article. Apple investit dans la pomme.", "Nouvel article.",
                                 "Apple investit dans la pomme."]

    embedder.embedded.clear()
    (src / "new.txt").write_text("Article modifié. Apple investit dans la poire.", "utf-8")
    summary = build(seeded_project, embedder)
    assert (summary.added, summary.changed, summary.removed, summary.unchanged) == (0, 1, 0, 5)
    assert embedder.embedded == ["Article modifié. Apple investit dans la poire.", "Article modifié.",
                                 "Apple investit dans la poire."]
    hits = Retriever(Index.load(seeded_project.index_path), embedder).search("poire", k=1)
    assert hits[0].source.path == "new.txt"

    embedder.embedded.clear()
    (src / "new.txt").unlink()
    summary = build(seeded_project, embedder)
    assert (summary.added, summary.changed, summary.removed, summary.unchanged) == (0, 0, 1, 5)
    assert embedder.embedded == []
    index = Index.load(seeded_project.index_path)
    assert all(i.path != "new.txt" for i in index.sources.values())
    assert all(c.source_id in index.sources for c in index.chunks)

    summary = build(seeded_project, embedder, rebuild=True)
    assert summary.added == 5 and summary.chunks_embedded == index.count()


def test_vectors_of_unchanged_sources_are_kept_row_for_row(seeded_project, embedder):
    build(seeded_project, embedder)
    before = Index.load(seeded_project.index_path)
    (seeded_project.sources_path / "000_5ffeae91a7527f99.txt").write_text("Remplacé.", "utf-8")
    build(seeded_project, embedder)
    after = Index.load(seeded_project.index_path)
    old = {c.id: before.vectors[i] for i, c in enumerate(before.chunks)}
    for i, chunk in enumerate(after.chunks):
        if chunk.id in old and after.sources[chunk.source_id].path != "000_5ffeae91a7527f99.txt":
            assert (after.vectors[i] == old[chunk.id]).all()
            before_row = next(r for r, c in enumerate(before.chunks) if c.id == chunk.id)
            assert (after.sentence_vectors(i) == before.sentence_vectors(before_row)).all()


def test_an_index_from_another_embedder_or_format_is_refused_with_the_fix(seeded_project, embedder):
    build(seeded_project, embedder)
    other = FakeEmbedder(id="another-model")
    with pytest.raises(IndexMismatch, match="rag index --rebuild"):
        Index.load(seeded_project.index_path, other.id, CHUNKS)
    with pytest.raises(IndexMismatch, match="rag index --rebuild"):
        build(seeded_project, other)  # never mixes vectors of two models
    with pytest.raises(IndexMismatch, match="chunker"):
        Index.load(seeded_project.index_path, embedder.id, ChunkSettings(500, 100))
    manifest_path = Index.load(seeded_project.index_path).folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="format version"):
        Index.load(seeded_project.index_path)
    assert build(seeded_project, other, rebuild=True).added == 5


def test_an_index_from_an_older_version_is_rebuilt_by_the_next_build(seeded_project, embedder):
    build(seeded_project, embedder)
    manifest_path = Index.load(seeded_project.index_path).folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = FORMAT_VERSION - 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatch, match="rag index --rebuild"):
        Index.load(seeded_project.index_path)
    summary = build(seeded_project, embedder)
    assert summary.added == 5 and summary.chunks_embedded == summary.chunks_total
    assert Index.load(seeded_project.index_path).manifest["format_version"] == FORMAT_VERSION


def test_missing_index_says_how_to_build_it(project):
    with pytest.raises(IndexMissing, match="rag index"):
        Index.load(project.index_path)


def test_bad_files_are_reported_and_the_rest_is_indexed(seeded_project, embedder):
    (seeded_project.sources_path / "vide.txt").write_bytes(b"")
    summary = build(seeded_project, embedder)
    assert summary.added == 5
    assert [(s.path, s.reason) for s in summary.skipped] == [("vide.txt", "empty file")]
    assert "1 skipped" in summary.line()


def test_a_second_concurrent_build_is_refused(seeded_project, embedder):
    with _BuildLock(seeded_project.index_path):
        with pytest.raises(BuildInProgress):
            build(seeded_project, embedder)


KILLED_BUILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from fakes import FakeEmbedder
    from rag.config import ChunkSettings
    from rag.build import build_index
    from pathlib import Path
    print("started", flush=True)
    build_index(Path({src!r}), Path({idx!r}), FakeEmbedder(delay={delay}), ChunkSettings(300, 80), rebuild=True)
""")


@pytest.mark.parametrize("kill_after", [0.3, 1.5, 3.0])
def test_a_build_killed_with_sigkill_leaves_the_previous_index_usable(seeded_project, embedder, kill_after):
    build(seeded_project, embedder)
    before = Index.load(seeded_project.index_path)
    (seeded_project.sources_path / "extra.txt").write_text("Texte en plus. " * 200, "utf-8")
    script = KILLED_BUILD.format(tests=str(Path(__file__).parent), src=str(seeded_project.sources_path),
                                 idx=str(seeded_project.index_path), delay=0.03)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"started"
    time.sleep(kill_after)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    after = Index.load(seeded_project.index_path, embedder.id, CHUNKS)
    assert after.folder == before.folder
    assert [c.id for c in after.chunks] == [c.id for c in before.chunks]
    assert Retriever(after, embedder).search("Stargate", k=1)[0].chunk.text.count("Stargate")
    # and the next build recovers, cleaning up the partial one
    summary = build(seeded_project, embedder)
    assert summary.added == 1
    assert not [p for p in (seeded_project.index_path / "builds").iterdir() if p.name.startswith(".")]
