"""Is the model less sure when its answer is wrong? Token probabilities against right and wrong answers.

    python bench/confidence.py [--piaf-articles 40] [--piaf-questions 200] [--split tune] [--no-piaf] [--ask]

Answers the seed gold set (over the project's index) and a PIAF dev slice of the tune half (indexed in a
temporary folder) with the default pipeline, recording at each generated token the probability the model
gave its most likely next token (`GenerationStats.top_probs`, llama.cpp backend). For the answerable
questions answered in one generation (no retry; the disagreement questions, judged on naming every
side, left out), it prints how well four summaries of those probabilities separate right answers from
wrong ones: the area under the ROC curve (0.5 = no better than chance; 1 = every right answer is surer
than every wrong one), and how many right and wrong answers fall below a few thresholds. A summary that
separated them well would be a reason to read more, or to refuse, when the model is unsure (issue 13,
"when in doubt, read more"). Greedy decoding: the answers are those of `rag eval`.

With `--ask`, the model is also asked, right after each reply, whether it gives exactly what the question
asks as the cited passage says it (`ASK`), and a fifth row scores its preference for "Oui" over "Non"
(`LlamaCppLLM.next_word_share`; the reply's KV cache is reused, so each question costs the turn's ~40
tokens). The answers are unchanged: the question is asked after the reply is complete.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line, piaf_half, save, table  # noqa: E402

from rag.answer import Assistant  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.evaluation import load_gold, run  # noqa: E402
from rag.llm import LLM, GenerationStats, Messages, open_llm  # noqa: E402
from rag.support import get_scorer  # noqa: E402

THRESHOLDS = (0.5, 0.6, 0.7, 0.8)
ASK = ("Relis la question et les passages. Ta réponse donne-t-elle exactement ce que la question demande, "
       "comme le dit le passage cité ? Réponds seulement par Oui ou Non.")
YES, NO = ("Oui", "oui", "OUI"), ("Non", "non", "NON")


class RecordingLLM(LLM):
    """The answering model, keeping the stats of every generation it runs (and, with `ask`, the model's
    "Oui" share when asked `ASK` about each reply, in `asked`)."""

    def __init__(self, llm: LLM, ask: bool = False) -> None:
        self.llm, self.name, self.n_ctx, self.concurrency = llm, llm.name, llm.n_ctx, llm.concurrency
        self.calls: list[GenerationStats] = []
        self.asked: dict[int, float] = {}  # the index of a call in `calls` → its "Oui" share
        self.ask = ask
        if ask and not hasattr(llm, "next_word_share"):
            raise SystemExit("--ask needs the llama.cpp backend (next-token probabilities)")

    def prompt_tokens(self, messages: Messages) -> int:
        return self.llm.prompt_tokens(messages)

    def stream(self, messages: Messages, max_tokens: int, temperature: float = 0.0,
               stats: GenerationStats | None = None) -> Iterator[str]:
        stats = stats if stats is not None else GenerationStats()
        stats.top_probs = []  # ask the backend to record them
        self.calls.append(stats)
        parts = []
        for part in self.llm.stream(messages, max_tokens, temperature, stats):
            parts.append(part)
            yield part
        if self.ask:
            turn = [{"role": "assistant", "content": "".join(parts)}, {"role": "user", "content": ASK}]
            self.asked[len(self.calls) - 1] = self.llm.next_word_share(messages + turn, YES, NO)


def summaries(probs: list[float]) -> dict[str, float]:
    """Four ways to say how sure the model was of an answer (its end-of-answer token left out)."""
    p = probs[:-1] if len(probs) > 1 else probs
    logs = [math.log(max(x, 1e-9)) for x in p]
    low = sorted(p)
    return {"geometric mean": math.exp(sum(logs) / len(logs)), "lowest": low[0],
            "mean of the 3 lowest": sum(low[:3]) / len(low[:3]),
            "geometric mean of the first 5": math.exp(sum(logs[:5]) / len(logs[:5]))}


def auroc(right: list[float], wrong: list[float]) -> float:
    """The chance that a right answer scores above a wrong one (ties count half)."""
    if not right or not wrong:
        return float("nan")
    wins = sum(1.0 if r > w else 0.5 if r == w else 0.0 for r in right for w in wrong)
    return wins / (len(right) * len(wrong))


def answer_all(assistant: Assistant, llm: RecordingLLM, questions, judge) -> list[tuple[bool, dict[str, float]]]:
    """(right, summaries) for each answerable question answered in one generation, as `rag eval` asks
    them (`rag.evaluation.run`: follow-ups with their lead question's exchange)."""
    bounds = [len(llm.calls)]  # the generations of question i are llm.calls[bounds[i]:bounds[i + 1]]
    records = run(assistant, questions, judge, progress=lambda done, total: bounds.append(len(llm.calls)))
    rows = []
    for record, start, end in zip(records, bounds, bounds[1:]):
        calls = llm.calls[start:end]
        if record.answerable and not record.abstained and len(calls) == 1 and calls[0].top_probs \
                and record.type != "disagreement":
            sure = summaries(calls[0].top_probs)
            if start in llm.asked:
                sure["asked: Oui rather than Non"] = llm.asked[start]
            rows.append((record.alias_hit, sure))
    return rows


def report(name: str, rows: list[tuple[bool, dict[str, float]]]) -> list[dict]:
    out = []
    for summary in rows[0][1] if rows else []:
        right = [s[summary] for ok, s in rows if ok]
        wrong = [s[summary] for ok, s in rows if not ok]
        row = {"set": name, "summary": summary, "right": len(right), "wrong": len(wrong),
               "AUROC": round(auroc(right, wrong), 3)}
        for t in THRESHOLDS:
            row[f"< {t}: right/wrong"] = f"{sum(x < t for x in right)}/{sum(x < t for x in wrong)}"
        out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--piaf-articles", type=int, default=40)
    ap.add_argument("--piaf-questions", type=int, default=200)
    ap.add_argument("--split", choices=("tune", "test"), default="tune")
    ap.add_argument("--no-piaf", action="store_true", help="the seed gold set only")
    ap.add_argument("--ask", action="store_true", help="also ask the model whether each reply is right (ASK)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    settings = load_settings()
    embedder = get_embedder(settings.embedder)
    llm = RecordingLLM(open_llm(settings), ask=args.ask)
    judge = get_scorer("lexical", embedder, llm, settings.verify)
    assistant = Assistant.open(settings, llm=llm, embedder=embedder)
    gold, _ = load_gold(settings.path(Path("eval/gold_fr.jsonl")))
    rows = report("seed gold set", answer_all(assistant, llm, gold, judge))
    if not args.no_piaf:
        with piaf_half(settings, embedder, args.piaf_articles, args.piaf_questions, args.split) as (questions, retriever):
            piaf = Assistant(settings, retriever, llm, judge)
            rows += report(f"PIAF {args.split} half", answer_all(piaf, llm, questions, judge))
    print(machine_line())
    print(table(rows))
    if rows:
        print(save("confidence", {"rows": rows}))


if __name__ == "__main__":
    main()
