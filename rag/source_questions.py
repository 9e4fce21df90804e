"""Questions about an article itself — who signs it, what date it bears, where it comes from, its title,
its link — answered from its metadata (`rag.metadata`, the card every citation shows), not by the model.

    field = asked_field("Qui a écrit l'article sur la relation à 13 milliards ?")   # Field.AUTHOR
    found = answer_from_metadata(field, question, hits, index, "fr")
    found.text      # "L'article « La relation à 13 milliards de dollars… » est signé Hugo. T [1]."
    found.passage   # the line of the article that says so ("Hugo. T"), or its headline when only the card does

The model reads passages, and the byline, the reference line's URL or the article's own "aujourd'hui, en
mai 2025" are rarely among them: asked "who wrote it", the 1.5B reader names the company the article is
about. The metadata already holds the answer (or knows it has none: a date that is only the file's is
not the article's), so it is looked up. The question must name the article as its object ("l'article",
"ce billet", "the post"), so that "Qui a écrit Harry Potter ?" or "En quelle année GPT-3 a-t-il été
publié ?" stay the model's. Which article: the one whose outlet or author the question names, else,
among the sources of the best retrieved chunks, the one whose text holds most of the words the question
describes it with ("l'article sur le protocole d'entente"); none when no article holds half of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import TYPE_CHECKING

from rag.chunking import split_sentences
from rag.evidence import Passage
from rag.lexical import function_stems, question_terms, tokenize
from rag.metadata import ArticleMeta, cut_at_word, format_day

if TYPE_CHECKING:
    from rag.filters import SourceFilter
    from rag.index import Index
    from rag.retrieval import Hit


# set a priori, not calibrated on any question set (no set had such questions before this module's own)
DESCRIBED_SHARE = 0.5  # of the words describing the article that its text must hold
SOURCES_LOOKED_AT = 3  # the sources of the best retrieved chunks that may be the one meant
LINE_CHARS = 300  # a line up to this long is cited whole (a byline, a reference line)


class Field(str, Enum):
    AUTHOR = "author"
    DATE = "date"
    OUTLET = "outlet"
    TITLE = "title"
    URL = "url"


# the article as a question's object, not as its reference ("selon l'article", "the article says")
_ARTICLE_WORDS = {"article", "articles", "billet", "post", "posts", "story", "piece"}
_REFERENCE = re.compile(r"\b(?:selon|d'après|dans|according to|in)\s+(?:l'|le |la |les |cet |cette |ce |the |this |that )?"
                        r"(?:article|billet|post|story|piece)s?\b")
_REPORTING = {"dit", "disent", "affirme", "indique", "explique", "mentionne", "rapporte", "évoque", "cite", "précise",
              "say", "says", "said", "mention", "mentions", "state", "states", "report", "reports", "claim", "claims"}
_RELATIVE = {"qui", "que", "dont", "où", "that", "which", "saying"}
_NOT_THE_ARTICLE = {"premier", "premiers"}  # "article premier" (of a law or a treaty), like "article 5"
# (words that ask for the field, words next to the article that name it)
_ASKS: dict[Field, tuple[re.Pattern[str], re.Pattern[str]]] = {
    Field.AUTHOR: (re.compile(r"\b(?:qui|who|whom|auteure?s?|autrices?|signataire|journaliste|author|authors|writer|"
                              r"byline)\b"),
                   re.compile(r"^(?:écrit|ecrit|rédigé|redige|signée?|signe|auteure?s?|autrices?|signataire|wrote|written|"
                              r"authored|signed|author|authors|writer|byline)$")),
    Field.DATE: (re.compile(r"\b(?:quand|quelle date|quel jour|de quand|en quelle année|en quel mois|date|when|what date|"
                            r"which date|what day|what year)\b"),
                 re.compile(r"^(?:publiée?|parue?|écrite?|ecrite?|datée?|date|published|written|dated|posted)$")),
    Field.OUTLET: (re.compile(r"\b(?:quel|quelle|qui|d'où|source|which|what|who|where)\b"),
                   re.compile(r"^(?:publiée?|parue?|vient|provient|source|média|journal|published|ran|comes?|"
                              r"outlet|newspaper)$")),
    Field.TITLE: (re.compile(r"\b(?:quel|quelle|comment|what|which|how)\b"),
                  re.compile(r"^(?:titre|titré|titrée|intitulé|intitulée|intitule|title|titled|headline|entitled)$")),
    Field.URL: (re.compile(r"\b(?:quel|quelle|où|what|which|where)\b"),
                re.compile(r"^(?:lien|url|adresse|link|address)$")),
}
_NEAR = 5  # the word that names the field and the article at most this many words apart
_SUBJECT = 4  # or the article among the question's first words, its subject ("Quand l'article X a-t-il été publié ?")


def _plain(question: str) -> str:
    return " ".join(question.lower().replace("’", "'").split())


def _reports(after_article: list[str]) -> bool:
    """Is the article what says the asked fact ("l'article dit-il que…", "does the article say")? Not when
    a relative clause describes the article ("l'article qui dit que…", "the article that says…")."""
    for word in after_article:
        if word in _RELATIVE:
            return False
        if word.split("-")[0] in _REPORTING:
            return True
    return False


def asked_field(question: str) -> Field | None:
    """The article's field the question asks for, or None when it asks about something else: the article
    must be what the field's word is about (next to it, or the question's subject), not where an answer
    is read ("selon l'article", "l'article dit-il")."""
    q = _REFERENCE.sub(" ", _plain(question))
    words = re.findall(r"[\w-]+", q)
    articles = [i for i, w in enumerate(words) if w in _ARTICLE_WORDS
                and not (i + 1 < len(words) and (words[i + 1] in _NOT_THE_ARTICLE or words[i + 1][0].isdigit()))]
    if not articles or _reports(words[articles[0] + 1:articles[0] + 4]):
        return None
    for field, (asks, names) in _ASKS.items():
        if not asks.search(q):
            continue
        marks = [i for i, w in enumerate(words) if names.match(w)]
        if any(abs(i - j) <= _NEAR for i in marks for j in articles):
            return field
        if articles[0] <= _SUBJECT and any(i > articles[0] for i in marks):
            return field
    return None


_SENTENCE = {
    "fr": {Field.AUTHOR: "L'article « {title} » est signé {value}.",
           Field.DATE: "L'article « {title} » est daté {de} {value}.",
           Field.OUTLET: "L'article « {title} » a pour source {value}.",
           Field.TITLE: "L'article est titré « {value} ».",
           Field.URL: "L'article « {title} » renvoie à {value}."},
    "en": {Field.AUTHOR: "The article “{title}” is by {value}.",
           Field.DATE: "The article “{title}” is dated {value}.",
           Field.OUTLET: "The article “{title}” comes from {value}.",
           Field.TITLE: "The article is titled “{value}”.",
           Field.URL: "The article “{title}” links to {value}."},
}


def _named(question: str, value: str | None) -> bool:
    return bool(value) and re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", _plain(question)) is not None


# the words of these questions that ask for a field or name the article: not what describes the article
_FIELD_WORDS = ("écrit écrite rédigé signé signe auteur auteurs autrice signataire journaliste publié publiée paru "
                "parue daté datée date publication parution média journal site source vient provient article articles "
                "billet post posts wrote written authored signed author writer byline published dated posted outlet "
                "newspaper story piece comes quand when cet cette ces ce this that these those titre titré intitulé title "
                "titled headline lien url adresse link address")


@lru_cache(maxsize=1)
def _not_describing() -> frozenset[str]:
    """Stems that say nothing of which article is meant: the field's and the article's words, function words."""
    return frozenset(tokenize(_FIELD_WORDS)) | function_stems()


def describing_words(description: str) -> list[str]:
    """The stems `description` describes an article with (not the field's words, not function words)."""
    return [t for t in dict.fromkeys(question_terms(description)) if t not in _not_describing()]


def described_share(wanted: list[str], text: str, asked: int | None = None) -> float:
    """The share of the words describing the article (`wanted`, `describing_words`) that `text` holds (0
    when there are none). Out of `asked` words when given: the question's own, which the description may
    follow with the words they were carried to in the articles' language ("relationship" → relation), any
    of which may be held."""
    if not wanted:
        return 0.0
    held = set(tokenize(text))
    return min(1.0, sum(t in held for t in wanted) / (asked or len(wanted)))


def designated_source(question: str, description: str, hits: list["Hit"], index: "Index",
                      where: "SourceFilter | None" = None) -> str | None:
    """The source the question means: the only one whose outlet or author it names; else the only source
    there is; else, among the sources of the best retrieved chunks (the first `SOURCES_LOOKED_AT`), the one
    whose text holds the largest share of the words `description` describes it with, at least
    `DESCRIBED_SHARE` (an English question's words are carried into the articles' language). None when no
    article fits. Only the sources `where` keeps, as for any answer."""
    sources = {sid: info for sid, info in index.sources.items() if info.chunks and (where is None or where.allows(info))}
    named = [sid for sid, info in sources.items() if _named(question, info.outlet) or _named(question, info.author)]
    if len(named) == 1:
        return named[0]
    if len(sources) == 1:
        return next(iter(sources))
    candidates = [sid for sid in dict.fromkeys(hit.chunk.source_id for hit in hits) if sid in sources][:SOURCES_LOOKED_AT]
    asked = len(describing_words(question)) if description.startswith(question) else None
    wanted = describing_words(description)
    shares = {sid: described_share(wanted, index.source_text(sid), asked) for sid in candidates}
    best = max(candidates, key=lambda sid: shares[sid], default=None)  # the first of equals: the better ranked
    return best if best is not None and shares[best] >= DESCRIBED_SHARE else None


def value_of(meta: ArticleMeta, field: Field, language: str) -> str | None:
    """The field as a reader writes it; a date that is only the file's is no date of the article."""
    if field is Field.AUTHOR:
        return meta.author
    if field is Field.OUTLET:
        return meta.outlet
    if field is Field.URL:
        return meta.url
    if field is Field.TITLE:  # a lede cut at a word stands for a headline the article does not have
        return meta.title if meta.title and not meta.title.endswith("…") else None
    return format_day(meta.date, language) if meta.date and not meta.date_guessed else None


def _clue(meta: ArticleMeta, field: Field, language: str) -> list[str]:
    """What the article's text may say that gave the field: the byline, the reference URL, the stated date."""
    if field in (Field.AUTHOR, Field.TITLE, Field.URL):
        return [value_of(meta, field, language) or ""]
    if field is Field.OUTLET:
        return [meta.url or "", meta.outlet or ""]
    return [meta.url or "", value_of(meta, field, language) or "", value_of(meta, field, "fr") or ""]


def located(text: str, clues: list[str]) -> tuple[int, int]:
    """Where `text` gives the first clue that occurs in it: its line when short (a byline, a reference
    line), else the sentences it spans; else the headline (the first sentence), whose card holds the field."""
    lowered = text.lower()
    spans = split_sentences(text)
    for clue in filter(None, clues):
        at = lowered.find(clue.lower())
        if at < 0:
            continue
        start, end = text.rfind("\n", 0, at) + 1, text.find("\n", at)
        end = len(text) if end < 0 else end
        if end - start > LINE_CHARS:
            over = [sp for sp in spans if sp.end > at and sp.start < at + len(clue)]
            if over:
                start, end = over[0].start, over[-1].end
        while start < end and text[start].isspace():
            start += 1
        return start, len(text[:end].rstrip())
    first = spans[0] if spans else None
    return (first.start, first.end) if first else (0, min(len(text), 200))


def short_title(title: str, cut: int = 80) -> str:
    return cut_at_word(title.strip().rstrip("…").strip(), cut)


@dataclass(frozen=True)
class SourceAnswer:
    value: str | None  # None: the metadata does not give it
    passage: Passage  # where the article says it, or its headline
    text: str = ""  # the answer sentence, without its citation ("" when the value is unknown)


def answer_from_metadata(field: Field, question: str, hits: list["Hit"], index: "Index", language: str,
                         description: str | None = None, where: "SourceFilter | None" = None) -> SourceAnswer | None:
    """The field of the article the question designates, with the passage to cite; None when no article
    fits (`designated_source`). `description` is what describes the article (the question by default; an
    English question's words carried into the articles' language, or a follow-up's previous exchange)."""
    source_id = designated_source(question, description or question, hits, index, where)
    if source_id is None:
        return None
    info = index.sources[source_id]
    meta = info.meta
    text = index.source_text(source_id)
    value = value_of(meta, field, language)
    start, end = located(text, _clue(meta, field, language) if value else [])
    chunks = [index.chunk(cid) for cid in info.chunks]
    chunk = next((c for c in chunks if c.start <= start < c.end), chunks[0])
    rank = next((h.rank for h in hits if h.chunk.id == chunk.id), 0)
    passage = Passage(1, chunk.id, source_id, info.title, info.path, start, end, text[start:end], rank, None, None,
                      meta)
    if value is None:
        return SourceAnswer(None, passage)
    templates = _SENTENCE.get(language, _SENTENCE["fr"])
    sentence = templates[field].format(title=short_title(info.title), value=value,
                                       de="du" if value[:1].isdigit() else "de")
    return SourceAnswer(value, passage, sentence)
