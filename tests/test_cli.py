"""The `rag` command line end to end, with the real default embedder and model."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.process import free_port

pytestmark = pytest.mark.real
ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli")
    shutil.copytree(ROOT / "sources", home / "sources")
    (home / "rag.toml").write_text(f'models_dir = "{ROOT / "models"}"\n', "utf-8")
    return home


def test_index_search_and_incremental_update(home):
    result = runner.invoke(app, ["index", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "5 added, 0 changed, 0 removed, 0 unchanged" in result.output
    result = runner.invoke(app, ["search", "Qui a investi dans OpenAI ?", "-k", "3", "--home", str(home)])
    assert result.exit_code == 0 and result.output.count("score") == 3 and "Microsoft" in result.output
    assert "chars " in result.output and ".txt" in result.output
    (home / "sources" / "vide.txt").write_bytes(b"")
    (home / "sources" / "new.txt").write_text("Un nouvel article sur Quuxcorp.", "utf-8")
    result = runner.invoke(app, ["index", "--home", str(home)])
    assert "1 added, 0 changed, 0 removed, 5 unchanged; 1 chunks embedded" in result.output
    assert "skipped" in result.output and "vide.txt: empty file" in result.output
    assert result.output.count("vide.txt") == 1  # once, not as a log line and again in the summary


def test_ask_streams_an_answer_with_sources_and_timings(home):
    result = runner.invoke(app, ["ask", "Comment s'appelle l'infrastructure informatique d'OpenAI ?",
                                 "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "Stargate" in result.output and "Sources" in result.output
    assert "first token" in result.output and "prompt" in result.output


def test_ask_refuses_a_huge_question_clearly(home):
    result = runner.invoke(app, ["ask", "mot " * 5000, "--home", str(home)])
    assert result.exit_code == 2 and "too long" in result.output and "Traceback" not in result.output


def test_a_mismatched_index_says_to_rebuild(home):
    result = runner.invoke(app, ["search", "x", "--home", str(home)], env={"RAG_EMBEDDER": "minilm"})
    assert result.exit_code == 2 and "rag index --rebuild" in result.output


def test_user_errors_are_one_clean_line_with_exit_code_2(home):
    csv = home / "questions.csv"
    csv.write_text("id,question,answer\nq1,Qui a investi ?,Microsoft\n", "utf-8")
    for args, env, expected in [
        (["eval", "--set", str(csv)], {}, "no question could be read"),
        (["search", "x", "--mode", "foo"], {}, "unknown search mode"),
        (["search", "x"], {"RAG_EMBEDDER": "nope"}, "unknown embedder"),
        (["ask", "Wie viel hat Microsoft in OpenAI investiert?"], {}, "French or English"),
        (["eval", "--set", "no-such-file.jsonl"], {}, "not found"),
        (["ask", "Qui a investi dans OpenAI ?"], {"RAG_MODEL": f"openai:http://127.0.0.1:{free_port()}/v1#x"},
         "not reachable"),
        (["index"], {"RAG_INDEX_BACKEND": "elastic"}, "unknown search engine"),
        (["ask", "???"], {}, "the question has no words"),
        (["ask", "-k", "0", "Qui a investi ?"], {}, "retrieval.k = 0: it must be at least 1"),
        (["search", "x", "-k", "0"], {}, "ask for at least 1 passage"),
        (["ask", "Qui a investi ?", "--source", "Le Monde"], {}, "no article matches the filter (in Le Monde)"),
        (["search", "x", "--since", "2030-01-01"], {}, "no article matches the filter (since 2030-01-01)"),
        (["eval", "--squad", str(csv)], {}, "cannot be read as SQuAD-layout JSON"),
        (["eval", "--split", "tune"], {}, "give --squad too"),
        (["eval", "--squad", str(csv), "--questions", "-5"], {}, "--questions -5: it must be at least 1"),
        (["eval", "--set", str(csv), "--feedback"], {}, "ask one question set"),
    ]:
        result = runner.invoke(app, [*args, "--home", str(home)], env=env)
        assert result.exit_code == 2, (args, result.output, result.exception)
        assert expected in result.output and "Traceback" not in result.output


def test_search_prints_source_text_literally(home):
    (home / "sources" / "balises.txt").write_text(
        "Le fichier Zzyzx contient root:x:0:0 puis :smile: puis [red]Zzyzx rouge[/red] en clair.", "utf-8")
    assert runner.invoke(app, ["index", "--home", str(home)]).exit_code == 0
    result = runner.invoke(app, ["search", "Zzyzx", "-k", "1", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "root:x:0:0" in result.output and ":smile:" in result.output and "[red]Zzyzx rouge[/red]" in result.output
    (home / "sources" / "balises.txt").unlink()


def test_a_damaged_index_is_reported_in_one_line_and_rag_index_repairs_it(home):
    from rag.index import current_build

    assert runner.invoke(app, ["index", "--home", str(home)]).exit_code == 0
    vectors = current_build(home / "index") / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:100])
    result = runner.invoke(app, ["search", "Stargate", "--home", str(home)])
    assert result.exit_code == 2 and "vectors.npy" in result.output and "damaged" in result.output
    assert "rag index" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["index", "--home", str(home)])
    assert result.exit_code == 0 and "rebuilt from scratch" in result.output, result.output
    assert runner.invoke(app, ["search", "Stargate", "--home", str(home)]).exit_code == 0
