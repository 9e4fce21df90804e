"""Choosing the evidence the model reads: short windows of whole sentences cut from the retrieved
chunks around the sentences that best match the question.

The model reads a few hundred tokens instead of whole chunks, which is what keeps prefill (the
dominant cost on a CPU) short. A sentence scores its cosine to the question (from the index's
precomputed sentence vectors) plus the IDF-weighted share of the question's terms it contains; each
chunk offers windows around its best sentences; the best windows are kept within the budget (a window
overlapping a chosen one keeps only the sentences it adds), and passages are numbered from the least to
the best match (the best comes last, next to the question, where a small model reads most closely).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rag.chunking import split_sentences
from rag.config import EvidenceSettings
from rag.errors import IndexDamaged
from rag.furniture import is_furniture
from rag.injection import is_instruction
from rag.lexical import tokenize
from rag.metadata import ArticleMeta
from rag.retrieval import Hit

if TYPE_CHECKING:
    from rag.index import Index

logger = logging.getLogger(__name__)

Span = tuple[int, int, str]  # start, end (in the source text), sentence text


@dataclass(frozen=True)
class Passage:
    number: int
    chunk_id: str
    source_id: str
    title: str
    path: str
    start: int  # character span in the source text
    end: int
    text: str
    retrieval_rank: int
    dense_score: float | None
    lexical_score: float | None
    about: ArticleMeta = ArticleMeta()  # its article's headline, date, outlet, author, URL


def unread(passages: list[Passage], read: list[Passage]) -> list[Passage]:
    """The passages whose source span is not among `read`'s (their numbers aside)."""
    seen = {(p.source_id, p.start, p.end) for p in read}
    return [p for p in passages if (p.source_id, p.start, p.end) not in seen]


@dataclass(frozen=True)
class Window:
    """A candidate passage: whole sentences of one retrieved chunk around a seed sentence, scored by
    its seed (cosine + weighted question-term coverage); `cosines` are those of its sentences."""

    score: float
    hit: Hit
    start: int
    end: int
    text: str
    cosines: tuple[float, ...] = ()
    spans: tuple[Span, ...] = ()  # its sentences
    seed: int = 0  # the position in `spans` of the sentence it was grown around


def select_passages(question: str, hits: list[Hit], settings: EvidenceSettings | None = None,
                    index: "Index | None" = None, query_vector: np.ndarray | None = None) -> list[Passage]:
    """The passages for `question` from `hits`: windows around each chunk's `seeds_per_chunk` best
    sentences (`candidate_windows`), the best ones kept until `context_chars` or `max_passages`, an
    overlapping one trimmed to what it adds (`choose_windows`), numbered from the least to the best."""
    s = settings or EvidenceSettings()
    chosen = choose_windows(candidate_windows(question, hits, s, index, query_vector), s)
    if chosen and s.strong_score is not None and chosen[0].score >= s.strong_score:
        chosen = chosen[:s.strong_passages]  # a clear match: the next windows only distract and cost prefill
    return [Passage(n, w.hit.chunk.id, w.hit.chunk.source_id, w.hit.source.title, w.hit.source.path, w.start, w.end,
                    w.text, w.hit.rank, w.hit.dense_score, w.hit.lexical_score, w.hit.source.meta)
            for n, w in enumerate(reversed(chosen), 1)]


def best_score(question: str, hits: list[Hit], settings: EvidenceSettings, index: "Index | None" = None,
               query_vector: np.ndarray | None = None) -> float:
    """The score of the best candidate window of the hits (cosine + weighted coverage; 0 without any):
    how well the first reading matches the question (bench/evidence.py reads wider below a threshold)."""
    return max((w.score for w in candidate_windows(question, hits, settings, index, query_vector)), default=0.0)


