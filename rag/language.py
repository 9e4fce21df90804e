"""Which language a question is in (French or English), and the fixed sentences in each."""

from __future__ import annotations

import re

_FRENCH = set("le la les un une des du de et est que qui quoi quel quelle quels quelles combien comment pourquoi "
              "où quand dans pour avec sur par au aux ce cette ces il elle ils elles a-t-il a-t-elle "
              "est-ce son sa ses leur leurs entre selon depuis".split())
_ENGLISH = set("the a an and is are was were what which who whom whose how why where when did does do in "
               "for with on by of to from its their this that these those has have had much many".split())

ABSTAIN = {
    "fr": "Je ne sais pas d'après les sources.",
    "en": "I don't know based on the sources.",
}


def detect_language(text: str) -> str:
    """'fr' or 'en' (French when unsure: the corpus is French)."""
    words = re.findall(r"[\w'-]+", text.lower())
    fr = sum(w in _FRENCH for w in words) + 2 * len(re.findall(r"[éèêàùçôîâ]", text.lower()))
    en = sum(w in _ENGLISH for w in words)
    return "en" if en > fr else "fr"


def is_abstention(text: str) -> bool:
    folded = text.lower().replace("’", "'")
    return any(p in folded for p in ("je ne sais pas", "i don't know", "i do not know"))
