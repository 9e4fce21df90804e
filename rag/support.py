"""How well a passage supports a claim: pluggable scorers returning 0..1.

- `lexical` (default, deterministic): share of the claim's content stems found in the evidence,
  halved when a number or a name (a capitalised word after the first) of the claim is missing from it;
  with an embedder, the best cosine between the claim and an evidence sentence is mapped onto 0..1
  (halved in the same way; across languages a name also counts when the evidence spells it otherwise)
  and the larger of the two is kept (this lets an English sentence be checked against French evidence).
- `cross-encoder:<path>`: a sentence-transformers CrossEncoder (NLI or relevance) from a local path.
- `llm`: the answering GGUF asked a yes/no question (slow).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from difflib import get_close_matches
from typing import TYPE_CHECKING

import numpy as np

from rag.answer_types import canonical
from rag.chunking import sentence_texts
from rag.config import VerifySettings
from rag.embedders import Embedder
from rag.errors import MissingDependency, SettingsError
from rag.language import detect_language
from rag.lexical import fold, tokenize

if TYPE_CHECKING:
    from rag.term_bridge import TermBridge

SUPPORT_THRESHOLD = VerifySettings.support_threshold
NAME_SPELLING_RATIO = VerifySettings.name_spelling_ratio
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


class SupportScorer(ABC):
    name: str
    threshold: float = SUPPORT_THRESHOLD

    @abstractmethod
    def score(self, claim: str, evidence: str, question: str = "") -> float:
        """0..1: how well `evidence` supports `claim` (an answer to `question`, when given)."""

    def supports(self, claim: str, evidence: str, question: str = "") -> bool:
        return self.score(claim, evidence, question) >= self.threshold

    def remember(self, sentences: list[str], vectors: np.ndarray) -> None:
        """Vectors already known for evidence sentences (from the index); scorers may reuse them."""

    def use_words(self, terms: "TermBridge | None") -> None:
        """The collection's words (the index's `rag.term_bridge`); scorers may carry a claim's names into
        the articles' language with them."""


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", ".") for n in _NUMBER.findall(text.replace("\u202f", "").replace(" ", " "))}


def names_in(text: str) -> set[str]:
    """Capitalised words after the first word (proper names, mostly), folded."""
    words = _WORD.findall(text)
    return {fold(w) for w in words[1:] if len(w) > 1 and w[0].isupper()}


Carry = Callable[[str], Iterable[str]]  # a folded word -> the collection's words it is carried to


def misses_key_terms(claim: str, evidence: str, question: str = "", across_languages: bool = False,
                     spelling_ratio: float = NAME_SPELLING_RATIO, carry: Carry | None = None) -> bool:
    """Does the claim carry a number or a name that the evidence does not? (Names the question
    already gives are not the claim's own.) Across languages a name may be spelt otherwise
    ("California" for "Californie") or spelt out from an acronym ("Right of First Refusal" for ROFR):
    it is missing only when the evidence holds it in no such form (`spelt_elsewhere`)."""
    if numbers_in(claim) - numbers_in(evidence):
        return True
    names = names_in(claim)
    if not names:  # most claims: the evidence need not be read word by word
        return False
    given = {fold(w) for w in _WORD.findall(evidence)} | {fold(w) for w in _WORD.findall(question)}
    names -= given
    if names and across_languages:
        names -= spelt_elsewhere(claim, f"{evidence} {question}", given, spelling_ratio, carry)
    return bool(names)


# small words that may stand between the capitalised words of one name ("Right of First Refusal")
_CONNECTORS = frozenset({"of", "the", "for", "de", "du", "des", "la", "le", "d"})
_TOKEN = re.compile(r"[^\W\d_]+|[^\w\s]")


def name_runs(text: str) -> list[list[str]]:
    """Runs of capitalised words, small words allowed between them; punctuation ends a run."""
    runs: list[list[str]] = []
    run: list[str] = []
    for token in [*_TOKEN.findall(text), "."]:
        if token[0].isupper():
            run.append(token)
            continue
        if run and token.lower() in _CONNECTORS:
            run.append(token)
            continue
        while run and not run[-1][0].isupper():
            run.pop()
        if run:
            runs.append(run)
        run = []
    return runs


