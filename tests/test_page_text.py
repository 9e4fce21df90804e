"""The page's language: which one a browser gets, and every word of the page in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import gradio
import pytest

from rag.config import load_settings
from rag.errors import SettingsError
from rag.messages import say
from rag.page_text import GRADIO_LOCALES, TEXT, page_language, text, translations


@pytest.mark.parametrize("header, expected", [
    ("en-US,en;q=0.9", "en"),
    ("en-GB", "en"),
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
    ("de-DE,de;q=0.9,en;q=0.8", "fr"),     # a language Gradio knows: the French page (the default)
    ("fr;q=0.5,en;q=0.9", "en"),            # weights, not order, say which comes first
    ("it-IT,it;q=0.9", "en"),               # Gradio has no Italian and falls back to English: so does the server
    ("pt-BR", "fr"),
    ("", "fr"),
    (None, "fr"),
    ("*", "fr"),
])
def test_the_page_language_follows_the_browser_first_language(header, expected):
    assert page_language(header) == expected


def test_a_setting_overrides_the_browser():
    assert page_language("en-US", "fr") == "fr" and page_language("fr-FR", "en") == "en"
    assert {tuple(d.values()) for d in translations("en").values()} == {tuple(w[1] for w in TEXT.values())}
    auto = translations("auto")
    assert auto["en"]["send"] == "Send" and auto["fr"]["send"] == auto["de"]["send"] == "Envoyer"


def test_a_bad_language_setting_is_refused(tmp_path):
    (tmp_path / "rag.toml").write_text('ui_language = "es"\n', "utf-8")
    with pytest.raises(SettingsError, match="ui_language"):
        load_settings(tmp_path)
    assert load_settings(tmp_path, ui_language="en").ui_language == "en"


def test_every_word_has_both_languages_with_the_same_fields():
    for key, (french, english) in TEXT.items():
        assert french.strip() and english.strip(), key
        assert set(re.findall(r"{(\w+)}", french)) == set(re.findall(r"{(\w+)}", english)), key
    assert text("removed", "en", path="a.txt") == "a.txt removed."
    assert text("removed", "fr", path="a.txt") == "a.txt retiré."


def test_the_locale_list_is_the_installed_gradio_s():
    assets = Path(gradio.__file__).parent / "templates" / "frontend" / "assets"
    found = {m.group(1) for f in assets.glob("*.js")
             if (m := re.fullmatch(r"([a-z]{2}(?:-[A-Z]{2})?)-[A-Za-z0-9_-]{8}\.js", f.name))}
    assert set(GRADIO_LOCALES) <= found and "fr" in found and "en" in found
    assert not {f for f in found if f.lower() not in {g.lower() for g in GRADIO_LOCALES}} - {"ca-ES"}, found


def test_library_messages_are_english_for_an_english_page():
    message = "vide.txt: empty file"
    assert say(message, "en") == message
    assert say(message, "fr") == "vide.txt : fichier vide"
