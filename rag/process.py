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


def start_chat(home: Path, port: int, timeout_s: float = 120.0) -> subprocess.Popen:
    """`python ui.py --port PORT` for the project `home`, returned once it accepts connections."""
    proc = subprocess.Popen([sys.executable, str(UI_SCRIPT), "--port", str(port)],
                            env={**os.environ, "RAG_HOME": str(home)}, stdout=subprocess.DEVNULL,
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
