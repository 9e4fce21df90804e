"""The answering model's interface: every backend takes chat messages, counts their prompt tokens
for the context budget, and streams a completion."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

Messages = list[dict[str, str]]


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens reused from the previous call (prefix cache)
    completion_tokens: int = 0
    prefill_ms: float = 0.0  # call start to first token
    decode_ms: float = 0.0  # first token to last
    # at each generated token, the probability the model gave its most likely next token (how sure it
    # was): recorded only when the caller gives a list here (bench/confidence.py does; answers do not
    # pay for it); the llama.cpp backend fills it, a server leaves it empty
    top_probs: list[float] | None = None


class LLM(ABC):
    """A chat model behind one of the backends (`rag.llm.llamacpp`, `rag.llm.server`)."""

    name: str
    n_ctx: int
    # generations the backend runs at once: 1 for a llama.cpp context in this process; a server's
    # parallel slots otherwise (the chat's concurrency limit follows it)
    concurrency: int = 1

    @abstractmethod
    def prompt_tokens(self, messages: Messages) -> int:
        """Tokens of the prompt `messages` become once the model's chat template is applied."""

    @abstractmethod
    def stream(self, messages: Messages, max_tokens: int, temperature: float = 0.0,
               stats: GenerationStats | None = None) -> Iterator[str]:
        """Yield the assistant reply's text piece by piece; fill `stats` when given."""
