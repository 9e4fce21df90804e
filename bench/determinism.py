"""Does a question get the same answer whatever was asked before it?

    python bench/determinism.py [--questions 40] [--set eval/gold_fr.jsonl]
    python bench/determinism.py --squad PIAF.json --split tune [--articles 40] [--questions 60]
    python bench/determinism.py --alternate 2 [--modes aligned] [--questions 40] [--set eval/gold_fr.jsonl]
    python bench/determinism.py --paired [--modes aligned] [--questions 40] [--set eval/gold_fr.jsonl]

The answer path builds the first-attempt prompt of each of the set's first `--questions` questions (with
a stand-in model that records the prompts and answers none, so no retry prompt is made from a real
reply). Then, for each `generation.prefix_cache` mode, a freshly loaded model generates those prompts
greedily in three passes:
- cold: each prompt from an empty KV cache (what a fresh `rag ask` gives): the reference;
- in order, each prompt asked twice in a row (the second time its whole prompt is in the cache);
- in reverse order.
A reply that differs from the cold one changed only because of what was asked before it. Prints the
machine line and, per mode: the replies that differ from the cold reference in each pass, the prompt tokens
evaluated (not reused from the KV cache) per warm reply, the median time per warm reply, and the in-order
pass's time against the default's in this same run.

With `--alternate N`, only the time question, on the whole answer path (retrieval, the checks and their
retries, as `rag eval` runs it): N rounds over the set's first `--questions` questions, the modes' passes
alternated (the default, then the others, then the other way round) so that a machine getting slower or
faster during the run weighs on all alike, each pass with a freshly loaded model. Prints each pass's summed
answer time and right answers, each round's ratios and the pooled ratio of each other mode's time to the
default's. With `--paired`, the modes alternate question by question instead: one model per mode, all
loaded at once (each keeps its own KV cache, as if it ran alone), each question asked of every mode in an
order that rotates from one question to the next; prints each mode's summed time, its ratio to the
default's, and the questions it answered more slowly.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PIAF, ROOT, machine_line, piaf_half, save, table  # noqa: E402

from rag.answer import Assistant  # noqa: E402
from rag.config import PREFIX_CACHE, load_settings  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.evaluation import evaluate_gold, evaluate_question, is_right, load_gold  # noqa: E402
from rag.language import ABSTAIN  # noqa: E402
from rag.llm import open_llm  # noqa: E402
from rag.llm.base import LLM, GenerationStats, Messages  # noqa: E402
from rag.llm.llamacpp import LlamaCppLLM  # noqa: E402
from rag.models import resolve_model  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402
from rag.support import get_scorer  # noqa: E402


class PromptRecorder(LLM):
    """Counts tokens with the real model's tokenizer; records each prompt it is asked and knows nothing."""

    def __init__(self, counter: LLM) -> None:
        self.counter, self.name, self.n_ctx = counter, counter.name, counter.n_ctx
        self.prompts: list[Messages] = []

    def prompt_tokens(self, messages: Messages) -> int:
        return self.counter.prompt_tokens(messages)

    def stream(self, messages: Messages, max_tokens: int, temperature: float = 0.0,
               stats: GenerationStats | None = None) -> Iterator[str]:
        self.prompts.append(messages)
        yield ABSTAIN["fr"]


def first_prompts(settings, embedder, retriever: Retriever, questions: list[str]) -> list[Messages]:
    counter = LlamaCppLLM(resolve_model(settings.generation.model, settings.models_path, settings.home),
                          settings.generation.n_ctx, vocab_only=True)
    recorder = PromptRecorder(counter)
    assistant = Assistant(settings, retriever, recorder, get_scorer("lexical", embedder, recorder, settings.verify))
    prompts = []
    for question in questions:
        recorder.prompts.clear()
        assistant.answer(question)
        if recorder.prompts:  # none when retrieval found nothing, or the metadata answered
            prompts.append(recorder.prompts[0])
    return prompts


def generate(llm: LlamaCppLLM, prompts: list[Messages], order: list[int], max_tokens: int,
             cold: bool = False) -> dict[int, dict]:
    """Greedy replies to `prompts` in `order`; `cold`: each from an empty KV cache."""
    out = {}
    for i in order:
        if cold:
            llm.forget()
        stats = GenerationStats()
        start = time.perf_counter()
        text = "".join(llm.stream(prompts[i], max_tokens, 0.0, stats))
        out[i] = {"text": text, "evaluated": stats.prompt_tokens - stats.cached_tokens,
                  "s": time.perf_counter() - start}
    return out


