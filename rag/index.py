"""The on-disk index: chunks, their vectors (FAISS), a BM25 index and a manifest.

Layout under the index folder::

    current -> builds/<build id>     (symlink, swapped atomically when a build completes)
    builds/<build id>/manifest.json  format version, embedder id/dim, chunker settings, sources
    builds/<build id>/chunks.jsonl   one chunk per line, row i <-> vector i
    builds/<build id>/vectors.npy    normalised float32 vectors
    builds/<build id>/dense.faiss    FAISS index over the vectors
    builds/<build id>/sentences.npy  float16 vectors of every chunk's sentences (memory-mapped), and
    builds/<build id>/sentence_rows.npy  chunk i's sentences are rows [rows[i], rows[i + 1])
    builds/<build id>/lexical/       bm25s index over the chunk texts

A build writes a new folder and only then points `current` at it, so a build that fails or is
killed leaves the previous index untouched and loadable. Unchanged sources (same content hash)
keep their chunks and vectors: only new or edited sources are embedded. Sentence vectors are computed
at build time so that choosing the evidence for a question costs a lookup, not an embedding call.
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
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from rag import __version__
from rag.chunking import chunk_spans, sentence_texts
from rag.config import ChunkSettings
from rag.embedders import Embedder
from rag.lexical import LexicalIndex
from rag.sources import Skipped, Source, load_sources
from rag.vectors import VectorIndex

logger = logging.getLogger(__name__)

FORMAT_VERSION = 3
EMBED_BATCH = 64

Progress = Callable[[int, int, str], None]


class IndexProblem(RuntimeError):
    """Base for index problems the user must act on."""


class IndexMissing(IndexProblem):
    pass


class IndexMismatch(IndexProblem):
    """The index on disk was built with another embedder, chunker or format version."""


class BuildInProgress(IndexProblem):
    pass


@dataclass(frozen=True)
class Chunk:
    id: str
    source_id: str
    start: int
    end: int
    text: str


@dataclass
class SourceInfo:
    id: str
    path: str
    title: str
    hash: str
    added: str
    chunks: list[str] = field(default_factory=list)


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

    def line(self) -> str:
        text = (f"{self.added} added, {self.changed} changed, {self.removed} removed, {self.unchanged} unchanged; "
                f"{self.chunks_embedded} chunks embedded ({self.chunks_total} in index); {self.seconds:.1f} s")
        if self.skipped:
            text += f"; {len(self.skipped)} skipped"
        return text


def chunk_source(source: Source, settings: ChunkSettings) -> list[Chunk]:
    return [
        Chunk(f"{source.id}:{n}", source.id, s.start, s.end, source.text[s.start:s.end])
        for n, s in enumerate(chunk_spans(source.text, settings.max_chars, settings.overlap_chars))
    ]


class Index:
    """A loaded, read-only index."""

    def __init__(self, folder: Path, manifest: dict, chunks: list[Chunk], vectors: np.ndarray,
                 dense: VectorIndex, lexical: LexicalIndex, texts: dict[str, str],
                 sentences: "SentenceVectors") -> None:
        self.folder = folder
        self.manifest = manifest
        self.chunks = chunks
        self.vectors = vectors
        self.sentences = sentences
        self._by_id: dict[str, Chunk] | None = None
        self.dense = dense
        self.lexical = lexical
        self.sources = {sid: SourceInfo(**info) for sid, info in manifest["sources"].items()}
        self._texts = texts

    def count(self) -> int:
        return len(self.chunks)

    @property
    def embedder_id(self) -> str:
        return self.manifest["embedder"]["id"]

    def source_text(self, source_id: str) -> str:
        return self._texts[source_id]

    def chunk(self, chunk_id: str) -> Chunk:
        if self._by_id is None:
            self._by_id = {c.id: c for c in self.chunks}
        return self._by_id[chunk_id]

    def sentence_vectors(self, row: int) -> np.ndarray:
        """Vectors of chunk `row`'s sentences, in `split_sentences` order (float32)."""
        return self.sentences.of(row)

    @classmethod
    def load(cls, index_dir: Path, embedder_id: str | None = None,
             chunk_settings: ChunkSettings | None = None) -> "Index":
        """Load the current build; check it matches the embedder/chunker in use when given."""
        folder = current_build(index_dir)
        if folder is None:
            raise IndexMissing(f"no index in {index_dir}: run `rag index`")
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        check_compatible(manifest, embedder_id, chunk_settings)
        chunks = []
        with (folder / "chunks.jsonl").open(encoding="utf-8") as fh:
            for line in fh:
                chunks.append(Chunk(**json.loads(line)))
        texts = json.loads((folder / "texts.json").read_text("utf-8"))
        vectors = np.load(folder / "vectors.npy")
        dense = VectorIndex.load(folder / "dense.faiss")
        lexical = LexicalIndex.load(folder / "lexical")
        return cls(folder, manifest, chunks, vectors, dense, lexical, texts, SentenceVectors.load(folder))


