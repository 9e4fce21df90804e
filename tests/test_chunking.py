from pathlib import Path

import pytest

from rag.chunking import chunk_spans, sentence_texts, split_sentences

SEEDS = sorted((Path(__file__).resolve().parents[1] / "sources").glob("*.txt"))


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_chunk_spans_point_at_their_text_and_cover_every_sentence(path):
    text = path.read_text("utf-8")
    spans = chunk_spans(text, 600, 150)
    assert spans
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        assert s.end - s.start <= 600
        assert text[s.start:s.end] == text[s.start:s.end].strip()
    for sentence in split_sentences(text):  # every sentence lies inside some chunk
        assert any(c.start <= sentence.start and sentence.end <= c.end for c in spans) or sentence.end - sentence.start > 600


def test_chunks_overlap_by_whole_sentences():
    text = " ".join(f"Phrase numéro {i} du texte." for i in range(40))
    spans = chunk_spans(text, 120, 50)
    for a, b in zip(spans, spans[1:]):
        assert b.start < a.end, "consecutive chunks share trailing sentences"
        assert b.start > a.start, "chunking always moves forward"
        assert text[b.start:a.end].endswith("texte."), "the overlap is made of whole sentences"


def test_sentence_split_keeps_abbreviations_and_french_punctuation():
    text = "M. Dupont a parlé. L’enjeu principal ? Le prix, etc. Puis 3.5 milliards ! Fin"
    got = sentence_texts(text)
    assert got == ["M. Dupont a parlé.", "L’enjeu principal ?", "Le prix, etc. Puis 3.5 milliards !", "Fin"]


def test_an_elision_or_an_editors_note_in_brackets_does_not_end_a_sentence():
    text = ("Il a dit [...] que tout allait bien. Le traité date de 1851[réf. nécessaire]. "
            "Une citation […] reprise ici [réf. souhaitée]. Fin")
    got = sentence_texts(text)
    assert got == ["Il a dit [...] que tout allait bien.", "Le traité date de 1851[réf. nécessaire].",
                   "Une citation […] reprise ici [réf. souhaitée].", "Fin"]


def test_a_closing_quote_after_a_space_stays_with_its_sentence():
    text = ("Il s'écria « adieu ! adieu ! ». Il partit. Elle dit : « C'était génial. »\n"
            "Elle chanta « Tu verras ! »")
    got = sentence_texts(text)
    assert got == ["Il s'écria « adieu !", "adieu ! ».", "Il partit.", "Elle dit : « C'était génial. »",
                   "Elle chanta « Tu verras ! »"]
    assert sentence_texts("Fin du chapitre.\n***\nSuite.") == ["Fin du chapitre.", "***", "Suite."]


def test_line_breaks_end_sentences_and_long_sentences_are_cut():
    text = "Titre sans point\n" + "mot " * 300
    spans = chunk_spans(text.strip(), 200, 40)
    assert text[spans[0].start:spans[0].end].startswith("Titre sans point")
    assert all(s.end - s.start <= 200 for s in spans)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        chunk_spans("Texte.", 100, 100)
