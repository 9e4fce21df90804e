"""Peak resident memory of `rag index` over the PIAF dev articles and of `ui.py` serving answers.

    python bench/memory.py

Each is run as a child process; its peak RSS is sampled every 50 ms (psutil, child processes included).
The UI is asked three questions through gradio_client while it is measured.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PIAF, machine_line, save, seeded_home, table  # noqa: E402

from rag.process import UI_SCRIPT, free_port  # noqa: E402
from rag.squad import load_squad, write_corpus  # noqa: E402

VENV_BIN = Path(sys.executable).parent


class PeakRSS(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc, self.peak, self.running = psutil.Process(pid), 0, True

    def run(self) -> None:
        while self.running:
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs))
            except psutil.Error:
                pass
            time.sleep(0.05)


def measure(cmd: list[str], env: dict, until=None) -> tuple[float, float]:
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watcher = PeakRSS(proc.pid)
    watcher.start()
    if until is None:
        proc.wait()
    else:
        until()
        proc.terminate()
        proc.wait(timeout=30)
    watcher.running = False
    return watcher.peak / 2**20, time.perf_counter() - t


def main() -> None:
    print(machine_line(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="rag-mem-"))
    texts, _ = load_squad(PIAF)
    write_corpus(texts, work / "piaf" / "sources")
    env = {**os.environ, "RAG_HOME": str(work / "piaf")}
    index_mb, index_s = measure([str(VENV_BIN / "rag"), "index"], env)

    ui_home = seeded_home(work / "ui")
    port = free_port()
    env = {**os.environ, "RAG_HOME": str(ui_home), "RAG_UI_PORT": str(port)}

    def ask_three() -> None:
        from gradio_client import Client

        deadline = time.time() + 300
        while True:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:  # noqa: BLE001 - server still starting
                if time.time() > deadline:
                    raise
                time.sleep(1)
        for q in ["Combien Microsoft a-t-il investi en 2019 ?", "Qu'est-ce que Stargate ?",
                  "Quel est le montant du programme de subventions annoncé par OpenAI ?"]:
            client.predict(q, [], api_name="/answer")

    ui_mb, ui_s = measure([str(VENV_BIN / "python"), str(UI_SCRIPT)], env, until=ask_three)
    rows = [{"process": f"rag index (PIAF dev, {len(texts)} articles)", "peak RSS MB": index_mb, "seconds": index_s},
            {"process": "ui.py serving 3 answers (default models)", "peak RSS MB": ui_mb, "seconds": ui_s}]
    print(table(rows))
    print(f"\nresults: {save('memory', {'rows': rows})}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
