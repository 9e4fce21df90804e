"""Train the answering model on the pipeline's own prompts: a LoRA adapter from PIAF tune-half articles.

    python bench/finetune.py --dry-run [--questions 20]   # the training examples only, printed
    pip install gguf peft        # not project dependencies: training alone needs them
    pip download llama-cpp-python==0.3.36 --no-binary :all: --no-deps -d /tmp/sdist   # llama.cpp's converter
    tar xzf /tmp/sdist/llama_cpp_python-0.3.36.tar.gz -C /tmp/sdist
    python bench/finetune.py [--skip 40] [--articles 40] [--questions 300] [--layers 10] [--rank 16] \
        --llama-cpp /tmp/sdist/llama_cpp_python-0.3.36/vendor/llama.cpp --gguf models/adapters/reader-lora.gguf

Issue 13's misses are mostly the 1.5B reader's, and no stronger model is installable offline
(README, "What would training the reader cost?"). This trains the reader where it reads: each example is
the prompt the pipeline builds for a PIAF question (retrieval over its article set, evidence windows,
system prompt and worked example) and the target is what a careful reader writes from it:

- the gold answer is inside a passage: the sentence of that passage holding it (a sentence of the
  source, so the answer checks find it), cited with that passage's number; a sentence longer than
  `--sentence-chars` gives the gold span alone, cited;
- the gold answer is in no passage: the question is left out (whether to refuse there is the
  verifier's business, and PIAF's answers are all in their article);
- a share (`--unanswerable`) of questions are paired with the passages of a question on another
  article, the target being the refusal, so that refusing is not trained away.

The articles are PIAF's tune half past the `--skip` first ones (`rag eval --squad … --split tune
--articles 40` asks on the first 40), so neither the tune questions nor the test half are trained on.
Only the top `--layers` layers carry the adapter: the backward pass stops there, which is what makes
training affordable on two cores. The adapter is saved with peft beside a `base/` folder holding the
model's config, which llama.cpp's `convert_lora_to_gguf.py` (given `--llama-cpp`) reads to write
the adapter as a GGUF file (`--gguf`), the form `generation.adapter` loads.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PIAF, ROOT, indexed, machine_line, peak_rss_mb, save, table  # noqa: E402

from rag.answer import retrieval_query  # noqa: E402
from rag.chunking import split_sentences  # noqa: E402
from rag.config import Settings, load_settings  # noqa: E402
from rag.embedders import get_embedder  # noqa: E402
from rag.evidence import Passage, select_passages  # noqa: E402
from rag.language import ABSTAIN  # noqa: E402
from rag.models import resolve_model  # noqa: E402
from rag.prompting import build_messages  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402
from rag.squad import SquadQuestion, load_squad, write_corpus  # noqa: E402


def first_passages(question: str, retriever: Retriever, settings: Settings) -> list[Passage]:
    """The passages the pipeline's first attempt reads for `question` (retrieval, then evidence windows)."""
    query = retrieval_query(question, None)
    vector = retriever.embedder.embed_query(query)
    hits = retriever.search(query, k=settings.retrieval.k, query_vector=vector)
    return select_passages(query, hits, settings.evidence, retriever.index, vector)


def target(q: SquadQuestion, passages: list[Passage], article: str, sentence_chars: int) -> str | None:
    """What a careful reader answers from `passages`: the source sentence holding the gold span, cited
    with the passage that holds it (the gold span alone when that sentence is long); None when no
    passage holds the span."""
    for p in passages:
        if p.path != q.path or not (p.start <= q.start and q.end <= p.end):
            continue
        for span in split_sentences(article[p.start:p.end]):
            start, end = p.start + span.start, p.start + span.end
            if start <= q.start and q.end <= end:
                sentence = " ".join(article[start:end].split()).rstrip(" .")
                if len(sentence) <= sentence_chars:
                    return f"{sentence} [{p.number}]."
        return f"{q.answers[0]} [{p.number}]."
    return None


