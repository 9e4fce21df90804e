"""The install is reproducible: every dependency that scripts/setup.sh and scripts/test.sh install is held
to a version the test suite passed with (scripts/constraints.txt), and that version satisfies pyproject."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
INSTALLED_EXTRAS = ("st", "default-llm", "dev", "server", "milvus")  # what setup.sh and test.sh install
BUILT_APART = {"torch", "llama-cpp-python"}  # pinned in setup.sh / pyproject and installed from a file


def constraints() -> dict[str, Version]:
    pinned = {}
    for line in (ROOT / "scripts" / "constraints.txt").read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)", line.strip())
        assert match, f"not a name==version line: {line!r}"
        pinned[canonicalize_name(match.group(1))] = Version(match.group(2))
    return pinned


def requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in INSTALLED_EXTRAS:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def test_every_installed_dependency_is_held_to_a_version_pyproject_allows():
    pinned = constraints()
    for req in requirements():
        name = canonicalize_name(req.name)
        if name in BUILT_APART:
            continue
        assert name in pinned, f"{req.name} is not in scripts/constraints.txt: run scripts/lock.sh"
        assert req.specifier.contains(pinned[name], prereleases=True), \
            f"scripts/constraints.txt holds {req.name} at {pinned[name]}, which pyproject's {req} excludes"


def test_the_scripts_install_with_the_constraints():
    for script in ("setup.sh", "test.sh"):
        text = (ROOT / "scripts" / script).read_text("utf-8")
        installs = [line for line in text.splitlines() if re.search(r"pip install .*-e \"\.\[", line)]
        assert installs and all("-c scripts/constraints.txt" in line for line in installs), script
