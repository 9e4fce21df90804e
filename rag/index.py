"""The on-disk index: chunks, their vectors (FAISS), a BM25 index and a manifest.

Layout under the index folder::

    current -> builds/<build id>     (symlink, swapped atomically when a build completes)
    builds/<build id>/manifest.json  format version, embedder id/dim, chunker settings, sources
    builds/<build id>/chunks.jsonl   one chunk per line, row i <-> vector i
    builds/<build id>/vectors.npy    normalised float32 vectors
    builds/<build id>/dense.faiss    FAISS index over the vectors (FAISS engine only)
    builds/<build id>/sentences.npy  float16 vectors of every chunk's sentences (memory-mapped), and
    builds/<build id>/sentence_rows.npy  chunk i's sentences are rows [rows[i], rows[i + 1])
    builds/<build id>/lexical/       bm25s index over the chunk texts (FAISS engine; with Milvus, only
                                     the document frequencies the verifier reads)
    builds/<build id>/terms.json     the collection's words and language, and
    builds/<build id>/terms.npy      their float16 embeddings (rag.term_bridge)

The manifest's `engine` says where the chunks are searched: {"backend": "faiss"} (the files above) or
{"backend": "milvus", "uri": …, "collection": …} (rag.engines.milvus).

Builds are written by `rag.build`. Loading checks the format, the embedder and chunker the index was
built with, and every file's size against the manifest: a damaged file is named in an `IndexDamaged`
error (and `rag index` rebuilds it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.config import ChunkSettings, IndexSettings
from rag.engines.base import SearchEngine
from rag.engines.faiss import FaissEngine
from rag.errors import IndexDamaged, IndexMismatch, IndexMissing, IndexProblem
from rag.lexical import LexicalIndex
from rag.metadata import ArticleMeta
from rag.term_bridge import WORDS_FILE, TermBridge
from rag.vectors import VectorIndex

logger = logging.getLogger(__name__)

# 3: sentence vectors stored with the chunks; 4: sentences no longer end inside "[…]" or after "[réf."
# (rag.chunking), so a format-3 index's sentence vectors may not line up: it is rebuilt; 5: a closing quote
# standing alone after a space ("… adieu ! »") belongs to the sentence before it; 6: the collection's words
# and their embeddings (rag.term_bridge)
FORMAT_VERSION = 6


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
    # other files in the sources folder with exactly the same text: indexed once, under this source
    copies: list[str] = field(default_factory=list)
    # the article's metadata (rag.metadata), read again from the files at every build
    date: str | None = None
    outlet: str | None = None
    author: str | None = None
    url: str | None = None
    date_guessed: bool = False

    @property
    def meta(self) -> "ArticleMeta":
        return ArticleMeta(self.title, self.date, self.outlet, self.author, self.url, self.date_guessed)


class Index:
    """A loaded, read-only index."""

    def __init__(self, folder: Path, manifest: dict, chunks: list[Chunk], vectors: np.ndarray,
                 engine: SearchEngine | None, lexical: LexicalIndex, texts: dict[str, str],
                 sentences: "SentenceVectors", terms: TermBridge | None = None) -> None:
        self.folder = folder
        self.manifest = manifest
        self.chunks = chunks
        self.vectors = vectors
        self.sentences = sentences
        self.engine = engine  # None when loaded without it (by a build)
        self.lexical = lexical  # document frequencies (and, with FAISS, the BM25 index itself)
        self.terms = terms  # the collection's words, for questions in another language
        self.sources = {sid: SourceInfo(**info) for sid, info in manifest["sources"].items()}
        self._texts = texts

    def count(self) -> int:
        return len(self.chunks)

    @property
    def dense(self) -> VectorIndex:
        """The FAISS vector index (FAISS engine only)."""
        if not isinstance(self.engine, FaissEngine):
            raise AttributeError(f"the {self.engine.name} engine has no FAISS index")
        return self.engine.dense

    @property
    def embedder_id(self) -> str:
        return self.manifest["embedder"]["id"]

    def source_text(self, source_id: str) -> str:
        return self._texts[source_id]

    @cached_property
    def row_of(self) -> dict[str, int]:
        """Each chunk id's row (built once per loaded index)."""
        return {c.id: i for i, c in enumerate(self.chunks)}

    def chunk(self, chunk_id: str) -> Chunk:
        return self.chunks[self.row_of[chunk_id]]

    def rows_of(self, source_ids: Iterable[str]) -> np.ndarray:
        """The rows of these sources' chunks, sorted."""
        return np.array(sorted(self.row_of[cid] for sid in source_ids for cid in self.sources[sid].chunks), np.int64)

    def sentence_vectors(self, row: int) -> np.ndarray:
        """Vectors of chunk `row`'s sentences, in `split_sentences` order (float32)."""
        return self.sentences.of(row)

    @classmethod
    def load(cls, index_dir: Path, embedder_id: str | None = None, chunk_settings: ChunkSettings | None = None,
             engine: IndexSettings | None = None, open_engine: bool = True) -> "Index":
        """Load the current build; check it matches the embedder/chunker/engine in use when given. Without
        `open_engine` the search engine is not opened (a build reads the previous chunks and vectors)."""
        folder = current_build(index_dir)
        if folder is None:
            raise IndexMissing(f"no index in {index_dir}: run `rag index`")
        manifest = _manifest(folder)
        check_compatible(manifest, embedder_id, chunk_settings)
        backend = engine_of(manifest).get("backend", "faiss")
        if engine is not None and backend != engine.backend:
            raise IndexMismatch(f"the index is searched with {backend}, the settings say {engine.backend}: "
                                "run `rag index` to move it (nothing is embedded again)")
        check_files(folder, manifest)
        chunks = _read(folder, "chunks.jsonl", lambda p: [Chunk(**json.loads(line)) for line in
                                                         p.read_text("utf-8").splitlines()])
        texts = _read(folder, "texts.json", lambda p: json.loads(p.read_text("utf-8")))
        vectors = _read(folder, "vectors.npy", np.load)
        lexical = _read(folder, "lexical", LexicalIndex.load)
        sentences = _read(folder, "sentences.npy", lambda p: SentenceVectors.load(p.parent))
        terms = _read(folder, WORDS_FILE, lambda p: TermBridge.load(p.parent))
        index = cls(folder, manifest, chunks, vectors, None, lexical, texts, sentences, terms)
        if open_engine and backend == "milvus":
            from rag.engines.milvus import MilvusEngine

            info = engine_of(manifest)
            index.engine = MilvusEngine(info["uri"], info["collection"], index.row_of, vectors)
        elif open_engine:
            index.engine = FaissEngine(_read(folder, "dense.faiss", VectorIndex.load), lexical)
        searchable = index.engine.count() if index.engine is not None else len(chunks)
        if not (len(chunks) == len(vectors) == searchable == len(sentences.rows) - 1):
            raise IndexDamaged(f"the index in {folder} is inconsistent ({len(chunks)} chunks, {len(vectors)} vectors, "
                               f"{searchable} in {backend}); run `rag index` to repair it")
        return index


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