def examples(settings: Settings, skip: int, articles: int, questions: int, unanswerable: float,
             sentence_chars: int, seed: int) -> tuple[list[tuple[list[dict], str]], dict]:
    """(prompt messages, target) pairs from PIAF tune-half articles `skip`..`skip + articles`."""
    texts, qs = load_squad(PIAF, skip + articles, "tune")
    names = sorted(texts)[skip:]
    texts = {n: texts[n] for n in names}
    qs = [q for q in qs if q.path in texts]
    rng = random.Random(seed)
    rng.shuffle(qs)
    embedder = get_embedder(settings.embedder)
    out: list[tuple[list[dict], str]] = []
    counts = {"questions read": 0, "answered": 0, "gold in no passage": 0, "unanswerable": 0}
    sw = settings.evidence.subject_words
    with tempfile.TemporaryDirectory(prefix="rag-finetune-") as tmp:
        write_corpus(texts, Path(tmp) / "sources")
        retriever = indexed(settings, embedder, Path(tmp))
        previous: tuple[str, list[Passage]] | None = None
        for q in qs:
            if len(out) >= questions:
                break
            counts["questions read"] += 1
            passages = first_passages(q.question, retriever, settings)
            if previous is not None and previous[0] != q.path and rng.random() < unanswerable:
                # this question over another article's passages: nothing there answers it
                out.append((build_messages(q.question, previous[1], [], "fr", sw), ABSTAIN["fr"]))
                counts["unanswerable"] += 1
            answer = target(q, passages, texts[q.path], sentence_chars)
            if answer is None:
                counts["gold in no passage"] += 1
            else:
                out.append((build_messages(q.question, passages, [], "fr", sw), answer))
                counts["answered"] += 1
            previous = (q.path, passages)
    return out[:questions], counts


def require_training_libraries() -> None:
    """Exit with what to install when torch, transformers, peft or gguf is missing."""
    for name in ("torch", "transformers", "peft", "gguf"):  # transformers reads GGUF files with gguf
        if importlib.util.find_spec(name) is None:
            sys.exit(f"{name} is missing: pip install gguf peft (the training scripts alone need them)")


def training_ids(tokenizer, messages: list[dict], answer: str):
    """The token ids of prompt + answer, and labels that put the loss on the answer only."""
    import torch

    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    prompt_ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids
    target_ids = tokenizer(answer + "<|im_end|>", add_special_tokens=False, return_tensors="pt").input_ids
    ids = torch.cat([prompt_ids, target_ids], dim=1)
    labels = ids.clone()
    labels[:, :prompt_ids.shape[1]] = -100
    return ids, labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip", type=int, default=40, help="tune-half articles left out (those `rag eval` asks on)")
    ap.add_argument("--articles", type=int, default=40, help="tune-half articles trained on, after --skip")
    ap.add_argument("--questions", type=int, default=300, help="training examples")
    ap.add_argument("--unanswerable", type=float, default=0.12, help="share of refusal examples")
    ap.add_argument("--sentence-chars", type=int, default=220, help="a longer sentence gives the gold span alone")
    ap.add_argument("--layers", type=int, default=10, help="the top layers carrying the adapter")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--accumulate", type=int, default=4, help="examples per optimizer step")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "reader-lora")
    ap.add_argument("--llama-cpp", type=Path, help="llama.cpp's sources (convert_lora_to_gguf.py, gguf-py)")
    ap.add_argument("--gguf", type=Path, default=ROOT / "models" / "adapters" / "reader-lora.gguf",
                    help="with --llama-cpp: the adapter written as GGUF")
    ap.add_argument("--convert-only", action="store_true", help="convert the adapter already in --out")
    ap.add_argument("--dry-run", action="store_true",
                    help="build and print the examples, train nothing (no training library needed)")
    args = ap.parse_args()
    if args.convert_only:
        return convert(args.out, args.llama_cpp, args.gguf)
    if not args.dry_run:
        require_training_libraries()  # before minutes of building examples, not after
    print(machine_line(), flush=True)
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings(ROOT)
    started = time.perf_counter()
    data, counts = examples(settings, args.skip, args.articles, args.questions, args.unanswerable,
                            args.sentence_chars, args.seed)
    print(f"{len(data)} examples in {time.perf_counter() - started:.0f} s: {counts}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "examples.jsonl").write_text("".join(json.dumps({"messages": m, "target": t}, ensure_ascii=False)
                                                     + "\n" for m, t in data), "utf-8")
    if args.dry_run:  # the examples only: no training library needed
        for messages, answer in data[:8]:
            print("---\n" + messages[-1]["content"][-400:] + "\n=> " + answer)
        return
    train(args, settings, data, counts)
    if args.llama_cpp is not None:
        convert(args.out, args.llama_cpp, args.gguf)


