"""Small deterministic stand-ins for the embedder and the answering model."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence

import numpy as np

from rag.embedders import CosineScale, Embedder
from rag.lexical import tokenize
from rag.llm import LLM, GenerationStats


class FakeEmbedder(Embedder):
    """Hashed bag of stems: texts sharing words get similar vectors. Counts what it embeds."""

    # bag-of-words cosines: unrelated texts near 0, a question and its passage around 0.3–0.6
    scale = CosineScale(0.3, 0.3, 0.8, "tests: the fake embedder's own cosines")

    def __init__(self, dim: int = 64, delay: float = 0.0, id: str = "fake-embedder-1") -> None:
        self.dim = dim
        self.id = id
        self.delay = delay
        self.embedded: list[str] = []

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            if not is_query:
                self.embedded.append(text)
            for stem in tokenize(text) or ["_"]:
                out[row, int(hashlib.md5(stem.encode()).hexdigest(), 16) % self.dim] += 1.0
            out[row, 0] += 0.01
        if self.delay:
            time.sleep(self.delay * len(texts))
        return out


class FakeLLM(LLM):
    """Replies from a queue; whitespace tokens; records the prompts it was given."""

    def __init__(self, replies: list[str] | None = None, n_ctx: int = 4096) -> None:
        self.name = "fake-llm"
        self.n_ctx = n_ctx
        self.replies = list(replies or [])
        self.prompts: list[str] = []

    def format_chat(self, messages: list[dict[str, str]]) -> str:
        return "".join(f"<{m['role']}>\n{m['content']}\n" for m in messages) + "<assistant>\n"

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        return self.count_tokens(self.format_chat(messages))

    def stream(self, messages: list[dict[str, str]], max_tokens: int, temperature: float = 0.0,
               stats: GenerationStats | None = None) -> Iterator[str]:
        prompt = self.format_chat(messages)
        self.prompts.append(prompt)
        reply = self.replies.pop(0) if self.replies else "Je ne sais pas d'après les sources."
        words = reply.split(" ")
        if stats is not None:
            stats.prompt_tokens = self.count_tokens(prompt)
            stats.completion_tokens = len(words)
        for i, word in enumerate(words):
            yield word if i == 0 else " " + word


def assistant_over(settings, embedder: Embedder, replies: Sequence[str] = ()):
    """An Assistant over the index already built in `settings`' project with `embedder`, a fake model
    replying `replies` and the lexical support check."""
    from rag.answer import Assistant
    from rag.retrieval import Retriever
    from rag.support import LexicalScorer

    return Assistant(settings, Retriever.open(settings, embedder), FakeLLM(list(replies)), LexicalScorer())
