"""Building the index: bring it in line with the sources folder, embedding only what changed.

A build writes a new folder and only then points `current` at it, so a build that fails or is
killed leaves the previous index untouched and loadable. Unchanged sources (same content hash)
keep their chunks and vectors: only new or edited sources are embedded; files with the same text are
indexed once. Sentence vectors are computed at build time so that choosing the evidence for a
question costs a lookup, not an embedding call. An index from an older format, or a damaged one, is
rebuilt from scratch by a plain build; one from another embedder or chunker is refused.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from rag import __version__
from rag.chunking import chunk_spans, sentence_texts
from rag.config import ChunkSettings, IndexSettings, Settings
from rag.embedders import Embedder
from rag.errors import BuildInProgress, IndexDamaged, SettingsError
from rag.index import FORMAT_VERSION, Chunk, Index, SentenceVectors, SourceInfo, _format_version, current_build, \
    file_sizes
from rag.lexical import LexicalIndex
from rag.sources import Skipped, Source, load_sources
from rag.term_bridge import TermBridge
from rag.vectors import VectorIndex

logger = logging.getLogger(__name__)

EMBED_BATCH = 64

Progress = Callable[[int, int, str], None]


@dataclass
class BuildSummary:
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    skipped: list[Skipped] = field(default_factory=list)
    copies: list[tuple[str, str]] = field(default_factory=list)  # (file, the source it repeats)
    notes: list[str] = field(default_factory=list)  # what the build had to do by itself (a repair)

    def line(self) -> str:
        text = (f"{self.added} added, {self.changed} changed, {self.removed} removed, {self.unchanged} unchanged; "
                f"{self.chunks_embedded} chunks embedded ({self.chunks_total} in index); {self.seconds:.1f} s")
        if self.copies:
            text += f"; {len(self.copies)} identical to another source (indexed once)"
        if self.skipped:
            text += f"; {len(self.skipped)} skipped"
        return text


def chunk_source(source: Source, settings: ChunkSettings) -> list[Chunk]:
    return [
        Chunk(f"{source.id}:{n}", source.id, s.start, s.end, source.text[s.start:s.end])
        for n, s in enumerate(chunk_spans(source.text, settings.max_chars, settings.overlap_chars))
    ]


def _meta_fields(source: Source) -> dict:
    """The SourceInfo fields that come from the article's metadata."""
    m = source.meta
    return {"title": source.title, "date": m.date, "outlet": m.outlet, "author": m.author, "url": m.url,
            "date_guessed": m.date_guessed}


def embed_sentences(embedder: Embedder, texts: list[str], progress: Progress | None = None) -> list[np.ndarray]:
    """Each text's sentence vectors; a sentence repeated across texts (chunk overlap) is embedded once."""
    per_text = [sentence_texts(t) for t in texts]
    unique = sorted(dict.fromkeys(s for sentences in per_text for s in sentences), key=len)
    vectors: dict[str, np.ndarray] = {}
    for b in range(0, len(unique), EMBED_BATCH):
        batch = unique[b:b + EMBED_BATCH]
        vectors.update(zip(batch, embedder.embed_passages(batch)))
        if progress:
            progress(min(b + EMBED_BATCH, len(unique)), len(unique), "embedding sentences")
    return [np.array([vectors[s] for s in sentences], np.float32).reshape(len(sentences), embedder.dim)
            for sentences in per_text]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: str | bytes) -> None:
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


class _BuildLock:
    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / ".build.lock"
        self.fh = None

    def __enter__(self) -> "_BuildLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.path, "w")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self.fh.close()
            raise BuildInProgress(f"another build of {self.path.parent} is running") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.fh is not None
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def build_settings_index(settings: Settings, embedder: Embedder, rebuild: bool = False,
                         progress: Progress | None = None) -> BuildSummary:
    """`build_index` for a project's settings (its folders, size limit and link policy)."""
    engine = settings.index
    if engine.backend == "milvus":
        from rag.engines.milvus import resolve_uri

        engine = replace(engine, uri=resolve_uri(engine, settings.home))
    return build_index(settings.sources_path, settings.index_path, embedder, settings.chunk, rebuild=rebuild,
                       max_source_bytes=settings.max_source_bytes, progress=progress,
                       follow_outside_links=settings.follow_outside_links, engine=engine)


