import numpy as np
import pytest

from rag.citations import parse_answer, render
from rag.embedders.base import E5_SCALE, Embedder
from rag.support import LexicalScorer


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


class _FixedCosine(Embedder):
    """Every claim–sentence cosine is 0.85 (e5's narrow band)."""

    id, dim = "fixed-cosine", 2
    scale = E5_SCALE

    def _encode(self, texts, is_query):
        vector = [1.0, 0.0] if is_query else [0.85, (1 - 0.85 ** 2) ** 0.5]
        return np.array([vector] * len(texts), np.float32)


def test_an_english_claim_on_french_evidence_is_judged_on_the_cross_language_band():
    scorer = LexicalScorer(_FixedCosine())
    french = "Selon le communiqué, cette participation dépassera les 100 milliards de dollars."
    english = "The nonprofit's stake will exceed 100 billion dollars."
    same = "La participation de l'organisation dépassera les 100 milliards de dollars."
    # 0.85 is half-way up e5's French band (0.80–0.90), most of the way up the cross-language one (0.765–0.868)
    assert scorer.semantic(same, french) == pytest.approx(0.5, abs=0.01)
    assert scorer.semantic(english, french) == pytest.approx((0.85 - 0.765) / (0.868 - 0.765), abs=0.01)
    assert scorer.score(english, french) >= scorer.threshold
    assert scorer.semantic("The stake will exceed 200 billion dollars.", french) < scorer.threshold  # numbers still count
    given = LexicalScorer(_FixedCosine(), cosine_low=0.80, cosine_high=0.90)  # a band set by hand applies everywhere
    assert given.semantic(english, french) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("claim, evidence, found", [
    # a name no passage holds, in any spelling: as within one language, it halves the support
    ("Microsoft is led by Bill Gates.", "Microsoft, sous la houlette de Satya Nadella, vise le cloud.", False),
    ("Microsoft is led by Bill Gates and Satya Nadella.", "Microsoft, sous la houlette de Satya Nadella.", False),
    ("OpenAI is led by Elon Musk.", "Ses dirigeants, Sam Altman le premier, veulent redéfinir la relation.", False),
    # the same names spelt the other language's way, or spelt out from the passage's acronym
    ("Microsoft is led by Satya Nadella.", "Microsoft, sous la houlette de Satya Nadella, vise le cloud.", True),
    ("OpenAI works with the attorneys general of California and Delaware.",
     "OpenAI collabore avec les procureurs généraux de Californie et Delaware.", True),
    ("Its new allies are in Japan and the United States.", "Avec SoftBank au Japon et Oracle aux États-Unis.", True),
    ("It stands for Right of First Refusal.", "Microsoft garde un droit de premier refus (ROFR).", True),
    ("It stands for Memorandum of Understanding.", "Ils signent un protocole d'entente non contraignant (MOU).", True),
    # a month or a number written as an English capitalised word, said in the passage's own words
    ("The camp was liberated on 9 May 1945.", "Ce camp fut le dernier libéré par les Alliés, le 9 mai 1945.", True),
    ("The camp was liberated on 9 June 1945.", "Ce camp fut le dernier libéré par les Alliés, le 9 mai 1945.", False),
    ("It was the war of the Seven Years.", "La guerre de Sept Ans opposa la Grande-Bretagne à la France.", True),
])
def test_an_english_claim_is_checked_for_names_its_french_evidence_holds_in_no_spelling(claim, evidence, found):
    scorer = LexicalScorer(_FixedCosine())
    full = (0.85 - 0.765) / (0.868 - 0.765)  # the cross-language band, as above
    assert scorer.semantic(claim, evidence) == pytest.approx(full if found else full / 2, abs=0.01)


def test_the_name_spelling_ratio_is_read_from_the_settings():
    from rag.config import VerifySettings
    from rag.support import get_scorer

    strict = get_scorer("lexical", _FixedCosine(), settings=VerifySettings(name_spelling_ratio=0.95))
    claim, evidence = "Its allies are in Japan.", "Avec SoftBank au Japon."
    assert strict.semantic(claim, evidence) < get_scorer("lexical", _FixedCosine()).semantic(claim, evidence)


class _Glossary(_FixedCosine):
    """`_FixedCosine` for sentences; single words get vectors of their own, "Spanish" close to
    "espagne" (0.96) and far from "france"."""

    dim = 4
    WORDS = {"spanish": [0, 0, 1, 0], "espagne": [0, 0, 0.96, 0.28], "france": [0, 0, 0, 1]}

    def _encode(self, texts, is_query):
        if is_query and all(t in self.WORDS for t in texts):
            return np.array([self.WORDS[t] for t in texts], np.float32)
        return np.pad(super()._encode(texts, is_query), ((0, 0), (0, 2)))


def test_an_english_claims_name_is_carried_to_the_collections_words_its_french_evidence_holds():
    from rag.term_bridge import TermBridge

    embedder = _Glossary()
    words = TermBridge("fr", ["espagne", "france"], embedder.embed_queries(["espagne", "france"]).astype(np.float16))
    scorer = LexicalScorer(embedder, name_carry_floor=0.92)
    full = (0.85 - 0.765) / (0.868 - 0.765)
    claim, evidence = "They fought the Spanish.", "Ils combattirent l'Espagne."
    assert scorer.semantic(claim, evidence) == pytest.approx(full / 2, abs=0.01)  # no words yet: "Spanish" is missing
    scorer.use_words(words)
    assert scorer.carry("spanish") == ["espagne"]
    assert scorer.semantic(claim, evidence) == pytest.approx(full, abs=0.01)
    # a word it is not carried to does not stand for it
    assert scorer.semantic(claim, "Ils combattirent la France.") == pytest.approx(full / 2, abs=0.01)
    strict = LexicalScorer(embedder, name_carry_floor=0.97)  # the floor decides
    strict.use_words(words)
    assert strict.carry("spanish") == [] and strict.semantic(claim, evidence) == pytest.approx(full / 2, abs=0.01)
    floorless = LexicalScorer(embedder, name_carry_floor=None)
    wordless = LexicalScorer(embedder, name_carry_floor=0.92, name_carry_per_word=0)
    for off in (floorless, wordless):
        off.use_words(words)
        assert off.carry("spanish") == [] and off.semantic(claim, evidence) == pytest.approx(full / 2, abs=0.01)
