"""Running the chat as a child process on this machine's loopback (benchmarks and fault-injection
tests drive it the way a user's browser would)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

UI_SCRIPT = Path(__file__).resolve().parents[1] / "ui.py"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chat(home: Path, port: int, timeout_s: float = 120.0, env: dict[str, str] | None = None,
               args: tuple[str, ...] = ()) -> subprocess.Popen:
    """`python ui.py --port PORT [args]` for the project `home` (with `env` added to the environment),
    returned once it accepts connections."""
    proc = subprocess.Popen([sys.executable, str(UI_SCRIPT), "--port", str(port), *args],
                            env={**os.environ, "RAG_HOME": str(home), **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the chat exited with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"the chat did not start within {timeout_s:.0f} s")


def _wait_for(url: str, proc: subprocess.Popen, timeout_s: float, what: str) -> None:
    import urllib.error
    import urllib.request

    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"{what} did not start within {timeout_s:.0f} s")


def start_model_server(model_path: Path, port: int, kind: str = "llama-cpp-python", parallel: int = 1,
                       n_ctx: int = 4096, threads: int = 2, alias: str = "local",
                       timeout_s: float = 180.0) -> subprocess.Popen:
    """An OpenAI-compatible server for `model_path` on 127.0.0.1:`port`, returned once it answers:
    `kind` "llama-cpp-python" (`python -m llama_cpp.server`, one request at a time) or "llama-server"
    (llama.cpp's own, built by scripts/build_llama_server.sh: `parallel` slots sharing the context,
    continuous batching)."""
    if kind == "llama-cpp-python":
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--model_alias", alias,
               "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--n_threads_batch", str(threads),
               "--host", "127.0.0.1", "--port", str(port)]
    elif kind == "llama-server":
        binary = llama_server_binary()
        if binary is None:
            raise RuntimeError("llama-server is not built: run `bash scripts/build_llama_server.sh`")
        # each slot gets n_ctx tokens of its own
        cmd = [str(binary), "-m", str(model_path), "-a", alias, "-c", str(n_ctx * parallel), "-np", str(parallel),
               "-t", str(threads), "-tb", str(threads), "--host", "127.0.0.1", "--port", str(port)]
    else:
        raise ValueError(f"unknown server kind {kind!r}")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(f"http://127.0.0.1:{port}/v1/models", proc, timeout_s, kind)
    return proc


def llama_server_binary() -> Path | None:
    """llama.cpp's `llama-server` beside this Python (scripts/build_llama_server.sh puts it there), or on PATH."""
    import shutil

    beside = Path(sys.executable).parent / "llama-server"
    if beside.is_file():
        return beside
    found = shutil.which("llama-server")
    return Path(found) if found else None
