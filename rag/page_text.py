"""The page's own words (labels, buttons, notes, card headings), in French and English.

The page is French by default and English when the browser's first language is English, or when the
setting `ui_language` says "en" ("fr" forces French, "auto" follows the browser). Labels drawn by the
browser go through Gradio's I18n (`translations`); what the server writes (notes, cards, tables) goes
through `text(key, language)` with the language read from the request's Accept-Language
(`page_language`), by the same rule the browser applies, so that both halves of the page agree.
Messages of the library (errors, build reports) are English and translated by `rag.messages.say`.
"""

from __future__ import annotations

LANGUAGES = ("fr", "en")

# Gradio 6.31's own page languages (gradio/templates/frontend/assets/<locale>-<hash>.js): the browser
# picks its language among these (exact, else its base tag), else English. tests/test_page_text.py
# checks this list against the installed Gradio.
GRADIO_LOCALES = ("ar", "ca", "de", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "id", "ja", "ko", "lt",
                  "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sv", "ta", "th", "tr", "uk", "ur", "uz", "zh-CN",
                  "zh-TW")

# key -> (French, English); {name} fields are filled by `text`
TEXT: dict[str, tuple[str, str]] = {
    # page
    "title": ("Questions sur vos articles", "Questions about your articles"),
    "intro": ("## Questions sur vos articles\nRéponses tirées uniquement de vos sources, chaque phrase citée.",
              "## Questions about your articles\nAnswers drawn from your sources only, every sentence cited."),
    "tab_chat": ("Chat", "Chat"),
    "tab_sources": ("Sources", "Sources"),
    "tab_evaluation": ("Évaluation", "Evaluation"),
    # chat
    "conversation": ("Conversation", "Conversation"),
    "ask": ("Posez une question (français ou anglais)…", "Ask a question (French or English)…"),
    "send": ("Envoyer", "Send"),
    "since": ("Depuis le", "Since"),
    "until": ("Jusqu'au", "Until"),
    "date_format": ("AAAA-MM-JJ", "YYYY-MM-DD"),
    "only": ("Seulement ces médias ou fichiers", "Only these outlets or files"),
    "correction": ("Correction de la dernière réponse (facultatif)", "Correction of the last answer (optional)"),
    "report_wrong": ("Signaler une réponse fausse", "Report a wrong answer"),
    "conversations": ("Conversations", "Conversations"),
    "saved_conversations": ("Conversations enregistrées", "Saved conversations"),
    "new_conversation": ("Nouvelle conversation", "New conversation"),
    "new_name": ("Nouveau nom", "New name"),
    "rename": ("Renommer", "Rename"),
    "delete": ("Supprimer", "Delete"),
    "export_md": ("Exporter en Markdown", "Export as Markdown"),
    "export_json": ("Exporter en JSON", "Export as JSON"),
    "settings": ("Réglages", "Settings"),
    "k": ("Passages retrouvés", "Passages retrieved"),
    "model": ("Modèle", "Model"),
    "temperature": ("Température", "Temperature"),
    "ask_first": ("Posez d'abord une question : la conversation n'existe pas encore.",
                  "Ask a question first: the conversation does not exist yet."),
    "renamed": ("Conversation renommée.", "Conversation renamed."),
    "deleted": ("Conversation supprimée.", "Conversation deleted."),
    "nothing_to_correct": ("Aucune réponse à corriger.", "No answer to correct."),
    "marked_wrong": ("Merci : la réponse est marquée comme fausse.", "Thank you: the answer is marked as wrong."),
    "marked_corrected": ("Merci : la réponse est marquée comme fausse et la correction enregistrée.",
                         "Thank you: the answer is marked as wrong and the correction saved."),
    # answers and cards
    "evidence_empty": ("Les sources des réponses s'afficheront ici.", "The answers' sources will show here."),
    "unsupported": ("Non étayé par les passages cités", "Not supported by the cited passages"),
    "closest": ("Passages les plus proches", "Closest passages"),
    "sources": ("Sources", "Sources"),
    "characters": ("caractères", "characters"),
    # sources tab
    "col_title": ("Titre", "Title"),
    "col_outlet": ("Média", "Outlet"),
    "col_author": ("Auteur", "Author"),
    "col_date": ("Date", "Date"),
    "col_file": ("Fichier", "File"),
    "col_passages": ("Passages", "Passages"),
    "upload": ("Ajouter des articles (txt, md, html, pdf)", "Add articles (txt, md, html, pdf)"),
    "add": ("Ajouter et indexer", "Add and index"),
    "to_remove": ("Source à retirer", "Source to remove"),
    "remove": ("Retirer", "Remove"),
    "edit_source": ("Corriger les informations d'une source", "Correct a source's details"),
    "source": ("Source", "Source"),
    "author": ("Auteur", "Author"),
    "save": ("Enregistrer", "Save"),
    "rebuild": ("Reconstruire l'index", "Rebuild the index"),
    "choose_remove": ("Choisissez une source à retirer.", "Choose a source to remove."),
    "choose_edit": ("Choisissez une source à corriger.", "Choose a source to correct."),
    "removed": ("{path} retiré.", "{path} removed."),
    "edited": ("{path} : informations enregistrées.", "{path}: details saved."),
    "index_ready": ("**Index à jour** : {n_added} ajoutée(s), {n_changed} modifiée(s), {n_removed} retirée(s), "
                    "{n_unchanged} inchangée(s) ; {n_embedded} passages indexés ({n_total} dans l'index) ; "
                    "{seconds} s",
                    "**Index up to date**: {n_added} added, {n_changed} changed, {n_removed} removed, "
                    "{n_unchanged} unchanged; {n_embedded} passages indexed ({n_total} in the index); {seconds} s"),
    "copy_of": ("{copy} : même texte que {original}, indexé une seule fois",
                "{copy}: same text as {original}, indexed once"),
    "stored_as": ("{uploaded} enregistré sous {stored} (ce nom était pris)",
                  "{uploaded} saved as {stored} (the name was taken)"),
    "already_there": ("{uploaded} : déjà dans les sources, à l'identique ({existing})",
                      "{uploaded}: already in the sources, identical ({existing})"),
    "nothing_added": ("Aucun fichier ajouté.", "No file added."),
    # evaluation tab
    "refresh": ("Actualiser", "Refresh"),
    "plot_hitk": ("Recherche : hit@k", "Retrieval: hit@k"),
    "plot_bars": ("Réponses, citations, abstentions", "Answers, citations, abstentions"),
    "plot_latency": ("Temps de réponse", "Answer time"),
    "no_evaluation": ("Aucune évaluation encore : lancez `rag eval` (les rapports vont dans {folder}).",
                      "No evaluation yet: run `rag eval` (reports go to {folder})."),
    "latest": ("dernier", "latest"),
    "previous": ("précédent", "previous"),
    "right_answers": ("réponses justes", "right answers"),
    "cited_evidence": ("citations sur la preuve", "citations on the evidence"),
    "refused_unanswerable": ("hors-sources refusées", "unanswerable refused"),
    "refused_wrongly": ("refus à tort", "wrongly refused"),
    "questions": ("questions", "questions"),
    "k_retrieved": ("k passages retrouvés", "k passages retrieved"),
    "evidence_in_k": ("preuve dans les k premiers", "evidence in the first k"),
    "seconds_per_answer": ("secondes par réponse", "seconds per answer"),
    "missed": ("**Questions manquées** ({n} ; les {shown} premières) :", "**Missed questions** ({n}; the first {shown}):"),
}


