"""Several chat users at once: every answer arrives, no conversation leaks into another, and how long
each user waited in the queue.

    python bench/load.py [--users 1 4 8] [--questions 3] [--backends in-process llama-server] [--slots 4]

Starts `python ui.py` on a free port of 127.0.0.1 over the seed articles, for each backend: the default
in-process llama.cpp (one generation at a time), and llama.cpp's `llama-server` with `--slots` parallel
slots (continuous batching; built by scripts/build_llama_server.sh), which the chat then serves that
many users at once. Then for each user count runs that many users at once, each a
separate gradio_client session calling the chat's `/chat` endpoint, which keeps each session's
conversation on the server. Each user asks a lead question and follow-ups ("Et …") that only make sense
in its own conversation. Bounded: a fixed number of requests, each with a timeout; only loopback.
Waiting time is from submitting a question to the server starting on it (Gradio's queue, which the
page shows each waiting user as "queue: n/m"), read from the job's status updates, with the largest
queue position each user was shown; first token is from submitting to the first streamed answer text; total is from submitting to the
checked answer.
"""

from __future__ import annotations

import argparse
import html
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine_line, save, seeded_home, table  # noqa: E402

from rag.process import free_port, start_chat  # noqa: E402

TIMEOUT_S = 900
# One conversation per user: a lead question, then follow-ups that refer to it.
CONVERSATIONS = [
    ["Comment s'appelle l'infrastructure informatique développée par OpenAI ?", "Et avec quels partenaires ?",
     "Et pour quel montant ?"],
    ["Combien Microsoft a-t-il investi dans OpenAI en 2019 ?", "Et au total ?", "Et quelle part détient-il ?"],
    ["Quel est le montant du programme de subventions annoncé par OpenAI ?", "Et à qui s'adresse-t-il ?",
     "Et dans quels domaines ?"],
    ["Avec quelle startup d'Elon Musk Microsoft s'est-il associé ?", "Et pour quoi faire ?",
     "Et quand ?"],
]


