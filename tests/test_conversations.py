"""Conversations in SQLite, their export, and the feedback set they feed."""

from __future__ import annotations

import json

import pytest
from fakes import FakeEmbedder, assistant_over

from rag.answer import Answer
from rag.build import build_settings_index
from rag.conversations import ConversationMissing, ConversationStore
from rag.evaluation import load_gold
from rag.feedback import feedback_set
from rag.metadata import Edits


@pytest.fixture
def answered(seeded_project):
    """Two checked answers from the fake model over the seed articles (one dated, one abstention)."""
    Edits(seeded_project.sources_path).save("003_02fb044ed8942903.txt", outlet="Le Blog", date="2024-11-02",
                                                 author="Jeanne Martin")
    embedder = FakeEmbedder()
    build_settings_index(seeded_project, embedder)
    assistant = assistant_over(seeded_project, embedder,
                               ["Microsoft a injecté 1 milliard de dollars dans OpenAI en 2019 [1].",
                                "Je ne sais pas d'après les sources."])
    return [assistant.answer("Combien Microsoft a-t-il injecté dans OpenAI en 2019 ?"),
            assistant.answer("Qui dirige la cantine de Microsoft ?")]


def test_a_conversation_is_kept_listed_renamed_and_deleted(tmp_path, answered):
    store = ConversationStore(tmp_path / "conversations.db")
    cid = store.create()
    ids = [store.add_turn(cid, a.to_dict()) for a in answered]
    other = store.create("Autre")
    assert [c.id for c in ConversationStore(tmp_path / "conversations.db").list()] == [other, cid]  # reopened
    assert store.get(cid).title == "Combien Microsoft a-t-il injecté dans OpenAI en 2019 ?"  # its first question
    turns = store.turns(cid)
    assert [t.id for t in turns] == ids and turns[0].answer["passages"][0]["about"]
    back = Answer.from_dict(turns[0].answer)  # what the chat restores on reload
    assert back.text == answered[0].text and back.passages == answered[0].passages
    assert back.sentences == answered[0].sentences and back.reason == answered[0].reason
    store.rename(cid, "  Microsoft   et OpenAI ")
    assert store.get(cid).title == "Microsoft et OpenAI"
    store.delete(cid)
    with pytest.raises(ConversationMissing):
        store.turns(cid)
    assert [c.id for c in store.list()] == [other]


def test_exports_hold_answers_and_numbered_sources_with_file_date_outlet_author_and_passage(tmp_path, answered):
    store = ConversationStore(tmp_path / "c.db")
    cid = store.create()
    for a in answered:
        store.add_turn(cid, a.to_dict())
    markdown = store.export_file(cid, "md", tmp_path / "out").read_text("utf-8")
    assert markdown.startswith("# Combien Microsoft") and answered[0].text in markdown
    cited = answered[0].passages[answered[0].sentences[0].attributed[0] - 1]
    assert f"[{cited.number}] {cited.title} — {cited.path}" in markdown
    assert "2 novembre 2024, Le Blog, Jeanne Martin" in markdown and "> " + " ".join(cited.text.split()) in markdown
    data = json.loads(store.export_file(cid, "json", tmp_path / "out").read_text("utf-8"))
    assert [t["question"] for t in data["turns"]] == [a.question for a in answered]
    assert data["turns"][0]["answer"]["passages"][0]["file"]


def test_thumbs_down_with_corrections_become_a_question_set(tmp_path, answered):
    store = ConversationStore(tmp_path / "c.db")
    cid = store.create()
    first, second = (store.add_turn(cid, a.to_dict()) for a in answered)
    store.vote(first, 1)
    assert store.reviewed() == []
    store.vote(first, -1, "13 milliards de dollars")
    store.vote(second, -1)
    made = feedback_set(store, tmp_path / "eval" / "feedback.jsonl")
    assert made.written == 1 and [t.id for t in made.to_review] == [second]
    questions, errors = load_gold(made.path)
    assert not errors and questions[0].answers == ["13 milliards de dollars"] and questions[0].answerable
    store.vote(second, -1, "pas dans les sources")
    questions, _ = load_gold(feedback_set(store, made.path).path)
    assert [q.answerable for q in questions] == [True, False]
    with pytest.raises(ConversationMissing):
        store.vote(9999, -1)