def candidate_windows(question: str, hits: list[Hit], settings: EvidenceSettings, index: "Index | None" = None,
                      query_vector: np.ndarray | None = None) -> list[Window]:
    """Every candidate window of the hits. With `index` (the snapshot the hits came from), sentence
    cosines come from its sentence vectors (given `query_vector`), term weights from its IDF, and a
    window ending with a colon (or a question, with `complete_questions`) can take the sentence it
    announces from past the chunk's end. With `rank_weight`, a chunk's sentences also score
    `rank_weight / its retrieval rank`.
    Instruction-like sentences and page furniture ("cliquez ici") are dropped; without `title_windows`, so
    is a window that is only the article's title line."""
    weights = question_weights(question, index)
    windows: list[Window] = []
    for hit in hits:
        sentences, cosines = _sentences(hit, index, query_vector)
        if not sentences:
            continue
        prior = settings.rank_weight / hit.rank
        scores = [prior + cosine + settings.coverage_weight * coverage(text, weights)
                  for (_, _, text), cosine in zip(sentences, cosines)]
        windows.extend(_chunk_windows(hit, sentences, cosines, scores, settings,
                                      index.source_text if index is not None else None))
    return windows


def question_weights(question: str, index: "Index | None") -> dict[str, float]:
    """The question's stems weighted by their IDF in the index (uniform without one), summing to 1."""
    stems = list(dict.fromkeys(tokenize(question)))
    weights = {t: (index.lexical.idf(t) if index is not None else 1.0) for t in stems}
    total = sum(weights.values()) or 1.0
    return {t: w / total for t, w in weights.items()}


def coverage(text: str, weights: dict[str, float]) -> float:
    """IDF-weighted share of the question's terms found in `text`."""
    stems = set(tokenize(text))
    return sum(w for t, w in weights.items() if t in stems)


def _sentences(hit: Hit, index: "Index | None", query_vector: np.ndarray | None) -> tuple[list[Span], list[float]]:
    """The chunk's sentences (instruction-like ones and page furniture dropped) as source spans, with their
    cosines."""
    c = hit.chunk
    spans = split_sentences(c.text)
    if index is not None and query_vector is not None:
        cosines = index.sentence_vectors(hit.row) @ query_vector
        if len(cosines) != len(spans):
            raise IndexDamaged(f"chunk {c.id} has {len(spans)} sentences but {len(cosines)} sentence vectors; "
                               "run `rag index --rebuild`")
    else:
        cosines = np.zeros(len(spans))
    sentences, kept = [], []
    for span, cosine in zip(spans, cosines):
        text = c.text[span.start:span.end]
        if is_instruction(text):
            logger.warning("dropped an instruction-like sentence from %s: %r", hit.source.path, text[:80])
            continue
        if is_furniture(text):
            logger.debug("dropped page furniture from %s: %r", hit.source.path, text[:80])
            continue
        sentences.append((c.start + span.start, c.start + span.end, text))
        kept.append(float(cosine))
    return sentences, kept


def _chunk_windows(hit: Hit, sentences: list[Span], cosines: list[float], scores: list[float], s: EvidenceSettings,
                   source_text: Callable[[str], str] | None) -> list[Window]:
    """Candidate windows of one chunk: one per seed (several seeds per chunk, so that a chunk whose best
    window is taken by an overlapping chunk can still offer its next-best fact)."""
    out = []
    seeds = [i for i in range(len(sentences)) if s.question_seeds or not is_question(sentences[i][2])]
    for seed in sorted(seeds, key=lambda i: -scores[i])[:s.seeds_per_chunk]:
        lo, hi = _grow(sentences, scores, seed, s.window_chars)
        window = sentences[lo:hi + 1]
        variants = [window]
        if announces(window[-1][2], s.complete_questions):
            # the completed window first; the window as grown if the completed one is over budget
            following = _following(sentences, hi, source_text, hit)
            variants.insert(0, _complete(window, following, s.context_chars))
        out.extend(_window(scores[seed], hit, w, seed - lo,
                           # its sentences are sentences[lo:], and one past the chunk has no cosine here
                           tuple(cosines[lo:lo + len(w)])) for w in variants
                   if s.title_windows or not is_title(w, hit))
    return out


def is_question(sentence: str) -> bool:
    """Is the sentence a question ("Pas de quoi s'inquiéter ?", "En quoi consiste le protocole ?")?"""
    return sentence.rstrip(" »\"')").endswith("?")


