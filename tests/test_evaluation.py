"""Every evaluation metric on hand-computed cases."""

import re
from pathlib import Path

import pytest

from rag.answer import Answer
from rag.citations import Sentence
from rag.evaluation import GoldError, GoldQuestion, QuestionResult, check_thresholds, load_gold, summarise
from rag.evidence import Passage
from rag.metrics import CitationScores, citation_scores, contains_alias, gives_gold_words, normalise_answer, token_f1
from rag.support import LexicalScorer, get_scorer

P1 = "Microsoft a investi 1 milliard de dollars dans OpenAI en 2019."
P2 = "OpenAI développe Stargate, son infrastructure informatique."
P3 = "Le chat dort sur le canapé."


def passage(n: int, text: str) -> Passage:
    return Passage(n, f"c{n}", "s", "t", "f.txt", 0, len(text), text, n, None, None)


def answer_with(*sentences: Sentence, abstained: bool = False) -> Answer:
    return Answer("q", "text", "fr", abstained, list(sentences), [passage(1, P1), passage(2, P2), passage(3, P3)])


JUDGE = LexicalScorer()


def test_normalisation_and_alias_containment():
    assert normalise_answer("L’Élysée, à Paris !") == "elysee paris"
    assert contains_alias("Il a investi 1 milliard de dollars [1].", ["1 milliard"])
    assert contains_alias("Ce sont les Échos.", ["echos"])
    assert not contains_alias("Il a investi 11 milliards.", ["1 milliard"])
    assert not contains_alias("", ["x"])


def test_gold_words_are_read_in_any_order_and_form_but_all_of_them():
    # the alias's words in another order, another inflection, a number in digits: right in other words
    assert gives_gold_words("Wang Mang réduit le titre des nobles de ces fiefs [3].",
                            ["il réduit le titre des nobles de ces fiefs"])
    assert gives_gold_words("Le CORT s'impose 7 buts à zéro [3].", ["sept buts à zéro"])
    assert gives_gold_words("Le Bremer Marktplatz et le passage du Liebfrauenkirchhof.",
                            ["le passage du Liebfrauenkirchhof et la Bremer Marktplatz"])
    # a content word missing, or another figure, is not the gold
    assert not gives_gold_words("Henry Longfellow [3].", ["par l'Américain Henry Longfellow"])
    assert not gives_gold_words("Il a investi 11 milliards.", ["1 milliard"])
    assert not contains_alias("Le CORT s'impose 7 buts à zéro.", ["sept buts à zéro"])  # the strict reading


def test_token_f1_by_hand():
    # "a" goes with the articles: pred = microsoft investi 1 milliard (4 tokens), gold = 1 milliard (2);
    # common 2 -> precision 2/4, recall 2/2 -> F1 = 2/3
    assert token_f1("Microsoft a investi 1 milliard", ["1 milliard"]) == pytest.approx(2 / 3)
    # pred = microsoft investi 13 milliards (4), gold = 13 milliards dollars (3); common 2 -> p 1/2, r 2/3 -> 4/7
    assert token_f1("Microsoft investi 13 milliards", ["13 milliards de dollars"]) == pytest.approx(4 / 7)
    assert token_f1("rien", ["1 milliard"]) == 0.0
    assert token_f1("1 milliard", ["autre chose", "1 milliard"]) == 1.0


def test_an_over_citation_costs_precision_not_recall():
    s = Sentence("Microsoft a investi 1 milliard de dollars dans OpenAI en 2019.", [1, 3])
    scores = citation_scores(answer_with(s), JUDGE)
    # supported by [1]+[3] jointly -> recall 1/1; [1] supports alone (good), [3] neither supports nor is needed
    assert (scores.sentences, scores.supported_sentences) == (1, 1)
    assert (scores.citations, scores.good_citations) == (2, 1)


