"""Questions about an article itself (who signs it, its date, its outlet) are answered from its metadata,
cited to the line that gives it, without asking the model; other questions are left to the model."""

import pytest
from fakes import FakeEmbedder, assistant_over

from rag.answer import Assistant
from rag.build import build_index
from rag.config import ChunkSettings
from rag.filters import SourceFilter
from rag.language import ABSTAIN
from rag.metadata import Edits
from rag.source_questions import Field, asked_field, located
from rag.verify import Reason


@pytest.mark.parametrize("question, field", [
    ("Qui a écrit l'article sur la relation à 13 milliards de dollars ?", Field.AUTHOR),
    ("Qui signe l'article sur la relation à 13 milliards ?", Field.AUTHOR),
    ("Quel est l'auteur de l'article ?", Field.AUTHOR),
    ("Par qui l'article a-t-il été écrit ?", Field.AUTHOR),
    ("Who is the author of the post about the AGI clause?", Field.AUTHOR),
    ("Quand l'article de Bloomberg sur les négociations a-t-il été publié ?", Field.DATE),
    ("Quelle est la date de publication de l'article sur le protocole d'entente ?", Field.DATE),
    ("De quand date l'article ?", Field.DATE),
    ("When was the article about the MOU written?", Field.DATE),
    ("Quel média a publié l'article sur le MOU ?", Field.OUTLET),
    ("Dans quel journal l'article est-il paru ?", Field.OUTLET),
    ("Which outlet published the article?", Field.OUTLET),
    ("Qui est l'auteur de l'article qui dit que la relation est en danger ?", Field.AUTHOR),
    ("Who wrote the article that says the deal is at risk?", Field.AUTHOR),
    ("Comment s'intitule l'article sur le MOU ?", Field.TITLE),
    ("What is the headline of the Bloomberg article?", Field.TITLE),
    ("Quel est le lien de l'article de Bloomberg ?", Field.URL),
])
def test_a_question_about_the_article_itself_asks_for_one_of_its_fields(question, field):
    assert asked_field(question) is field


@pytest.mark.parametrize("question", [
    "En quelle année GPT-3 a-t-il été publié ?",  # a fact of the article, not the article's own date
    "Qui a écrit Harry Potter ?",
    "Selon l'article, qui a signé le contrat ?",  # the article is where the answer is read
    "According to the article, when was GPT-3 published?",
    "En quelle année l'article dit-il que GPT-3 a été publié ?",
    "Qui a signé le protocole d'entente dont parle l'article ?",  # the article too far from the verb
    "Quel journal l'article cite-t-il ?",  # what it cites is in its text
    "Quel média est cité dans l'article ?",
    "Qui a rédigé l'article 5 de la Constitution ?",  # a law's article
    "Quelle est la date de l'accord mentionné dans l'article ?",
    "Qui dirige OpenAI ?",
])
def test_questions_about_what_the_article_says_are_left_to_the_model(question):
    assert asked_field(question) is None


def test_a_field_is_cited_to_its_line_or_else_to_the_headline():
    text = "Un titre\nHugo. T\n\nLa première phrase du texte. Une autre phrase."
    start, end = located(text, ["Hugo. T"])
    assert text[start:end] == "Hugo. T"  # the whole line, though "Hugo." ends a sentence for the splitter
    start, end = located(text, ["absent"])
    assert text[start:end].startswith("Un titre")


@pytest.fixture
def desk(seeded_project):
    """The seed articles with the fake embedder; `make()` gives an Assistant whose model has no reply."""
    embedder = FakeEmbedder()
    seeded_project.chunk = ChunkSettings(600, 150)

    def make() -> Assistant:
        build_index(seeded_project.sources_path, seeded_project.index_path, embedder, seeded_project.chunk)
        return assistant_over(seeded_project, embedder)

    return make


def _cited_text(result) -> str:
    (passage,) = result.passages
    return passage.text


def test_who_signs_an_article_is_its_byline_cited_where_it_is_signed(desk, seeded_project):
    a = desk()
    result = a.answer("Qui a écrit l'article sur la relation à 13 milliards de dollars entre Microsoft et OpenAI ?")
    assert not result.abstained and result.reason is Reason.ANSWERED and a.llm.prompts == []
    assert "signé Hugo. T [1]" in result.text and "La relation à 13 milliards" in result.text
    passage = result.passages[0]
    source = (seeded_project.sources_path / passage.path).read_text("utf-8")
    assert passage.text == source[passage.start:passage.end] == "Hugo. T"
    assert result.sentences[0].attributed == [1] and result.sentences[0].supported