def spelt_elsewhere(claim: str, evidence: str, evidence_words: set[str],
                    spelling_ratio: float = NAME_SPELLING_RATIO, carry: Carry | None = None) -> set[str]:
    """The claim's names that `evidence` holds in another form. A name is one run of capitalised words
    (`name_runs`); its words count as found when one of them is at least `spelling_ratio` alike to
    a folded word of the evidence (difflib: "Californie", "États-Unis" for "United States") or has two
    letters or fewer ("AI" for "IA"), or when its initials make an acronym of the evidence ("Right of
    First Refusal" for ROFR). A capitalised word that is a month or a number in English ("9 May 1945",
    "the Seven Years' War") is found when the evidence says the same month or number in its own words
    ("9 mai 1945", "la guerre de Sept Ans": `answer_types.canonical`). With `carry` (the embedder's
    nearest words of the collection, `LexicalScorer.use_words`), a word is also found when the evidence
    holds one of the words it is carried to ("Spain", "Spanish": "Espagne"; "Hungary": "Hongrie")."""
    acronyms = {w for w in _WORD.findall(evidence) if len(w) >= 2 and w.isupper()}
    translated = {canonical(w) for w in evidence_words} - evidence_words
    found: set[str] = set()
    for run in name_runs(claim):
        capitals = [w for w in run if w[0].isupper()]
        initials = {"".join(w[0] for w in run).upper(), "".join(w[0] for w in capitals)}
        if initials & acronyms or any(len(w) <= 2 or canonical(fold(w)) in translated
                                      or get_close_matches(fold(w), evidence_words, n=1, cutoff=spelling_ratio)
                                      or (carry is not None and evidence_words.intersection(map(fold, carry(fold(w)))))
                                      for w in capitals):
            found |= {fold(w) for w in capitals}
    return found


class LexicalScorer(SupportScorer):
    """Stem overlap, and with an embedder the claim–sentence cosine mapped onto 0..1 between
    `cosine_low` and `cosine_high` (by default the embedder's own band, `CosineScale`);
    `name_spelling_ratio`: how alike a word of the evidence must be to a claim's name in the other
    language (`spelt_elsewhere`); `name_carry_floor`, `name_carry_per_word`: a claim's name not found
    in the evidence is carried to at most `name_carry_per_word` of the collection's words whose cosine
    to it reaches the floor (with the collection's words, `use_words`; a floor of None or 0 words: not
    carried)."""

    name = "lexical"

    def __init__(self, embedder: Embedder | None = None, threshold: float = SUPPORT_THRESHOLD,
                 cosine_low: float | None = None, cosine_high: float | None = None,
                 name_spelling_ratio: float = NAME_SPELLING_RATIO, name_carry_floor: float | None = None,
                 name_carry_per_word: int = 4) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.name_spelling_ratio = name_spelling_ratio
        self.name_carry_floor, self.name_carry_per_word = name_carry_floor, name_carry_per_word
        self._terms: "TermBridge | None" = None
        self._carried: dict[str, list[str]] = {}
        # the embedder's own scale when no band is given: its cross-language band applies too
        self.scale = embedder.scale if embedder is not None and cosine_low is None and cosine_high is None else None
        if embedder is not None:
            self.name = f"lexical+{embedder.id}"
            cosine_low = embedder.scale.unrelated if cosine_low is None else cosine_low
            cosine_high = embedder.scale.paraphrase if cosine_high is None else cosine_high
        self.cosine_low, self.cosine_high = cosine_low or 0.0, cosine_high or 1.0
        self._vectors = _VectorCache(embedder) if embedder is not None else None

    def remember(self, sentences: list[str], vectors: np.ndarray) -> None:
        if self._vectors is not None:
            self._vectors.add(sentences, vectors)

    def use_words(self, terms: "TermBridge | None") -> None:
        if terms is not self._terms:
            self._terms, self._carried = terms, {}

    def carry(self, word: str) -> list[str]:
        """The collection's words a claim's (folded) name is carried to; none without them."""
        off = self.name_carry_floor is None or self.name_carry_per_word < 1
        if off or self._terms is None or self.embedder is None:
            return []
        carried = self._carried.get(word)
        if carried is None:  # (answers on several server slots may share this memory)
            if len(self._carried) > _VectorCache.LIMIT:
                self._carried.clear()
            carried = self._terms.nearest([word], self.embedder, self.name_carry_floor, self.name_carry_per_word,
                                          margin=1.0, own_words=False)[word]
            self._carried[word] = carried
        return carried

    def lexical(self, claim: str, evidence: str, question: str = "") -> float:
        claim_stems = set(tokenize(claim))
        if not claim_stems:
            return 0.0
        evidence_stems = set(tokenize(evidence))
        overlap = len(claim_stems & evidence_stems) / len(claim_stems)
        return overlap * (0.5 if misses_key_terms(claim, evidence, question) else 1.0)

    def semantic(self, claim: str, evidence: str, question: str = "") -> float:
        if self._vectors is None:
            return 0.0
        sentences = sentence_texts(evidence) or [evidence]
        cosine = float(np.max(self._vectors.passages(sentences) @ self._vectors.query(claim)))
        same_language = detect_language(claim) == detect_language(evidence)
        low, high = self.cosine_low, self.cosine_high
        if not same_language and self.scale is not None:
            low, high = self.scale.band(True)  # cross-language cosines run lower
        mapped = (cosine - low) / (high - low)
        if misses_key_terms(claim, evidence, question, not same_language, self.name_spelling_ratio, self.carry):
            mapped *= 0.5
        return float(min(1.0, max(0.0, mapped)))

    def score(self, claim: str, evidence: str, question: str = "") -> float:
        lexical = self.lexical(claim, evidence, question)
        if lexical >= self.threshold or self.embedder is None:
            return lexical
        return max(lexical, self.semantic(claim, evidence, question))