def test_a_sentence_without_citation_counts_as_uncited_and_unsupported_for_recall():
    s = Sentence("OpenAI développe Stargate, son infrastructure informatique.", [])
    scores = citation_scores(answer_with(s), JUDGE)
    assert scores == CitationScores(sentences=1, supported_sentences=0, citations=0, good_citations=0,
                                    uncited_sentences=1, grounded_sentences=1)


def test_a_citation_to_a_missing_passage_is_counted_by_the_summary():
    r = result(invalid=2, answerable=True, alias=True)
    assert summarise([r])["citations"]["invalid_citations"] == 2


def test_abstentions_on_answerable_and_unanswerable_questions():
    rows = [result(answerable=True, abstained=True), result(answerable=True, alias=True),
            result(answerable=False, abstained=True), result(answerable=False, abstained=False)]
    s = summarise(rows)
    assert s["abstention"]["answerable_refused"] == 0.5
    assert s["abstention"]["unanswerable_abstained"] == 0.5
    assert s["correctness"]["alias_hit"] == 0.5


def test_an_empty_answer_scores_nothing():
    scores = citation_scores(answer_with(), JUDGE)
    assert scores == CitationScores()
    assert token_f1("", ["1 milliard"]) == 0.0 and not contains_alias("", ["1 milliard"])
    assert citation_scores(answer_with(Sentence("x", [1]), abstained=True), JUDGE) == CitationScores()


def test_retrieval_ranks_and_latency_percentiles():
    rows = [result(rank=1, ms=1000), result(rank=3, ms=2000), result(rank=None, ms=3000), result(rank=6, ms=4000)]
    s = summarise(rows)
    assert s["retrieval"]["hit@1"] == 0.25 and s["retrieval"]["hit@3"] == 0.5 and s["retrieval"]["hit@5"] == 0.5
    assert s["retrieval"]["mrr@10"] == pytest.approx((1 + 1 / 3 + 1 / 6) / 4, abs=1e-4)
    assert s["latency_ms"]["p50"] in (2000.0, 3000.0) and s["latency_ms"]["p95"] == 4000.0


def test_thresholds_report_each_failure():
    s = summarise([result(answerable=True, alias=False)])
    failures = check_thresholds(s, {"min": {"correctness.alias_hit": 0.5}, "max": {"citations.invalid_citations": 0}})
    assert failures == ["correctness.alias_hit = 0.0 < 0.5"]


def test_malformed_gold_lines_are_reported_with_their_number_and_skipped(tmp_path: Path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": "a", "question": "Q ?", "answers": ["x"]}\n'
                    '{pas du json}\n'
                    '\n'
                    '{"id": "b", "question": "Q2 ?"}\n'
                    '{"id": "c", "question": "Q3 ?", "answers": [2019]}\n'
                    '{"id": "d", "question": "Q4 ?", "answerable": false}\n', "utf-8")
    questions, errors = load_gold(gold)
    assert [q.id for q in questions] == ["a", "d"]
    assert [e.line for e in errors] == [2, 4, 5] and all(e.skipped for e in errors)
    assert "needs answers" in errors[1].message and "aliases" in errors[2].message


def test_a_question_set_written_elsewhere_loses_no_question_for_an_extra_field(tmp_path: Path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": "a", "question": "Q ?", "answer": "2019", "difficulty": "easy"}\n'
                    '{"id": "b", "question": "Q2 ?", "answer": ["x", "y"]}\n'
                    '{"id": "c", "question": "Q3 ?", "answers": "z"}\n', "utf-8")
    questions, errors = load_gold(gold)
    assert [(q.id, q.answers) for q in questions] == [("a", ["2019"]), ("b", ["x", "y"]), ("c", ["z"])]
    assert [(e.line, e.skipped) for e in errors] == [(1, False)]
    assert "difficulty" in errors[0].message and "ignored" in errors[0].message
    from rag.reports import markdown

    text = markdown({}, summarise([result()]), [result()], errors + [GoldError(3, "not a JSON object")])
    assert "- line 1: unknown field(s) ['difficulty'] ignored\n- line 3: not a JSON object (skipped)" in text