def test_an_articles_date_comes_from_its_reference_line_or_what_it_says_of_its_present(desk):
    a = desk()
    bloomberg = a.answer("Quand l'article de Bloomberg sur les négociations a-t-il été publié ?")
    assert "29 juillet 2025 [1]" in bloomberg.text and "bloomberg.com" in _cited_text(bloomberg)
    told = a.answer("De quand date l'article qui raconte l'histoire du partenariat en quatre actes ?")
    assert "mai 2025 [1]" in told.text and "mai 2025" in _cited_text(told)
    outlet = a.answer("Quel média a publié l'article sur Microsoft qui veut garder l'accès après l'AGI ?")
    assert "Bloomberg [1]" in outlet.text
    assert a.llm.prompts == []


def test_a_field_the_article_does_not_give_is_not_guessed(desk):
    a = desk()
    no_author = a.answer("Qui est l'auteur de l'article sur le protocole d'entente ?")
    assert no_author.abstained and no_author.reason is Reason.NOT_IN_METADATA
    assert no_author.passages[0].path.startswith("004")  # the card of the article meant is shown
    # its only date is the file's, which is not the article's
    file_date = a.answer("Quand l'article sur le protocole d'entente a-t-il été publié ?")
    assert file_date.text == ABSTAIN["fr"] and file_date.reason is Reason.NOT_IN_METADATA
    # an article the collection does not hold: no author of another one
    elsewhere = a.answer("Qui a écrit l'article sur les pandas roux du zoo de Beauval ?")
    assert elsewhere.abstained and "Hugo" not in elsewhere.text
    assert a.llm.prompts == []


def test_this_article_after_an_exchange_is_the_one_the_answer_came_from(desk):
    a = desk()
    history = [("Combien vaut la relation entre Microsoft et OpenAI ?",
                "La relation à 13 milliards de dollars entre Microsoft et OpenAI pourrait être en péril [1].")]
    assert "Hugo. T" in a.answer("Qui a écrit cet article ?", history).text
    assert a.answer("Qui a écrit cet article ?").abstained  # no exchange: which article is not said
    # after a refusal, the question asked before says which article was meant
    refused = [("Qui est l'auteur de l'article sur la relation à 13 milliards de dollars en péril ?", ABSTAIN["fr"])]
    assert "Hugo. T" in a.answer("Qui a écrit cet article ?", refused).text


def test_an_author_corrected_by_the_user_is_the_one_given(desk, seeded_project):
    Edits(seeded_project.sources_path).save("004_d2f4b8039c7e8394.txt", author="Marie Dupont")
    a = desk()
    result = a.answer("Qui est l'auteur de l'article sur le protocole d'entente ?")
    assert "signé Marie Dupont [1]" in result.text


def test_an_english_question_gets_an_english_sentence(desk):
    a = desk()
    result = a.answer("Who wrote the article about the 13 billion dollar relationship between Microsoft and OpenAI?")
    assert result.text.startswith("The article “La relation à 13 milliards") and "is by Hugo. T [1]." in result.text


def test_an_articles_title_and_link_are_its_headline_and_url(desk):
    a = desk()
    title = a.answer("Quel est le titre de l'article signé Hugo. T ?")
    assert title.text == ("L'article est titré « La relation à 13 milliards de dollars entre Microsoft et OpenAI "
                          "pourrait être en péril » [1].")
    assert _cited_text(title).startswith("La relation à 13 milliards")
    link = a.answer("Quel est le lien de l'article de Bloomberg ?")
    assert "https://www.bloomberg.com/news/articles/2025-07-29/" in link.text and "bloomberg.com" in _cited_text(link)
    # an article that opens with its lede has no headline to give
    assert a.answer("Quel est le titre de l'article sur le protocole d'entente ?").reason is Reason.NOT_IN_METADATA
    assert a.llm.prompts == []


def test_a_source_filter_keeps_the_other_articles_out(desk):
    a = desk()
    only_bloomberg = SourceFilter.parse(sources=["Bloomberg"])
    result = a.answer("Qui a écrit l'article signé Hugo. T ?", where=only_bloomberg)
    assert result.abstained and "Hugo" not in result.text
