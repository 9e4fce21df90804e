"""Where language lives: which language a question is in, the fixed sentences the assistant says in
each, and the word lists the other modules read (stop words beyond bm25s's French list, the words that
only frame a question, the words that open a follow-up).

The assistant answers in French or English. A question clearly written in another language (more of
its words are German, Spanish, Italian, Portuguese or Dutch function words than French or English
ones) is refused with a message in both languages before anything runs; when unsure, French wins (the
corpus is French). Measured on every question of eval/gold_fr.jsonl: none is taken for another
language (tests/test_language.py).
"""

from __future__ import annotations

import re

FRENCH_MARKERS = frozenset(
    "le la les un une des du de et est que qui quoi quel quelle quels quelles combien comment pourquoi "
    "où quand dans pour avec sur par au aux ce cette ces il elle ils elles a-t-il a-t-elle "
    "est-ce son sa ses leur leurs entre selon depuis".split())
ENGLISH_MARKERS = frozenset(
    "the a an and is are was were what which who whom whose how why where when did does do in "
    "for with on by of to from its their this that these those has have had much many".split())
# Function words of languages the assistant does not answer in; words shared with French or English
# ("die", "was", "come", "son", "que", "a"…) are left out so that they cannot tip a French question.
OTHER_MARKERS = frozenset(" ".join([
    "der das und ist nicht ein eine einen wer wie wann warum wo welche welcher welches haben wurde "
    "mit von für auf dem den zu im sich auch viel viele hat",  # German
    "el los las y es qué quién quiénes cómo cuándo dónde cuánto cuántos cuánta una del con para fue está",  # Spanish
    "il gli lo che è chi quando dove perché quanto quanti della delle sono ha",  # Italian
    "os quem onde porque quantos uma da dos das na ao foi tem não",  # Portuguese
    "het een wie hoe hoeveel wat wanneer waarom waar welke heeft zijn werd voor",  # Dutch
]).split())
OTHER_LETTERS = "äöüßñ¿¡ãõ"

ABSTAIN = {
    "fr": "Je ne sais pas d'après les sources.",
    "en": "I don't know based on the sources.",
}
UNSUPPORTED_LANGUAGE = ("Je réponds en français ou en anglais : posez la question dans l'une de ces langues. "
                        "/ I answer in French or English: please ask in one of them.")

# Extra stop words for the lexical index (bm25s's French list lacks some articles and English ones).
EXTRA_STOP_WORDS = frozenset(
    "a au aux du des les la le un une et est en ce cette qui que quoi dont the of and to in is what who which"
    .split())

# Words that frame a question without naming its topic: not distinctive terms of a question.
QUESTION_FRAMING = ("combien quel quelle quels quelles lequel laquelle lesquels comment pourquoi où quand "
                    "chez selon parmi how why where when much many whom whose")

# A reference to the articles themselves ("selon les articles", "d'après les différentes sources", "according
# to the sources"): it says where to look, not what about, and its words would match an article's own
# "selon plusieurs sources" or "Article en référence" rather than the answer
_CORPUS_REFERENCE = re.compile(
    r"[,\s]*\b(?:selon|d['’]apr[èe]s|dans|according\s+to|in)\s+(?:les|the|ces|these|vos|your|nos|our|mes|my)\s+"
    r"(?:(?:différent|divers|various|different|several|plusieurs)\w*\s+)?(?:articles|sources|documents)\b",
    re.IGNORECASE)


def without_corpus_reference(question: str) -> str:
    """The question without its reference to the articles ("Quelle est la valorisation d'OpenAI selon les
    différentes sources ?" -> "Quelle est la valorisation d'OpenAI ?")."""
    return _CORPUS_REFERENCE.sub("", question).strip(" ,;:") or question


# A question opening with one of these continues the previous exchange ("Et avec qui ?").
FOLLOW_UP_OPENERS = frozenset("et and puis ensuite also aussi mais but what quid".split())

_WORDS = re.compile(r"[\w'-]+")


def _french_english(text: str) -> tuple[int, int]:
    """How French and how English `text` reads: its French function words (an accented letter counts
    two) and its English ones."""
    lowered = text.lower()
    words = _WORDS.findall(lowered)
    fr = sum(w in FRENCH_MARKERS for w in words) + 2 * len(re.findall(r"[éèêàùçôîâ]", lowered))
    return fr, sum(w in ENGLISH_MARKERS for w in words)


def detect_language(text: str) -> str:
    """'fr' or 'en' (French when unsure: the corpus is French)."""
    fr, en = _french_english(text)
    return "en" if en > fr else "fr"


# A quoted title or phrase keeps its own language inside a sentence in the other one
_QUOTED = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"]*\"")