def test_an_unknown_judge_is_an_error_not_a_fallback():
    with pytest.raises(ValueError, match="unknown support judge"):
        get_scorer("gpt-judge")
    with pytest.raises(ValueError, match="needs the answering model"):
        get_scorer("llm")


def result(answerable=True, abstained=False, alias=False, invalid=0, rank=1, ms=1000.0) -> QuestionResult:
    return QuestionResult(id="x", question="q", type="amount" if answerable else "unanswerable", lang="fr",
                          answerable=answerable, answer="a", abstained=abstained,
                          has_evidence=answerable, evidence_rank=rank, evidence_read=rank is not None,
                          alias_hit=alias, gold_words=alias, f1=0.0, cites_quote=0,
                          cites_total=0, model_cites_quote=0, model_cites_total=0, invalid_citations=invalid,
                          citation=CitationScores(), total_ms=ms, first_token_ms=ms / 2, prompt_tokens=10,
                          completion_tokens=5, passages=[], sentences=[])


def test_misses_are_counted_by_kind():
    """Each question that went wrong is counted once, by what went wrong and where its evidence got to."""
    from rag.evaluation import miss_kind, misses

    right = result(alias=True)
    wrong_read = result(alias=False, rank=2)
    wrong_unread = result(alias=False, rank=3)
    wrong_unread.evidence_read = False
    not_retrieved = result(alias=False, rank=None)
    refused = result(abstained=True, rank=1)
    refused.reason = "unsupported"
    answered = result(answerable=False, abstained=False, rank=None)
    kept_out = result(answerable=False, abstained=True, rank=None)
    assert miss_kind(right) is None and miss_kind(kept_out) is None
    assert misses([right, wrong_read, wrong_unread, not_retrieved, refused, answered, kept_out, wrong_read]) == {
        "wrong answer, evidence read": 2, "refused (unsupported), evidence read": 1,
        "unanswerable answered": 1, "wrong answer, evidence not retrieved": 1,
        "wrong answer, evidence retrieved, not read": 1}
    # with the depth of the first reading, evidence ranked below it is told from evidence the windows missed
    deep = result(alias=False, rank=8)
    deep.evidence_read = False
    assert miss_kind(deep, 6) == "wrong answer, evidence ranked below the 6 chunks read"
    assert miss_kind(wrong_unread, 6) == "wrong answer, evidence retrieved, not read"
    from rag.reports import markdown

    text = markdown({}, summarise([right, refused]), [right, refused], [])
    assert "## Misses by kind" in text and "| refused (unsupported), evidence read | 1 |" in text


def test_a_fact_stated_in_two_places_counts_in_either():
    from types import SimpleNamespace

    from rag.evaluation import evidence_spans, holds

    texts = {"a": "Intro. Le fonds vaut 50 millions. Fin.", "b": "FAQ : les subventions de 50 millions."}
    index = SimpleNamespace(sources={"a": SimpleNamespace(id="a", path="a.txt"), "b": SimpleNamespace(id="b", path="b.txt")},
                            source_text=texts.__getitem__)
    q = GoldQuestion(id="x", question="Combien ?", answers=["50 millions"], quote="Le fonds vaut 50 millions",
                     source="a.txt", also=[{"quote": "subventions de 50 millions", "source": "b.txt"},
                                           {"quote": "absent", "source": "b.txt"}])
    spans = evidence_spans(q, index)
    assert spans == [("a", 7, 32), ("b", 10, 36)]
    assert holds("b", 0, 38, spans) and holds("a", 0, 33, spans)
    assert not holds("a", 10, 38, spans) and not holds("b", 12, 38, spans)


