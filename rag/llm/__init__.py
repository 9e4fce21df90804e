"""Answering models behind one interface (`LLM`), one module per backend:

- `rag.llm.llamacpp`: llama-cpp-python runs a GGUF file in this process (the default);
- `rag.llm.server`: an OpenAI-compatible server (llama.cpp's `llama-server`, vLLM, …), for
  `generation.model = "openai:<base url>#<model name>"` (extra: `pip install -e ".[server]"`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rag.llm.base import LLM, GenerationStats, Messages
from rag.llm.llamacpp import LlamaCppLLM

if TYPE_CHECKING:
    from rag.config import Settings

logger = logging.getLogger(__name__)

__all__ = ["LLM", "GenerationStats", "LlamaCppLLM", "Messages", "open_llm", "parallel_requests"]


def open_llm(settings: "Settings") -> LLM:
    """The answering model the settings name (`generation.model`)."""
    from rag.models import resolve_adapter, resolve_model
    from rag.llm.server import ServerLLM, is_server_spec

    g = settings.generation
    if is_server_spec(g.model):
        counter = None
        if g.server_tokenizer:
            local = LlamaCppLLM(resolve_model(g.server_tokenizer, settings.models_path, settings.home), g.n_ctx,
                                vocab_only=True)
            counter = local.prompt_tokens
        if g.adapter:
            logger.warning("generation.adapter %r is not applied to a model server: load it in the server", g.adapter)
        return ServerLLM(g.model, g.n_ctx, g.server_timeout, counter, g.server_parallel)
    adapter = resolve_adapter(g.adapter, settings.models_path, settings.home) if g.adapter else None
    return LlamaCppLLM(resolve_model(g.model, settings.models_path, settings.home), g.n_ctx, g.n_threads,
                       g.prompt_lookup, flash_attn=g.flash_attn, adapter=adapter, prefix_cache=g.prefix_cache)


def parallel_requests(settings: "Settings") -> int:
    """How many answers the configured model can generate at once (the chat's concurrency limit):
    1 in process; a server's parallel slots (`generation.server_parallel`, else asked from the server;
    1 when it cannot be reached now)."""
    from rag.errors import RagError
    from rag.llm.server import ServerLLM, is_server_spec

    g = settings.generation
    if not is_server_spec(g.model):
        return 1
    if g.server_parallel:
        return g.server_parallel
    try:
        return ServerLLM(g.model, g.n_ctx, min(g.server_timeout, 5.0)).concurrency
    except RagError as exc:
        logger.warning("%s; answering one question at a time until the chat is restarted", exc)
        return 1
