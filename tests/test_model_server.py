"""The model-server backend (rag.llm.server).

Fast tests: real HTTP against small stand-in servers on 127.0.0.1 (one down, one slow, one sending
garbage), each ending in a clear `ModelError` within the configured timeout. Real tests: llama-cpp-python's
own OpenAI-compatible server (`python -m llama_cpp.server`) on the default GGUF, whose answers,
citations and abstentions must match the in-process backend on a slice of the gold set."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rag.errors import ModelError, SettingsError
from rag.llm.server import ServerLLM, ServerSpec
from rag.process import free_port

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = [{"role": "system", "content": "Réponds."}, {"role": "user", "content": "Bonjour"}]


class _StandIn(BaseHTTPRequestHandler):
    behaviour = "garbage"

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(404, b"{}")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.behaviour == "slow":
            time.sleep(5)
            self._send(200, b"{}")
        elif self.behaviour == "garbage":
            self._send(200, b"data: <html>not json</html>\n\n", "text/event-stream")
        elif self.behaviour == "refuses":
            self._send(500, json.dumps({"error": {"message": "out of memory"}}).encode())


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # the slow stand-in writes after the client has timed out and gone: expected, not news


@pytest.fixture
def stand_in():
    servers = []

    def start(behaviour: str) -> str:
        handler = type("Handler", (_StandIn,), {"behaviour": behaviour})
        server = _QuietServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"openai:http://127.0.0.1:{server.server_address[1]}/v1#stand-in"

    yield start
    for server in servers:
        server.shutdown()


def test_the_spec_names_a_base_url_and_a_model():
    spec = ServerSpec.parse("openai:http://10.0.0.5:8080#qwen")
    assert spec.base_url == "http://10.0.0.5:8080/v1" and spec.root == "http://10.0.0.5:8080" and spec.model == "qwen"
    with pytest.raises(SettingsError, match="openai:<http"):
        ServerSpec.parse("openai:localhost:8080")


def test_a_server_that_is_down_is_reported_not_raised():
    with pytest.raises(ModelError, match="not reachable"):
        ServerLLM(f"openai:http://127.0.0.1:{free_port()}/v1#x", timeout=2)


def test_a_slow_server_times_out_after_the_configured_seconds(stand_in):
    llm = ServerLLM(stand_in("slow"), timeout=0.5)
    t = time.perf_counter()
    with pytest.raises(ModelError, match=r"did not answer within 0.5 s"):
        list(llm.stream(MESSAGES, 10))
    assert time.perf_counter() - t < 3


def test_garbage_and_refusals_are_clear_errors(stand_in):
    with pytest.raises(ModelError, match="not an OpenAI-compatible"):
        list(ServerLLM(stand_in("garbage"), timeout=2).stream(MESSAGES, 10))
    with pytest.raises(ModelError, match="HTTP 500.*out of memory"):
        list(ServerLLM(stand_in("refuses"), timeout=2).stream(MESSAGES, 10))


def test_the_api_key_comes_from_the_environment(stand_in, monkeypatch):
    monkeypatch.setenv("RAG_LLM_API_KEY", "s3cret")
    llm = ServerLLM(stand_in("garbage"), timeout=2)
    assert llm._http.headers["Authorization"] == "Bearer s3cret"


# -- the real server -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_server():
    from rag.config import load_settings
    from rag.models import resolve_model
    from rag.process import start_model_server

    settings = load_settings(ROOT)
    path = resolve_model(settings.generation.model, settings.models_path, settings.home)
    port = free_port()
    proc = start_model_server(path, port, alias="qwen")
    yield f"openai:http://127.0.0.1:{port}/v1#qwen"
    proc.terminate()
    proc.wait(30)


@pytest.mark.real
def test_token_counts_through_the_server_match_the_local_tokenizer(real_server):
    from rag.config import load_settings
    from rag.llm import LlamaCppLLM
    from rag.models import resolve_model
    from rag.prompting import build_messages

    settings = load_settings(ROOT)
    local = LlamaCppLLM(resolve_model(settings.generation.model, settings.models_path), vocab_only=True)
    server = ServerLLM(real_server)
    for messages in (MESSAGES, build_messages("Combien Microsoft a-t-il investi ?", [], [("Qui ?", "Microsoft [1].")])):
        assert server.prompt_tokens(messages) == local.prompt_tokens(messages)
    assert server.counting == "llama-cpp-python /extras/tokenize"


@pytest.fixture(scope="module")
def seeded_home(tmp_path_factory):
    """A project over the seed articles with the real embedder's index (the models of the checkout)."""
    import shutil

    from rag.build import build_settings_index
    from rag.config import load_settings
    from rag.embedders import get_embedder

    home = tmp_path_factory.mktemp("served")
    shutil.copytree(ROOT / "sources", home / "sources")
    (home / "rag.toml").write_text(f'models_dir = "{ROOT / "models"}"\n', "utf-8")
    settings = load_settings(home)
    build_settings_index(settings, get_embedder(settings.embedder))
    return home


@pytest.mark.real
def test_answers_through_the_server_match_the_in_process_model(real_server, seeded_home):
    """Same greedy decoding, same prompts, same reuse of the cache: same answers, citations and abstentions
    on a gold slice (the first 6 questions, and 2 the gold set says the articles cannot answer). The server
    keeps one Llama whose cache reuses the longest prefix a prompt shares with the previous one, so the
    in-process model does the same here (`prefix_cache = "longest"`); with the default "aligned" a reply
    may differ from the server's in a citation or a word (README, "Exact replies…")."""
    from rag.answer import Assistant
    from rag.config import load_settings
    from rag.evaluation import load_gold

    settings = load_settings(seeded_home, generation__prefix_cache="longest")
    questions, _ = load_gold(ROOT / "eval" / "gold_fr.jsonl")
    plain = [q for q in questions if not q.follow_up]
    chosen = [q for q in plain if q.answerable][:6] + [q for q in plain if not q.answerable][:2]
    in_process = Assistant.open(settings)
    served = Assistant.open(load_settings(seeded_home, generation__model=real_server),
                            embedder=in_process.retriever.embedder)
    assert served.llm.name == "qwen @ " + real_server.split("#")[0][len("openai:"):-len("/v1")]
    for q in chosen:
        a, b = in_process.answer(q.question), served.answer(q.question)
        assert (a.abstained, a.reason) == (b.abstained, b.reason), q.question
        assert a.text == b.text, q.question
        assert [(s.cited, s.attributed) for s in a.sentences] == [(s.cited, s.attributed) for s in b.sentences], q.question
    assert any(not in_process.answer(q.question).abstained for q in chosen)


def test_without_the_extra_the_error_says_what_to_install(monkeypatch):
    import sys

    from rag.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "openai", None)  # as if not installed
    with pytest.raises(MissingDependency, match=r'pip install -e "\.\[server\]"'):
        ServerLLM("openai:http://127.0.0.1:9/v1#x")