def test_a_gold_line_whose_aliases_its_source_cannot_match_is_noted():
    from types import SimpleNamespace

    from rag.evaluation import unscorable

    texts = {"a": "En échange, Microsoft obtient : - Exclusivité Cloud sur Azure. - Partage des revenus."}
    index = SimpleNamespace(sources={"a": SimpleNamespace(id="a", path="a.txt")}, source_text=texts.__getitem__)
    cut = GoldQuestion(id="o05", question="Quels avantages ?", answers=["xclusivité cloud", "artage des revenus"],
                       source="a.txt")
    whole = GoldQuestion(id="o06", question="Quels avantages ?", answers=["exclusivité cloud"], source="a.txt")
    elsewhere = GoldQuestion(id="o07", question="Quoi ?", answers=["absent"], source="other.txt")
    refused = GoldQuestion(id="u01", question="Quoi ?", answerable=False)
    errors = unscorable([cut, whole, elsewhere, refused], index)
    assert [(e.question, e.skipped) for e in errors] == [("o05", False)]
    assert str(errors[0]).startswith("question o05: no answer alias is in a.txt")


def test_figures_by_question_type_and_language():
    rows = [result(alias=True), result(alias=False), result(abstained=True, alias=False),
            result(answerable=False, abstained=True), result(answerable=False, abstained=False)]
    rows[1].type, rows[1].lang = "date", "en"
    summary = summarise(rows)
    assert summary["by_type"]["amount"] == {"right": 0.5, "counts": "1/2 right; 1 refused"}
    assert summary["by_type"]["date"]["right"] == 0.0
    assert summary["by_type"]["unanswerable"] == {"right": 0.5, "counts": "1/2 right; 0 refused"}
    assert summary["by_language"]["en"]["counts"] == "0/1 right; 0 refused"
    from rag.reports import markdown

    text = markdown({}, summary, rows, [])
    assert "## By question type" in text and "| date | 0.0 | 0/1 right; 0 refused |" in text


def test_the_type_of_a_gold_line_or_the_one_read_from_the_question():
    assert GoldQuestion(id="a", question="Quand ?", answers=["x"], type="date").kind() == "date"
    assert GoldQuestion(id="b", question="En quelle année GPT-3 est-il sorti ?", answers=["2020"]).kind() == "date"
    assert GoldQuestion(id="c", question="Pourquoi ?", answers=["x"]).kind() == "other"
    assert GoldQuestion(id="d", question="Quand ?", answerable=False).kind() == "unanswerable"


def test_piaf_halves_are_disjoint_fixed_and_cover_every_article():
    from rag.squad import split_articles

    tune, test = split_articles(240, "tune"), split_articles(240, "test")
    assert len(tune) == len(test) == 120 and not set(tune) & set(test) and set(tune) | set(test) == set(range(240))
    assert split_articles(240, "tune") == tune
    with pytest.raises(ValueError):
        split_articles(240, "dev")


@pytest.mark.parametrize("content, expected", [
    ("root:x:0:0:root:/root:/bin/bash\n", "cannot be read as SQuAD-layout JSON"),
    ('[{"title": "x"}]', 'no "data" list of articles'),
    ('{"data": [{"title": "x"}]}', "an article does not fit it: KeyError 'paragraphs'"),
    ('{"data": [{"title": "x", "paragraphs": [{"context": "abc", "qas": [{"question": "?", "answers": [{"text": "a", "answer_start": 0}]}]}]}]}',
     "an article does not fit it"),
])
def test_a_file_not_in_squad_layout_is_a_settings_error_naming_it(tmp_path: Path, content, expected):
    from rag.errors import SettingsError
    from rag.evaluation import squad_gold

    bad = tmp_path / "bad.json"
    bad.write_text(content, "utf-8")
    with pytest.raises(SettingsError, match=re.escape(expected)) as caught:
        squad_gold(bad, tmp_path / "corpus", 40, 100)
    assert str(bad) in str(caught.value)
    bad.write_text('{"data": [{"title": "x", "paragraphs": [{"context": "abc", "qas": []}]}]}', "utf-8")
    with pytest.raises(SettingsError, match="no question with an answer in the first 40 articles"):
        squad_gold(bad, tmp_path / "corpus", 40, 100)
    assert not (tmp_path / "corpus").exists()  # nothing written for a set that cannot be asked


