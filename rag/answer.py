"""Grounded answers: retrieve, select evidence, generate with `[n]` citations, check every sentence.

    from rag.answer import answer
    result = answer("Combien Microsoft a-t-il investi en 2019 ?")
    print(result.text, result.sentences, result.passages, result.abstained, result.timings)

`stream_answer()` yields the model's text as it is generated and ends with the checked `Answer`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.chunking import sentence_texts
from rag.citations import CITATION, Sentence, parse_answer, render
from rag.config import Settings, load_settings
from rag.embedders import Embedder, get_embedder
from rag.language import ABSTAIN, detect_language, is_abstention
from rag.lexical import question_terms, tokenize
from rag.llm import LLM, GenerationStats
from rag.prompting import SYSTEM_PROMPT, Passage, fit_prompt, select_passages
from rag.retrieval import Retriever
from rag.support import SupportScorer, get_scorer

logger = logging.getLogger(__name__)

# Retrieval gate: below this cosine for the best chunk *and* with no lexical match of weight,
# nothing relevant was found and the model is not asked (calibrated on eval/gold_fr.jsonl).
MIN_DENSE_SCORE = 0.80
MIN_LEXICAL_SCORE = 4.0
MAX_QUESTION_CHARS = 2000
# A passage replaces the cited one when it supports the sentence by this much more.
REATTRIBUTE_MARGIN = 0.15

History = list[tuple[str, str]]


@dataclass
class Answer:
    question: str
    text: str  # checked answer with citations, or the abstention sentence
    language: str
    abstained: bool
    sentences: list[Sentence]
    passages: list[Passage]
    raw_text: str = ""  # what the model wrote
    invalid_citations: int = 0
    unsupported: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds
    reason: str = ""  # why it abstained, or why a kept answer was asked again

    def to_dict(self) -> dict:
        """Plain data for JSON APIs. A passage's source file is under "file" (web clients such as
        gradio_client take any "path" key for a file to download)."""
        from dataclasses import asdict

        data = asdict(self)
        for passage in data["passages"]:
            passage["file"] = passage.pop("path")
        return data


UNSUPPORTED = "no sentence of the answer is supported by the passages"
UNRESPONSIVE = "the answer does not address the question"
# Abstentions decided by the check (not by the model) get a second attempt on the best passage alone.
RETRY_REASONS = (UNSUPPORTED, UNRESPONSIVE)
# Not a reason to abstain, but to ask again: the answer stands if the second attempt fails.
MIXED = "the answer mixes passages up: it cites one and takes its words or its fact from another"
# One repeated question word is often just the model restating the question; two are a borrowed fact.
MIN_BORROWED_TERMS = 2


class QuestionError(ValueError):
    """The question cannot be answered as asked (empty, too long); the message says why."""


_CONNECTIVES = {"et", "and", "puis", "ensuite", "also", "aussi", "mais", "but", "what", "quid"}


def _is_follow_up(question: str) -> bool:
    """Starts like a continuation ("Et …", "And …") or is too short to stand alone."""
    words = question.lower().replace("’", "'").split()
    return bool(words) and (words[0].strip(",") in _CONNECTIVES or len(tokenize(question)) <= 2)


def retrieval_query(question: str, history: History | None) -> str:
    """What to search for: a follow-up question ("Et avec qui ?") carries the previous exchange along."""
    if not history or not _is_follow_up(question):
        return question
    previous_q, previous_a = history[-1]
    # the previous answer names what "it"/"elle" refers to; the previous question would pull
    # retrieval back to the earlier topic
    context = previous_q if is_abstention(previous_a) else CITATION.sub("", previous_a)[:200]
    return f"{question} {context}"


class Assistant:
    """Holds the index, embedder, model and judge; answers questions."""

    def __init__(self, settings: Settings, retriever: Retriever, llm: LLM, scorer: SupportScorer) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.scorer = scorer
        self._lock = threading.Lock()  # one generation at a time on a llama.cpp context

    @classmethod
    def open(cls, settings: Settings | None = None, llm: LLM | None = None, embedder: Embedder | None = None,
             judge: str = "lexical") -> "Assistant":
        settings = settings or load_settings()
        embedder = embedder or get_embedder(settings.embedder)
        retriever = Retriever.open(settings, embedder)
        if llm is None:
            from rag.llm import LlamaCppLLM
            from rag.models import resolve_model

            g = settings.generation
            llm = LlamaCppLLM(resolve_model(g.model, settings.models_path, settings.home), g.n_ctx, g.n_threads)
        return cls(settings, retriever, llm, get_scorer(judge, embedder, llm))

    @property
    def prompt_hash(self) -> str:
        return hashlib.sha256(SYSTEM_PROMPT.encode()).hexdigest()[:12]

    def reload_index(self) -> None:
        """Pick up a newly built index (the old one keeps serving until this returns)."""
        self.retriever = Retriever.open(self.settings, self.retriever.embedder)

    def answer(self, question: str, history: History | None = None, k: int | None = None,
               temperature: float | None = None) -> Answer:
        result = None
        for item in self.stream_answer(question, history, k, temperature):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result

    def stream_answer(self, question: str, history: History | None = None, k: int | None = None,
                      temperature: float | None = None) -> Iterator[str | Answer]:
        """Yield the model's text pieces, then the checked Answer (always last)."""
        t0 = time.perf_counter()
        question = " ".join(question.split())
        if not question:
            raise QuestionError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise QuestionError(f"the question is too long ({len(question):,} characters, at most "
                                f"{MAX_QUESTION_CHARS:,}); shorten it")
        history = list(history or [])
        language = detect_language(question)
        g = self.settings.generation
        query = retrieval_query(question, history)
        index = self.retriever.index
        query_vector = self.retriever.embedder.embed_query(query)
        hits = self.retriever.search(query, k=k or self.settings.retrieval.k, query_vector=query_vector)
        t_retrieval = time.perf_counter()
        timings = {"retrieval_ms": (t_retrieval - t0) * 1000}
        passages = select_passages(query, hits, g.context_chars, g.window_chars, index.lexical.idf,
                                   query_vector, index.sentence_vectors, source_text=index.source_text)
        timings["passages_ms"] = (time.perf_counter() - t_retrieval) * 1000

        if not self._relevant(hits) or not passages:
            result = self._abstain(question, language, passages, "nothing relevant was retrieved")
            result.timings = {**timings, "total_ms": (time.perf_counter() - t0) * 1000}
            yield result
            return

        for hit in hits:  # the support check reuses the index's sentence vectors instead of embedding
            self.scorer.remember(sentence_texts(hit.chunk.text), index.sentence_vectors(hit.row))
        t_prompt = time.perf_counter()
        prompt, passages, n_prompt = fit_prompt(self.llm, question, passages, history, g.max_tokens, language)
        timings["prompt_ms"] = (time.perf_counter() - t_prompt) * 1000
        stats = GenerationStats()
        pieces = []
        with self._lock:
            t_gen = time.perf_counter()
            for piece in self.llm.stream(prompt, g.max_tokens, g.temperature if temperature is None else temperature,
                                         stats):
                if not pieces:
                    timings["first_token_ms"] = (time.perf_counter() - t0) * 1000
                pieces.append(piece)
                yield piece
            timings["generation_ms"] = (time.perf_counter() - t_gen) * 1000
        timings["prefill_ms"] = stats.prefill_ms
        timings["decode_ms"] = stats.decode_ms
        raw = "".join(pieces).strip()
        t_check = time.perf_counter()
        result = self.check(question, language, raw, passages)
        timings["check_ms"] = (time.perf_counter() - t_check) * 1000
        completion_tokens = stats.completion_tokens
        if (result.reason in RETRY_REASONS or result.reason == MIXED) and len(passages) > 1:
            t_retry = time.perf_counter()
            retried, retry_tokens = self._retry_on_best(question, language, passages, history, temperature)
            timings["retry_ms"] = (time.perf_counter() - t_retry) * 1000
            completion_tokens += retry_tokens
            if not retried.abstained and retried.reason != MIXED:
                result = retried
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        result.prompt_tokens, result.cached_tokens = n_prompt, stats.cached_tokens
        result.completion_tokens = completion_tokens
        result.timings = timings
        yield result

    def _retry_on_best(self, question: str, language: str, passages: list[Passage], history: History,
                       temperature: float | None) -> tuple[Answer, int]:
        """Ask again with the best-matching passage alone (numbered last, renumbered 1): a small model
        that mixed passages up often reads one correctly. The second answer is checked the same way."""
        g = self.settings.generation
        best = [replace(passages[-1], number=1)]
        prompt, best, _ = fit_prompt(self.llm, question, best, history, g.max_tokens, language)
        stats = GenerationStats()
        with self._lock:
            raw = "".join(self.llm.stream(prompt, g.max_tokens, g.temperature if temperature is None else temperature,
                                          stats)).strip()
        logger.info("retried with the best passage alone: %r", raw[:120])
        return self.check(question, language, raw, best), stats.completion_tokens

    def _relevant(self, hits) -> bool:
        if not hits:
            return False
        best_dense = max((h.dense_score or 0.0) for h in hits)
        best_lexical = max((h.lexical_score or 0.0) for h in hits)
        return best_dense >= MIN_DENSE_SCORE or best_lexical >= MIN_LEXICAL_SCORE

    def _abstain(self, question: str, language: str, passages: list[Passage], reason: str,
                 raw: str = "", sentences: list[Sentence] | None = None, invalid: int = 0) -> Answer:
        return Answer(question, ABSTAIN[language], language, True, sentences or [], passages, raw_text=raw,
                      invalid_citations=invalid, unsupported=sum(not s.supported for s in sentences or []),
                      reason=reason)

    def check(self, question: str, language: str, raw: str, passages: list[Passage]) -> Answer:
        """Parse the model's answer and score each sentence against what it cites. A sentence is
        attributed to the passage that supports it clearly better than what it cites (or, uncited, to
        the one that clearly supports it). Abstain when no sentence is supported, or when the answer
        and its evidence share none of the question's distinctive terms (it answers something else)."""
        if not raw or is_abstention(raw):
            return self._abstain(question, language, passages, "the model found no answer in the passages", raw)
        parsed = parse_answer(raw, len(passages))
        evidence = {p.number: p.text for p in passages}
        threshold = self.scorer.threshold
        for s in parsed.sentences:
            scores = {n: self.scorer.score(s.text, t, question) for n, t in evidence.items()}
            # on a tie, the better match: passages are numbered from the least to the best
            best_n = max(sorted(scores, reverse=True), key=lambda n: scores[n])
            if s.cited:
                s.support = self.scorer.score(s.text, " ".join(evidence[n] for n in s.cited), question) \
                    if len(s.cited) > 1 else scores[s.cited[0]]
                if scores[best_n] >= threshold and scores[best_n] >= s.support + REATTRIBUTE_MARGIN \
                        and best_n not in s.cited:
                    s.attributed, s.support, s.auto_attributed = [best_n], scores[best_n], True
            else:
                s.support = scores[best_n]
                if s.support >= threshold:
                    s.attributed, s.auto_attributed = [best_n], True
            s.supported = s.support >= threshold
        if not any(s.supported for s in parsed.sentences):
            return self._abstain(question, language, passages, UNSUPPORTED,
                                 raw, parsed.sentences, parsed.invalid_citations)
        if not self._responsive(question, parsed.sentences, passages):
            return self._abstain(question, language, passages, UNRESPONSIVE,
                                 raw, parsed.sentences, parsed.invalid_citations)
        return Answer(question, render(parsed.sentences), language, False, parsed.sentences, passages, raw_text=raw,
                      invalid_citations=parsed.invalid_citations,
                      unsupported=sum(not s.supported for s in parsed.sentences),
                      reason=MIXED if _mixes_passages(question, parsed.sentences, passages) else "")

    def _responsive(self, question: str, sentences: list[Sentence], passages: list[Passage]) -> bool:
        """Does the evidence the answer rests on, read in the chunk it was cut from, contain one of the
        question's distinctive terms? (The answer itself is not counted: a model can echo the
        question's words.)"""
        index = self.retriever.index
        rare = index.lexical.rare_terms(question)
        if not rare:
            return True
        used = {n for s in sentences if s.supported for n in s.attributed}
        context = " ".join(index.chunk(p.chunk_id).text for p in passages if p.number in used)
        return bool(set(rare) & set(tokenize(context)))