def in_other_language(answer: str, language: str) -> bool:
    """Is `answer` written in the other language than `language` (the question's)? It must read more
    the other way, its quoted spans left out: "SoftBank au Japon et Oracle aux États-Unis [1]" is French,
    a bare name ("Stargate [3]") is in neither."""
    fr, en = _french_english(_QUOTED.sub(" ", answer))
    return fr > en if language == "en" else en > fr


def is_other_language(text: str) -> bool:
    """Is `text` clearly in a language other than French and English? ("Wie viel hat Microsoft in
    OpenAI investiert?" is; "Combien Microsoft a-t-il investi ?" and a bare name are not.)"""
    lowered = text.lower()
    words = _WORDS.findall(lowered)
    other = sum(w in OTHER_MARKERS for w in words) + 2 * sum(lowered.count(ch) for ch in OTHER_LETTERS)
    fr, en = _french_english(text)
    return other >= 2 and other > fr and other > en


def is_abstention(text: str) -> bool:
    folded = text.lower().replace("’", "'")
    return any(p in folded for p in ("je ne sais pas", "i don't know", "i do not know"))


# What the model reads, named in a sentence saying it lacks something
_READ = r"(?:passages?|sources?|textes?|texts?|contexte?|documents?|extraits?|articles?|excerpts?)"
_NOT_IN_SOURCES = re.compile(
    r"\b(?:is|are) not (?:provided|mentioned|given|specified|stated|indicated|included|available) in "
    rf"(?:the |these |any of the )?(?:given |provided )?{_READ}\b"
    rf"|\b{_READ} (?:do(?:es)? not|don't|doesn't) (?:mention|say|provide|specify|state|give|contain|indicate)\b"
    rf"|\bno information (?:is (?:given|provided) )?(?:in|from) (?:the |these )?{_READ}\b"
    rf"|\b{_READ} ne (?:mentionnen?t?|précisen?t?|donnen?t?|indiquen?t?|disent|dit|fournit|fournissent|contient|contiennent) pas\b"
    r"|\bn'(?:est|sont) pas (?:mentionné|précisé|indiqué|fourni|donné|spécifié)e?s? dans (?:les |le |la |l'|ces |cet |ce )"
    rf"(?:\w+ )?{_READ}\b"
    r"|\b(?:aucune information|pas d'information)s? (?:n'est |n'y )?(?:\w+ )?(?:dans|d'après|selon) "
    rf"(?:les |le |la |l'|ces ){_READ}\b",
    re.IGNORECASE)


def says_not_in_sources(sentence: str) -> bool:
    """Does the sentence say that what was asked is not in what the model read ("Microsoft's market
    capitalization is not provided in the given passage.", "Les passages ne précisent pas le montant.")?
    It is the model's own way of not knowing, not a fact of the articles: it is no answer and cannot be
    cited."""
    return bool(_NOT_IN_SOURCES.search(sentence.replace("’", "'")))


# French magnitudes an English answer copies from its French passage ("13 milliards of dollars"): the
# words, not the figures, are translated; a decimal comma before them is a point in English (1,5 → 1.5)
_OF = r"(?:\s+(?:de|of)\s+|\s+d['’]\s*)"
_FRENCH_MAGNITUDE = re.compile(rf"(?P<n>\d+(?:,\d{{1,2}})?)\s*(?P<word>milliards?|millions?)\b(?P<of>{_OF})?",
                               re.IGNORECASE)
_FRENCH_ROUGH = {"plusieurs dizaines de milliards": "several tens of billions",
                 "dizaines de milliards": "tens of billions",
                 "plusieurs centaines de milliards": "several hundred billion",
                 "centaines de milliards": "hundreds of billions",
                 "plusieurs milliards": "several billion"}
_ROUGH = re.compile(r"\b(?P<words>" + "|".join(sorted(_FRENCH_ROUGH, key=len, reverse=True)) + rf")\b(?P<of>{_OF})?",
                    re.IGNORECASE)


def english_figures(text: str) -> str:
    """`text` (an English answer) with French magnitude words in English: "13 milliards of dollars" →
    "13 billion dollars", "1,5 milliard" → "1.5 billion", "50 millions d'euros" → "50 million euros",
    "plusieurs dizaines de milliards de dollars" → "several tens of billions of dollars"."""
    def figure(m: re.Match[str]) -> str:
        word = "billion" if m["word"].lower().startswith("milliard") else "million"
        return f"{m['n'].replace(',', '.')} {word}" + (" " if m["of"] else "")

    def rough(m: re.Match[str]) -> str:
        return _FRENCH_ROUGH[" ".join(m["words"].lower().split())] + (" of " if m["of"] else "")

    return _ROUGH.sub(rough, _FRENCH_MAGNITUDE.sub(figure, text))
