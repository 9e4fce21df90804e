"""Helpers shared by the benchmark scripts: tables, JSON results, machine facts."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from rag.squad import piaf_path

if TYPE_CHECKING:
    from rag.retrieval import Retriever

ROOT = Path(__file__).resolve().parents[1]
PIAF = piaf_path()  # $RAG_PIAF, beside the checkout, or /work/shared
RESULTS = ROOT / "bench" / "results"


def cpu() -> tuple[str, bool]:
    """The CPU's model name and whether it has AVX-512 (llama.cpp prefill is about twice as fast with it)."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and name in ("", platform.machine()):
                name = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return name, "avx512f" in flags


def machine() -> dict:
    name, avx512 = cpu()
    return {"cores": os.cpu_count(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "cpu": name, "avx512": avx512, "python": platform.python_version()}


def machine_line() -> str:
    """One line to print above every timing table: timings only compare within one machine."""
    m = machine()
    return (f"machine: {m['cpu']} ({'AVX-512' if m['avx512'] else 'no AVX-512'}), {m['cores']} cores, "
            f"{m['ram_gb']} GB RAM")


def seeded_home(home: Path) -> Path:
    """A project folder at `home` holding a copy of the seed articles, this checkout's models, and its
    index built (`rag index`), for benchmarks that start the chat as a separate process."""
    shutil.copytree(ROOT / "sources", home / "sources")
    (home / "rag.toml").write_text(f'models_dir = "{ROOT / "models"}"\n', "utf-8")
    subprocess.run([sys.executable, "-m", "rag.cli", "index", "--home", str(home)], check=True, capture_output=True)
    return home


@contextmanager
def piaf_half(settings, embedder, articles: int, questions: int, split: str, squad: Path = PIAF,
              prefix: str = "rag-piaf-") -> Iterator[tuple[list, "Retriever"]]:
    """The questions of a PIAF dev slice of one half (those `rag eval --squad … --split` asks) and a
    retriever over its articles, indexed in a temporary folder that is removed afterwards."""
    from rag.evaluation import squad_gold

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        gold = squad_gold(squad, Path(tmp) / "sources", articles, questions, split=split)
        yield gold, indexed(settings, embedder, Path(tmp))


def indexed(settings, embedder, folder: Path) -> "Retriever":
    """A retriever over the articles written in `folder`/sources, indexed into `folder`/index."""
    from rag.build import build_index
    from rag.retrieval import Retriever

    corpus = replace(settings, sources_dir=folder / "sources", index_dir=folder / "index")
    build_index(corpus.sources_path, corpus.index_path, embedder, settings.chunk)
    return Retriever.open(corpus, embedder)


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A plain-text table (also valid Markdown)."""
    columns = columns or list(rows[0])
    cells = [[_fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    return "\n".join([line(columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(), **payload}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False))
    return path


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
