"""The user's library of sources: list, add, remove and rebuild, keeping the index in step.

A `Workspace` is what the chat serves from: the settings, the assistant (opened on first use) and
the index maintenance that runs beside it. Builds never disturb answering: the assistant keeps the
index it loaded until a new one is complete and swapped in. Nothing the user added is ever
overwritten: an upload under a name already taken is stored under a new name, and a file is copied
in under a hidden temporary name first, so that a crash leaves either the whole file or nothing.
"""

from __future__ import annotations

import filecmp
import logging
import os
import shutil
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.config import Settings
from rag.embedders import Embedder, get_embedder
from rag.conversations import ConversationStore
from rag.metadata import ArticleMeta, Edits
from rag.errors import IndexDamaged, IndexProblem, RagError, SourceError
from rag.build import BuildSummary, Progress, build_settings_index
from rag.index import Index, current_build
from rag.sources import read_source

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRow:
    title: str
    path: str
    chunks: int
    added: str
    copies: tuple[str, ...] = ()  # other files with the same text, indexed once under this one
    meta: ArticleMeta = ArticleMeta()


@dataclass
class AddReport:
    """What became of each uploaded file."""

    summary: BuildSummary | None = None
    stored: list[tuple[str, str]] = field(default_factory=list)  # (uploaded name, name in the sources folder)
    already_there: list[tuple[str, str]] = field(default_factory=list)  # (uploaded name, existing identical file)
    problems: list[str] = field(default_factory=list)


def _free_name(folder: Path, name: str) -> str:
    """`name`, or `stem-2.ext`, `stem-3.ext`… whichever is not taken in `folder`."""
    if not (folder / name).exists():
        return name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while (folder / f"{stem}-{n}{suffix}").exists():
        n += 1
    return f"{stem}-{n}{suffix}"


def _copy_whole(src: Path, dst: Path) -> None:
    """Copy under a hidden name (never indexed), flush to disk, then rename: all or nothing."""
    partial = dst.with_name(f".{dst.name}.partial")
    shutil.copyfile(src, partial)
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, dst)


class Workspace:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder  # for builds; opened on first use when not given
        self._given_embedder = embedder  # answering uses its own instance unless one is given (tests)
        self._assistants: dict[str, object] = {}
        self._build_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self.conversations = ConversationStore(settings.path(settings.conversations_file))

    # -- the index -----------------------------------------------------------------------------
    def has_index(self) -> bool:
        return current_build(self.settings.index_path) is not None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings.embedder)
        return self._embedder

    def index_problem(self) -> IndexProblem | None:
        """Why the current index cannot be used (damaged, built with other settings), or None."""
        try:
            Index.load(self.settings.index_path, self.embedder.id, self.settings.chunk, self.settings.index)
        except IndexProblem as exc:
            return exc
        return None

    def build(self, rebuild: bool = False, progress: Progress | None = None) -> BuildSummary:
        """Bring the index in line with the sources folder (repairing a damaged one), then let open
        assistants use it."""
        with self._build_lock:
            summary = build_settings_index(self.settings, self.embedder, rebuild=rebuild, progress=progress)
        for assistant in list(self._assistants.values()):
            assistant.reload_index()  # type: ignore[attr-defined]
        return summary

    def current_index(self) -> Index | None:
        """The index in use (the open assistant's, else read from disk), or None when there is none that loads."""
        assistant = next(iter(list(self._assistants.values())), None)
        if assistant is not None:
            return assistant.retriever.index  # type: ignore[attr-defined]
        try:
            return Index.load(self.settings.index_path) if self.has_index() else None
        except IndexProblem:
            return None

    def sources(self) -> list[SourceRow]:
        """Indexed sources, newest first."""
        if not self.has_index():
            return []
        index = Index.load(self.settings.index_path)
        rows = [SourceRow(s.title, s.path, len(s.chunks), s.added, tuple(s.copies), s.meta)
                for s in index.sources.values()]
        return sorted(rows, key=lambda r: (r.meta.date or "", r.path), reverse=True)

    def add_files(self, paths: list[Path], progress: Progress | None = None) -> AddReport:
        """Copy readable files into the sources folder and index them. A file identical to one already
        there is reported, not copied; a different file under a taken name gets a new name; unusable
        files come back as problems and are not copied."""
        report = AddReport()
        folder = self.settings.sources_path
        folder.mkdir(parents=True, exist_ok=True)
        for path in map(Path, paths):
            name = path.name
            try:  # the same checks as indexing: type, size, encoding, content
                read_source(path, path.parent, self.settings.max_source_bytes)
            except SourceError as exc:
                report.problems.append(f"{name}: {exc}")
                continue
            existing = folder / name
            if existing.is_file() and filecmp.cmp(path, existing, shallow=False):
                report.already_there.append((name, name))
                continue
            stored = _free_name(folder, name)
            _copy_whole(path, folder / stored)
            report.stored.append((name, stored))
        if report.stored:
            report.summary = self.build(progress=progress)
        return report

    def _source_file(self, relative_path: str) -> Path:
        """The file of a source, by its path in the sources folder; anything else is a SourceError."""
        folder = self.settings.sources_path.resolve()
        target = (folder / relative_path).resolve()
        if folder not in target.parents or not target.is_file():
            raise SourceError(f"no source {relative_path!r} in {folder}")
        return target

    def remove(self, relative_path: str, progress: Progress | None = None) -> BuildSummary:
        """Delete a source file from the sources folder and drop its chunks from the index."""
        self._source_file(relative_path).unlink()
        return self.build(progress=progress)

    def edit_metadata(self, relative_path: str, progress: Progress | None = None, **values: str | None) -> BuildSummary:
        """Correct a source's title, date, outlet, author or URL (an empty value goes back to what the
        file says); kept in the sources folder across rebuilds, applied at once (nothing is embedded)."""
        folder = self.settings.sources_path.resolve()
        target = self._source_file(relative_path)
        Edits(folder).save(target.relative_to(folder).as_posix(), **values)
        return self.build(progress=progress)

    # -- answering -----------------------------------------------------------------------------
    def warm_up(self) -> bool:
        """Open the assistant and warm its model (`Assistant.warm`) ahead of the first question, as the
        chat does in the background when it starts. Nothing happens without a usable index (the page
        builds it first); a model that cannot be loaded is logged, and the first question reports it."""
        try:
            if not self.has_index() or self.index_problem() is not None:
                return False
            self.assistant().warm()
        except RagError as exc:
            logger.warning("warm-up skipped: %s", exc)
            return False
        return True

    def assistant(self, model: str | None = None):
        """The assistant for `model` (the configured one by default), opened once and kept. A missing
        or damaged index is built first."""
        from rag.answer import Assistant

        name = model or self.settings.generation.model
        with self._open_lock:
            if name not in self._assistants:
                if not self.has_index() or isinstance(self.index_problem(), IndexDamaged):
                    self.build()
                settings = replace(self.settings, generation=replace(self.settings.generation, model=name))
                # one model in memory at a time: a 2-core, few-GB machine cannot hold many
                self._assistants.clear()
                self._assistants[name] = Assistant.open(settings, embedder=self._given_embedder)
            return self._assistants[name]