def train(args: argparse.Namespace, settings: Settings, data: list[tuple[list[dict], str]],
          counts: dict[str, int]) -> None:
    """A LoRA adapter on `data` (prompt messages, target answer), saved in `args.out`, its figures printed."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(args.seed)
    gguf_path = resolve_model(settings.generation.model, settings.models_path)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.bfloat16)
    base = AutoConfig.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    base.architectures = base.architectures or [type(model).__name__]  # the converter reads the architecture here
    base.save_pretrained(args.out / "base")
    n_layers = model.config.num_hidden_layers
    config = LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.0,
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
                        layers_to_transform=list(range(n_layers - args.layers, n_layers)))
    model = get_peft_model(model, config)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    total_steps = max(1, args.epochs * len(data) // args.accumulate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / total_steps))
    model.train()
    losses, seen, t0 = [], 0, time.perf_counter()
    for epoch in range(args.epochs):
        order = list(range(len(data)))
        random.Random(args.seed + epoch).shuffle(order)
        for i in order:
            ids, labels = training_ids(tokenizer, *data[i])
            loss = model(input_ids=ids, labels=labels).loss
            (loss / args.accumulate).backward()
            losses.append(loss.item())
            seen += 1
            if seen % args.accumulate == 0 or seen == args.epochs * len(data):
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            if seen % 10 == 0:
                recent = losses[-10:]
                print(f"example {seen}/{args.epochs * len(data)}: loss {sum(recent) / len(recent):.3f}, "
                      f"{(time.perf_counter() - t0) / seen:.1f} s per example", flush=True)
    model.save_pretrained(args.out)
    row = {"examples": len(data), "epochs": args.epochs, "layers": args.layers, "rank": args.rank,
           "s per example": round((time.perf_counter() - t0) / max(seen, 1), 1),
           "first 20 loss": round(sum(losses[:20]) / max(len(losses[:20]), 1), 3),
           "last 20 loss": round(sum(losses[-20:]) / max(len(losses[-20:]), 1), 3), "peak RSS MB": peak_rss_mb()}
    print("\n## LoRA training on the pipeline's prompts\n")
    print(table([row]))
    print(f"\nadapter: {args.out}\nresults: {save('finetune', {'row': row, 'counts': counts, 'losses': losses})}")


def convert(adapter: Path, llama_cpp: Path | None, gguf: Path) -> None:
    """The peft adapter in `adapter` written as a GGUF LoRA file by llama.cpp's own converter."""
    if llama_cpp is None or not (llama_cpp / "convert_lora_to_gguf.py").is_file():
        sys.exit(f"convert_lora_to_gguf.py not found in {llama_cpp}: give --llama-cpp, llama.cpp's sources "
                 "(vendor/llama.cpp of the llama-cpp-python sdist)")
    gguf.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(llama_cpp / "convert_lora_to_gguf.py"), str(adapter), "--base",
                    str(adapter / "base"), "--outtype", "f16", "--outfile", str(gguf)], check=True,
                   env={**os.environ, "PYTHONPATH": str(llama_cpp / "gguf-py")})
    print(f"GGUF adapter: {gguf} ({gguf.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