def passes(llm: LlamaCppLLM, prompts: list[Messages], max_tokens: int) -> dict[str, dict[int, dict]]:
    """The cold reference, then the warm passes: in order with each prompt asked twice, then reversed."""
    order = list(range(len(prompts)))
    cold = generate(llm, prompts, order, max_tokens, cold=True)
    llm.forget()
    first, again = {}, {}
    for i in order:
        first.update(generate(llm, prompts, [i], max_tokens))
        again.update(generate(llm, prompts, [i], max_tokens))
    return {"cold": cold, "in order": first, "asked again": again,
            "reversed": generate(llm, prompts, order[::-1], max_tokens)}


def alternate(settings, embedder, gold: Path, questions: int, rounds: int, modes: list[str]) -> None:
    """The whole answer path over the first `questions` of `gold`, the prefix-cache modes alternated."""
    g = settings.generation
    order = [g.prefix_cache, *(m for m in modes if m != g.prefix_cache)]
    retriever = Retriever.open(settings, embedder)
    print(machine_line())
    print(f"the first {questions} questions of {gold.name} through the answer path; {rounds} rounds, passes "
          f"alternated ({', '.join(order)}, then the other way round, …), each a fresh model")
    rows: list[dict] = []
    for r in range(rounds):
        for mode in (order if r % 2 == 0 else order[::-1]):
            assistant = exact_assistant(settings, retriever, embedder, mode)
            results = evaluate_gold(assistant, gold, assistant.scorer, limit=questions).results
            del assistant
            rows.append({"round": r + 1, "prefix_cache": mode, "questions": len(results),
                         "right": sum(map(is_right, results)),
                         "answer s": round(sum(q.total_ms for q in results) / 1000, 1),
                         "p50 s": round(statistics.median(q.total_ms for q in results) / 1000, 2)})
            print(table(rows[-1:]), flush=True)
    seconds = {(x["round"], x["prefix_cache"]): x["answer s"] for x in rows}
    by_round = [{"round": r + 1, **{f"{m} / {order[0]}": round(seconds[r + 1, m] / seconds[r + 1, order[0]], 3)
                                    for m in order[1:]}} for r in range(rounds)]
    pooled = {m: round(sum(x["answer s"] for x in rows if x["prefix_cache"] == m), 1) for m in order}
    print(table(rows))
    print(table(by_round))
    for m in order[1:]:
        print(f"pooled: {m} / {order[0]} = {pooled[m] / pooled[order[0]]:.3f} "
              f"({pooled[m]:.1f} s against {pooled[order[0]]:.1f} s)")
    save("determinism-time", {"set": gold.name, "questions": questions, "rounds": rounds, "passes": rows,
                              "by_round": by_round, "pooled": pooled})


def with_mode(settings, mode: str):
    """`settings` with `mode` as the prefix cache."""
    return replace(settings, generation=replace(settings.generation, prefix_cache=mode))


def mode_llm(mode_settings) -> LlamaCppLLM:
    """A freshly loaded in-process model for `mode_settings`."""
    llm = open_llm(mode_settings)
    if not isinstance(llm, LlamaCppLLM):
        sys.exit("bench/determinism.py measures the in-process model's KV cache; generation.model names a server")
    return llm


def exact_assistant(settings, retriever: Retriever, embedder, mode: str) -> Assistant:
    """An Assistant over a freshly loaded in-process model with `mode` as its prefix cache."""
    mode_settings = with_mode(settings, mode)
    llm = mode_llm(mode_settings)
    return Assistant(mode_settings, retriever, llm, get_scorer("lexical", embedder, llm, settings.verify))


