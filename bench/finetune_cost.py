"""What would it cost to fine-tune the answering model on this machine? LoRA steps on the real prompts.

    pip install gguf peft        # not project dependencies: this script alone needs them
    python bench/finetune_cost.py [--questions 6] [--rank 8] [--dtype bf16|fp32]

Issue 13's misses are mostly the 1.5B reader's (README, "Where issue 13 stands"), no stronger model is
installable offline, so the remaining lever on the reader is training it: LoRA on the prompts the
pipeline builds (system prompt, worked example, numbered passages, question) with a gold answer as the
target, e.g. on the PIAF tune half. This measures one such step on this CPU: the default GGUF loaded
by transformers (dequantized), a LoRA adapter on the attention projections, forward + backward + AdamW
on each gold question's real prompt. It prints the seconds per example and per 1,000 prompt tokens and
the hours one epoch over 1,000 examples would take; it trains nothing worth keeping.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine_line, peak_rss_mb, save, table  # noqa: E402
from finetune import first_passages, require_training_libraries, training_ids  # noqa: E402

from rag.config import load_settings  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.evaluation import load_gold  # noqa: E402
from rag.models import resolve_model  # noqa: E402
from rag.prompting import build_messages  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402


def training_texts(settings, count: int) -> list[tuple[list[dict], str]]:
    """(prompt messages, target answer) for the first `count` answerable gold questions, built by the
    pipeline's own retrieval, passage choice and prompt."""
    retriever = Retriever.open(settings, get_embedder(settings.embedder))
    gold, _ = load_gold(ROOT / "eval" / "gold_fr.jsonl")
    out = []
    for q in (q for q in gold if q.answerable and not q.follow_up):
        passages = first_passages(q.question, retriever, settings)
        target = f"{q.answers[0]} [{passages[-1].number}]." if passages else q.answers[0]
        out.append((build_messages(q.question, passages, []), target))
        if len(out) == count:
            break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=6, help="training steps, one gold question each")
    ap.add_argument("--rank", type=int, default=8, help="LoRA rank (q_proj and v_proj)")
    ap.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16")
    args = ap.parse_args()
    require_training_libraries()
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(machine_line(), flush=True)
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(ROOT)
    examples = training_texts(settings, args.questions)
    gguf_path = resolve_model(settings.generation.model, settings.models_path)
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=dtype)
    load_s = time.perf_counter() - started
    model = get_peft_model(model, LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0,
                                             target_modules=["q_proj", "v_proj"]))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    steps = []
    for messages, target in examples:
        ids, labels = training_ids(tokenizer, messages, target)
        t = time.perf_counter()
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        steps.append({"tokens": ids.shape[1], "seconds": time.perf_counter() - t, "loss": loss.item()})
        print(f"step {len(steps)}: {steps[-1]['tokens']} tokens, {steps[-1]['seconds']:.1f} s, loss "
              f"{steps[-1]['loss']:.3f}", flush=True)
    timed = steps[1:] or steps  # the first step also allocates
    per_example = statistics.median(s["seconds"] for s in timed)
    per_kilotoken = statistics.median(1000 * s["seconds"] / s["tokens"] for s in timed)
    row = {"dtype": args.dtype, "LoRA rank": args.rank, "trainable params": trainable, "load s": round(load_s, 1),
           "tokens per example": round(statistics.mean(s["tokens"] for s in steps)),
           "s per example": round(per_example, 1), "s per 1k tokens": round(per_kilotoken, 1),
           "h per epoch of 1,000 examples": round(per_example * 1000 / 3600, 1), "peak RSS MB": peak_rss_mb()}
    print("\n## One LoRA step on the pipeline's prompts\n")
    print(table([row]))
    print(f"\nresults: {save('finetune_cost', {'row': row, 'steps': steps})}")


if __name__ == "__main__":
    main()