def text(key: str, language: str = "fr", **values: object) -> str:
    """The page's words for `key` in `language` (French for any other), with `values` filled in."""
    french, english = TEXT[key]
    words = english if language == "en" else french
    return words.format(**values) if values else words


def page_language(accept_language: str | None, setting: str = "auto") -> str:
    """"fr" or "en" for a request: the setting when it names one, else the browser's first language as
    Gradio resolves it (its own locale, else the base tag, else English): English → "en", any other → "fr"."""
    if setting in LANGUAGES:
        return setting
    first = ""
    best = -1.0
    for part in (accept_language or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if tag and tag != "*" and weight > best:
            first, best = tag, weight
    if not first:
        return "fr"
    lower = {locale.lower(): locale for locale in GRADIO_LOCALES}
    locale = lower.get(first.lower()) or lower.get(first.split("-")[0].lower()) or "en"
    return "en" if locale == "en" else "fr"


def translations(setting: str = "auto") -> dict[str, dict[str, str]]:
    """Gradio I18n dictionaries (locale -> key -> words): English for "en", French for every other
    language Gradio knows; one language for all when the setting names it."""
    french = {key: words[0] for key, words in TEXT.items()}
    english = {key: words[1] for key, words in TEXT.items()}
    if setting in LANGUAGES:
        chosen = english if setting == "en" else french
        return {locale: chosen for locale in GRADIO_LOCALES}
    return {locale: english if locale == "en" else french for locale in GRADIO_LOCALES}
