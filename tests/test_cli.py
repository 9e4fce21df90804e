"""The `rag` command line end to end, with the real default embedder and model."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app

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


def test_ask_streams_an_answer_with_sources_and_timings(home):
    result = runner.invoke(app, ["ask", "Comment s'appelle l'infrastructure informatique d'OpenAI ?",
                                 "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "Stargate" in result.output and "Sources" in result.output
    assert "first token" in result.output and "prompt" in result.output


def test_ask_refuses_a_huge_question_clearly(home):
    result = runner.invoke(app, ["ask", "mot " * 5000, "--home", str(home)])
    assert result.exit_code == 1 and "too long" in result.output


def test_a_mismatched_index_says_to_rebuild(home):
    result = runner.invoke(app, ["search", "x", "--home", str(home)], env={"RAG_EMBEDDER": "minilm"})
    assert result.exit_code == 1 and "rag index --rebuild" in result.output
