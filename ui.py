"""The chat in a web page: `python ui.py [--host 127.0.0.1] [--port 7860] [--auth user:password]`.

Only widgets and their wiring live here; answering, sources and rendering come from the `rag` package.
Every handler turns a `RagError` (something the user can fix) into a ⚠ message in the page.
"""

from __future__ import annotations

import argparse
import logging
import os
from html import escape
from pathlib import Path

import gradio as gr

from rag import load_settings
from rag.errors import IndexDamaged, RagError
from rag.html import CSS, JS, EMPTY_EVIDENCE, add_report_markdown, answer_html, build_markdown, cards_html
from rag.library import Workspace
from rag.llm import parallel_requests
from rag.models import local_models

UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf"]


def _progress_callback(progress: gr.Progress):
    return lambda done, total, what: progress((done, max(total, 1)), desc=what)


def _warning(exc: Exception) -> str:
    return f"⚠ {escape(str(exc))}"


def build_app(workspace: Workspace) -> gr.Blocks:
    settings = workspace.settings

    def sources_view():
        sources = workspace.sources()  # loads the index: once per view
        rows = [[r.title, r.path + "".join(f" (= {c})" for c in r.copies), r.chunks, r.added] for r in sources]
        return rows, gr.update(choices=[r.path for r in sources], value=None)

    def start(progress=gr.Progress()):
        note = ""
        try:
            problem = workspace.index_problem() if workspace.has_index() else None
            if not workspace.has_index() or isinstance(problem, IndexDamaged):
                summary = workspace.build(progress=_progress_callback(progress))
                note = build_markdown(summary)
            rows, choices = sources_view()
        except RagError as exc:
            return (_warning(exc), [], gr.update(choices=[]), gr.update(interactive=True), gr.update(interactive=True))
        return (note, rows, choices, gr.update(interactive=True), gr.update(interactive=True))

    def respond(question, chat, conversation, evidence, k, model, temperature):
        if not (question or "").strip():
            yield "", chat, conversation, evidence
            return
        chat = [*chat, {"role": "user", "content": escape(question.strip())}, {"role": "assistant", "content": "…"}]
        yield "", chat, conversation, evidence
        try:
            assistant = workspace.assistant(model)
            response = assistant.stream_answer(question, conversation, k=int(k), temperature=float(temperature))
            for _ in response:
                chat[-1] = {"role": "assistant", "content": escape(response.streamed)}
                yield "", chat, conversation, evidence
            result = response.answer
        except RagError as exc:
            chat[-1] = {"role": "assistant", "content": _warning(exc)}
            yield "", chat, conversation, evidence
            return
        turn = len(conversation) + 1
        chat[-1] = {"role": "assistant", "content": answer_html(result, turn)}
        cards = cards_html(result, turn, assistant.retriever.index)
        evidence = cards + ("" if evidence == EMPTY_EVIDENCE else evidence)
        yield "", chat, [*conversation, (result.question, result.text)], evidence

    def api_answer(question: str, history: list[list[str]] | None = None) -> dict:
        """Answer a question; returns the checked answer, its sentences and passages as JSON."""
        pairs = [(q, a) for q, a in (history or [])]
        try:
            return workspace.assistant().answer(question, pairs).to_dict()
        except RagError as exc:
            raise gr.Error(str(exc)) from exc

    def upload(files, progress=gr.Progress()):
        paths = [Path(f if isinstance(f, str) else f.name) for f in files or []]
        try:
            report = workspace.add_files(paths, progress=_progress_callback(progress))
            message = add_report_markdown(report)
        except RagError as exc:
            message = _warning(exc)
        return (message, *sources_view(), None)

    def remove(path, progress=gr.Progress()):
        if not path:
            return ("Choisissez une source à retirer.", *sources_view())
        try:
            summary = workspace.remove(path, progress=_progress_callback(progress))
        except RagError as exc:
            return (_warning(exc), *sources_view())
        return (f"{escape(path)} retiré. " + build_markdown(summary), *sources_view())

    def rebuild(progress=gr.Progress()):
        try:
            summary = workspace.build(rebuild=True, progress=_progress_callback(progress))
        except RagError as exc:
            return (_warning(exc), *sources_view())
        return (build_markdown(summary), *sources_view())

    with gr.Blocks(title="Questions sur vos articles") as demo:
        conversation = gr.State([])
        gr.Markdown("## Questions sur vos articles\nRéponses tirées uniquement de vos sources, chaque phrase citée.")
        status = gr.Markdown()
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label="Conversation", height=520, elem_id="chat")
                    with gr.Row():
                        question = gr.Textbox(placeholder="Posez une question (français ou anglais)…", scale=5,
                                              show_label=False, interactive=False, elem_id="question")
                        send = gr.Button("Envoyer", variant="primary", scale=1, interactive=False, elem_id="send")
                    new_chat = gr.Button("Nouvelle conversation", elem_id="new-chat")
                    with gr.Accordion("Réglages", open=False):
                        k = gr.Slider(1, 10, value=settings.retrieval.k, step=1, label="Passages retrouvés")
                        model = gr.Dropdown(list(dict.fromkeys([settings.generation.model, *local_models(settings.models_path)])),
                                            value=settings.generation.model,
                                            label="Modèle")
                        temperature = gr.Slider(0.0, 1.0, value=settings.generation.temperature, step=0.05,
                                                label="Température")
                with gr.Column(scale=2):
                    evidence = gr.HTML(EMPTY_EVIDENCE, elem_id="evidence")
        with gr.Tab("Sources"):
            sources_table = gr.Dataframe(headers=["Titre", "Fichier", "Passages", "Ajouté"], interactive=False,
                                         elem_id="sources-table")
            files = gr.File(label="Ajouter des articles (txt, md, html, pdf)", file_count="multiple",
                            file_types=UPLOAD_TYPES, elem_id="upload")
            add = gr.Button("Ajouter et indexer", variant="primary", elem_id="add-files")
            with gr.Row():
                # any name is accepted here (the API too); Workspace.remove refuses what is not a source
                to_remove = gr.Dropdown(label="Source à retirer", choices=[], allow_custom_value=True,
                                        elem_id="remove-choice")
                remove_button = gr.Button("Retirer", elem_id="remove")
            rebuild_button = gr.Button("Reconstruire l'index", elem_id="rebuild")
            sources_message = gr.Markdown(elem_id="sources-message")

        chat_io = [question, chatbot, conversation, evidence, k, model, temperature]
        chat_out = [question, chatbot, conversation, evidence]
        # every event that runs the model waits in one queue, so each user sees their place in it
        send.click(respond, chat_io, chat_out, api_name="chat", concurrency_id="model")  # conversation per session
        question.submit(respond, chat_io, chat_out, api_name=False, concurrency_id="model")
        new_chat.click(lambda: ([], [], EMPTY_EVIDENCE), None, [chatbot, conversation, evidence], api_name=False)
        add.click(upload, files, [sources_message, sources_table, to_remove, files], api_name="add_sources")
        remove_button.click(remove, to_remove, [sources_message, sources_table, to_remove], api_name="remove_source")
        rebuild_button.click(rebuild, None, [sources_message, sources_table, to_remove], api_name="rebuild")
        gr.api(api_answer, api_name="answer", concurrency_id="model")
        demo.load(start, None, [status, sources_table, to_remove, question, send], api_name=False)
    return demo


def main(argv: list[str] | None = None) -> None:
    try:
        settings = load_settings()
    except RagError as exc:
        raise SystemExit(f"error: {exc}") from None
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default=os.environ.get("RAG_UI_HOST", settings.ui_host))
    ap.add_argument("--port", type=int, default=int(os.environ.get("RAG_UI_PORT", settings.ui_port)))
    ap.add_argument("--auth", default=os.environ.get("RAG_UI_AUTH"), help="user:password")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    demo = build_app(Workspace(settings))
    # one answer at a time with the in-process model; as many as a model server has parallel slots
    demo.queue(default_concurrency_limit=parallel_requests(settings))
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    demo.launch(server_name=args.host, server_port=args.port, auth=auth, css=CSS, js=JS, show_error=True)


if __name__ == "__main__":
    main()
