"""The chat (`python ui.py`, a child process) on a model server. With llama.cpp's `llama-server`
(parallel slots) it answers several users at once instead of queueing them: its concurrency limit
follows the backend. With a server that is down, the user reads why in the chat. Real engines: the
llama-server that scripts/build_llama_server.sh builds, the default GGUF."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.config import load_settings
from rag.models import resolve_model
from rag.process import free_port, llama_server_binary, start_chat, start_model_server

pytestmark = pytest.mark.real
ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["Comment s'appelle l'infrastructure informatique développée par OpenAI ?",
             "Quel est le montant du programme de subventions annoncé par OpenAI ?"]


def _home(tmp_path_factory, toml: str = "") -> Path:
    home = tmp_path_factory.mktemp("served")
    shutil.copytree(ROOT / "sources", home / "sources")
    (home / "rag.toml").write_text(f'models_dir = "{ROOT / "models"}"\n{toml}', "utf-8")
    subprocess.run([sys.executable, "-m", "rag.cli", "index", "--home", str(home)], check=True, capture_output=True)
    return home


@pytest.fixture(scope="module", params=[0, 1], ids=["slots-from-server", "server_parallel=1"])
def chat_on_llama_server(request, tmp_path_factory):
    """The chat over a 2-slot llama-server: with the slots asked from the server (the default), and
    with `generation.server_parallel = 1` (the control: one answer at a time)."""
    if llama_server_binary() is None:
        pytest.fail("llama-server is not built: scripts/test.sh builds it (bash scripts/build_llama_server.sh)")
    home = _home(tmp_path_factory, f"[generation]\nserver_parallel = {request.param}\n")
    settings = load_settings(ROOT)
    model_port, chat_port = free_port(), free_port()
    server = start_model_server(resolve_model(settings.generation.model, settings.models_path), model_port,
                                kind="llama-server", parallel=2, alias="qwen")
    spec = f"openai:http://127.0.0.1:{model_port}/v1#qwen"
    chat = start_chat(home, chat_port, env={"RAG_MODEL": spec})
    yield f"http://127.0.0.1:{chat_port}/", spec, request.param
    chat.terminate()
    server.terminate()
    chat.wait(30)
    server.wait(30)


def test_two_users_are_answered_at_once_through_llama_server(chat_on_llama_server):
    from gradio_client import Client
    from gradio_client.utils import Status

    url, spec, parallel = chat_on_llama_server
    started: dict[int, float] = {}
    finished: dict[int, float] = {}
    results: dict[int, tuple] = {}

    def ask(i: int) -> None:
        job = Client(url, verbose=False).submit(QUESTIONS[i], [], "", 6, spec, 0.0, "", "", [], "",
                                                  api_name="/chat")
        while not job.done():
            if i not in started and job.status().code in (Status.PROCESSING, Status.ITERATING):
                started[i] = time.perf_counter()
            time.sleep(0.05)
        finished[i] = time.perf_counter()
        results[i] = job.result(timeout=10)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    answers = [str(results[i][1][-1]["content"]) for i in range(2)]
    assert "Stargate" in answers[0] and "50 millions" in answers[1]
    if parallel == 1:  # the control: the second user waits for the first answer
        assert max(started.values()) >= min(finished.values()) - 0.5
    else:  # both were being answered before either was done: no queue in front of the second user
        assert max(started.values()) < min(finished.values())


def test_a_model_server_that_is_down_is_explained_in_the_chat(tmp_path_factory):
    from gradio_client import Client

    home = _home(tmp_path_factory)
    spec = f"openai:http://127.0.0.1:{free_port()}/v1#qwen"
    port = free_port()
    chat = start_chat(home, port, env={"RAG_MODEL": spec})
    try:
        messages = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            QUESTIONS[0], [], "", 6, spec, 0.0, "", "", [], "", api_name="/chat")[1]
    finally:
        chat.terminate()
        chat.wait(30)
    reply = str(messages[-1]["content"])
    assert "ne répond pas" in reply and "127.0.0.1" in reply and "Traceback" not in reply  # in French


def test_llama_server_counts_tokens_exactly_and_reports_its_slots(chat_on_llama_server):
    from rag.llm import LlamaCppLLM
    from rag.llm.server import ServerLLM
    from rag.prompting import build_messages

    _, spec, _ = chat_on_llama_server
    settings = load_settings(ROOT)
    local = LlamaCppLLM(resolve_model(settings.generation.model, settings.models_path), vocab_only=True)
    served = ServerLLM(spec)
    messages = build_messages("Combien Microsoft a-t-il investi ?", [], [("Qui ?", "Microsoft [1].")])
    assert served.prompt_tokens(messages) == local.prompt_tokens(messages)
    assert served.counting == "llama-server /apply-template + /tokenize" and served.concurrency == 2
