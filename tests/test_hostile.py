"""Hostile and careless input, with fakes where the model is not the point: links out of the sources
folder, uploads under taken names, damaged index files, damaged model files, duplicated articles,
HTML text outside paragraphs, control characters and questions in other languages."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from fakes import FakeEmbedder, assistant_over

from rag.answer import clean_question
from rag.config import ChunkSettings, EvidenceSettings
from rag.errors import IndexDamaged, ModelError, QuestionError, RagError, SourceError
from rag.evaluation import load_gold
from rag.evidence import near_duplicates, select_passages
from rag.build import build_index
from rag.index import Index, current_build
from rag.language import is_other_language
from rag.library import Workspace
from rag.messages import say
from rag.models import PackagedModel, assemble
from rag.retrieval import Retriever
from rag.sources import load_sources, read_source

ROOT = Path(__file__).resolve().parents[1]
CHUNKS = ChunkSettings(600, 150)


def build(project, embedder, **kw):
    return build_index(project.sources_path, project.index_path, embedder, CHUNKS, **kw)


# 1. links ---------------------------------------------------------------------------------------
def test_a_link_to_a_file_outside_the_sources_folder_is_skipped_with_the_reason(project, embedder, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash", "utf-8")
    (project.sources_path / "notes.txt").symlink_to(secret)
    (project.sources_path / "article.txt").write_text("Un article sur Stargate.", "utf-8")
    (project.sources_path / "alias.txt").symlink_to(project.sources_path / "article.txt")  # inside: fine
    summary = build(project, embedder)
    assert [s.path for s in summary.skipped] == ["notes.txt"]
    assert "outside the sources folder" in summary.skipped[0].reason
    index = Index.load(project.index_path)
    assert not any("root:x" in c.text for c in index.chunks)
    assert {s.path for s in index.sources.values()} == {"alias.txt"} and summary.copies == [("article.txt", "alias.txt")]
    # a setting allows links on purpose
    sources, skipped = load_sources(project.sources_path, follow_outside_links=True)
    assert not skipped and any("root:x" in s.text for s in sources)


def test_a_link_that_leads_nowhere_is_reported_not_dropped(project, embedder, tmp_path, caplog):
    (project.sources_path / "article.txt").write_text("Un article sur Stargate.", "utf-8")
    (project.sources_path / "gone.txt").symlink_to(tmp_path / "deleted.txt")
    (project.sources_path / "a.txt").symlink_to("b.txt")
    (project.sources_path / "b.txt").symlink_to("a.txt")  # a loop
    (project.sources_path / "damaged.pdf").write_bytes(b"%PDF-1.4\n garbage")
    summary = build(project, embedder)
    reasons = {s.path: s.reason for s in summary.skipped}
    assert set(reasons) == {"a.txt", "b.txt", "gone.txt", "damaged.pdf"}
    assert reasons["gone.txt"] == "a broken link (its target is missing or it loops): not indexed"
    assert say(f"gone.txt: {reasons['gone.txt']}", "fr") == \
        "gone.txt : un lien cassé (sa cible est absente ou il boucle) : non indexé"
    assert reasons["damaged.pdf"].startswith("unreadable PDF")
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]  # said once, as the reason
    assert [s.path for s in Index.load(project.index_path).sources.values()] == ["article.txt"]


# 2. and 3. uploads and removal ---------------------------------------------------------------------
def test_an_upload_never_replaces_a_source(project, embedder, tmp_path):
    workspace = Workspace(project, embedder)
    original = project.sources_path / "article.txt"
    original.write_text("L'article original parle de Stargate.", "utf-8")
    workspace.build()
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "article.txt").write_text("Un tout autre texte, sur Azure.", "utf-8")
    report = workspace.add_files([uploads / "article.txt"])
    assert report.stored == [("article.txt", "article-2.txt")]
    assert original.read_text("utf-8") == "L'article original parle de Stargate."
    assert {r.path for r in workspace.sources()} == {"article.txt", "article-2.txt"}
    # the identical file again: reported as already there, nothing copied or rebuilt
    (uploads / "article.txt").write_text("L'article original parle de Stargate.", "utf-8")
    again = workspace.add_files([uploads / "article.txt"])
    assert again.already_there == [("article.txt", "article.txt")] and again.summary is None and not again.stored
    assert sorted(p.name for p in project.sources_path.iterdir()) == ["article-2.txt", "article.txt"]


def test_removing_refuses_anything_outside_the_sources_folder(project, embedder, tmp_path):
    workspace = Workspace(project, embedder)
    (project.sources_path / "a.txt").write_text("Un article.", "utf-8")
    (tmp_path / "outside.txt").write_text("À garder.", "utf-8")
    workspace.build()
    for name in ("../outside.txt", "/etc/passwd", "nope.txt", ""):
        with pytest.raises(SourceError, match="no source"):
            workspace.remove(name)
    assert (tmp_path / "outside.txt").exists()
    workspace.remove("a.txt")
    assert workspace.sources() == []


# 4. a damaged index ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["manifest.json", "chunks.jsonl", "texts.json", "dense.faiss", "vectors.npy",
                                  "sentences.npy", "sentence_rows.npy", "lexical/df.json"])
def test_a_damaged_index_file_is_named_and_index_repairs_it(seeded_project, embedder, name):
    build(seeded_project, embedder)
    target = current_build(seeded_project.index_path) / name
    with open(target, "r+b") as fh:
        fh.truncate(max(1, target.stat().st_size // 2))
    with pytest.raises(IndexDamaged) as caught:
        Index.load(seeded_project.index_path, embedder.id, CHUNKS)
    message = str(caught.value)
    assert name in message and "rag index" in message and "\n" not in message
    summary = build(seeded_project, embedder)  # plain `rag index`, not --rebuild
    assert summary.notes and "rebuilt from scratch" in summary.notes[0]
    assert summary.added == 5 and Index.load(seeded_project.index_path, embedder.id, CHUNKS).count() > 0


# 5. a damaged model file ------------------------------------------------------------------------------
def test_a_truncated_gguf_gets_a_clear_model_error(tmp_path):
    from rag.llm import LlamaCppLLM

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + os.urandom(4096))
    with pytest.raises(ModelError, match="damaged or incomplete"):
        LlamaCppLLM(broken)


def test_an_adapter_that_is_missing_or_not_a_gguf_gets_a_clear_model_error(tmp_path):
    from rag.config import load_settings
    from rag.llm import open_llm

    settings = load_settings(tmp_path, generation__adapter="no-such-adapter.gguf")
    with pytest.raises(ModelError, match="adapter 'no-such-adapter.gguf' not found.*generation.adapter"):
        open_llm(settings)  # said before any model is loaded
    (tmp_path / "notes.gguf").write_text("not a model", "utf-8")
    with pytest.raises(ModelError, match="notes.gguf is not a GGUF file"):
        open_llm(load_settings(tmp_path, generation__adapter="notes.gguf"))


@pytest.mark.real
def test_a_damaged_adapter_gets_a_clear_model_error(tmp_path):
    from rag.config import load_settings
    from rag.llm import LlamaCppLLM
    from rag.models import resolve_model

    settings = load_settings(ROOT)
    broken = tmp_path / "broken-lora.gguf"
    broken.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + os.urandom(4096))
    with pytest.raises(ModelError, match="adapter .*broken-lora.gguf could not be applied"):
        LlamaCppLLM(resolve_model(settings.generation.model, settings.models_path), n_ctx=512, adapter=broken)


def test_a_registry_model_of_the_wrong_size_is_not_trusted_even_with_a_newer_stamp(tmp_path):
    model = PackagedModel("tiny", "test", "tiny.gguf", "0" * 64, "no_such_package_part", 2, "0", "tiny-extra", 1000)
    target = tmp_path / "tiny.gguf"
    target.write_bytes(b"GGUF" + b"\0" * 100)  # truncated
    stamp = tmp_path / "tiny.gguf.sha256"
    stamp.write_text("0" * 64 + "\n")
    os.utime(stamp, (target.stat().st_mtime + 10, target.stat().st_mtime + 10))
    with pytest.raises(ModelError, match="damaged or incomplete.*rag models fetch tiny"):
        assemble(model, tmp_path)


# 6. duplicated articles ----------------------------------------------------------------------------
def test_identical_articles_are_indexed_once_and_near_identical_passages_given_once(project, embedder):
    text = ("Microsoft a investi 13 milliards de dollars dans OpenAI. Le partenariat date de 2019. "
            "Stargate est l'infrastructure d'OpenAI.")
    (project.sources_path / "a.txt").write_text(text, "utf-8")
    (project.sources_path / "b.txt").write_text(text, "utf-8")
    (project.sources_path / "c.txt").write_text(text.replace("13 milliards", "treize milliards"), "utf-8")
    summary = build(project, embedder)
    assert summary.copies == [("b.txt", "a.txt")]
    index = Index.load(project.index_path)
    assert {s.path: s.copies for s in index.sources.values()} == {"a.txt": ["b.txt"], "c.txt": []}
    retriever = Retriever.open(project, embedder)
    question = "Combien Microsoft a-t-il investi dans OpenAI ?"
    hits = retriever.search(question, k=4)
    passages = select_passages(question, hits, EvidenceSettings(), index)
    assert len({p.source_id for p in passages}) == 1, [p.path for p in passages]
    assert near_duplicates(text, text.replace("13", "treize"), 0.9)
    assert not near_duplicates(text, "Azure sert les entreprises tierces.", 0.9)


# 7. HTML ----------------------------------------------------------------------------------------------
def test_every_visible_text_of_a_news_page_reaches_the_index(tmp_path):
    page = """<!doctype html><html><head><title>OpenAI lève des fonds – Le Quotidien</title>
    <script type="application/ld+json">{"@type": "NewsArticle"}</script></head><body>
    <header><div class="brand">Le Quotidien</div></header>
    <nav><a href="/">Accueil</a> <a href="/eco">Économie</a></nav>
    <article><h1>OpenAI lève des fonds</h1>
      <div class="chapo">Texte dans une div sans paragraphe, avec un <a href="#">lien</a> et du <b>gras</b>.</div>
      <div><span>Premier</span> <span>morceau</span><br>deuxième ligne</div>
      <section><div><div>Une div imbriquée profondément.</div></div></section>
      <figure><img src="x.jpg"><figcaption>Sam Altman en 2023.</figcaption></figure>
      <table><tr><td>Microsoft</td><td>49 %</td></tr></table>
      <p>Un paragraphe<!-- un commentaire --> ordinaire.</p>
      <div hidden>Texte caché</div><div style="display: none">Pas affiché</div>
      <span aria-hidden="true">Icône</span>
      <form><button>Partager</button></form>
    </article><footer>Mentions légales</footer></body></html>"""
    (tmp_path / "page.html").write_text(page, "utf-8")
    source = read_source(tmp_path / "page.html", tmp_path)
    lines = source.text.split("\n")
    for expected in ["Texte dans une div sans paragraphe, avec un lien et du gras.", "Premier morceau",
                     "deuxième ligne", "Une div imbriquée profondément.", "Sam Altman en 2023.",
                     "Un paragraphe ordinaire.", "OpenAI lève des fonds", "Le Quotidien"]:
        assert expected in lines, (expected, lines)
    assert "Microsoft" in source.text and "49 %" in source.text
    for hidden in ["Texte caché", "Pas affiché", "Icône", "Partager", "Mentions légales", "Accueil",
                   "commentaire", "NewsArticle"]:
        assert hidden not in source.text
    assert source.title == "OpenAI lève des fonds"  # the headline, not the <title> with the outlet's name


def test_a_deeply_nested_page_does_not_overflow(tmp_path):
    (tmp_path / "deep.html").write_text("<div>" * 3000 + "Tout au fond." + "</div>" * 3000, "utf-8")
    assert read_source(tmp_path / "deep.html", tmp_path).text == "Tout au fond."


# 9. and 10. the question itself ------------------------------------------------------------------------
def test_control_characters_are_removed_before_anything_runs():
    assert clean_question("Combien\x00 Microsoft\x1b[31m a-t-il\u200b investi ?\x7f", 2000) == \
        "Combien Microsoft [31m a-t-il investi ?"
    with pytest.raises(QuestionError, match="empty"):
        clean_question("\x00\x01\u200b", 2000)


@pytest.mark.parametrize("question", ["???", "… !", "🙂 ?", "[]"])
def test_a_question_without_a_word_is_refused_before_anything_runs(fake_assistant, question):
    with pytest.raises(QuestionError, match="no words"):
        fake_assistant.stream_answer(question)
    assert fake_assistant.llm.prompts == []
    assert say("the question has no words (only punctuation or symbols)", "fr").startswith("la question ne contient")
    assert clean_question("Et ?", 2000) == "Et ?" and clean_question("2019 ?", 2000) == "2019 ?"


@pytest.fixture
def fake_assistant(seeded_project):
    embedder = FakeEmbedder()
    build(seeded_project, embedder)
    return assistant_over(seeded_project, embedder, ["Réponse [1]."])


@pytest.mark.parametrize("question", ["Wie viel hat Microsoft in OpenAI investiert?",
                                      "¿Cuánto invirtió Microsoft en OpenAI?",
                                      "Quanto ha investito Microsoft in OpenAI?"])
def test_a_question_in_a_third_language_gets_a_clear_message_before_anything_runs(fake_assistant, question):
    with pytest.raises(QuestionError, match="français ou en anglais.*French or English"):
        fake_assistant.stream_answer(question)
    assert fake_assistant.llm.prompts == []


def test_no_gold_question_is_taken_for_another_language():
    questions, _ = load_gold(ROOT / "eval" / "gold_fr.jsonl")
    assert questions and not [q.question for q in questions if is_other_language(q.question)]
    for short in ["Stargate ?", "OpenAI", "Et Microsoft ?", "Sam Altman", "Azure OpenAI Service ?"]:
        assert not is_other_language(short)


def test_every_user_facing_error_is_a_rag_error():
    from rag.config import load_settings
    from rag.embedders import get_embedder
    from rag.errors import SettingsError

    with pytest.raises(RagError):
        get_embedder("nope")
    assert issubclass(QuestionError, RagError) and issubclass(SourceError, RagError)
    assert issubclass(IndexDamaged, RagError) and issubclass(ModelError, RagError)
    with pytest.raises(SettingsError, match="expected a int"):
        load_settings(None, retrieval__k="beaucoup")


@pytest.mark.parametrize("overrides, expected", [
    ({"retrieval__k": 0}, "retrieval.k = 0: it must be at least 1"),
    ({"retrieval__k": -3}, "retrieval.k = -3"),
    ({"evidence__context_chars": 0}, "evidence.context_chars = 0"),
    ({"retry__max_attempts": 0}, "retry.max_attempts = 0"),
    ({"generation__temperature": -0.5}, "generation.temperature = -0.5: it must be at least 0"),
    ({"chunk__overlap_chars": 600}, "chunk.overlap_chars = 600: it must be smaller than chunk.max_chars"),
    ({"ui_port": 70000}, "at most 65535"),
    ({"evidence__overlapping": "merge"}, "evidence.overlapping = 'merge': use one of skip, trim, join"),
    ({"generation__prefix_cache": "all"}, "generation.prefix_cache = 'all': use one of aligned, conversation, longest"),
])
def test_a_count_or_size_out_of_range_is_a_settings_error_when_loaded(tmp_path, overrides, expected):
    from rag.config import load_settings
    from rag.errors import SettingsError

    with pytest.raises(SettingsError, match=re.escape(expected)):
        load_settings(tmp_path, **overrides)
    (tmp_path / "rag.toml").write_text("[retrieval]\nk = -1\n", "utf-8")
    with pytest.raises(SettingsError, match=re.escape("retrieval.k = -1")):
        load_settings(tmp_path)
    (tmp_path / "rag.toml").write_text("[retrieval]\nk = 1\n[generation]\ntemperature = 0\n", "utf-8")
    assert load_settings(tmp_path).retrieval.k == 1  # the smallest values themselves are fine


def test_the_chats_workspace_sees_a_damaged_index_and_repairs_it(seeded_project, embedder):
    from rag.html import build_markdown

    workspace = Workspace(seeded_project, embedder)
    workspace.build()
    assert workspace.index_problem() is None
    (current_build(seeded_project.index_path) / "chunks.jsonl").write_text("{", "utf-8")
    assert isinstance(workspace.index_problem(), IndexDamaged)
    summary = workspace.build()  # what the page does on load when the index is damaged
    assert workspace.index_problem() is None
    assert "rebuilt from scratch" in build_markdown(summary) and "chunks.jsonl" in build_markdown(summary)


def test_a_manifest_that_is_not_an_object_is_a_damaged_index(seeded_project, embedder):
    build(seeded_project, embedder)
    (current_build(seeded_project.index_path) / "manifest.json").write_text("[]", "utf-8")
    with pytest.raises(IndexDamaged, match="manifest.json.*not a JSON object"):
        Index.load(seeded_project.index_path, embedder.id, CHUNKS)
    assert "rebuilt from scratch" in build(seeded_project, embedder).notes[0]
