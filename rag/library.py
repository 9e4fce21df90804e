"""The user's library of sources: list, add, remove and rebuild, keeping the index in step.

A `Workspace` is what the chat serves from: the settings, the assistant (opened on first use) and
the index maintenance that runs beside it. Builds never disturb answering: the assistant keeps the
index it loaded until a new one is complete and swapped in.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from rag.config import Settings
from rag.embedders import get_embedder
from rag.index import BuildSummary, Index, IndexProblem, Progress, build_index, current_build
from rag.sources import SourceError, read_source

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceRow:
    title: str
    path: str
    chunks: int
    added: str


class Workspace:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._assistants: dict[str, object] = {}
        self._build_lock = threading.Lock()
        self._open_lock = threading.Lock()

    # -- the index -----------------------------------------------------------------------------
    def has_index(self) -> bool:
        return current_build(self.settings.index_path) is not None

    def build(self, rebuild: bool = False, progress: Progress | None = None) -> BuildSummary:
        """Bring the index in line with the sources folder, then let open assistants use it."""
        with self._build_lock:
            summary = build_index(self.settings.sources_path, self.settings.index_path,
                                  get_embedder(self.settings.embedder), self.settings.chunk, rebuild=rebuild,
                                  max_source_bytes=self.settings.max_source_bytes, progress=progress)
        for assistant in list(self._assistants.values()):
            assistant.reload_index()  # type: ignore[attr-defined]
        return summary

    def sources(self) -> list[SourceRow]:
        """Indexed sources, newest first."""
        if not self.has_index():
            return []
        index = Index.load(self.settings.index_path)
        rows = [SourceRow(s.title, s.path, len(s.chunks), s.added) for s in index.sources.values()]
        return sorted(rows, key=lambda r: (r.added, r.path), reverse=True)

    def add_files(self, paths: list[Path], progress: Progress | None = None) -> tuple[BuildSummary | None, list[str]]:
        """Copy readable files into the sources folder and index them; problems come back as messages
        and the bad files are not copied."""
        problems = []
        accepted = []
        folder = self.settings.sources_path
        folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            name = Path(path).name
            try:  # the same checks as indexing: type, size, encoding, content
                read_source(Path(path), Path(path).parent, self.settings.max_source_bytes)
            except SourceError as exc:
                problems.append(f"{name}: {exc}")
                continue
            accepted.append((Path(path), folder / name))
        if not accepted:
            return None, problems
        for src, dst in accepted:
            shutil.copyfile(src, dst)
        return self.build(progress=progress), problems

    def remove(self, relative_path: str, progress: Progress | None = None) -> BuildSummary:
        """Delete a source file from the sources folder and drop its chunks from the index."""
        folder = self.settings.sources_path.resolve()
        target = (folder / relative_path).resolve()
        if folder not in target.parents or not target.is_file():
            raise IndexProblem(f"no source {relative_path!r} in {folder}")
        target.unlink()
        return self.build(progress=progress)

    # -- answering -----------------------------------------------------------------------------
    def assistant(self, model: str | None = None):
        """The assistant for `model` (the configured one by default), opened once and kept."""
        from dataclasses import replace

        from rag.answer import Assistant

        name = model or self.settings.generation.model
        if not self.has_index():
            self.build()
        with self._open_lock:
            if name not in self._assistants:
                settings = replace(self.settings, generation=replace(self.settings.generation, model=name))
                # one model in memory at a time: a 2-core, few-GB machine cannot hold many
                self._assistants.clear()
                self._assistants[name] = Assistant.open(settings)
            return self._assistants[name]
