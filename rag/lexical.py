"""French-aware lexical retrieval: bm25s over Snowball-stemmed tokens, stop words and elisions removed."""

from __future__ import annotations

import json
import logging
import math
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.language import ENGLISH_MARKERS, EXTRA_STOP_WORDS, QUESTION_FRAMING, without_corpus_reference

logger = logging.getLogger(__name__)


def _bm25s():
    """The bm25s module, with its per-build DEBUG logging (set up on import) turned down."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s

_ELISION = re.compile(r"\b(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu|presqu)['’](?=\w)", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("french")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_FRENCH

    return frozenset(STOPWORDS_FRENCH) | EXTRA_STOP_WORDS


@lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    """Words that carry nothing of their own in either language ("does" is nearest to "voilà"): French and
    English stop words, and the function words language detection reads."""
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | ENGLISH_MARKERS | stop_words() | frozenset("can could would should also".split())


@lru_cache(maxsize=1)
def function_stems() -> frozenset[str]:
    """`function_words` as `tokenize` stems them: the English ones French stemming keeps ("its" -> "it")."""
    return frozenset(tokenize(" ".join(sorted(function_words()))))


@lru_cache(maxsize=1)
def _question_framing() -> frozenset[str]:
    return frozenset(tokenize(QUESTION_FRAMING))


def question_terms(question: str) -> list[str]:
    """Stems of the question's content words, without those that only frame a question ("combien", "quel"…)
    or refer to the articles themselves ("selon les sources")."""
    framing = _question_framing()
    return [t for t in dict.fromkeys(tokenize(without_corpus_reference(question))) if t not in framing]


def fold(text: str) -> str:
    """Lower-case and drop accents (for comparisons that should not care about either)."""
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Stems of the content words of `text`: elisions split off (l'/d'/qu'…), stop words dropped,
    Snowball French stemming, accents folded after stemming."""
    text = _ELISION.sub(" ", text.lower())
    words = [w for w in _WORD.findall(text) if w not in stop_words() and (len(w) > 1 or w.isdigit())]
    return [fold(stem) for stem in _stemmer().stemWords(words)]


class LexicalIndex:
    """BM25 over chunk texts; scores every chunk for a query and knows each stem's document frequency."""

    def __init__(self, retriever=None, df: dict[str, int] | None = None, n_docs: int = 0) -> None:
        self._bm25 = retriever
        self.df = df or {}
        self.n_docs = n_docs

    @classmethod
    def build(cls, texts: list[str], stats_only: bool = False) -> "LexicalIndex":
        """BM25 over `texts`; `stats_only`: the document frequencies alone (another engine runs BM25)."""
        retriever = _bm25s().BM25(k1=1.2, b=0.75)
        df: Counter[str] = Counter()
        corpus = [tokenize(t) or ["_empty_"] for t in texts]
        for tokens in corpus:
            df.update(set(tokens))
        if texts and not stats_only:
            retriever.index(corpus, show_progress=False)
        return cls(retriever if texts and not stats_only else None, dict(df), len(texts))

    def idf(self, term: str) -> float:
        """Inverse document frequency of a stem (never-seen stems count as seen once)."""
        return math.log(1 + self.n_docs / max(self.df.get(term, 0), 1))

    def rare_terms(self, text: str, max_share: float = 0.2) -> list[str]:
        """Stems of `text` found in at least one chunk and at most `max_share` of them (a stem no chunk
        holds tells no chunk from another), leaving out the words that frame a question ("combien",
        "quel", "chez"…) but name no topic."""
        limit = max_share * max(self.n_docs, 1)
        return [t for t in question_terms(text) if 0 < self.df.get(t, 0) <= limit]

    def common_terms(self, text: str, min_share: float = 0.5, min_chunks: int = 10) -> frozenset[str]:
        """Stems of `text` found in more than `min_share` of the chunks: words that name what the whole
        collection is about ("OpenAI" and "Microsoft" in the seed articles), not one of its subjects. A
        collection of fewer than `min_chunks` chunks tells no such word (two articles on one valuation
        both say "valorisation")."""
        if self.n_docs < min_chunks:
            return frozenset()
        limit = min_share * self.n_docs
        return frozenset(t for t in question_terms(text) if self.df.get(t, 0) > limit)

    def scores(self, query: str) -> np.ndarray | None:
        """BM25 score of every chunk, or None when no query term is in the vocabulary."""
        if self._bm25 is None:
            return None
        vocab = self._bm25.vocab_dict
        terms = [t for t in tokenize(query) if t in vocab]
        if not terms:
            return None
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    def save(self, folder: Path) -> None:
        (folder / "df.json").write_text(json.dumps({"n_docs": self.n_docs, "df": self.df}, ensure_ascii=False))
        if self._bm25 is not None:
            self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        bm25s = _bm25s()
        stats = json.loads((folder / "df.json").read_text("utf-8"))
        if not (folder / "params.index.json").exists():
            return cls(None, stats["df"], stats["n_docs"])
        return cls(bm25s.BM25.load(str(folder), show_progress=False, verbosity=0), stats["df"], stats["n_docs"])