def _previous(index_dir: Path, embedder: Embedder, chunk_settings: ChunkSettings, summary: BuildSummary) -> "Index | None":
    """The index to update, or None to build from scratch: an index from an older format, or a damaged
    one, is rebuilt (and the summary says so); one from another embedder or chunker is refused."""
    if current_build(index_dir) is None:
        return None
    try:
        old_format = _format_version(index_dir)
        if old_format < FORMAT_VERSION:
            summary.notes.append(f"the index was built by an older version (format {old_format}): rebuilt from scratch")
            return None
        return Index.load(index_dir, embedder.id, chunk_settings, open_engine=False)  # chunks and vectors only
    except IndexDamaged as exc:
        summary.notes.append(f"{exc} — rebuilt from scratch")
        return None


def _unique_by_content(sources: list[Source], summary: BuildSummary) -> tuple[list[Source], dict[str, list[str]]]:
    """Sources with distinct texts (the first path of each text is indexed), and for each indexed
    source the other paths holding the same text."""
    first: dict[str, Source] = {}
    copies: dict[str, list[str]] = {}
    for source in sources:
        if source.hash in first:
            original = first[source.hash]
            copies[original.id].append(source.path)
            summary.copies.append((source.path, original.path))
            logger.info("%s has the same text as %s: indexed once", source.path, original.path)
        else:
            first[source.hash] = source
            copies[source.id] = []
    return list(first.values()), copies


def build_index(sources_dir: Path, index_dir: Path, embedder: Embedder, chunk_settings: ChunkSettings,
                rebuild: bool = False, max_source_bytes: int = 20_000_000,
                progress: Progress | None = None, follow_outside_links: bool = False,
                engine: IndexSettings | None = None) -> BuildSummary:
    """Bring the index in line with the sources folder; embed only new and changed sources; search
    it with `engine` (FAISS files by default; Milvus with an absolute or server `uri`)."""
    if engine is not None and engine.backend not in ("faiss", "milvus"):
        raise SettingsError(f"index.backend: unknown search engine {engine.backend!r} (faiss or milvus)")
    started = time.perf_counter()
    summary = BuildSummary()
    with _BuildLock(index_dir):
        sources, summary.skipped = load_sources(sources_dir, max_source_bytes, follow_outside_links)
        sources, copies = _unique_by_content(sources, summary)
        previous = None if rebuild else _previous(index_dir, embedder, chunk_settings, summary)
        for note in summary.notes:
            logger.warning("%s", note)
        old_sources = previous.sources if previous else {}
        old_rows = {c.id: i for i, c in enumerate(previous.chunks)} if previous else {}

        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        chunks: list[Chunk] = []
        rows: list[int | None] = []  # row in the previous vectors, or None to embed
        infos: dict[str, SourceInfo] = {}
        for source in sources:
            old = old_sources.get(source.id)
            if old is not None and old.hash == source.hash:
                summary.unchanged += 1
                kept = [previous.chunks[old_rows[cid]] for cid in old.chunks]  # type: ignore[union-attr]
                chunks.extend(kept)
                rows.extend(old_rows[c.id] for c in kept)
                infos[source.id] = SourceInfo(**{**asdict(old), "copies": copies[source.id], **_meta_fields(source)})
                continue
            if old is None:
                summary.added += 1
            else:
                summary.changed += 1
            new = chunk_source(source, chunk_settings)
            chunks.extend(new)
            rows.extend([None] * len(new))
            infos[source.id] = SourceInfo(id=source.id, path=source.path, hash=source.hash,
                                          added=old.added if old else now, chunks=[c.id for c in new],
                                          copies=copies[source.id], **_meta_fields(source))
        summary.removed = len(set(old_sources) - set(infos))

        # batches of similar lengths waste less padding in batched encoders
        to_embed = sorted((i for i, r in enumerate(rows) if r is None), key=lambda i: len(chunks[i].text))
        vectors = np.zeros((len(chunks), embedder.dim), np.float32)
        for i, r in enumerate(rows):
            if r is not None:
                vectors[i] = previous.vectors[r]  # type: ignore[union-attr]
        embed_started = time.perf_counter()
        if progress:
            progress(0, len(to_embed), "embedding")
        for b in range(0, len(to_embed), EMBED_BATCH):
            batch = to_embed[b:b + EMBED_BATCH]
            vectors[batch] = embedder.embed_passages([chunks[i].text for i in batch])
            if progress:
                progress(min(b + EMBED_BATCH, len(to_embed)), len(to_embed), "embedding")
        sentence_vectors: list[np.ndarray] = [
            previous.sentence_vectors(r) if r is not None else np.zeros(0)  # type: ignore[union-attr]
            for r in rows]
        for i, v in zip(to_embed, embed_sentences(embedder, [chunks[i].text for i in to_embed], progress)):
            sentence_vectors[i] = v
        summary.embed_seconds = time.perf_counter() - embed_started
        summary.chunks_embedded = len(to_embed)
        summary.chunks_total = len(chunks)

        texts = {s.id: s.text for s in sources}
        terms = TermBridge.build(texts.values(), embedder, previous.terms if previous else None, progress)
        manifest = {
            "format_version": FORMAT_VERSION,
            "rag_version": __version__,
            "created": now,
            "embedder": {"id": embedder.id, "dim": embedder.dim},
            "chunker": asdict(chunk_settings),
            "sources": {sid: asdict(info) for sid, info in infos.items()},
        }
        _commit(index_dir, manifest, chunks, vectors, texts, SentenceVectors.assemble(sentence_vectors, embedder.dim),
                terms, engine, rebuild, progress)
    summary.seconds = time.perf_counter() - started
    logger.info("index: %s", summary.line())
    return summary