@dataclass
class SentenceVectors:
    """The sentence vectors of all chunks: one float16 matrix and each chunk's row range."""

    vectors: np.ndarray  # (n sentences, dim) float16
    rows: np.ndarray  # (n chunks + 1,) int64

    def of(self, chunk_row: int) -> np.ndarray:
        return np.asarray(self.vectors[self.rows[chunk_row]:self.rows[chunk_row + 1]], np.float32)

    @classmethod
    def load(cls, folder: Path) -> "SentenceVectors":
        return cls(np.load(folder / "sentences.npy", mmap_mode="r"), np.load(folder / "sentence_rows.npy"))

    @classmethod
    def assemble(cls, per_chunk: list[np.ndarray], dim: int) -> "SentenceVectors":
        rows = np.zeros(len(per_chunk) + 1, np.int64)
        rows[1:] = np.cumsum([len(v) for v in per_chunk])
        stacked = np.concatenate(per_chunk) if per_chunk else np.zeros((0, dim))
        return cls(stacked.astype(np.float16), rows)


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


def check_compatible(manifest: dict, embedder_id: str | None, chunk_settings: ChunkSettings | None) -> None:
    problems = []
    if manifest.get("format_version") != FORMAT_VERSION:
        problems.append(f"format version {manifest.get('format_version')} (this program reads {FORMAT_VERSION})")
    if embedder_id is not None and manifest["embedder"]["id"] != embedder_id:
        problems.append(f"embedder {manifest['embedder']['id']!r} (configured: {embedder_id!r})")
    if chunk_settings is not None and manifest["chunker"] != asdict(chunk_settings):
        problems.append(f"chunker {manifest['chunker']} (configured: {asdict(chunk_settings)})")
    if problems:
        raise IndexMismatch("the index was built with " + "; ".join(problems) +
                            ". Run `rag index --rebuild` to build it again.")


def _format_version(index_dir: Path) -> int:
    folder = current_build(index_dir)
    manifest = json.loads((folder / "manifest.json").read_text("utf-8")) if folder else {}
    return int(manifest.get("format_version", 0))


def current_build(index_dir: Path) -> Path | None:
    link = index_dir / "current"
    if not link.exists():
        return None
    target = link.resolve()
    return target if (target / "manifest.json").exists() else None


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


def build_index(sources_dir: Path, index_dir: Path, embedder: Embedder, chunk_settings: ChunkSettings,
                rebuild: bool = False, max_source_bytes: int = 20_000_000,
                progress: Progress | None = None) -> BuildSummary:
    """Bring the index in line with the sources folder; embed only new and changed sources."""
    started = time.perf_counter()
    summary = BuildSummary()
    with _BuildLock(index_dir):
        sources, summary.skipped = load_sources(sources_dir, max_source_bytes)
        previous = None
        if not rebuild and current_build(index_dir) is not None:
            old_format = _format_version(index_dir)
            if old_format < FORMAT_VERSION:
                logger.warning("the index was built by an older version (format %s): rebuilding it from scratch",
                               old_format)
            else:
                previous = Index.load(index_dir, embedder.id, chunk_settings)
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
                infos[source.id] = old
                continue
            if old is None:
                summary.added += 1
            else:
                summary.changed += 1
            new = chunk_source(source, chunk_settings)
            chunks.extend(new)
            rows.extend([None] * len(new))
            infos[source.id] = SourceInfo(source.id, source.path, source.title, source.hash,
                                          old.added if old else now, [c.id for c in new])
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
        manifest = {
            "format_version": FORMAT_VERSION,
            "rag_version": __version__,
            "created": now,
            "embedder": {"id": embedder.id, "dim": embedder.dim},
            "chunker": asdict(chunk_settings),
            "sources": {sid: asdict(info) for sid, info in infos.items()},
        }
        _commit(index_dir, manifest, chunks, vectors, texts, SentenceVectors.assemble(sentence_vectors, embedder.dim))
    summary.seconds = time.perf_counter() - started
    logger.info("index: %s", summary.line())
    return summary


def _commit(index_dir: Path, manifest: dict, chunks: list[Chunk], vectors: np.ndarray,
            texts: dict[str, str], sentences: SentenceVectors) -> None:
    """Write a complete build next to the current one, then swap `current` to it atomically."""
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
    VectorIndex.build(vectors).save(partial / "dense.faiss")
    (partial / "lexical").mkdir()
    LexicalIndex.build([c.text for c in chunks]).save(partial / "lexical")
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