def _damaged(folder: Path, name: str, why: str) -> IndexDamaged:
    return IndexDamaged(f"the index file {folder / name} is damaged or incomplete ({why}); "
                        "run `rag index` to rebuild it")


def _read(folder: Path, name: str, reader: Callable[[Path], object]):
    """`reader(folder / name)`, any failure reported as a damaged index file."""
    try:
        return reader(folder / name)
    except IndexProblem:
        raise
    except Exception as exc:  # a damaged file fails in the reader's own way (JSON, numpy, FAISS, bm25s)
        raise _damaged(folder, name, f"{type(exc).__name__}: {str(exc)[:160]}") from exc


def _manifest(folder: Path) -> dict:
    """A build's manifest: a JSON object, or the index is damaged."""
    manifest = _read(folder, "manifest.json", lambda p: json.loads(p.read_text("utf-8")))
    if not isinstance(manifest, dict):
        raise _damaged(folder, "manifest.json", "not a JSON object")
    return manifest


def file_sizes(folder: Path) -> dict[str, int]:
    """Size of every file of a build (the manifest aside), by path relative to the build folder."""
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def check_files(folder: Path, manifest: dict) -> None:
    """Every file the manifest lists is there with its recorded size (a truncated or missing file is
    caught before it is read)."""
    for name, size in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise _damaged(folder, name, "missing")
        if path.stat().st_size != size:
            raise _damaged(folder, name, f"{path.stat().st_size:,} bytes, {size:,} expected")


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


def engine_of(manifest: dict) -> dict:
    """Where a build's chunks are searched (builds from before the engines were pluggable: FAISS)."""
    engine = manifest.get("engine")
    return engine if isinstance(engine, dict) else {"backend": "faiss"}


def _format_version(index_dir: Path) -> int:
    folder = current_build(index_dir)
    return int(_manifest(folder).get("format_version", 0)) if folder is not None else 0


def current_build(index_dir: Path) -> Path | None:
    link = index_dir / "current"
    if not link.exists():
        return None
    target = link.resolve()
    return target if (target / "manifest.json").exists() else None
