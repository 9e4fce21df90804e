"""Fault injection on the real chat process: SIGKILL in the middle of an upload + index from the
Sources tab's API. After a restart the old index serves, the uploaded file is either whole or absent
(and the next `rag index` takes it), and no source file is lost or truncated."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.chunking import sentence_texts
from rag.index import Index, current_build
from rag.process import free_port, start_chat

pytestmark = pytest.mark.real
ROOT = Path(__file__).resolve().parents[1]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sigkill_during_upload_and_index_loses_nothing(tmp_path):
    from gradio_client import Client, handle_file

    home = tmp_path / "home"
    shutil.copytree(ROOT / "sources", home / "sources")
    (home / "rag.toml").write_text(f'models_dir = "{ROOT / "models"}"\n', "utf-8")
    subprocess.run([sys.executable, "-m", "rag.cli", "index", "--home", str(home)], check=True,
                   capture_output=True)
    before = current_build(home / "index")
    seeds = {p.name: _digest(p) for p in (home / "sources").iterdir()}
    # a long article (400 distinct sentences): embedding it takes far longer than the kill delay
    sentences = [s for p in sorted((ROOT / "sources").glob("*.txt")) for s in sentence_texts(p.read_text("utf-8"))]
    upload = tmp_path / "long_article.txt"
    upload.write_text("\n".join(f"Note {i} : {sentences[i % len(sentences)]}" for i in range(400)), "utf-8")

    port = free_port()
    proc = start_chat(home, port)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        threading.Thread(target=lambda: _ignore(client.predict, [handle_file(str(upload))],
                                                api_name="/add_sources"), daemon=True).start()
        stored = home / "sources" / upload.name
        deadline = time.time() + 60
        while not stored.exists() and time.time() < deadline:
            time.sleep(0.1)
        assert stored.exists(), "the upload never reached the sources folder"
        time.sleep(2)  # the build is embedding
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert current_build(home / "index") == before, "the build was not interrupted: make the upload longer"

    # nothing lost or truncated; the uploaded file is whole or absent
    assert {p.name: _digest(p) for p in (home / "sources").iterdir() if p.name in seeds} == seeds
    visible = sorted(p.name for p in (home / "sources").iterdir() if not p.name.startswith("."))
    assert visible == sorted([*seeds, upload.name])
    assert _digest(home / "sources" / upload.name) == _digest(upload)
    # the old index serves after a restart, and answers through the API
    index = Index.load(home / "index")
    assert len(index.sources) == len(seeds)
    port = free_port()
    proc = start_chat(home, port)
    try:
        result = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            "Comment s'appelle l'infrastructure informatique développée par OpenAI ?", [], api_name="/answer")
        assert "Stargate" in result["text"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    # the next `rag index` takes the uploaded file
    done = subprocess.run([sys.executable, "-m", "rag.cli", "index", "--home", str(home)], capture_output=True,
                          text=True, check=True)
    assert "1 added" in done.stdout
    assert any(s.path == upload.name for s in Index.load(home / "index").sources.values())


def _ignore(call, *args, **kwargs) -> None:
    try:
        call(*args, **kwargs)
    except Exception:  # the server is killed under it
        pass