def _window(score: float, hit: Hit, spans: list[Span] | tuple[Span, ...], seed: int,
            cosines: tuple[float, ...]) -> Window:
    return Window(score, hit, spans[0][0], spans[-1][1], " ".join(t for _, _, t in spans), cosines, tuple(spans),
                  seed)


def _letters(text: str) -> str:
    """The text's words, lower-cased, without HTML tags or punctuation ("<i>Chelidonium majus</i>")."""
    return " ".join(re.sub(r"<[^>]*>|[^\w]+", " ", text).casefold().split())


def is_title(window: list[Span], hit: Hit) -> bool:
    """Is the window only its article's title line: one line with no closing punctuation that reads as the
    title from the file or its metadata? (A one-sentence article whose title is its first words is not.)"""
    if len(window) != 1 or re.search(r"[.!?…]\W*$", window[0][2]):
        return False
    text = _letters(window[0][2])
    return bool(text) and text in {_letters(t) for t in (hit.source.title, hit.source.meta.title) if t}


def _grow(sentences: list[Span], scores: list[float], seed: int, window_chars: int) -> tuple[int, int]:
    """Extend the window around `seed` with its better-scoring neighbour while it fits."""
    lo = hi = seed
    while True:
        options = []
        if lo > 0:
            options.append((scores[lo - 1], lo - 1, hi))
        if hi + 1 < len(sentences):
            options.append((scores[hi + 1], lo, hi + 1))
        grown = [o for o in options if sentences[o[2]][1] - sentences[o[1]][0] <= window_chars]
        if not grown:
            return lo, hi
        _, lo, hi = max(grown)


def _next_sentence(source_text: Callable[[str], str] | None, hit: Hit, end: int) -> Span | None:
    """The sentence that follows character `end` of the hit's source, when the source text is at hand."""
    if source_text is None:
        return None
    following = source_text(hit.chunk.source_id)[end:end + 1000]
    spans = split_sentences(following)
    if not spans or is_instruction(text := following[spans[0].start:spans[0].end]) or is_furniture(text):
        return None
    return end + spans[0].start, end + spans[0].end, text


def _following(sentences: list[Span], hi: int, source_text: Callable[[str], str] | None, hit: Hit) -> Iterator[Span]:
    """The sentences after `sentences[hi]`: the chunk's own, then the source's past the chunk's end."""
    yield from sentences[hi + 1:]
    end = sentences[-1][1]
    while (span := _next_sentence(source_text, hit, end)) is not None:
        yield span
        end = span[1]


def announces(sentence: str, questions: bool = False) -> bool:
    """Does the sentence announce the one after it: a colon ("… dans trois domaines clés :"), or with
    `questions` the article's own question, which its next sentence answers ("L'enjeu principal ?
    Permettre à Microsoft…"; a FAQ's "En quoi consiste le protocole d'entente ? Il s'agit d'un
    accord…")? A window ending there without that sentence gives the model the announcement, not what
    it announces."""
    return sentence.rstrip().endswith((":", "?") if questions else ":")


_LIST_ITEM = re.compile(r"\s*(?:[-–—•*·▪]|\d{1,2}[.)])\s")


def _complete(window: list[Span], following: Iterator[Span], list_chars: int) -> list[Span]:
    """A window ending with a colon or a question announces what follows (`announces`): it takes the
    next sentence, and when that is the first item of a list ("- …"), the list's next items while the
    window fits in `list_chars` (the window as grown stays a candidate when this one is over budget)."""
    first = next(following, None)
    if first is None:
        return window
    completed = [*window, first]
    if _LIST_ITEM.match(first[2]):
        for item in following:
            if not _LIST_ITEM.match(item[2]) or item[1] - window[0][0] > list_chars:
                break
            completed.append(item)
    return completed


def near_duplicates(a: str, b: str, overlap: float) -> bool:
    """Do two texts share at least `overlap` of their stems, both ways? (The same paragraph in two
    copies of an article, or the same dispatch in two outlets.)"""
    sa, sb = set(tokenize(a)), set(tokenize(b))
    if not sa or not sb:
        return a.strip() == b.strip()
    common = len(sa & sb)
    return common >= overlap * len(sa) and common >= overlap * len(sb)


