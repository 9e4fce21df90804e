"""Answer latency breakdown over the seed gold set, and the pipeline's overhead over raw llama-cpp-python.

    python bench/latency.py [--limit N] [--levers] [--server]

For every question: retrieval, passage selection, prompt building, prefill, decode, checking, total
and time to first token. Then the exact same prompts are run straight through a second llama-cpp-python
instance of the same model (same output length, same prefix-cache behaviour): overhead = pipeline
total / raw total. With --levers, the latency and accuracy of the alternatives the defaults were chosen
against: no prompt-prefix reuse, and whole chunks instead of sentence windows. With --server, the
same questions through the model-server backend (rag.llm.server) on this machine's loopback:
llama.cpp's llama-server (scripts/build_llama_server.sh) with and without `cache_prompt`, and
llama-cpp-python's own server, each as a ratio to the in-process model measured in the same run.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine_line, peak_rss_mb, save, table  # noqa: E402

from rag.answer import Assistant  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.evaluation import load_gold  # noqa: E402
from rag.metrics import contains_alias  # noqa: E402
from rag.llm import LlamaCppLLM  # noqa: E402
from rag.models import resolve_model  # noqa: E402

STAGES = ["retrieval_ms", "passages_ms", "prompt_ms", "prefill_ms", "decode_ms", "check_ms", "retry_ms",
          "translation_ms", "first_token_ms", "total_ms"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else 0.0


class RecordingLLM:
    """Wraps the pipeline's model to keep the prompts and output lengths it was given."""

    def __init__(self, llm: LlamaCppLLM) -> None:
        self.inner, self.calls = llm, []
        self.name, self.n_ctx, self.concurrency = llm.name, llm.n_ctx, llm.concurrency

    def prompt_tokens(self, messages):
        return self.inner.prompt_tokens(messages)

    def stream(self, messages, max_tokens, temperature=0.0, stats=None):
        n = 0
        for piece in self.inner.stream(messages, max_tokens, temperature, stats):
            n += 1
            yield piece
        self.calls.append((self.inner.format_chat(messages), stats.completion_tokens if stats else n))


def run_set(assistant: Assistant, questions, reset_cache: bool = False) -> list[dict]:
    rows = []
    for q in questions:
        if reset_cache:
            assistant.llm.inner._llama.reset() if hasattr(assistant.llm, "inner") else assistant.llm._llama.reset()
        before = len(getattr(assistant.llm, "calls", []))
        result = assistant.answer(q.question)
        calls = len(getattr(assistant.llm, "calls", [])) - before  # 2 when the check asked again
        rows.append({"id": q.id, "model_calls": calls, **{s: result.timings.get(s, 0.0) for s in STAGES},
                     "prompt_tokens": result.prompt_tokens, "cached_tokens": result.cached_tokens,
                     "completion_tokens": result.completion_tokens, "abstained": result.abstained,
                     "correct": (not q.answerable and result.abstained)
                     or (q.answerable and not result.abstained and contains_alias(result.text, q.answers))})
    return rows


def summary(rows: list[dict], label: str) -> dict:
    out = {"config": label, "n": len(rows), "correct": sum(r["correct"] for r in rows) / len(rows)}
    for stage in STAGES:
        values = [r[stage] for r in rows if r[stage]]
        out[f"{stage[:-3]} p50"] = pct(values, 50)
        out[f"{stage[:-3]} p95"] = pct(values, 95)
    out["prompt tok"] = statistics.mean(r["prompt_tokens"] for r in rows)
    return out


