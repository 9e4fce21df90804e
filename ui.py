"""The chat in a web page: `python ui.py [--host 127.0.0.1] [--port 7860] [--auth user:password]`.

Only widgets and their wiring live here; answering, sources and rendering come from the `rag` package.
Every handler turns a `RagError` (something the user can fix) into a ⚠ message in the page.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from html import escape
from pathlib import Path

import gradio as gr

from rag import load_settings
from rag.errors import IndexDamaged, RagError
from rag import plots
from rag.filters import SourceFilter
from rag.messages import say
from rag.html import CSS, JS, add_report_markdown, answer_html, build_markdown, cards_html, empty_evidence, \
    restore_chat, sources_rows, warning
from rag.page_text import page_language, text, translations
from rag.library import Workspace
from rag.llm import parallel_requests
from rag.models import local_models

logger = logging.getLogger(__name__)
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf"]


COLUMNS = ("col_title", "col_outlet", "col_author", "col_date", "col_file", "col_passages")


def _progress_callback(progress: gr.Progress, language: str):
    return lambda done, total, what: progress((done, max(total, 1)), desc=say(what, language))


def _warning(exc: Exception, language: str) -> str:
    """An error as the page shows it (rag.html.warning)."""
    return warning(str(exc), language)


def launch(demo: gr.Blocks, workspace: Workspace, **options) -> None:
    """Serve the page with its style, its click-to-card script and its words in French and English."""
    demo.launch(css=CSS, js=JS, i18n=gr.I18n(**translations(workspace.settings.ui_language)), **options)


def build_app(workspace: Workspace) -> gr.Blocks:
    settings = workspace.settings
    words = gr.I18n()  # the page's fixed words, looked up by the browser in its language (see launch)

    def language(request: gr.Request | None) -> str:
        """The language of the page that sent `request` (rag.page_text.page_language)."""
        header = request.headers.get("accept-language") if request is not None else None
        return page_language(header, settings.ui_language)

    def sources_view(lang: str):
        sources = workspace.sources()  # loads the index: once per view
        paths = [r.path for r in sources]
        outlets = sorted({r.meta.outlet for r in sources if r.meta.outlet})
        table = {"headers": [text(c, lang) for c in COLUMNS], "data": sources_rows(sources, lang)}
        return (table, gr.update(choices=paths, value=None), gr.update(choices=paths, value=None),
                gr.update(choices=outlets + paths))

    def start(request: gr.Request, progress=gr.Progress()):
        lang = language(request)
        note = ""
        try:
            problem = workspace.index_problem() if workspace.has_index() else None
            if not workspace.has_index() or isinstance(problem, IndexDamaged):
                summary = workspace.build(progress=_progress_callback(progress, lang))
                note = build_markdown(summary, lang)
            view = sources_view(lang)
        except RagError as exc:
            empty = gr.update(choices=[])
            return (_warning(exc, lang), [], empty, empty, empty, gr.update(interactive=True),
                    gr.update(interactive=True))
        return (note, *view, gr.update(interactive=True), gr.update(interactive=True))

    store = workspace.conversations
    reports_folder = settings.path(Path("eval/reports"))
    exports = Path(tempfile.mkdtemp(prefix="rag-exports-"))  # conversation downloads, removed on exit
    atexit.register(shutil.rmtree, exports, ignore_errors=True)

    def conversation_list(selected: str | None = None):
        return gr.update(choices=[(c.title, c.id) for c in store.list()], value=selected or None)

    def export_buttons(conv_id: str | None):
        if not conv_id:
            return gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
        return (gr.update(value=str(store.export_file(conv_id, "md", exports)), interactive=True),
                gr.update(value=str(store.export_file(conv_id, "json", exports)), interactive=True))

    def respond(question, chat, conversation, evidence, k, model, temperature, since="", until="", only=None,
                conv_id="", turn_ids=None, request: gr.Request = None):
        lang = language(request)
        turn_ids = list(turn_ids or [])
        unchanged = (gr.skip(),) * 5
        if not (question or "").strip():
            yield "", chat, conversation, evidence, *unchanged
            return
        chat = [*chat, {"role": "user", "content": escape(question.strip())}, {"role": "assistant", "content": "…"}]
        yield "", chat, conversation, evidence, *unchanged
        try:
            where = SourceFilter.parse(since, until, only)
            assistant = workspace.assistant(model)
            response = assistant.stream_answer(question, conversation, k=int(k), temperature=float(temperature),
                                               where=where)
            for _ in response:
                chat[-1] = {"role": "assistant", "content": escape(response.streamed)}
                yield "", chat, conversation, evidence, *unchanged
            result = response.answer
        except RagError as exc:
            chat[-1] = {"role": "assistant", "content": _warning(exc, lang)}
            yield "", chat, conversation, evidence, conv_id, [*turn_ids, None], gr.skip(), gr.skip(), gr.skip()
            return
        turn = len(conversation) + 1
        chat[-1] = {"role": "assistant", "content": answer_html(result, turn, lang)}
        cards = cards_html(result, turn, assistant.retriever.index, lang)
        evidence = cards + ("" if 'class="rag-card"' not in (evidence or "") else evidence)
        conv_id = conv_id or store.create()
        turn_ids.append(store.add_turn(conv_id, result.to_dict()))
        yield ("", chat, [*conversation, (result.question, result.text)], evidence, conv_id, turn_ids,
               conversation_list(conv_id), *export_buttons(conv_id))

    def restore(conv_id, request: gr.Request):
        """The chat as it was: on page load (the id kept in the browser) or when a conversation is picked."""
        try:
            turns = store.turns(conv_id) if conv_id else []
        except RagError:
            conv_id, turns = "", []
        index = workspace.current_index()
        messages, history, cards = restore_chat(turns, index, language(request))
        return (messages, history, cards, conv_id or "", [t.id for t in turns], conversation_list(conv_id),
                *export_buttons(conv_id))

    def new_conversation(request: gr.Request):
        return ([], [], empty_evidence(language(request)), "", [], conversation_list(), *export_buttons(None))

    def rename(conv_id, title, request: gr.Request):
        lang = language(request)
        if not conv_id:
            return text("ask_first", lang), conversation_list()
        try:
            store.rename(conv_id, title)
        except RagError as exc:
            return _warning(exc, lang), conversation_list(conv_id)
        return text("renamed", lang), conversation_list(conv_id)

    def delete(conv_id, request: gr.Request):
        if conv_id:
            try:
                store.delete(conv_id)
            except RagError:
                pass
        return (text("deleted", language(request)) if conv_id else "", *new_conversation(request))

    def like(turn_ids, data: gr.LikeData):
        message = data.index if isinstance(data.index, int) else data.index[0]
        turns = turn_ids or []
        if message // 2 < len(turns) and turns[message // 2] is not None:  # messages go question, answer
            store.vote(turns[message // 2], 1 if data.liked else -1)

    def correct(turn_ids, correction, request: gr.Request):
        lang = language(request)
        last = next((t for t in reversed(turn_ids or []) if t is not None), None)
        if last is None:
            return text("nothing_to_correct", lang), correction
        store.vote(last, -1, correction)
        return text("marked_corrected" if correction.strip() else "marked_wrong", lang), ""

    def api_answer(question: str, history: list[list[str]] | None = None, since: str = "", until: str = "",
                   sources: list[str] | None = None, request: gr.Request = None) -> dict:
        """Answer a question (within dates YYYY-MM-DD and sources: file paths or outlets, when given);
        returns the checked answer, its sentences and passages as JSON."""
        pairs = [(q, a) for q, a in (history or [])]
        try:
            where = SourceFilter.parse(since, until, sources)
            return workspace.assistant().answer(question, pairs, where=where).to_dict()
        except RagError as exc:  # the caller's mistake: a clear message for them, one log line, no traceback
            logger.info("/answer refused: %s", exc)
            raise gr.Error(say(str(exc), language(request)), print_exception=False) from exc

    def upload(files, request: gr.Request, progress=gr.Progress()):
        lang = language(request)
        paths = [Path(f if isinstance(f, str) else f.name) for f in files or []]
        try:
            report = workspace.add_files(paths, progress=_progress_callback(progress, lang))
            message = add_report_markdown(report, lang)
        except RagError as exc:
            message = _warning(exc, lang)
        return (message, *sources_view(lang), None)

    def remove(path, request: gr.Request, progress=gr.Progress()):
        lang = language(request)
        if not path:
            return (text("choose_remove", lang), *sources_view(lang))
        try:
            summary = workspace.remove(path, progress=_progress_callback(progress, lang))
        except RagError as exc:
            return (_warning(exc, lang), *sources_view(lang))
        return (text("removed", lang, path=escape(path)) + " " + build_markdown(summary, lang), *sources_view(lang))

    def edit(path, title, day, outlet, author, request: gr.Request, progress=gr.Progress()):
        lang = language(request)
        if not path:
            return (text("choose_edit", lang), *sources_view(lang))
        try:
            summary = workspace.edit_metadata(path, progress=_progress_callback(progress, lang), title=title,
                                              date=day, outlet=outlet, author=author)
        except RagError as exc:
            return (_warning(exc, lang), *sources_view(lang))
        return (text("edited", lang, path=escape(path)) + " " + build_markdown(summary, lang), *sources_view(lang))

    def evaluation_view(request: gr.Request):
        lang = language(request)
        latest, previous = plots.latest_two(reports_folder)
        if latest is None:
            return text("no_evaluation", lang, folder=escape(str(reports_folder))), None, None, None
        pictures = plots.plots_for(latest, previous, reports_folder, lang)
        return (plots.comparison_markdown(latest, previous, language=lang), str(pictures["hitk"]),
                str(pictures["bars"]), str(pictures["latency"]))

    def rebuild(request: gr.Request, progress=gr.Progress()):
        lang = language(request)
        try:
            summary = workspace.build(rebuild=True, progress=_progress_callback(progress, lang))
        except RagError as exc:
            return (_warning(exc, lang), *sources_view(lang))
        return (build_markdown(summary, lang), *sources_view(lang))

    with gr.Blocks(title=words("title")) as demo:
        conversation = gr.State([])
        gr.Markdown(words("intro"))
        status = gr.Markdown()
        with gr.Tab(words("tab_chat")):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(label=words("conversation"), height=520, elem_id="chat")
                    with gr.Row():
                        question = gr.Textbox(placeholder=words("ask"), scale=5, show_label=False, interactive=False,
                                              elem_id="question")
                        send = gr.Button(words("send"), variant="primary", scale=1, interactive=False, elem_id="send")
                    with gr.Row(elem_id="filters"):
                        since = gr.Textbox(label=words("since"), placeholder=words("date_format"), scale=1,
                                           elem_id="since")
                        until = gr.Textbox(label=words("until"), placeholder=words("date_format"), scale=1,
                                           elem_id="until")
                        only = gr.Dropdown(label=words("only"), choices=[], multiselect=True, scale=3, elem_id="only")
                    with gr.Row():
                        correction = gr.Textbox(placeholder=words("correction"), scale=4, show_label=False,
                                                elem_id="correction")
                        wrong = gr.Button(words("report_wrong"), scale=1, elem_id="wrong")
                    feedback_message = gr.Markdown(elem_id="feedback-message")
                    with gr.Accordion(words("conversations"), open=True):
                        conv_list = gr.Dropdown(label=words("saved_conversations"), choices=[],
                                                elem_id="conversations")
                        with gr.Row():
                            new_chat = gr.Button(words("new_conversation"), elem_id="new-chat")
                            rename_box = gr.Textbox(placeholder=words("new_name"), show_label=False, scale=2,
                                                    elem_id="rename-box")
                            rename_button = gr.Button(words("rename"), elem_id="rename")
                            delete_button = gr.Button(words("delete"), variant="stop", elem_id="delete-conversation")
                        with gr.Row():
                            export_md = gr.DownloadButton(words("export_md"), interactive=False, elem_id="export-md")
                            export_json = gr.DownloadButton(words("export_json"), interactive=False,
                                                            elem_id="export-json")
                    with gr.Accordion(words("settings"), open=False):
                        k = gr.Slider(1, 10, value=settings.retrieval.k, step=1, label=words("k"))
                        models = [settings.generation.model, *local_models(settings.models_path)]
                        model = gr.Dropdown(list(dict.fromkeys(models)), value=settings.generation.model,
                                            label=words("model"))
                        temperature = gr.Slider(0.0, 1.0, value=settings.generation.temperature, step=0.05,
                                                label=words("temperature"))
                with gr.Column(scale=2):
                    evidence = gr.HTML(empty_evidence(settings.ui_language), elem_id="evidence")
        with gr.Tab(words("tab_sources")):
            sources_table = gr.Dataframe(headers=[text(c) for c in COLUMNS], interactive=False, wrap=True,
                                         column_widths=["32%", "13%", "13%", "14%", "20%", "8%"], elem_id="sources-table")
            files = gr.File(label=words("upload"), file_count="multiple", file_types=UPLOAD_TYPES, elem_id="upload")
            add = gr.Button(words("add"), variant="primary", elem_id="add-files")
            with gr.Row():
                # any name is accepted here (the API too); Workspace.remove refuses what is not a source
                to_remove = gr.Dropdown(label=words("to_remove"), choices=[], allow_custom_value=True,
                                        elem_id="remove-choice")
                remove_button = gr.Button(words("remove"), elem_id="remove")
            with gr.Accordion(words("edit_source"), open=False):
                with gr.Row():
                    to_edit = gr.Dropdown(label=words("source"), choices=[], allow_custom_value=True,
                                          elem_id="edit-choice")
                    edit_title = gr.Textbox(label=words("col_title"), elem_id="edit-title")
                    edit_date = gr.Textbox(label=words("col_date"), placeholder=words("date_format"),
                                           elem_id="edit-date")
                    edit_outlet = gr.Textbox(label=words("col_outlet"), elem_id="edit-outlet")
                    edit_author = gr.Textbox(label=words("author"), elem_id="edit-author")
                edit_button = gr.Button(words("save"), elem_id="edit-save")
            rebuild_button = gr.Button(words("rebuild"), elem_id="rebuild")
            sources_message = gr.Markdown(elem_id="sources-message")
        with gr.Tab(words("tab_evaluation")) as evaluation_tab:
            refresh = gr.Button(words("refresh"), elem_id="eval-refresh")
            with gr.Row():
                hitk_plot = gr.Image(label=words("plot_hitk"), type="filepath", elem_id="plot-hitk")
                bars_plot = gr.Image(label=words("plot_bars"), type="filepath", elem_id="plot-bars")
                latency_plot = gr.Image(label=words("plot_latency"), type="filepath", elem_id="plot-latency")
            comparison = gr.Markdown(elem_id="eval-comparison")

        conv_id = gr.BrowserState("", storage_key="rag-conversation")  # the page remembers its conversation
        turn_ids = gr.State([])
        chat_io = [question, chatbot, conversation, evidence, k, model, temperature, since, until, only, conv_id,
                   turn_ids]
        chat_out = [question, chatbot, conversation, evidence, conv_id, turn_ids, conv_list, export_md, export_json]
        shown = [chatbot, conversation, evidence, conv_id, turn_ids, conv_list, export_md, export_json]
        # every event that runs the model waits in one queue, so each user sees their place in it
        send.click(respond, chat_io, chat_out, api_name="chat", concurrency_id="model")  # conversation per session
        question.submit(respond, chat_io, chat_out, api_name=False, concurrency_id="model")
        new_chat.click(new_conversation, None, shown, api_name=False)
        conv_list.input(restore, conv_list, shown, api_name=False)
        rename_button.click(rename, [conv_id, rename_box], [feedback_message, conv_list], api_name=False)
        delete_button.click(delete, conv_id, [feedback_message, *shown], api_name=False)
        chatbot.like(like, turn_ids, None, api_name=False)
        wrong.click(correct, [turn_ids, correction], [feedback_message, correction], api_name=False)
        view = [sources_table, to_remove, to_edit, only]
        add.click(upload, files, [sources_message, *view, files], api_name="add_sources")
        remove_button.click(remove, to_remove, [sources_message, *view], api_name="remove_source")
        edit_button.click(edit, [to_edit, edit_title, edit_date, edit_outlet, edit_author], [sources_message, *view],
                          api_name="edit_source")
        rebuild_button.click(rebuild, None, [sources_message, *view], api_name="rebuild")
        evaluation_out = [comparison, hitk_plot, bars_plot, latency_plot]
        evaluation_tab.select(evaluation_view, None, evaluation_out, api_name=False)
        refresh.click(evaluation_view, None, evaluation_out, api_name="evaluation")
        gr.api(api_answer, api_name="answer", concurrency_id="model")
        demo.load(start, None, [status, *view, question, send], api_name=False).then(
            restore, conv_id, shown, api_name=False)
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
    ap.add_argument("--no-warm-up", action="store_true",
                    help="load the model at the first question instead of in the background at start")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # faiss tells at INFO which of its CPU builds it could not import ("ModuleNotFoundError…"): not news
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)
    # `kill` (SIGTERM) ends the chat as Ctrl-C does, so that exit handlers run (the exports folder goes)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    workspace = Workspace(settings)
    if not args.no_warm_up:  # the first question is then answered as fast as the next ones
        threading.Thread(target=workspace.warm_up, name="warm-up", daemon=True).start()
    demo = build_app(workspace)
    # one answer at a time with the in-process model; as many as a model server has parallel slots
    demo.queue(default_concurrency_limit=parallel_requests(settings))
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    launch(demo, workspace, server_name=args.host, server_port=args.port, auth=auth, show_error=True)


if __name__ == "__main__":
    main()
