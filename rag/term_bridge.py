"""A question's words carried into the articles' language by the embedder, for the lexical side of
retrieval.

A French BM25 matches an English question only on the names and figures both languages share. The
embedder is multilingual, so the collection's words are embedded once, a word at a time, when `rag
index` builds (`TermBridge.build`; words already embedded by the previous build are reused). A question
written in another language than the collection's has each of its content words carried to the
collection's nearest words ("valuation" → "valeur", "valorisation"; "invest" → "investi",
"investissement"), those whose cosine reaches `floor` and comes within `margin` of the best, at most
`per_word` of them (`carry`). `Retriever.lexical_query` adds them to the question for BM25 and for the
question-term coverage of passage choice, and the verifier's `responsive` looks for them in the evidence
(`Retriever.carried`); the dense side reads the question as written. The numbers
are `RetrievalSettings.bridge_*`, calibrated on the English lines of the gold set and the PIAF tune half
put into English (`python bench/cross_language.py`). A question in the collection's own language is
left as it is.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.embedders.base import Embedder
from rag.language import detect_language
from rag.lexical import function_words

logger = logging.getLogger(__name__)

WORDS_FILE = "terms.json"
VECTORS_FILE = "terms.npy"
_WORD = re.compile(r"[^\W\d_]{3,}")  # letters only, three or more: no figures, no "l'", no "IA"
EMBED_BATCH = 256


def words_of(text: str) -> list[str]:
    """The content words of `text`, lower-cased, in order of first appearance; capitalised words (names,
    which both languages share and BM25 already matches) left out. A known limit, left as measured: a
    capitalised first word is left out too ("Valuation of OpenAI?" carries nothing)."""
    skip = function_words()
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(text) if not w[0].isupper()
                              and w.lower() not in skip))


@dataclass
class TermBridge:
    """The collection's words (`words`, row i of `vectors`: its unit embedding) and its language."""

    language: str
    words: list[str]
    vectors: np.ndarray

    @classmethod
    def build(cls, texts: Iterable[str], embedder: Embedder, previous: "TermBridge | None" = None,
              progress: Callable[[int, int, str], None] | None = None) -> "TermBridge":
        """The words of `texts` (the collection's sources), embedded; those of `previous` are not embedded
        again. The collection's language is the one most of its texts are written in."""
        texts = list(texts)
        languages = Counter(detect_language(t[:2000]) for t in texts)
        language = languages.most_common(1)[0][0] if languages else "fr"
        words = sorted({w.lower() for t in texts for w in _WORD.findall(t)} - function_words())
        known = dict(zip(previous.words, previous.vectors)) if previous is not None else {}
        vectors = np.zeros((len(words), embedder.dim), np.float16)
        todo = [i for i, w in enumerate(words) if w not in known]
        for i, w in enumerate(words):
            if w in known:
                vectors[i] = known[w]
        for b in range(0, len(todo), EMBED_BATCH):
            batch = todo[b:b + EMBED_BATCH]
            vectors[batch] = embedder.embed_queries([words[i] for i in batch])
            if progress:
                progress(min(b + EMBED_BATCH, len(todo)), len(todo), "embedding words")
        logger.info("term bridge: %d words (%d embedded), collection in %s", len(words), len(todo), language)
        return cls(language, words, vectors)

    def save(self, folder: Path) -> None:
        (folder / WORDS_FILE).write_text(json.dumps({"language": self.language, "words": self.words},
                                                    ensure_ascii=False), "utf-8")
        with open(folder / VECTORS_FILE, "wb") as fh:
            np.save(fh, self.vectors)

    @classmethod
    def load(cls, folder: Path) -> "TermBridge":
        data = json.loads((folder / WORDS_FILE).read_text("utf-8"))
        return cls(data["language"], data["words"], np.load(folder / VECTORS_FILE))

    @cached_property
    def _matrix(self) -> np.ndarray:
        """`vectors` in float32, converted once (numpy multiplies float16 slowly)."""
        return self.vectors.astype(np.float32)

    def carry(self, question: str, embedder: Embedder, floor: float, per_word: int = 2,
              margin: float = 0.02, own_words: bool = True) -> list[str]:
        """The collection's words nearest to the content words of `question`, when it is written in
        another language than the collection: for each word, up to `per_word` of them whose cosine
        reaches `floor` and is within `margin` of the best. Nothing for a question in the collection's
        language. `own_words` False: a word the collection also holds as written ("contract", in an English
        quote or link) is not one of them, as the question already gives it to BM25; its nearest other words
        are ("contrat", 0.969, which the word itself, 1.0, would have left outside the margin)."""
        if not self.words or detect_language(question) == self.language:
            return []
        nearest = self.nearest(words_of(question), embedder, floor, per_word, margin, own_words)
        return list(dict.fromkeys(w for carried in nearest.values() for w in carried))

    def nearest(self, words: list[str], embedder: Embedder, floor: float, per_word: int = 2, margin: float = 0.02,
                own_words: bool = True) -> dict[str, list[str]]:
        """Each of `words` (lower-case) with the collection's words nearest to it, as `carry` chooses them."""
        if not self.words or not words:
            return {word: [] for word in words}
        cosines = embedder.embed_queries(words) @ self._matrix.T
        found: dict[str, list[str]] = {}
        for word, row in zip(words, cosines):
            nearest = np.argsort(-row)[:per_word + 1]  # the word itself is among them at most once
            best = [i for i in nearest if own_words or self.words[i] != word][:per_word]
            found[word] = [self.words[i] for i in best if row[i] >= floor and row[i] >= row[best[0]] - margin]
        return found
