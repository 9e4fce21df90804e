"""The disagreement detector on made-up passages."""

from __future__ import annotations

from rag.disagreement import across, compares, find, values
from rag.answer_types import AnswerType
from rag.evidence import Passage
from rag.metadata import ArticleMeta


def passage(n: int, text: str, source: str, date: str | None = None, outlet: str | None = None) -> Passage:
    return Passage(n, f"{source}:0", source, f"Article {source}", f"{source}.txt", 0, len(text), text, n, None, None,
                   ArticleMeta(date=date, outlet=outlet))


NEW = passage(2, "OpenAI est aujourd'hui valorisée 260 milliards de dollars. Sa croissance est forte.", "a",
              "2025-07-29", "Bloomberg")
OLD = passage(1, "La start-up est valorisée plusieurs dizaines de milliards de dollars selon ses investisseurs.", "b",
              "2023-01-10", "Le Journal")


def test_two_dated_sources_giving_two_valuations_are_both_named_newest_first():
    found = find("Quelle est la valorisation d'OpenAI ?", [OLD, NEW], cited={2},
                 answer="OpenAI est valorisée 260 milliards de dollars.")
    assert found is not None and found.numbers() == [1, 2]
    assert found.sentence() == ("Les sources divergent : 260 milliards de dollars selon [2] (Bloomberg, 29 juillet "
                                "2025) ; plusieurs dizaines de milliards de dollars selon [1] (Le Journal, 10 janvier 2023).")
    assert found.sentence("en").startswith("The sources disagree: 260 milliards de dollars according to [2]")


def test_an_answer_citing_another_passage_of_a_sides_article_rests_on_that_side():
    """The sentence compared is the article's lead; the answer cites the same article's next passage, whose
    sentence holds too few of the question's words to be compared: the answer still rests on that side."""
    lead = passage(1, "La start-up OpenAI est valorisée 260 milliards de dollars.", "a", "2025-07-29", "Bloomberg")
    later = passage(2, "Sa valorisation actuelle tourne autour de 260 milliards de dollars.", "a", "2025-07-29",
                    "Bloomberg")
    other = passage(3, OLD.text.replace("La start-up", "OpenAI"), "b", "2023-01-10", "Le Journal")
    question = "À combien s'élève la valorisation actuelle d'OpenAI ?"
    found = find(question, [lead, later, other], cited={2}, answer="Elle tourne autour de 260 milliards de dollars.")
    assert found is not None and found.numbers() == [1, 3]
    assert find(question, [lead, later, other], cited=set(), answer="260 milliards de dollars.") is None


def test_a_question_about_the_latest_or_the_first_value_orders_by_date():
    latest = find("Quelle est la valorisation la plus récente d'OpenAI ?", [OLD, NEW], cited={2}, answer="260 milliards")
    assert latest.asks == "latest" and latest.sentence().index("[2]") < latest.sentence().index("[1]")
    first = find("Quelle était la valorisation initiale d'OpenAI ?", [OLD, NEW], cited={1},
                 answer="plusieurs dizaines de milliards")
    assert first.asks == "first" and first.sentence().index("[1]") < first.sentence().index("[2]")


def test_a_date_taken_from_the_file_is_neither_shown_nor_used_to_order():
    guessed = Passage(1, "b:0", "b", "Article b", "b.txt", 0, len(OLD.text), OLD.text, 1, None, None,
                      ArticleMeta(date="2026-11-25", date_guessed=True))
    found = find("Quelle est la valorisation la plus récente d'OpenAI ?", [guessed, NEW], cited={2}, answer="260 milliards")
    assert "2026" not in found.sentence() and found.sentence().index("[2]") < found.sentence().index("[1]")


def test_values_for_different_years_or_from_one_source_are_not_a_disagreement():
    rounds = [passage(1, "Microsoft a investi 1 milliard de dollars dans OpenAI en 2019.", "a", "2024-01-01"),
              passage(2, "Microsoft a investi 10 milliards de dollars dans OpenAI en 2023.", "b", "2024-02-01")]
    assert find("Combien Microsoft a-t-il investi dans OpenAI ?", rounds, cited={1, 2}) is None
    same_source = [passage(1, "Microsoft a investi 1 milliard dans OpenAI. Puis Microsoft a investi 13 milliards "
                              "dans OpenAI.", "a")]
    assert find("Combien Microsoft a-t-il investi dans OpenAI ?", same_source, cited={1}) is None
    agreeing = [passage(1, "Microsoft détient 49 % d'OpenAI.", "a"), passage(2, "Microsoft détient 49 pour cent "
                                                                                "d'OpenAI.", "b")]
    assert find("Quel pourcentage d'OpenAI Microsoft détient-il ?", agreeing, cited={1}) is None
    other_topic = [NEW, passage(1, "Le budget de Stargate atteint 500 milliards de dollars.", "b")]
    assert find("Quelle est la valorisation d'OpenAI ?", other_topic, cited={2}, answer="260 milliards") is None


