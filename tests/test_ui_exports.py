"""The chat's conversation downloads are written to a temporary folder that the process removes on exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUILD = """
import sys, tempfile
from pathlib import Path
import ui
from rag.config import load_settings
from rag.library import Workspace
ui.build_app(Workspace(load_settings(sys.argv[1])))
print(*sorted(p.name for p in Path(tempfile.gettempdir()).glob("rag-exports-*")))
"""


def test_the_exports_folder_is_removed_when_the_chat_exits(tmp_path):
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    (home / "sources").mkdir(parents=True)
    tmp.mkdir()
    done = subprocess.run([sys.executable, "-c", BUILD, str(home)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(tmp)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0].startswith("rag-exports-")  # the folder existed while the app was up
    assert not list(tmp.glob("rag-exports-*"))


def test_a_chat_stopped_with_kill_removes_it_too(tmp_path):
    from rag.process import free_port, start_chat

    home, tmp = tmp_path / "home", tmp_path / "tmp"
    (home / "sources").mkdir(parents=True)
    tmp.mkdir()
    (home / "rag.toml").write_text(f'models_dir = "{ROOT / "models"}"\n', "utf-8")
    proc = start_chat(home, free_port(), env={"TMPDIR": str(tmp)}, args=("--no-warm-up",))
    try:
        assert list(tmp.glob("rag-exports-*"))
        proc.terminate()  # SIGTERM, as `kill` or a service manager sends
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
    assert not list(tmp.glob("rag-exports-*"))