class _VectorCache:
    """Bounded memory of sentence and claim vectors: a claim is checked against several passages,
    and evidence sentences usually come with vectors from the index."""

    LIMIT = 4096

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._passages: dict[str, np.ndarray] = {}
        self._queries: dict[str, np.ndarray] = {}

    def add(self, sentences: list[str], vectors: np.ndarray) -> None:
        self._trim(self._passages)
        self._passages.update(zip(sentences, np.asarray(vectors, np.float32)))

    def passages(self, sentences: list[str]) -> np.ndarray:
        missing = [s for s in dict.fromkeys(sentences) if s not in self._passages]
        if missing:
            self.add(missing, self.embedder.embed_passages(missing))
        return np.stack([self._passages[s] for s in sentences])

    def query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._trim(self._queries)
            self._queries[text] = self.embedder.embed_query(text)
        return self._queries[text]

    def _trim(self, cache: dict) -> None:
        if len(cache) > self.LIMIT:
            cache.clear()


class CrossEncoderScorer(SupportScorer):
    """A local sentence-transformers CrossEncoder. For an NLI model the entailment probability is
    the score; for a single-output relevance model, its sigmoid."""

    def __init__(self, path: str, threshold: float = 0.5) -> None:
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:
            raise MissingDependency("cross-encoder judges need: pip install 'rag-news[st]'") from exc
        self.model = CrossEncoder(path, device="cpu")
        self.name = f"cross-encoder:{path}"
        self.threshold = threshold
        labels = {v.lower(): k for k, v in (getattr(self.model.config, "id2label", None) or {}).items()}
        self.entailment = labels.get("entailment")

    def score(self, claim: str, evidence: str, question: str = "") -> float:
        logits = np.asarray(self.model.predict([(evidence, claim)], apply_softmax=False))[0]
        if np.ndim(logits) == 0 or np.size(logits) == 1:
            return float(1 / (1 + np.exp(-float(np.ravel(logits)[0]))))
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        return float(probs[self.entailment if self.entailment is not None else -1])


class LLMJudgeScorer(SupportScorer):
    """The local answering model asked whether the passage supports the claim (yes/no)."""

    threshold = 0.5

    def __init__(self, llm) -> None:
        self.llm = llm
        self.name = f"llm:{llm.name}"

    def score(self, claim: str, evidence: str, question: str = "") -> float:
        messages = [
            {"role": "system", "content": "Answer only 'yes' or 'no'."},
            {"role": "user", "content": f"Passage:\n{evidence}\n\nClaim: {claim}\n\n"
                                        "Does the passage support the claim? Answer yes or no."},
        ]
        reply = fold("".join(self.llm.stream(messages, max_tokens=3, temperature=0.0))).strip()
        return 1.0 if reply.startswith(("yes", "oui")) else 0.0


def get_scorer(spec: str, embedder: Embedder | None = None, llm=None,
               settings: VerifySettings | None = None) -> SupportScorer:
    """`lexical` (default), `cross-encoder:<local path>` or `llm`; an unusable judge is an error."""
    s = settings or VerifySettings()
    if spec in ("lexical", "default"):
        return LexicalScorer(embedder, s.support_threshold, s.cosine_low, s.cosine_high, s.name_spelling_ratio,
                             s.name_carry_floor, s.name_carry_per_word)
    if spec.startswith("cross-encoder:"):
        return CrossEncoderScorer(spec.split(":", 1)[1])
    if spec == "llm":
        if llm is None:
            raise SettingsError("the llm judge needs the answering model")
        return LLMJudgeScorer(llm)
    raise SettingsError(f"unknown support judge {spec!r}: use lexical, cross-encoder:<path> or llm")
