"""Every message a reader sees, in the page's language. The library's errors and reports are written in
English (the CLI's language); the chat, French by default, shows them through `say(text, "fr")`, which
matches each known message and renders it in French. A message the catalogue does not know is shown as
written (and logged, so that it gets added)."""

from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)

# (English message, as a regular expression over the whole text) -> French, with the same groups
_FRENCH: list[tuple[str, str]] = [
    (r"empty file", "fichier vide"),
    (r"binary content(?: \(NUL bytes\))?", "contenu binaire (ce n'est pas du texte)"),
    (r"too large \((?P<a>[\d,]+) bytes > (?P<b>[\d,]+)\)", r"trop volumineux (\g<a> octets > \g<b>)"),
    (r"unsupported file type (?P<t>\S+) \(use (?P<u>.*)\)", r"type de fichier non pris en charge \g<t> (formats : \g<u>)"),
    (r"unreadable \((?P<why>.*)\)", r"illisible (\g<why>)"),
    (r"not a PDF file", "ce n'est pas un fichier PDF"),
    (r"no text in file", "aucun texte dans le fichier"),
    (r"a link to a file outside the sources folder \((?P<p>.*)\): not indexed \(set follow_outside_links = true "
     r"in rag\.toml to allow links\)",
     r"un lien vers un fichier hors du dossier des sources (\g<p>) : non indexé (follow_outside_links = true "
     r"dans rag.toml pour l'autoriser)"),
    (r"a broken link \(its target is missing or it loops\): not indexed",
     "un lien cassé (sa cible est absente ou il boucle) : non indexé"),
    (r"no source (?P<s>.*) in (?P<d>.*)", r"aucune source \g<s> dans \g<d>"),
    (r"the question is too long for the model's context window \((?P<n>.*)\); shorten it",
     r"la question est trop longue pour le modèle (\g<n>) : raccourcissez-la"),
    (r"the question is empty", "la question est vide"),
    (r"the question has no words \(only punctuation or symbols\)",
     "la question ne contient aucun mot (seulement de la ponctuation ou des symboles)"),
    (r"the question is too long \((?P<n>[\d,]+) characters, at most (?P<m>[\d,]+)\); (?P<rest>.*)",
     r"la question est trop longue (\g<n> caractères, au plus \g<m>) : raccourcissez-la"),
    (r"(?:since|until) date (?P<v>.*): write it as YYYY-MM-DD \(2025-07-29\)",
     r"date \g<v> : écrivez-la AAAA-MM-JJ (2025-07-29)"),
    (r"date (?P<v>.*): write it as YYYY-MM-DD \(2025-07-29\)", r"date \g<v> : écrivez-la AAAA-MM-JJ (2025-07-29)"),
    (r"the since date (?P<a>\S+) is after the until date (?P<b>\S+)",
     r"la date de début \g<a> est après la date de fin \g<b>"),
    (r"no article matches the filter \((?P<f>.*)\); check its dates, outlets and file names",
     "aucun article ne correspond au filtre : vérifiez ses dates, ses médias et ses noms de fichiers"),
    (r"unknown metadata field\(s\) (?P<f>.*) \(editable: (?P<e>.*)\)",
     r"champ(s) inconnu(s) \g<f> (modifiables : \g<e>)"),
    (r"the model server at (?P<u>\S+) is not reachable \((?P<w>.*)\); start it, or check generation\.model",
     r"le serveur du modèle (\g<u>) ne répond pas (\g<w>) : démarrez-le, ou vérifiez generation.model"),
    (r"the model server at (?P<u>\S+) did not answer within (?P<s>\S+) s \(generation\.server_timeout\)",
     r"le serveur du modèle (\g<u>) n'a pas répondu en \g<s> s (generation.server_timeout)"),
    (r"the model server at (?P<u>\S+) refused the request \((?P<w>.*)\)",
     r"le serveur du modèle (\g<u>) a refusé la demande (\g<w>)"),
    (r"the model server at (?P<u>\S+) (?:sent|broke off).*",
     r"le serveur du modèle (\g<u>) a renvoyé une réponse inutilisable ; réessayez, ou vérifiez le serveur"),
    (r"no index in (?P<d>.*): run `rag index`", r"pas d'index dans \g<d> : lancez `rag index`"),
    (r"the index file (?P<f>.*) is damaged or incomplete \((?P<w>.*)\); run `rag index` to rebuild it",
     r"le fichier d'index \g<f> est abîmé ou incomplet (\g<w>) : lancez `rag index` pour le reconstruire"),
    (r"the index in (?P<d>.*) is inconsistent \((?P<w>.*)\); run `rag index` to repair it",
     r"l'index de \g<d> est incohérent (\g<w>) : lancez `rag index` pour le réparer"),
    (r"the index was built with (?P<w>.*)\. Run `rag index --rebuild` to build it again\.",
     r"l'index a été construit avec \g<w>. Lancez `rag index --rebuild` pour le reconstruire."),
    (r"the index is searched with (?P<a>\S+), the settings say (?P<b>\S+): run `rag index` to move it "
     r"\(nothing is embedded again\)",
     r"l'index est servi par \g<a>, les réglages demandent \g<b> : lancez `rag index` pour l'y déplacer"),
    (r"another build of (?P<d>.*) is running", r"une autre mise à jour de l'index (\g<d>) est en cours"),
    (r"(?P<m>.*) could not be loaded: the file is damaged or incomplete\..*",
     r"le modèle \g<m> n'a pas pu être chargé : le fichier est abîmé ou incomplet (`rag models fetch` pour le refaire)"),
    (r"Milvus at (?P<u>\S+) cannot be opened \((?P<w>.*)\); is it running, or is the file open in another process "
     r"\(the chat\)\?",
     r"Milvus (\g<u>) ne s'ouvre pas : est-il démarré, ou le fichier est-il ouvert par un autre processus ?"),
    (r"embedding", "calcul des vecteurs des passages"),
    (r"embedding sentences", "calcul des vecteurs des phrases"),
    (r"embedding words", "calcul des vecteurs des mots"),
    (r"a conversation needs a title", "une conversation doit avoir un nom"),
    (r"no conversation (?P<c>.*)", r"conversation \g<c> introuvable"),
    (r"no answer (?P<c>.*)", r"réponse \g<c> introuvable"),
    (r"(?P<n>\d+) added, (?P<c>\d+) changed, (?P<r>\d+) removed, (?P<u>\d+) unchanged; (?P<e>\d+) chunks embedded "
     r"\((?P<t>\d+) in index\); (?P<s>[\d.]+) s(?P<rest>.*)",
     r"\g<n> ajoutée(s), \g<c> modifiée(s), \g<r> retirée(s), \g<u> inchangée(s) ; \g<e> passages indexés "
     r"(\g<t> dans l'index) ; \g<s> s\g<rest>"),
]
_COMPILED = [(re.compile(rf"\A{pattern}\Z", re.S), french) for pattern, french in _FRENCH]


def say(text: str, language: str = "fr") -> str:
    """`text` (a message of this program, in English) in `language`. "<file>: <reason>" keeps the file
    name and translates the reason."""
    if language != "fr":
        return text
    for pattern, french in _COMPILED:
        match = pattern.match(text)
        if match:
            return match.expand(french)
    name, sep, reason = text.partition(": ")
    if sep and "/" not in name[:1] and " " not in name.strip():
        translated = say(reason, language)
        if translated != reason:
            return f"{name} : {translated}"
    logger.info("no French for the message %r", text)
    return text