def _mixes_passages(question: str, sentences: list[Sentence], passages: list[Passage]) -> bool:
    """Does a supported sentence repeat words of the question that the passage it rests on lacks but
    another passage holds, or cite the best passage (numbered last) for what the check found in another?
    A small model that does so has usually put one passage's fact into another's words ("Copilot …
    accessible aux entreprises" when only the Azure passage speaks of companies)."""
    asked = set(question_terms(question))
    stems = {p.number: set(tokenize(p.text)) for p in passages}
    for s in sentences:
        if not s.supported or not s.attributed:
            continue
        own = set().union(*(stems.get(n, set()) for n in s.attributed))
        elsewhere = set().union(*(v for n, v in stems.items() if n not in s.attributed))
        borrowed = [t for t in asked & set(tokenize(s.text)) if t not in own and t in elsewhere]
        if len(borrowed) >= MIN_BORROWED_TERMS:
            return True
        best = len(passages)
        if best in s.cited and best not in s.attributed:
            return True  # it points at the best passage but says what another one says
    return False


_default: Assistant | None = None
_default_lock = threading.Lock()


def default_assistant(home: str | Path | None = None) -> Assistant:
    """The process-wide assistant for the project home (opened on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Assistant.open(load_settings(home))
        return _default


def answer(question: str, history: History | None = None) -> Answer:
    """Answer `question` from the project's index with the configured model."""
    return default_assistant().answer(question, history)


def stream_answer(question: str, history: History | None = None) -> Iterator[str | Answer]:
    """Like `answer`, yielding text pieces as they are generated, then the Answer."""
    return default_assistant().stream_answer(question, history)