def test_uncited_sides_and_other_question_types_leave_the_answer_alone():
    third = passage(3, "Un autre article sur la météo.", "c")
    assert find("Quelle est la valorisation d'OpenAI ?", [OLD, NEW, third], cited={3}, answer="260 milliards") is None
    assert find("Qui dirige OpenAI ?", [OLD, NEW], cited={2}) is None


def test_a_source_that_also_gives_the_answers_figure_in_words_does_not_disagree():
    """"signé en 2019 pour un milliard, suivi de 13 milliards" gives the answer's figure and another one: it is
    not a second source saying 13 billion were invested in 2019 (README's example question, 2026-11-27)."""
    words = passage(1, "Le contrat initial a été signé en 2019 pour un milliard de dollars, suivi d'un investissement "
                       "supplémentaire de 13 milliards de dollars.", "a", "2025-07-29")
    digits = passage(2, "L'accord de 2019 : Microsoft injecte 1 milliard de dollars dans OpenAI.", "b", "2025-05-01")
    assert find("Combien Microsoft a-t-il investi en 2019 ?", [words, digits], cited={2},
                answer="Microsoft a investi 1 milliard de dollars en 2019.") is None
    only_more = passage(1, "Le contrat initial a été signé en 2019, suivi d'un investissement supplémentaire de 13 "
                           "milliards de dollars.", "a")
    assert find("Combien Microsoft a-t-il investi en 2019 ?", [only_more, digits], cited={2},
                answer="Microsoft a investi 1 milliard de dollars en 2019.") is not None


def test_amounts_are_read_with_their_scale_and_dates_are_not_amounts():
    assert values("Il a payé 1,5 milliard de dollars le 29 juillet 2025.", AnswerType.AMOUNT) == \
        [("1,5 milliard de dollars", "1.5e+09")]
    assert values("Elle détient 27 % des parts.", AnswerType.PERCENTAGE) == [("27 %", "27")]
    assert values("Un homme a signé un contrat d'un milliard de dollars, puis two billion dollars.", AnswerType.AMOUNT) \
        == [("un milliard de dollars", "1e+09"), ("two billion dollars", "2e+09")]


def _two_dated_sources(project):
    """Two dated articles giving OpenAI's valuation differently, indexed with the fake embedder."""
    from fakes import FakeEmbedder

    from rag.build import build_settings_index

    (project.sources_path / "recent.md").write_text(
        "---\ntitle: OpenAI lève des fonds\ndate: 2025-07-29\noutlet: Bloomberg\n---\n"
        "La valorisation d'OpenAI atteint désormais 260 milliards de dollars, selon ses investisseurs.", "utf-8")
    (project.sources_path / "ancien.md").write_text(
        "---\ntitle: OpenAI, la start-up qui monte\ndate: 2023-01-10\noutlet: Le Journal\n---\n"
        "La valorisation d'OpenAI atteint plusieurs dizaines de milliards de dollars, selon ses investisseurs.", "utf-8")
    embedder = FakeEmbedder()
    build_settings_index(project, embedder)
    return embedder


def test_the_answer_names_both_sides_with_their_dates(project):
    from fakes import FakeLLM

    from rag.answer import Assistant
    from rag.html import answer_html
    from rag.retrieval import Retriever
    from rag.support import LexicalScorer

    embedder = _two_dated_sources(project)
    retriever = Retriever.open(project, embedder)
    passages_for = retriever.search("Quelle est la valorisation d'OpenAI ?", k=2)
    assert len(passages_for) == 2
    llm = FakeLLM(["La valorisation d'OpenAI atteint 260 milliards de dollars [2]."])
    answer = Assistant(project, retriever, llm, LexicalScorer()).answer("Quelle est la valorisation d'OpenAI ?")
    assert not answer.abstained and "Les sources divergent : 260 milliards de dollars selon [" in answer.text
    assert "(Bloomberg, 29 juillet 2025)" in answer.text and "(Le Journal, 10 janvier 2023)" in answer.text
    said = answer.sentences[-1]
    assert said.supported and sorted(said.attributed) == [1, 2]
    html = answer_html(answer, 1)
    assert html.count('class="rag-cite"') >= 3  # the inline [n] are links to the cards