def _overlaps(a: Window, b: Window) -> bool:
    return a.hit.chunk.source_id == b.hit.chunk.source_id and a.start < b.end and b.start < a.end


def trimmed(window: Window, chosen: list[Window]) -> Window | None:
    """The window without the sentences that chosen windows of its source already give: the run of its
    sentences around its seed that none of them covers, or None when its seed is covered. ("Selon le
    Financial Times, … dans nos quotidiens." chosen, the next chunk's window "Nous sommes loin … nos
    quotidiens. Sa valorisation actuelle tourne autour de 260 milliards…" still offers its seed.)"""
    same = [c for c in chosen if c.hit.chunk.source_id == window.hit.chunk.source_id]
    free = [not any(start < c.end and c.start < end for c in same) for start, end, _ in window.spans]
    if not window.spans or not free[window.seed]:
        return None
    lo = hi = window.seed
    while lo > 0 and free[lo - 1]:
        lo -= 1
    while hi + 1 < len(free) and free[hi + 1]:
        hi += 1
    return _window(window.score, window.hit, window.spans[lo:hi + 1], window.seed - lo, window.cosines[lo:hi + 1])


def joined(run: Window, chosen: list[Window]) -> tuple[Window, list[Window]]:
    """A trimmed window (`trimmed`) joined to the chosen windows of its source it touches, which give the
    sentences just before and after it: one passage that reads on ("… quelle part du capital Microsoft
    devrait-il obtenir ? Les discussions oscillent entre 20 % et 49 %"), in the place of the first of
    them. Returns the joined window and the chosen windows it replaces."""
    same = [c for c in chosen if c.hit.chunk.source_id == run.hit.chunk.source_id and c.spans]
    before = next((c for c in same if _touches(c.spans[-1], run.spans[0])), None)
    after = next((c for c in same if _touches(run.spans[-1], c.spans[0])), None)
    if before is None and after is None:
        return run, []
    parts = [w for w in (before, run, after) if w is not None]
    spans = tuple(span for w in parts for span in w.spans)
    cosines = tuple(x for w in parts for x in w.cosines)
    # the joined window takes the place, score and seed of the chosen window it extends
    first, seed = (before, before.seed) if before is not None else (after, len(run.spans) + after.seed)
    return _window(first.score, first.hit, spans, seed, cosines), [c for c in (before, after) if c is not None]


def _touches(a: Span, b: Span) -> bool:
    """Is sentence `b` the one right after `a` in their source (nothing but white space between)?"""
    return 0 <= b[0] - a[1] <= 2


def choose_windows(windows: list[Window], s: EvidenceSettings) -> list[Window]:
    """The best windows, best first, skipping those that repeat a chosen one's text (near-identical copies)
    or would pass the budget. A window overlapping a chosen one of its source is skipped
    (`overlapping = "skip"`), or keeps the sentences around its seed that no chosen one gives ("trim"), and
    those are joined to the chosen windows they touch ("join")."""
    chosen: list[Window] = []
    used = 0
    for w in sorted(windows, key=lambda w: (-w.score, w.hit.rank)):
        replaced: list[Window] = []
        if any(_overlaps(w, c) for c in chosen):
            if s.overlapping == "skip" or (w := trimmed(w, chosen)) is None:
                continue
            if s.overlapping == "join":
                w, replaced = joined(w, chosen)
        others = [c for c in chosen if all(c is not r for r in replaced)]
        if any(near_duplicates(c.text, w.text, s.duplicate_overlap) for c in others):
            continue
        extra = len(w.text) - sum(len(c.text) + 1 for c in replaced)
        if chosen and used + extra > s.context_chars:
            continue
        if len(chosen) >= s.max_passages and not replaced:
            break
        used += extra
        if replaced:
            chosen = [w if c is replaced[0] else c for c in chosen if all(c is not r for r in replaced[1:])]
        else:
            chosen.append(w)
    return chosen
