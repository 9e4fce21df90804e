"""The first answer after the chat starts: with the model warmed up in the background (the default)
and without (`python ui.py --no-warm-up`: the model is loaded and its constant prompt prefix computed
by the first question).

    python bench/first_answer.py [--wait 20] [--rounds 2]

For each round and each mode, starts `python ui.py` on a free port of 127.0.0.1 over a copy of the
seed articles with an index built beforehand, waits until it accepts connections and then `--wait`
seconds more (a user opening the page and typing), and asks two questions one after the other through
the chat's `/answer` API (gradio_client). Prints the machine line and, per mode, the median time of the
first and of the second answer: with the warm-up both should be alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, save, seeded_home, table  # noqa: E402

from rag.process import free_port, start_chat  # noqa: E402

QUESTIONS = ["Combien Microsoft a-t-il investi dans OpenAI en 2019 ?",
             "Comment s'appelle l'infrastructure informatique développée par OpenAI ?"]
MODES = {"warm-up at start (default)": (), "no warm-up (--no-warm-up)": ("--no-warm-up",)}


def one_run(home: Path, args: tuple[str, ...], wait_s: float) -> dict:
    from gradio_client import Client

    port = free_port()
    started = time.perf_counter()
    chat = start_chat(home, port, timeout_s=300, args=args)
    try:
        up = time.perf_counter() - started
        time.sleep(wait_s)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        times, answers, stages = [], [], []
        for question in QUESTIONS:
            t = time.perf_counter()
            result = client.predict(question, [], "", "", [], api_name="/answer")  # Answer.to_dict()
            times.append(time.perf_counter() - t)
            answers.append(result["text"])
            stages.append({**{k: round(v) for k, v in result["timings"].items()}, "cached_tokens": result["cached_tokens"]})
    finally:
        chat.terminate()
        chat.wait(30)
    return {"up_s": up, "first_s": times[0], "second_s": times[1], "answers": answers, "stages": stages}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wait", type=float, default=20.0, help="seconds between the chat accepting connections "
                                                             "and the first question")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    print(machine_line(), flush=True)
    with tempfile.TemporaryDirectory(prefix="rag-first-answer-") as tmp:
        home = seeded_home(Path(tmp))
        runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
        for r in range(args.rounds):
            for mode, flags in MODES.items():
                run = one_run(home, flags, args.wait)
                runs[mode].append(run)
                print(f"round {r + 1}, {mode}: accepting connections after {run['up_s']:.1f} s; first answer "
                      f"{run['first_s']:.1f} s, second {run['second_s']:.1f} s; {run['answers'][0][:60]!r}",
                      flush=True)
                print(f"  the chat's own timings (ms), first answer: {run['stages'][0]}; second: {run['stages'][1]}",
                      flush=True)
    rows = [{"mode": mode, "runs": len(rs), "accepting connections s": statistics.median(r["up_s"] for r in rs),
             "first answer s (p50)": statistics.median(r["first_s"] for r in rs),
             "second answer s (p50)": statistics.median(r["second_s"] for r in rs)} for mode, rs in runs.items()]
    print(f"\n## First answer after start ({args.wait:.0f} s after the chat accepts connections)\n")
    print(table(rows))
    print(f"\nresults: {save('first_answer', {'wait_s': args.wait, 'runs': runs, 'rows': rows})}")


if __name__ == "__main__":
    main()