def test_the_first_attempts_passages_count_when_the_answer_came_from_fewer():
    """Asked again on one passage, the answer still rests on one side of what the first passages showed:
    the other side's passage is added, numbered after the answer's; one the answer has is not added twice."""
    alone = passage(1, NEW.text, "a", "2025-07-29", "Bloomberg")
    question = "Quelle est la valorisation d'OpenAI ?"
    found, added = across(question, [alone], [OLD, NEW], cited={1}, answer="260 milliards de dollars")
    assert found is not None and found.numbers() == [1, 2]
    assert [(p.number, p.source_id) for p in added] == [(2, "b")]
    assert "plusieurs dizaines de milliards de dollars selon [2]" in found.sentence()
    assert across(question, [OLD, NEW], [OLD, NEW], cited={2}, answer="260 milliards")[1] == []
    assert across(question, [alone], [NEW], cited={1}, answer="260 milliards") == (None, [])


def test_an_answer_asked_again_on_one_passage_names_both_sides(project):
    from fakes import FakeLLM

    from rag.answer import Assistant
    from rag.retrieval import Retriever
    from rag.retry import BestPassageAlone, RetryPolicy
    from rag.support import LexicalScorer

    class EchoLLM(FakeLLM):
        """A first answer the check rejects, then the first passage's words, cited."""

        def stream(self, messages, max_tokens, temperature=0.0, stats=None):
            given = messages[-1]["content"].split("Passages :\n[1] ")[-1].split("\n")[0]
            self.replies = ["La météo sera belle demain [1]."] if not self.prompts else [f"{given} [1]"]
            yield from super().stream(messages, max_tokens, temperature, stats)

    embedder = _two_dated_sources(project)
    llm = EchoLLM()
    assistant = Assistant(project, Retriever.open(project, embedder), llm, LexicalScorer(),
                          policy=RetryPolicy([BestPassageAlone()], max_attempts=2))
    answer = assistant.answer("Quelle est la valorisation d'OpenAI ?")
    assert answer.attempts == 2 and not answer.abstained
    assert llm.prompts[1].split("Passages :")[-1].count("\n[") == 1  # asked again on one passage
    assert "Les sources divergent : 260 milliards de dollars selon [" in answer.text
    assert "(Bloomberg, 29 juillet 2025)" in answer.text and "(Le Journal, 10 janvier 2023)" in answer.text
    assert [p.number for p in answer.passages] == [1, 2] and answer.passages[0].source_id != answer.passages[1].source_id
    assert sorted(answer.sentences[-1].attributed) == [1, 2]


def test_a_sentence_holding_only_the_collections_own_words_does_not_speak_of_the_subject():
    """"Combien vaut OpenAI ?" in a collection where every other chunk says "OpenAI": the sentence about
    SoftBank's funding and the one about Microsoft's investment hold "OpenAI" and an amount, but no word of
    the question's subject; they are not two sources disagreeing on what OpenAI is worth."""
    from rag.lexical import LexicalIndex

    funding = passage(1, "OpenAI a besoin de 20 milliards de dollars de SoftBank.", "a", "2025-07-29", "Bloomberg")
    stake = passage(2, "Microsoft a investi 13 milliards de dollars dans OpenAI.", "b", "2025-06-18", "Le Journal")
    question, cited = "Combien vaut OpenAI ?", {2}
    assert find(question, [funding, stake], cited, "13 milliards de dollars") is not None  # "OpenAI" alone matched
    chunks = [f"OpenAI publie le modèle numéro {i}." for i in range(12)] + [funding.text, stake.text, NEW.text]
    common = LexicalIndex.build(chunks, stats_only=True).common_terms(question)
    assert common == {"open"}
    assert find(question, [funding, stake], cited, "13 milliards de dollars", common=common) is None
    # the subject's own word still compares the two valuations, though "OpenAI" is common
    valuation = "Quelle est la valorisation d'OpenAI ?"
    common = LexicalIndex.build(chunks, stats_only=True).common_terms(valuation)
    assert find(valuation, [OLD, NEW], cited={2}, answer="260 milliards", common=common) is not None
    # in a collection too small to tell, no word is common
    assert LexicalIndex.build(chunks[-3:], stats_only=True).common_terms(question) == frozenset()


def test_questions_asking_a_figure_or_a_date_are_the_ones_compared():
    for question in ["Quelle est la valorisation d'OpenAI ?", "Combien Microsoft a-t-il investi ?",
                     "En quelle année le contrat a-t-il été signé ?", "Quand OpenAI a-t-elle été fondée ?",
                     "What is OpenAI's valuation?", "Quel pourcentage des revenus revient à Microsoft ?"]:
        assert compares(question), question
    for question in ["Qui a renvoyé Sam Altman ?", "Comment s'appelle l'infrastructure d'OpenAI ?",
                     "Pourquoi Microsoft s'inquiète-t-il ?"]:
        assert not compares(question), question