def test_a_question_on_which_sources_disagree_needs_every_side(tmp_path: Path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        '{"id": "d1", "question": "Quelle est la valorisation d\'OpenAI ?", "answers": ["260 milliards"], '
        '"sides": [["260 milliards"], ["dizaines de milliards"]], "type": "disagreement"}\n'
        '{"id": "d2", "question": "?", "answers": ["a"], "sides": [["a"]]}\n', "utf-8")
    questions, errors = load_gold(gold)
    assert [e.line for e in errors] == [2] and "sides" in errors[0].message
    q = questions[0]
    assert not q.right("OpenAI est valorisée 260 milliards de dollars [1].")
    assert q.right("Les sources divergent : 260 milliards de dollars selon [1] ; plusieurs dizaines de milliards "
                   "de dollars selon [2] (mai 2025).")


def test_two_runs_are_compared_question_by_question_with_mcnemars_exact_test(tmp_path):
    import json

    from typer.testing import CliRunner

    from rag.cli import app
    from rag.comparison import compare, mcnemar_p

    assert mcnemar_p(0, 6) == pytest.approx(2 / 64)  # six changes, all one way: unlikely by chance
    assert mcnemar_p(4, 2) == pytest.approx(2 * 22 / 64) == mcnemar_p(2, 4)  # 1 + 6 + 15 of 64 outcomes
    assert mcnemar_p(0, 0) == 1.0

    def q(id_: str, answerable: bool, hit: bool, abstained: bool) -> dict:
        return {"id": id_, "type": "amount" if answerable else "unanswerable", "question": f"question {id_} ?",
                "answerable": answerable, "alias_hit": hit, "abstained": abstained, "answer": f"answer {id_}"}

    before = [q("a", True, True, False), q("b", True, False, False), q("c", True, False, True), q("u", False, False, True)]
    after = [q("a", True, False, False), q("b", True, True, False), q("c", True, False, True), q("u", False, False, False),
             q("new", True, True, False)]
    c = compare(before, after)
    assert (c.common, c.right_before, c.right_after, c.gained, c.lost) == (4, 2, 1, 1, 2)
    assert [(ch.id, ch.before, ch.after) for ch in c.changes] == [("a", "right", "wrong"), ("b", "wrong", "right"),
                                                                  ("u", "right", "wrong")]
    assert c.p_value == pytest.approx(1.0)

    paths = []
    for name, questions in (("before", before), ("after", after)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps({"questions": questions}), "utf-8")
    result = CliRunner().invoke(app, ["compare", *map(str, paths)])
    assert result.exit_code == 0 and "right 2 → 1 (+1 −2)" in result.output and "within chance" in result.output
    (tmp_path / "broken.json").write_text("{", "utf-8")
    result = CliRunner().invoke(app, ["compare", str(paths[0]), str(tmp_path / "broken.json")])
    assert result.exit_code == 2 and "not a report" in result.output and "Traceback" not in result.output


def test_a_run_records_how_the_model_reused_its_cache(assistant_with, tmp_path):
    """An evaluation's settings name the prefix-cache mode of an in-process model (with "longest" a reply
    may depend on the question before it), and name none for a backend that has no such mode."""
    from rag.evaluation import evaluate_gold

    gold = tmp_path / "one.jsonl"
    gold.write_text('{"id": "q1", "question": "Combien Microsoft a-t-il investi ?", "answers": ["1 milliard"]}\n',
                    "utf-8")
    assistant = assistant_with(*["Microsoft a investi 1 milliard de dollars [1]."] * 4)
    assert "prefix_cache" not in evaluate_gold(assistant, gold, JUDGE).settings
    assistant.llm.prefix_cache = "aligned"
    assert evaluate_gold(assistant, gold, JUDGE).settings["prefix_cache"] == "aligned"
