"""Asking within dates and sources: the filter applies before ranking, on FAISS and on Milvus."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fakes import FakeEmbedder, assistant_over

from rag.build import build_settings_index
from rag.errors import QuestionError
from rag.filters import SourceFilter
from rag.messages import say
from rag.metadata import Edits
from rag.retrieval import Retriever

DATES = {"000": ("2025-06-18", "Le Journal"), "001": ("2025-07-29", None), "002": ("2025-01-15", "Presse-citron"),
         "003": ("2024-11-02", "Le Blog"), "004": ("2025-10-28", "Le Journal")}


def dated(project):
    edits = Edits(project.sources_path)
    for f in sorted(project.sources_path.glob("*.txt")):
        day, outlet = DATES[f.name[:3]]
        edits.save(f.name, date=day, outlet=outlet)
    return project


@pytest.fixture(params=["faiss", "milvus"])
def retriever(request, seeded_project):
    settings = dated(seeded_project)
    settings = replace(settings, index=replace(settings.index, backend=request.param,
                                               collection=f"f_{settings.home.name[-10:]}".replace("-", "_")))
    embedder = FakeEmbedder()
    build_settings_index(settings, embedder)
    return Retriever.open(settings, embedder)


def test_sources_carry_their_dates_and_outlets(retriever):
    by_prefix = {i.path[:3]: i for i in retriever.index.sources.values()}
    assert by_prefix["001"].outlet == "Bloomberg" and by_prefix["001"].date == "2025-07-29"  # from its reference line
    assert by_prefix["004"].meta.line() == "Le Journal · 28 octobre 2025"


def test_an_outlet_left_out_never_comes_back(retriever):
    query = "Microsoft OpenAI partenariat accord milliards"
    everything = retriever.search(query, k=10)
    assert {h.source.outlet for h in everything} >= {"Le Journal", "Bloomberg"}
    only = retriever.search(query, k=10, where=SourceFilter.parse(sources=["bloomberg", "003_02fb044ed8942903.txt"]))
    assert only and {h.source.path[:3] for h in only} <= {"001", "003"}
    assert len(only) == min(10, sum(len(i.chunks) for i in retriever.index.sources.values()
                                    if i.path[:3] in ("001", "003")))  # filtered before ranking: still k hits


def test_a_date_range_keeps_the_articles_written_in_it(retriever):
    hits = retriever.search("Microsoft OpenAI", k=10, where=SourceFilter.parse("2025-06-01", "2025-08-31"))
    assert hits and {h.source.path[:3] for h in hits} <= {"000", "001"}
    assert retriever.search("Microsoft", k=5, where=SourceFilter.parse(since="2030-01-01")) == []


def test_an_article_dated_by_its_month_is_kept_when_the_range_touches_that_month():
    from rag.index import SourceInfo

    may = SourceInfo(id="x", path="x.txt", title="x", hash="h", added="2025-06-01", date="2025-05")
    assert SourceFilter.parse("2025-05-20", "2025-06-30").allows(may)
    assert SourceFilter.parse(until="2025-05-01").allows(may)
    assert not SourceFilter.parse("2025-06-01").allows(may) and not SourceFilter.parse(until="2025-04-30").allows(may)


def test_filters_are_checked_and_reach_the_answer(seeded_project):
    with pytest.raises(QuestionError, match="YYYY-MM-DD"):
        SourceFilter.parse(since="juillet 2025")
    with pytest.raises(QuestionError, match="after"):
        SourceFilter.parse("2025-09-01", "2025-01-01")
    assert SourceFilter.parse("", " ", []) is None
    settings = dated(seeded_project)
    embedder = FakeEmbedder()
    build_settings_index(settings, embedder)
    assistant = assistant_over(settings, embedder,
                               ["Microsoft a injecté 1 milliard de dollars dans OpenAI en 2019 [1]."])
    answer = assistant.answer("Combien Microsoft a-t-il injecté dans OpenAI en 2019 ?",
                              where=SourceFilter.parse(sources=["Le Journal"]))
    assert answer.passages and {p.path[:3] for p in answer.passages} <= {"000", "004"}
    assert all(p.about.outlet == "Le Journal" for p in answer.passages)


def test_a_filter_that_keeps_no_article_is_said_as_such_before_the_model_is_asked(seeded_project):
    settings = dated(seeded_project)
    embedder = FakeEmbedder()
    build_settings_index(settings, embedder)
    assistant = assistant_over(settings, embedder, ["Réponse [1]."])
    for where in (SourceFilter.parse(sources=["Le Monde"]), SourceFilter.parse(since="2030-01-01"),
                  SourceFilter.parse("2025-02-01", "2025-05-31", ["Le Journal"])):
        with pytest.raises(QuestionError, match="no article matches the filter"):
            assistant.stream_answer("Combien Microsoft a-t-il investi ?", where=where)
    assert assistant.llm.prompts == []
    assert say("no article matches the filter (in Le Monde); check its dates, outlets and file names", "fr") == \
        "aucun article ne correspond au filtre : vérifiez ses dates, ses médias et ses noms de fichiers"
    SourceFilter.parse(sources=["le journal"]).check(assistant.retriever.index)  # case-insensitive: kept
