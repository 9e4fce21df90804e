from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fakes import FakeEmbedder, FakeLLM, assistant_over  # noqa: E402

from rag.answer import Assistant  # noqa: E402
from rag.build import build_index  # noqa: E402
from rag.config import ChunkSettings, load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "sources"


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_llm() -> FakeLLM:
    return FakeLLM()


@pytest.fixture
def project(tmp_path: Path):
    """An empty project home with a sources folder; returns its settings."""
    (tmp_path / "sources").mkdir()
    return load_settings(tmp_path)


@pytest.fixture
def seeded_project(project):
    for f in sorted(SEEDS.glob("*.txt")):
        shutil.copy(f, project.sources_path / f.name)
    return project


@pytest.fixture
def assistant_with(seeded_project):
    """An Assistant over the seed articles with the fake embedder (its own cosine scale) and a fake
    LLM replying `replies`."""
    embedder = FakeEmbedder()
    seeded_project.chunk = ChunkSettings(600, 150)
    build_index(seeded_project.sources_path, seeded_project.index_path, embedder, seeded_project.chunk)

    def make(*replies: str) -> Assistant:
        return assistant_over(seeded_project, embedder, replies)

    return make