def paired(settings, embedder, gold: Path, questions: int, modes: list[str]) -> None:
    """The first `questions` of `gold` asked of every mode in turn, question by question."""
    order = [settings.generation.prefix_cache, *(m for m in modes if m != settings.generation.prefix_cache)]
    retriever = Retriever.open(settings, embedder)
    assistants = {m: exact_assistant(settings, retriever, embedder, m) for m in order}
    chosen = load_gold(gold)[0][:questions]
    by_id = {q.id: q for q in chosen}
    print(machine_line())
    print(f"the first {len(chosen)} questions of {gold.name}, each asked of {', '.join(order)} in turn (the order "
          "rotating by question), one model per mode loaded at once")
    answers: dict[str, dict] = {m: {} for m in order}
    seconds: dict[str, list[float]] = {m: [] for m in order}
    right = dict.fromkeys(order, 0)
    for i, q in enumerate(chosen):
        for m in order[i % len(order):] + order[:i % len(order)]:
            lead = answers[m].get(q.follow_up) if q.follow_up else None
            history = [(by_id[q.follow_up].question, lead.text)] if lead else None
            record, answers[m][q.id] = evaluate_question(assistants[m], q, assistants[m].scorer, history, None)
            seconds[m].append(record.total_ms / 1000)
            right[m] += is_right(record)
    base = seconds[order[0]]
    rows = [{"prefix_cache": m, "right": right[m], "answer s": round(sum(seconds[m]), 1),
             "vs default": round(sum(seconds[m]) / sum(base), 3),
             "questions slower than the default": sum(a > b for a, b in zip(seconds[m], base))}
            for m in order]
    print(table(rows))
    save("determinism-paired", {"set": gold.name, "questions": len(chosen), "rows": rows, "seconds": seconds})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", type=Path, default=ROOT / "eval" / "gold_fr.jsonl")
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--squad", type=Path, help=f"a SQuAD-layout file, e.g. {PIAF}")
    ap.add_argument("--split", choices=["tune", "test"], default="tune")
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--modes", nargs="+", choices=PREFIX_CACHE, default=list(PREFIX_CACHE),
                    help="the modes to compare with the default (default: all)")
    ap.add_argument("--paired", action="store_true",
                    help="only the time of the whole answer path, the modes alternated question by question")
    ap.add_argument("--alternate", type=int, metavar="ROUNDS",
                    help="only the time of the whole answer path, the modes' passes alternated for ROUNDS rounds")
    args = ap.parse_args()
    settings = load_settings(ROOT)
    g = settings.generation
    embedder = get_embedder(settings.embedder)
    if (args.paired or args.alternate) and args.squad:
        sys.exit("--paired and --alternate run a gold set (--set), not --squad")
    if args.paired:
        return paired(settings, embedder, args.set, args.questions, args.modes)
    if args.alternate:
        return alternate(settings, embedder, args.set, args.questions, args.alternate, args.modes)
    halves = piaf_half(settings, embedder, args.articles, args.questions, args.split, args.squad) if args.squad \
        else nullcontext((load_gold(args.set)[0][:args.questions], Retriever.open(settings, embedder)))
    with halves as (questions, retriever):
        prompts = first_prompts(settings, embedder, retriever, [q.question for q in questions])
    asked = f"{args.squad.name} ({args.split} half)" if args.squad else args.set.name
    print(machine_line())
    print(f"{len(prompts)} first-attempt prompts from {asked}; each mode: a fresh model, each prompt from an "
          "empty cache, then in order (each asked twice in a row), then in reverse order")
    rows, differs = [], {}
    for mode in (g.prefix_cache, *(m for m in args.modes if m != g.prefix_cache)):
        llm = mode_llm(with_mode(settings, mode))
        replies = passes(llm, prompts, g.max_tokens)
        del llm
        cold = replies.pop("cold")
        differs[mode] = {name: [i for i, r in run.items() if r["text"] != cold[i]["text"]]
                         for name, run in replies.items()}
        warm = [r for run in replies.values() for r in run.values()]
        rows.append({"prefix_cache": mode + (" (default)" if mode == g.prefix_cache else ""),
                     **{f"{name}: differ from cold": f"{len(d)}/{len(prompts)}" for name, d in differs[mode].items()},
                     "evaluated tokens / warm reply": round(statistics.mean(r["evaluated"] for r in warm)),
                     "p50 s": round(statistics.median(r["s"] for r in warm), 2),
                     "in-order s": round(sum(r["s"] for r in replies["in order"].values()), 1)})
    for row in rows:
        row["in-order time vs default"] = round(row["in-order s"] / rows[0]["in-order s"], 2)
    print(table(rows))
    for mode, by_pass in differs.items():
        for name, differ in by_pass.items():
            if differ:
                print(f"{mode}, {name}: prompts whose reply differs from the cold one: "
                      f"{', '.join(str(i + 1) for i in differ)}")
    save("determinism" + ("-piaf" if args.squad else ""), {"set": asked, "questions": len(prompts), "rows": rows,
                                                           "differ": differs})


if __name__ == "__main__":
    main()
