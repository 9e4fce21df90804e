"""The server backend: any OpenAI-compatible `/v1/chat/completions` endpoint (llama.cpp's
`llama-server`, llama-cpp-python's `python -m llama_cpp.server`, vLLM, Ollama), streamed.

Model spec: `openai:<base url>#<model name>`, e.g. `openai:http://127.0.0.1:8080/v1#qwen2.5-coder-1.5b`.
The API key comes from the `RAG_LLM_API_KEY` environment variable, never from the config file.

Token counting (the prompt budget must be right), first that applies:
1. `generation.server_tokenizer` names a local GGUF of the same model (registry name or path): its
   tokenizer and chat template, loaded without the weights: exact;
2. llama.cpp's `llama-server`: its `/apply-template` then `/tokenize`: exact;
3. vLLM: its `/tokenize` with the messages: exact;
4. llama-cpp-python's server: its `/extras/tokenize` on each message's text, plus the chat template's
   overhead per message, measured once from two one-token completions: exact for templates whose
   overhead is the same for every message (ChatML, which Qwen uses);
5. otherwise an estimate of one token per 3 characters, with a warning.

The constant prompt prefix stays in the server's KV cache between requests (`cache_prompt`, which
llama-server honours; llama-cpp-python's server keeps its one context's prefix by itself).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rag.errors import MissingDependency, ModelError, SettingsError
from rag.llm.base import LLM, GenerationStats, Messages

logger = logging.getLogger(__name__)

PREFIX = "openai:"
API_KEY_VARIABLE = "RAG_LLM_API_KEY"


@dataclass(frozen=True)
class ServerSpec:
    base_url: str  # ends with /v1
    model: str

    @classmethod
    def parse(cls, spec: str) -> "ServerSpec":
        url, _, model = spec[len(PREFIX):].partition("#")
        url = url.rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise SettingsError(f"{spec!r}: use openai:<http(s) base url>#<model name>, "
                                "e.g. openai:http://127.0.0.1:8080/v1#qwen")
        if not url.endswith("/v1"):
            url += "/v1"
        return cls(url, model or "default")

    @property
    def root(self) -> str:
        """The server's address without `/v1` (where llama.cpp's own endpoints live)."""
        return self.base_url[: -len("/v1")]


def is_server_spec(spec: str) -> bool:
    return spec.startswith(PREFIX)


class ServerLLM(LLM):
    """Chat completions from an OpenAI-compatible server; see the module docstring."""

    def __init__(self, spec: str, n_ctx: int = 4096, timeout: float = 60.0,
                 count_tokens: Callable[[Messages], int] | None = None, parallel: int = 0,
                 cache_prompt: bool = True) -> None:
        """`timeout`: seconds to wait for the server to connect, or between two streamed pieces;
        `count_tokens`: a local exact counter (point 1 of the module docstring); `parallel`: requests
        the server runs at once (0: ask llama-server's `/props`, else 1); `cache_prompt`: ask the server
        to keep the prompt's KV cache for the next request (off only to measure what it saves)."""
        try:
            import httpx
            import openai
        except ImportError as exc:
            raise MissingDependency('a model server needs the server extra: pip install -e ".[server]"') from exc
        self._openai = openai
        for name in ("httpx", "httpx2"):  # one INFO line per request otherwise
            logging.getLogger(name).setLevel(logging.WARNING)
        self.spec = ServerSpec.parse(spec)
        self.name = f"{self.spec.model} @ {self.spec.root}"
        self.timeout = timeout
        self.cache_prompt = cache_prompt
        self._http = httpx.Client(timeout=httpx.Timeout(timeout), headers=self._headers())
        self._client = openai.OpenAI(base_url=self.spec.base_url, api_key=os.environ.get(API_KEY_VARIABLE) or "none",
                                     timeout=httpx.Timeout(timeout), max_retries=0)
        props = self._json("/props") or {}  # llama-server only
        settings = props.get("default_generation_settings", {}) if isinstance(props, dict) else {}
        server_ctx = int(settings.get("n_ctx") or props.get("n_ctx") or 0) if props else 0
        self.n_ctx = min(n_ctx, server_ctx) if server_ctx else n_ctx
        self.concurrency = parallel or int(props.get("total_slots") or 1) if props else (parallel or 1)
        self._llama_server = bool(props)
        self._count = count_tokens
        self._overhead: tuple[int, int] | None = None  # per message, fixed (point 4)
        self._overhead_lock = threading.Lock()
        self.counting = "local tokenizer" if count_tokens else None
        logger.info("model server %s: context %d tokens, %d parallel request(s)", self.name, self.n_ctx,
                    self.concurrency)

    # -- plumbing ------------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        key = os.environ.get(API_KEY_VARIABLE)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _unreachable(self, exc: Exception) -> ModelError:
        return ModelError(f"the model server at {self.spec.root} is not reachable ({type(exc).__name__}); "
                          "start it, or check generation.model")

    def _json(self, path: str, body: dict | None = None) -> dict | None:
        """GET (or, with a `body`, POST) one of the server's own endpoints; None when the server has no
        such endpoint or answers with something that is not a JSON object."""
        import httpx

        try:
            reply = (self._http.get(self.spec.root + path) if body is None
                     else self._http.post(self.spec.root + path, json=body))
        except httpx.TimeoutException as exc:
            raise self._slow(exc) from exc
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        if reply.status_code != 200:
            return None
        try:
            data = reply.json()
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _slow(self, exc: Exception) -> ModelError:
        return ModelError(f"the model server at {self.spec.root} did not answer within {self.timeout:g} s "
                          "(generation.server_timeout)")

    # -- token counting ------------------------------------------------------------------------------
    def prompt_tokens(self, messages: Messages) -> int:
        if self._count is not None:
            return self._count(messages)
        if self._llama_server:
            applied = self._json("/apply-template", {"messages": messages})
            if applied and isinstance(applied.get("prompt"), str):
                tokens = self._json("/tokenize", {"content": applied["prompt"], "add_special": False,
                                                       "parse_special": True})
                if tokens and isinstance(tokens.get("tokens"), list):
                    self.counting = "llama-server /apply-template + /tokenize"
                    return len(tokens["tokens"])
        if self.counting in (None, "vLLM /tokenize"):
            counted = self._json("/tokenize", {"model": self.spec.model, "messages": messages})
            if counted and isinstance(counted.get("count"), int):
                self.counting = "vLLM /tokenize"
                return counted["count"]
        if self.counting in (None, "llama-cpp-python /extras/tokenize"):
            contents = [self._extras_count(m["content"]) for m in messages]
            if all(c is not None for c in contents):
                self.counting = "llama-cpp-python /extras/tokenize"
                per_message, fixed = self._template_overhead()
                return sum(contents) + per_message * len(messages) + fixed  # type: ignore[arg-type]
        if self.counting is None:
            logger.warning("%s gives no token counts: estimating 1 token per 3 characters; set "
                           "generation.server_tokenizer to a local GGUF of the same model for exact counts", self.name)
            self.counting = "estimate"
        return sum(len(m["content"]) // 3 + 8 for m in messages)

    def _extras_count(self, text: str) -> int | None:
        counted = self._json("/extras/tokenize/count", {"input": text, "model": self.spec.model})
        return counted["count"] if counted and isinstance(counted.get("count"), int) else None

    def _template_overhead(self) -> tuple[int, int]:
        """(tokens per message, fixed tokens) the chat template adds, from the prompt sizes the server
        reports for two and for four short messages (always with a system message: templates such as
        Qwen's add a default one when there is none)."""
        with self._overhead_lock:
            if self._overhead is None:
                two = [{"role": "system", "content": "Réponds."}, {"role": "user", "content": "Bonjour"}]
                four = [*two, {"role": "assistant", "content": "Bonjour."}, {"role": "user", "content": "Merci"}]
                sizes = []
                for messages in (two, four):
                    reply = self._create(messages, max_tokens=1, temperature=0.0, stream=False)
                    used = getattr(getattr(reply, "usage", None), "prompt_tokens", None)
                    if not isinstance(used, int):
                        raise ModelError(f"{self.name} reports no prompt token usage: set generation.server_tokenizer")
                    sizes.append(used - sum(self._extras_count(m["content"]) or 0 for m in messages))
                per_message = (sizes[1] - sizes[0]) // 2
                self._overhead = (per_message, sizes[0] - 2 * per_message)
                logger.info("%s chat template: %d tokens per message, %d fixed", self.name, *self._overhead)
            return self._overhead

    # -- generation ----------------------------------------------------------------------------------
    def _create(self, messages: Messages, max_tokens: int, temperature: float, stream: bool) -> Any:
        openai = self._openai
        # llama-server: keep the constant prefix's KV cache; no repetition penalty, as in process
        # (llama.cpp servers default to 1.1, which changes greedy answers)
        extra: dict[str, Any] = {"cache_prompt": self.cache_prompt, "repeat_penalty": 1.0}
        if temperature == 0:
            extra["top_k"] = 1  # greedy, as the in-process backend decodes
        try:
            return self._client.chat.completions.create(
                model=self.spec.model, messages=messages, max_tokens=max_tokens,  # type: ignore[arg-type]
                temperature=temperature, stream=stream, extra_body=extra)
        except openai.APITimeoutError as exc:
            raise self._slow(exc) from exc
        except openai.APIConnectionError as exc:
            raise self._unreachable(exc) from exc
        except openai.APIStatusError as exc:
            raise ModelError(f"the model server at {self.spec.root} refused the request (HTTP {exc.status_code}: "
                             f"{str(exc.message)[:200]})") from exc

    def stream(self, messages: Messages, max_tokens: int, temperature: float = 0.0,
               stats: GenerationStats | None = None) -> Iterator[str]:
        openai = self._openai
        stats = stats if stats is not None else GenerationStats()
        start = time.perf_counter()
        first = None
        try:
            for part in self._create(messages, max_tokens, temperature, stream=True):
                choices = getattr(part, "choices", None)
                if not isinstance(choices, list):
                    raise ModelError(f"the model server at {self.spec.root} sent something that is not an "
                                     f"OpenAI-compatible chat completion chunk: {str(part)[:120]!r}")
                _read_timings(part, stats)
                if not choices:
                    continue
                text = getattr(getattr(choices[0], "delta", None), "content", None)
                if text:
                    if first is None:
                        first = time.perf_counter()
                        stats.prefill_ms = (first - start) * 1000
                    stats.completion_tokens += 1
                    yield text
        except openai.APITimeoutError as exc:
            raise self._slow(exc) from exc
        except openai.APIConnectionError as exc:
            raise self._unreachable(exc) from exc
        except openai.APIError as exc:  # a stream cut short or unreadable
            raise ModelError(f"the model server at {self.spec.root} broke off the answer ({str(exc)[:160]})") from exc
        except ValueError as exc:  # a chunk that is not JSON
            raise ModelError(f"the model server at {self.spec.root} sent a reply that is not an OpenAI-compatible "
                             f"stream ({str(exc)[:120]})") from exc
        stats.decode_ms = (time.perf_counter() - (first or start)) * 1000


def _read_timings(part: Any, stats: GenerationStats) -> None:
    """llama-server adds `timings` (prompt tokens evaluated, taken from the cache, generated) to its
    last chunk."""
    timings = getattr(part, "timings", None) or (getattr(part, "model_extra", None) or {}).get("timings")
    if isinstance(timings, dict):
        evaluated, cached = int(timings.get("prompt_n", 0)), int(timings.get("cache_n", 0))
        stats.prompt_tokens = evaluated + cached
        stats.cached_tokens = cached
        stats.completion_tokens = int(timings.get("predicted_n", stats.completion_tokens))
