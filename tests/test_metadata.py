"""Article metadata (rag.metadata) on real-shaped pages and files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rag.errors import SourceError
from rag.metadata import ArticleMeta, Edits, byline, format_day, from_html, from_url, split_front_matter, stated_date
from rag.sources import load_sources, read_source

PAGES = Path(__file__).parent / "data" / "pages"  # real-shaped saved pages (also read by bench/html_extraction.py)
JSON_LD_PAGE = (PAGES / "json_ld.html").read_text("utf-8")
OPEN_GRAPH_PAGE = (PAGES / "open_graph.html").read_text("utf-8")
BARE_PAGE = (PAGES / "bare.html").read_text("utf-8")


def test_json_ld_gives_headline_date_authors_and_publisher():
    meta = from_html(JSON_LD_PAGE)
    assert meta.title == "Microsoft et OpenAI renégocient leur contrat"
    assert meta.date == "2025-07-29" and not meta.date_guessed  # published, not modified
    assert meta.outlet == "Les Echos" and meta.author == "Jeanne Dupont, Paul Martin"
    assert meta.url.startswith("https://www.lesechos.fr/")
    assert meta.line() == "Les Echos · 29 juillet 2025 · Jeanne Dupont, Paul Martin"


def test_open_graph_alone_is_enough():
    meta = from_html(OPEN_GRAPH_PAGE)
    assert meta.outlet == "Bloomberg" and meta.date == "2025-07-29" and meta.author == "Shirin Ghaffary"
    assert meta.url == "https://www.bloomberg.com/news/articles/2025-07-29/microsoft-s-access"
    assert meta.title and "Microsoft" in meta.title


def test_a_page_with_nothing_gets_its_headline_and_the_file_date_marked_as_a_guess(tmp_path):
    (tmp_path / "page.html").write_text(BARE_PAGE, "utf-8")
    stamp = time.mktime((2024, 3, 5, 12, 0, 0, 0, 0, -1))
    os.utime(tmp_path / "page.html", (stamp, stamp))
    source = read_source(tmp_path / "page.html", tmp_path)
    assert source.title == "Microsoft et OpenAI renégocient leur contrat"
    assert source.meta.date == "2024-03-05" and source.meta.date_guessed and source.meta.outlet is None
    assert source.meta.line() == "5 mars 2024 (date du fichier)"
    assert source.meta.line("en") == "March 5, 2024 (file date)"


def test_front_matter_is_read_and_left_out_of_the_text(tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: OpenAI se restructure\ndate: 2025-10-28\noutlet: Le Monde\n"
                                   "author: [A. Martin, B. Durand]\n---\n# Un autre titre\n\nOpenAI devient une PBC.",
                                   "utf-8")
    source = read_source(tmp_path / "a.md", tmp_path)
    assert source.title == "OpenAI se restructure" and source.meta.date == "2025-10-28"
    assert source.meta.outlet == "Le Monde" and source.meta.author == "A. Martin, B. Durand"
    assert "---" not in source.text and source.text.startswith("# Un autre titre")


def test_a_reference_line_gives_outlet_and_date():
    meta, text = split_front_matter("Titre\n\nArticle en référence: https://www.bloomberg.com/news/articles/"
                                    "2025-07-29/microsoft-s-access-to-openai\n\nTexte.")
    assert (meta.outlet, meta.date) == ("Bloomberg", "2025-07-29") and text.startswith("Titre")
    assert from_url("https://www.lemonde.fr/economie/article/2025/10/28/x_123.html").date == "2025-10-28"
    assert from_url("https://exemple.org/a").outlet == "Exemple"


def test_the_seed_articles_get_short_titles_and_what_they_say_of_themselves():
    root = Path(__file__).resolve().parents[1] / "sources"
    sources, _ = load_sources(root)
    by_name = {s.path[:3]: s for s in sources}
    assert by_name["001"].meta.outlet == "Bloomberg" and by_name["001"].meta.date == "2025-07-29"
    # "… une véritable alliance stratégique, nouée il y a six ans et qui, aujourd’hui, en mai 2025, …"
    assert (by_name["003"].meta.date, by_name["003"].meta.date_guessed) == ("2025-05", False)
    assert by_name["000"].meta.date_guessed  # says nothing of its own date: the file's, marked
    assert by_name["002"].title == "La relation à 13 milliards de dollars entre Microsoft et OpenAI pourrait être en péril"
    # its headline, then "Hugo. T" on a line of its own, then the lede; the others open with their lede
    assert by_name["002"].meta.author == "Hugo. T" and "Hugo. T" in by_name["002"].meta.line()
    assert [by_name[n].meta.author for n in ("000", "001", "003", "004")] == [None] * 4
    assert all(len(s.title) <= 151 for s in sources)  # a lede is cut at a word, not used whole


def test_edits_win_over_the_file_and_survive_a_reload(tmp_path):
    (tmp_path / "a.txt").write_text("Un titre\n\nArticle en référence: https://www.bloomberg.com/x\n\nTexte.", "utf-8")
    Edits(tmp_path).save("a.txt", outlet="Reuters", date="2025-01-02")
    source = load_sources(tmp_path)[0][0]
    assert (source.meta.outlet, source.meta.date, source.meta.date_guessed) == ("Reuters", "2025-01-02", False)
    Edits(tmp_path).save("a.txt", outlet="")  # cleared: back to what the file says
    assert load_sources(tmp_path)[0][0].meta.outlet == "Bloomberg"
    with pytest.raises(SourceError, match="YYYY-MM-DD"):
        Edits(tmp_path).save("a.txt", date="29/07/2025")
    with pytest.raises(SourceError, match="unknown metadata"):
        Edits(tmp_path).save("a.txt", colour="red")
    assert [s.path for s in load_sources(tmp_path)[0]] == ["a.txt"]  # the edits file is not indexed


def test_days_are_written_for_readers():
    assert format_day("2025-08-01") == "1 août 2025" and format_day("2025-08-01", "en") == "August 1, 2025"
    assert ArticleMeta(outlet="Bloomberg").line() == "Bloomberg"


def test_an_article_naming_its_own_present_is_dated_by_it():
    assert stated_date("Une alliance nouée il y a six ans et qui, aujourd’hui, en mai 2025, est renégociée.") == "2025-05"
    assert stated_date("Paris, ce mardi 29 juillet 2025. Microsoft et OpenAI…") == "2025-07-29"
    assert stated_date("As of May 3, 2025, the two companies…") == "2025-05-03"
    assert stated_date("L'accord de 2019 a été signé en juillet 2019.") is None  # a past event, not the present
    assert stated_date("Aujourd'hui 31 février 2025") is None
    assert stated_date("x" * 4000 + " aujourd'hui, en mai 2025") is None  # only the article's opening is read
    assert (format_day("2025-05"), format_day("2025-05", "en")) == ("mai 2025", "May 2025")


@pytest.mark.parametrize("text, author", [
    ("Microsoft et OpenAI renégocient\n\nPar Marie Dupont\n\nLes deux entreprises discutent depuis des mois.",
     "Marie Dupont"),
    ("OpenAI restructures\nBy Jane Doe and John Smith | May 3, 2025\nThe company said on Monday that it would…",
     "Jane Doe, John Smith"),
    ("Un titre\nMarie-Claire Dubois\nLe texte de l'article commence ici, après la signature.", "Marie-Claire Dubois"),
    ("Un titre\n\n\n\n\nPar Jean Dupont\n\nLe texte.", "Jean Dupont"),  # blank lines do not count
    # not signatures: an outlet, a section heading, a company, a sentence opening with "Par"
    ("Un titre\n\nLe Monde\n\nLe texte.", None),
    ("Un titre\n\nRécapitulatif factuel\n\nLe texte.", None),
    ("Un titre\nContexte\nLe texte.", None),
    ("Un titre\nMicrosoft Azure\nLe texte.", None),
    ("Un titre\nPar ailleurs il faut dire que\nLe texte.", None),
    # a name after the lede is not under the headline; a file that opens with its lede has no headline
    ("Un titre\nLe texte commence ici avec bien plus de huit mots.\nJean Dupont", None),
    (" ".join(["Un chapeau qui dépasse largement la longueur d'un titre de presse"] * 3) + "\nJean Dupont\nTexte.",
     None),
])
def test_an_author_signed_under_the_headline_is_the_articles_author(text, author):
    assert byline(text) == author


def test_a_signature_fills_only_an_author_the_file_does_not_give(tmp_path):
    (tmp_path / "a.md").write_text("---\nauthor: A. Martin\n---\n# Titre\n\nPar Jean Dupont\n\nTexte.", "utf-8")
    (tmp_path / "b.txt").write_text("Titre\n\nPar Jean Dupont\n\nTexte.", "utf-8")
    by_name = {s.path: s for s in load_sources(tmp_path)[0]}
    assert by_name["a.md"].meta.author == "A. Martin" and by_name["b.txt"].meta.author == "Jean Dupont"
    assert "Par Jean Dupont" in by_name["b.txt"].text  # the signature stays in the article's text
