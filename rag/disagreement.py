"""When the sources an answer rests on disagree, say so and date each side.

News moves: one article gives OpenAI's valuation as 260 billion dollars, an earlier one as "several tens
of billions". For a question asking an amount, a percentage or a date, every sentence of the passages
that speaks of the question's subject (`min_topic_share` of its content words, one of them at least a
word that is not common to the whole collection) is searched for values of that type. Values are
compared only between sentences with the same qualifiers (the same years, or none: "1 milliard en 2019"
and "10 milliards en 2023" are two rounds, not a disagreement; a total or a running sum, "13 milliards
au total" / "depuis 2019", is not a single figure), and only across different sources (one article
giving two figures is not two sources disagreeing). When two or more sources give different values and
the answer cites one of them (any of its passages), the answer gains a sentence naming each value with
its passage and its article's date and outlet, newest first; for a question about the latest or the
first value, the wording says which source is the most recent or the earliest.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from rag.answer_types import WORD_NUMBERS, AnswerType, expected_type
from rag.chunking import sentence_texts
from rag.evidence import Passage, unread
from rag.lexical import fold, question_terms, tokenize
from rag.metadata import format_day

_SCALE = {"mille": 1e3, "millier": 1e3, "milliers": 1e3, "million": 1e6, "millions": 1e6, "milliard": 1e9,
          "milliards": 1e9, "billion": 1e9, "billions": 1e9, "thousand": 1e3, "trillion": 1e12, "md": 1e9,
          "mds": 1e9, "m": 1e6, "k": 1e3}
_UNIT = r"(?:\s*(?:de |d['’])?(?:dollars?|euros?|\$|€|usd|eur))?"
_NOT_AMOUNT = (r"(?!\s*(?:%|pour ?cent|percent|janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|"
               r"octobre|novembre|décembre|decembre|january|february|march|april|may|june|july|august|september|"
               r"october|november|december)\b)")
_AMOUNT = re.compile(r"(?<![\w.,-])(?P<number>\d+(?:[ \u202f\u00a0]\d{3})*(?:[.,]\d+)?)(?!\d|[.,]\d)" + _NOT_AMOUNT +
                     r"\s*(?P<scale>milliers?|millions?|milliards?|billions?|trillion|thousand|mille|mds?|k|m)?\b" + _UNIT +
                     # a number in words counts with a scale only ("un milliard", "a billion"; "un" alone is an article)
                     r"|\b(?P<word>" + "|".join(WORD_NUMBERS) + r")\s+"
                     r"(?P<word_scale>milliers?|millions?|milliards?|billions?|trillion|thousand)\b" + _UNIT +
                     r"|\b(?P<vague>plusieurs (?:dizaines|centaines) de (?:milliers|millions|milliards)" + _UNIT + ")",
                     re.IGNORECASE)
_PERCENT = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)?)\s*(?:%|pour ?cent|percent)", re.IGNORECASE)
_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
# a total, a running sum or a bound is another figure than a single one ("13 milliards au total" vs "1 milliard")
_CUMULATIVE = re.compile(r"\b(au total|en tout|total|cumul\w*|depuis|jusqu|since|in total|overall|altogether|"
                         r"up to)\b", re.IGNORECASE)
# without an answer type in the question's wording, a question about one of these asks an amount
_QUANTITY = re.compile(r"\b(valorisation|valeur|montant|prix|co[uû]t|budget|chiffre|revenus?|b[ée]n[ée]fices?|"
                       r"investissement|salaire|effectifs?|valuation|value|amount|price|cost|revenue|profit)\b",
                       re.IGNORECASE)
_LATEST = re.compile(r"\b(dernier|derni[èe]re|(?:la |le )?plus r[ée]cente?|actuel(?:le)?|aujourd'hui|latest|most recent|current)\b",
                     re.IGNORECASE)
_FIRST = re.compile(r"\b(d'abord|en premier|premi[èe]re?|initial(?:e|ement)?|au d[ée]part|first|initially|originally)\b",
                    re.IGNORECASE)
COMPARED = (AnswerType.AMOUNT, AnswerType.PERCENTAGE, AnswerType.DATE)


@dataclass(frozen=True)
class Claim:
    value: str  # as the passage writes it
    key: str  # what is compared (a number in units, or the words of a vague amount)
    passage: int
    source_id: str
    date: str | None
    outlet: str | None


@dataclass(frozen=True)
class Disagreement:
    claims: tuple[Claim, ...]  # one per source and value, newest first
    asks: str = ""  # "latest", "first" or ""

    def numbers(self) -> list[int]:
        return sorted({c.passage for c in self.claims})

    def sentence(self, language: str = "fr") -> str:
        """"Les sources divergent : 260 milliards de dollars selon [2] (Le Journal, 18 juin 2025) ; …"."""
        sides = []
        for c in self.claims:
            about = ", ".join(x for x in (c.outlet, format_day(c.date, language) if c.date else None) if x)
            if language == "fr":
                sides.append(f"{c.value} selon [{c.passage}]" + (f" ({about})" if about else ""))
            else:
                sides.append(f"{c.value} according to [{c.passage}]" + (f" ({about})" if about else ""))
        if self.asks == "latest":
            lead = "Les sources divergent ; la plus récente d'abord : " if language == "fr" else \
                "The sources disagree; the most recent first: "
        elif self.asks == "first":
            ordered = list(reversed(sides))
            lead = "Les sources divergent ; la plus ancienne d'abord : " if language == "fr" else \
                "The sources disagree; the earliest first: "
            return lead + " ; ".join(ordered) + "."
        else:
            lead = "Les sources divergent : " if language == "fr" else "The sources disagree: "
        return lead + (" ; " if language == "fr" else "; ").join(sides) + "."


def _amount_key(match: re.Match) -> str:
    if vague := match.group("vague"):
        return fold(vague.split(" de ")[0] + " " + vague.split(" de ")[1].split()[0])
    if word := match.group("word"):
        number, scale = float(WORD_NUMBERS[word.lower()]), _SCALE[match.group("word_scale").lower()]
    else:
        number = float(re.sub(r"[ \u202f\u00a0]", "", match.group("number")).replace(",", "."))
        scale = _SCALE.get((match.group("scale") or "").lower(), 1.0)
    return f"{number * scale:.6g}"


def values(sentence: str, answer_type: AnswerType) -> list[tuple[str, str]]:
    """(value as written, comparison key) of `answer_type` in one sentence."""
    if answer_type is AnswerType.AMOUNT:
        out = []
        for m in _AMOUNT.finditer(sentence):
            if m.group("number") and _YEAR.fullmatch(m.group("number")) and not m.group("scale"):
                continue  # a year, not an amount
            out.append((m.group(0).strip(), _amount_key(m)))
        return out
    if answer_type is AnswerType.PERCENTAGE:
        return [(m.group(0).strip(), m.group(1).replace(",", ".")) for m in _PERCENT.finditer(sentence)]
    return [(m.group(0), m.group(0)) for m in _YEAR.finditer(sentence)]


def asks_about(question: str) -> str:
    if _LATEST.search(question):
        return "latest"
    if _FIRST.search(question):
        return "first"
    return ""


def compares(question: str) -> bool:
    """Could `find` compare sources on this question: does it ask a figure or a date, by its question
    word or by a word like "valorisation"? (The answer path keeps every source in view for these.)"""
    return expected_type(question) in (*COMPARED, AnswerType.WHEN) or bool(_QUANTITY.search(question))


def find(question: str, passages: list[Passage], cited: set[int], answer: str = "",
         min_topic_share: float = 0.5, common: frozenset[str] = frozenset()) -> Disagreement | None:
    """The disagreement among `passages` about what `question` asks, when the answer (`answer`, citing
    `cited`) rests on one side of it; else None. A question whose wording names no type ("Quelle est la
    valorisation… ?") takes the type of what the answer gives (a percentage, else an amount). `common`:
    the question's stems that the whole collection speaks of (`LexicalIndex.common_terms`); a sentence
    holding only those ("OpenAI a besoin de 20 milliards de SoftBank" to "Combien vaut OpenAI ?") does not
    speak of the question's subject, and a question with no other word has no subject to compare on."""
    answer_type = expected_type(question)
    if answer_type is AnswerType.WHEN:
        answer_type = AnswerType.DATE
    if answer_type is None and _QUANTITY.search(question):
        answer_type = next((t for t in (AnswerType.PERCENTAGE, AnswerType.AMOUNT) if values(answer, t)), None)
    if answer_type not in COMPARED:
        return None
    subject = _FIRST.sub(" ", _LATEST.sub(" ", question))  # "la plus récente" asks when, not what
    topic = set(question_terms(subject)) - {t for v, _ in values(question, answer_type) for t in tokenize(v)}
    subject_words = topic - common
    if not subject_words:
        return None
    needed = max(1, math.ceil(min_topic_share * len(topic)))
    # the answer rests on a side when it cites any passage of that side's source (not only the passage
    # whose sentence was compared: "Sa valorisation actuelle tourne autour de 260 milliards" speaks of
    # too few of the question's words, the same article's lead does)
    cited_sources = {p.source_id for p in passages if p.number in cited}
    by_context: dict[tuple, list[Claim]] = {}
    for p in passages:
        for sentence in sentence_texts(p.text):
            words = set(tokenize(sentence))
            if len(topic & words) < needed or not subject_words & words:
                continue
            years = tuple(sorted(set(_YEAR.findall(sentence)))) if answer_type is not AnswerType.DATE else ()
            context = (years, bool(_CUMULATIVE.search(sentence)))
            for value, key in values(sentence, answer_type):
                day = None if p.about.date_guessed else p.about.date  # a file's date says nothing of the news
                claim = Claim(value, key, p.number, p.source_id, day, p.about.outlet)
                by_context.setdefault(context, []).append(claim)
    for claims in by_context.values():
        per_source: dict[str, dict[str, Claim]] = {}
        for c in claims:
            per_source.setdefault(c.source_id, {}).setdefault(c.key, c)
        # sources that give exactly one value here; a source giving several is not taken as a side
        sides = [next(iter(v.values())) for v in per_source.values() if len(v) == 1]
        keys = {c.key for c in sides}
        if len(sides) >= 2 and len(keys) >= 2 and any(c.source_id in cited_sources for c in sides):
            chosen: dict[str, Claim] = {}
            for c in sorted(sides, key=lambda c: c.date or "", reverse=True):
                chosen.setdefault(c.key, c)
            return Disagreement(tuple(chosen.values()), asks_about(question))
    return None


def across(question: str, answered: list[Passage], read: list[Passage], cited: set[int], answer: str = "",
           min_topic_share: float = 0.5, common: frozenset[str] = frozenset()) -> tuple[Disagreement | None,
                                                                                     list[Passage]]:
    """`find` over every passage read for the question: the answer's (`answered`), then those of `read` (an
    earlier attempt's) that it lacks. An answer asked again on its best passage alone still rests on one side
    of what the first passages showed. Returns the disagreement and the passages it names that the answer
    lacks, numbered after the answer's."""
    extra = unread(read, answered)
    last = max((p.number for p in answered), default=0)
    pool = [*answered, *(replace(p, number=last + i) for i, p in enumerate(extra, 1))]
    found = find(question, pool, cited, answer, min_topic_share, common)
    if found is None:
        return None, []
    renumber = {old: new for new, old in enumerate((n for n in found.numbers() if n > last), last + 1)}
    claims = tuple(replace(c, passage=renumber.get(c.passage, c.passage)) for c in found.claims)
    by_number = {p.number: p for p in pool}
    added = [replace(by_number[old], number=new) for old, new in renumber.items()]
    return Disagreement(claims, found.asks), added
