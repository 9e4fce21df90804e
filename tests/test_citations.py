from rag.citations import parse_answer, render


def test_single_multiple_and_adjacent_citations_are_understood():
    parsed = parse_answer("Microsoft a investi [1]. Ensuite [1, 2] vient. Puis [1][3] enfin.", 3)
    assert [s.cited for s in parsed.sentences] == [[1], [1, 2], [1, 3]]
    assert [s.text for s in parsed.sentences] == ["Microsoft a investi.", "Ensuite vient.", "Puis enfin."]
    assert parsed.invalid_citations == 0


def test_citations_after_the_full_stop_belong_to_the_sentence_before():
    parsed = parse_answer("Première phrase. [2] Deuxième phrase. [1]", 2)
    assert [(s.text, s.cited) for s in parsed.sentences] == [("Première phrase.", [2]), ("Deuxième phrase.", [1])]


def test_citations_to_passages_not_given_are_removed_and_counted():
    parsed = parse_answer("Un fait [1][7]. Un autre [0]. Encore [2; 9].", 2)
    assert [s.cited for s in parsed.sentences] == [[1], [], [2]]
    assert parsed.invalid_citations == 3


def test_ranges_and_repeats():
    parsed = parse_answer("Tout [1-3]. Doublon [2][2].", 3)
    assert [s.cited for s in parsed.sentences] == [[1, 2, 3], [2]]


def test_render_puts_citations_before_the_final_punctuation():
    parsed = parse_answer("Microsoft a investi 1 milliard [1]. Sans citation.", 1)
    assert render(parsed.sentences) == "Microsoft a investi 1 milliard [1]. Sans citation."


def test_a_name_missing_from_the_passage_halves_support_unless_the_question_gave_it():
    from rag.support import LexicalScorer

    scorer = LexicalScorer()
    claim = "Le fonds est géré par OpenAI Nonprofit avec SoftBank."
    full = "Le fonds est géré par OpenAI Nonprofit avec SoftBank."
    lacking = "Le fonds est géré par OpenAI Nonprofit avec un partenaire japonais."
    assert scorer.score(claim, full) == 1.0
    assert scorer.score(claim, lacking) <= 0.5 * scorer.score(claim.replace(" avec SoftBank", ""), lacking)
    claim = "Le fonds est géré par OpenAI Nonprofit."
    evidence = "Le fonds est géré par l'organisation OpenAI."
    assert scorer.score(claim, evidence) < scorer.score(claim, evidence, question="Qui gère le fonds d'OpenAI Nonprofit ?")