def _commit(index_dir: Path, manifest: dict, chunks: list[Chunk], vectors: np.ndarray,
            texts: dict[str, str], sentences: SentenceVectors, terms: TermBridge, engine: IndexSettings | None = None,
            rebuild: bool = False, progress: Progress | None = None) -> None:
    """Write a complete build next to the current one, then swap `current` to it atomically. With
    Milvus, the collection is brought in line first (see rag.engines.milvus for what a kill leaves)."""
    milvus = engine is not None and engine.backend == "milvus"
    if milvus:
        from rag.engines.milvus import sync

        assert engine is not None
        signature = json.dumps({"embedder": manifest["embedder"], "chunker": manifest["chunker"]}, sort_keys=True)
        hashes = {sid: info["hash"] for sid, info in manifest["sources"].items()}
        sync(engine.uri, engine.collection, signature, chunks, vectors, hashes, rebuild, progress)
        manifest = {**manifest, "engine": {"backend": "milvus", "uri": engine.uri, "collection": engine.collection}}
    else:
        manifest = {**manifest, "engine": {"backend": "faiss"}}
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    partial = builds / f".{build_id}.partial"
    partial.mkdir()
    _write(partial / "chunks.jsonl", "".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in chunks))
    _write(partial / "texts.json", json.dumps(texts, ensure_ascii=False))
    for name, array in [("vectors", vectors), ("sentences", sentences.vectors), ("sentence_rows", sentences.rows)]:
        with open(partial / f"{name}.npy", "wb") as fh:
            np.save(fh, array)
    if not milvus:
        VectorIndex.build(vectors).save(partial / "dense.faiss")
    (partial / "lexical").mkdir()
    LexicalIndex.build([c.text for c in chunks], stats_only=milvus).save(partial / "lexical")
    terms.save(partial)
    manifest = {**manifest, "files": file_sizes(partial)}
    _write(partial / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
    for f in [*partial.iterdir(), *(partial / "lexical").iterdir()]:
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(partial)
    final = builds / build_id
    os.rename(partial, final)
    _fsync_dir(builds)
    tmp_link = index_dir / f".current.{build_id}"
    os.symlink(Path("builds") / build_id, tmp_link)
    os.replace(tmp_link, index_dir / "current")
    _fsync_dir(index_dir)
    _prune(index_dir, keep=final)


def _prune(index_dir: Path, keep: Path) -> None:
    """Remove unfinished builds and all finished ones but the current and the one before it."""
    builds = index_dir / "builds"
    finished = sorted((p for p in builds.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)
    keep_names = {keep.name} | ({finished[-2].name} if len(finished) > 1 and finished[-1] == keep else set())
    for p in builds.iterdir():
        if p.name not in keep_names:
            shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".current.*"):
        p.unlink(missing_ok=True)