def _text(content) -> str:
    """A chat message's text, whether Gradio sends a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_text(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text", content.get("value", "")))
    return ""


def _first_text(outputs: list) -> bool:
    """Has the chat streamed answer text yet (beyond the "…" placeholder)?"""
    if not outputs:
        return False
    chat = outputs[-1][1] if len(outputs[-1]) > 1 else []
    return bool(chat) and chat[-1].get("role") == "assistant" and _text(chat[-1].get("content")).strip() not in ("", "…")


def user(url: str, n: int, questions: list[str], rows: list[dict], model: str) -> None:
    from gradio_client import Client
    from gradio_client.utils import Status

    client = Client(url, verbose=False)
    chat: list = []
    for turn, question in enumerate(questions):
        submitted = time.perf_counter()
        job = client.submit(question, chat, "", 6, model, 0.0, "", "", [], "", api_name="/chat")
        started, position, first = None, 0, None
        while not job.done():
            if first is None and _first_text(job.outputs()):
                first = time.perf_counter()
            status = job.status()
            if status.code == Status.IN_QUEUE and status.rank is not None:
                position = max(position, status.rank + 1)
            if started is None and status.code in (Status.PROCESSING, Status.ITERATING):
                started = time.perf_counter()
            if time.perf_counter() - submitted > TIMEOUT_S:
                job.cancel()
                break
            time.sleep(0.05)
        try:
            chat = job.result(timeout=5)[1]
            error = ""
        except Exception as exc:  # noqa: BLE001 - reported in the table
            error = f"{type(exc).__name__}: {exc}"[:80]
        done = time.perf_counter()
        asked = [html.unescape(_text(m.get("content"))) for m in chat if m.get("role") == "user"]
        rows.append({"user": n, "turn": turn, "question": question, "error": error,
                     "own conversation": asked == questions[:turn + 1],
                     "answered": bool(chat) and chat[-1].get("role") == "assistant" and not error,
                     "queue position": position, "waited_s": ((started or done) - submitted),
                     "first_token_s": ((first or done) - submitted), "total_s": done - submitted})


def run(url: str, users: int, questions: int, model: str) -> list[dict]:
    rows: list[dict] = []
    threads = [threading.Thread(target=user, args=(url, n, CONVERSATIONS[n % len(CONVERSATIONS)][:questions], rows,
                                                   model))
               for n in range(users)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT_S * questions)
    wall = time.perf_counter() - t0
    for r in rows:
        r["users"], r["wall_s"] = users, wall
    return rows


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else 0.0


def measure(home: Path, backend: str, users_list: list[int], questions: int, slots: int) -> tuple[list, list]:
    """Start the chat on `backend` (and its model server), run each user count; summary and rows."""
    from rag.config import load_settings
    from rag.models import resolve_model
    from rag.process import start_model_server

    settings = load_settings(ROOT)
    model, env, server = settings.generation.model, {}, None
    if backend == "llama-server":
        port = free_port()
        server = start_model_server(resolve_model(model, settings.models_path), port, kind="llama-server",
                                    parallel=slots, n_ctx=settings.generation.n_ctx, alias="qwen")
        model = f"openai:http://127.0.0.1:{port}/v1#qwen"
        env = {"RAG_MODEL": model}
    port = free_port()
    proc = start_chat(home, port, env=env)
    url = f"http://127.0.0.1:{port}/"
    summary, all_rows = [], []
    try:
        run(url, 1, 1, model)  # load the model and warm the prompt prefix, as a running chat would be
        for users in users_list:
            rows = run(url, users, questions, model)
            for r in rows:
                r["backend"] = backend
            all_rows += rows
            n = len(rows)
            summary.append({
                "backend": backend, "users": users, "questions": users * questions,
                "answered": sum(r["answered"] for r in rows),
                "own conversation": sum(r["own conversation"] for r in rows), "lost": users * questions - n,
                "answers/min": 60 * sum(r["answered"] for r in rows) / rows[0]["wall_s"] if rows else 0.0,
                "max queue position": max((r["queue position"] for r in rows), default=0),
                "waited p50 s": pct([r["waited_s"] for r in rows], 50),
                "first token p50 s": pct([r["first_token_s"] for r in rows], 50),
                "first token p95 s": pct([r["first_token_s"] for r in rows], 95),
                "total p50 s": pct([r["total_s"] for r in rows], 50),
                "total p95 s": pct([r["total_s"] for r in rows], 95)})
            print(table([summary[-1]]), flush=True)
            for r in rows:
                if r["error"] or not r["own conversation"]:
                    print(f"  user {r['user']} turn {r['turn']}: {r['error'] or 'conversation mixed up'}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    return summary, all_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--questions", type=int, default=3)
    ap.add_argument("--backends", nargs="+", default=["in-process", "llama-server"],
                    choices=["in-process", "llama-server"])
    ap.add_argument("--slots", type=int, default=4, help="llama-server's parallel slots")
    args = ap.parse_args()
    print(machine_line(), flush=True)
    home = seeded_home(Path(tempfile.mkdtemp(prefix="rag-load-")))
    summary, all_rows = [], []
    try:
        for backend in args.backends:
            s, r = measure(home, backend, args.users, args.questions, args.slots)
            summary += s
            all_rows += r
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"\n## Several users at once (in process: one generation at a time; llama-server: {args.slots} slots)\n")
    print(machine_line())
    print(table(summary))
    print("\nper user and question (waited = time in the queue before the server took the question):")
    print(table([{k: r[k] for k in ("backend", "users", "user", "turn", "queue position", "waited_s", "first_token_s",
                                    "total_s", "answered", "own conversation")} for r in all_rows]))
    print(f"\nresults: {save('load', {'summary': summary, 'rows': all_rows})}")


if __name__ == "__main__":
    main()