def server_section(settings, assistant: Assistant, questions, model_path: Path, in_process: list[dict]) -> list[dict]:
    """The same questions through model servers on 127.0.0.1, against the in-process rows."""
    from rag.llm.server import ServerLLM
    from rag.process import free_port, start_model_server

    g = settings.generation
    base = summary(in_process, "in process (llama-cpp-python)")
    configs = [base]
    for kind, cache in [("llama-server", True), ("llama-server", False), ("llama-cpp-python", True)]:
        port = free_port()
        proc = start_model_server(model_path, port, kind=kind, n_ctx=g.n_ctx, threads=g.n_threads, alias="qwen")
        try:
            llm = ServerLLM(f"openai:http://127.0.0.1:{port}/v1#qwen", g.n_ctx, cache_prompt=cache)
            served = Assistant(settings, assistant.retriever, llm, assistant.scorer)
            served.answer(questions[0].question)  # warm the prefix, as a running server would be
            label = ("llama-cpp-python server" if kind == "llama-cpp-python"
                     else f"llama-server, cache_prompt {'on' if cache else 'off'}")
            row = summary(run_set(served, questions), label)
            row["counting"] = llm.counting
        finally:
            proc.terminate()
            proc.wait(30)
        configs.append(row)
    for row in configs:
        row["first token x"] = row["first_token p50"] / base["first_token p50"]
        row["total x"] = row["total p50"] / base["total p50"]
    print("\n## Through a model server (loopback), ratios to in process measured in this run\n")
    print(machine_line())
    print(table(configs, ["config", "n", "correct", "first_token p50", "first token x", "total p50", "total x",
                          "total p95", "prompt tok"]))
    return configs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--levers", action="store_true")
    ap.add_argument("--server", action="store_true", help="also through llama-server and llama_cpp.server")
    args = ap.parse_args()
    print(machine_line(), flush=True)
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(ROOT)
    questions, _ = load_gold(ROOT / "eval" / "gold_fr.jsonl")
    questions = [q for q in questions if not q.follow_up][: args.limit]
    g = settings.generation
    model_path = resolve_model(g.model, settings.models_path, settings.home)
    recorder = RecordingLLM(LlamaCppLLM(model_path, g.n_ctx, g.n_threads, flash_attn=g.flash_attn))
    assistant = Assistant.open(settings, llm=recorder)  # type: ignore[arg-type]
    assistant.answer(questions[0].question)  # load and warm the prompt prefix, as a running chat would be
    recorder.calls.clear()

    rows = run_set(assistant, questions)
    results = {"questions": len(rows), "model": model_path.name, "pipeline": rows}
    print(f"\n## Pipeline, {len(rows)} questions of eval/gold_fr.jsonl ({model_path.name})\n")
    stage_rows = [{"stage": s[:-3], "p50 ms": pct([r[s] for r in rows if r[s]], 50),
                   "p95 ms": pct([r[s] for r in rows if r[s]], 95)} for s in STAGES]
    print(table(stage_rows))

    # the same prompts and output lengths straight through llama-cpp-python
    raw_llm = LlamaCppLLM(model_path, g.n_ctx, g.n_threads, flash_attn=g.flash_attn)
    raw_llm._llama.create_completion(raw_llm.tokenize(recorder.calls[0][0]), max_tokens=1)  # same warm prefix
    raw_times, pipe_times = [], []
    calls = iter(recorder.calls)
    for row in rows:
        if not row["model_calls"]:
            continue
        t = time.perf_counter()
        for _ in range(row["model_calls"]):  # an answer asked again costs two generations in both
            prompt, n_out = next(calls)
            for _ in raw_llm._llama.create_completion(raw_llm.tokenize(prompt), max_tokens=max(n_out, 1),
                                                      temperature=0.0, top_k=1, stream=True):
                pass
        raw_times.append((time.perf_counter() - t) * 1000)
        pipe_times.append(row["total_ms"])
    overhead = sum(pipe_times) / sum(raw_times)
    print(f"\nsame prompts through raw llama-cpp-python: {statistics.median(raw_times):.0f} ms median; "
          f"pipeline {statistics.median(pipe_times):.0f} ms median; overhead (sum of totals) {overhead:.3f}x")
    results.update({"raw_ms": raw_times, "overhead": overhead, "stages": stage_rows})

    if args.levers:
        configs = [summary(rows, "default: sentence windows, prefix reuse")]
        configs.append(summary(run_set(assistant, questions, reset_cache=True), "no prefix reuse"))
        # whole chunks: windows as large as a chunk, evidence budget for all k of them
        whole = replace(settings, evidence=replace(settings.evidence,
                                                   context_chars=settings.chunk.max_chars * settings.retrieval.k,
                                                   window_chars=settings.chunk.max_chars))
        assistant_whole = Assistant(whole, assistant.retriever, recorder, assistant.scorer)  # type: ignore[arg-type]
        configs.append(summary(run_set(assistant_whole, questions), "whole chunks as passages"))
        # prompt-lookup speculative decoding: the same pipeline, drafts taken from the prompt's n-grams;
        # llama-cpp-python needs logits_all for it, which is slow on a CPU: measured on 5 questions,
        # beside the default on the same 5
        # llama.cpp's flash attention kernel: another model instance, the same pipeline and questions
        flash = RecordingLLM(LlamaCppLLM(model_path, g.n_ctx, g.n_threads, flash_attn=not g.flash_attn))
        assistant_flash = Assistant(settings, assistant.retriever, flash, assistant.scorer)  # type: ignore[arg-type]
        assistant_flash.answer(questions[0].question)  # warm its prompt prefix
        configs.append(summary(run_set(assistant_flash, questions), f"flash attention {'off' if g.flash_attn else 'on'}"))
        configs.append(summary(run_set(assistant, questions), "default again (after the flash-attention run)"))
        del assistant_flash, flash
        few = questions[:5]
        configs.append(summary(run_set(assistant, few), "default, first 5 questions"))
        del raw_llm
        lookup = RecordingLLM(LlamaCppLLM(model_path, g.n_ctx, g.n_threads, prompt_lookup=10))
        assistant_lookup = Assistant(settings, assistant.retriever, lookup, assistant.scorer)  # type: ignore[arg-type]
        assistant_lookup.answer(few[0].question)  # warm its prompt prefix too
        configs.append(summary(run_set(assistant_lookup, few), "prompt-lookup decoding (10 draft tokens), first 5"))
        cols = ["config", "n", "correct", "first_token p50", "decode p50", "total p50", "total p95", "prompt tok"]
        print("\n## Levers\n")
        print(table(configs, cols))
        results["levers"] = configs
    if args.server:
        results["server"] = server_section(settings, assistant, questions, model_path, rows)
    results["peak_rss_mb"] = peak_rss_mb()
    print(f"\npeak RSS {results['peak_rss_mb']:.0f} MB; results: {save('latency', results)}")


if __name__ == "__main__":
    main()
