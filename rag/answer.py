"""Grounded answers: the conductor of retrieve → gate → select evidence → generate → verify → retry.

    from rag.answer import answer, stream_answer
    result = answer("Combien Microsoft a-t-il investi en 2019 ?")
    print(result.text, result.sentences, result.passages, result.abstained, result.timings)

    response = stream_answer("Qui dirige OpenAI ?")
    for piece in response:      # the model's text as it is generated
        print(piece, end="")
    response.answer              # then the checked Answer

Each step lives in its own module (`retrieval`, `evidence`, `prompting`, `llm`, `verify`, `retry`);
`Assistant` only wires them, over one index snapshot taken when the answer starts.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Generator, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from rag.chunking import sentence_texts
from rag.citations import CITATION, Sentence, render
from rag.config import Settings, load_settings
from rag.embedders import Embedder, get_embedder
from rag.errors import QuestionError
from rag import disagreement, source_questions
from rag.evidence import Passage, select_passages
from rag.filters import SourceFilter
from rag.metadata import ArticleMeta
from rag.index import Index
from rag.language import ABSTAIN, FOLLOW_UP_OPENERS, UNSUPPORTED_LANGUAGE, detect_language, english_figures, \
    in_other_language, is_abstention, is_other_language, without_corpus_reference
from rag.lexical import tokenize
from rag.llm import LLM, GenerationStats, Messages, open_llm
from rag.prompting import SYSTEM_PROMPT, History, build_messages, fit_prompt
from rag.retrieval import Hit, Retriever, found_relevant, with_carried
from rag.retry import RetryPolicy
from rag.support import SupportScorer, get_scorer
from rag.translation import translation_messages
from rag.verify import Reason, Verdict, Verifier

logger = logging.getLogger(__name__)

__all__ = ["Answer", "Assistant", "QuestionError", "Response", "answer", "stream_answer", "retrieval_query"]


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
    reason: Reason = Reason.ANSWERED  # why it abstained, or why a kept answer was asked again
    attempts: int = 0  # generations it took (0 when the model was not asked)

    def to_dict(self) -> dict:
        """Plain data for JSON APIs. A passage's source file is under "file" (web clients such as
        gradio_client take any "path" key for a file to download)."""
        data = asdict(self)
        data["reason"] = self.reason.value
        for passage in data["passages"]:
            passage["file"] = passage.pop("path")
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Answer":
        """The Answer `to_dict` gave (a stored conversation read back)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["sentences"] = [Sentence(**s) for s in data.get("sentences", [])]
        passages = []
        for p in data.get("passages", []):
            p = {**p, "path": p.get("file", p.get("path", ""))}
            p.pop("file", None)
            p["about"] = ArticleMeta(**(p.get("about") or {}))
            passages.append(Passage(**p))
        values["passages"] = passages
        values["reason"] = Reason(data.get("reason", Reason.ANSWERED.value))
        return cls(**values)


class Response:
    """A streamed answer: iterate it for the model's text pieces as they are generated, then read
    `.answer` for the checked `Answer`. Reading `.answer` first runs the whole answer."""

    def __init__(self, steps: Generator[str, None, Answer]) -> None:
        self._steps = steps
        self._pieces: list[str] = []
        self._answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        if self._answer is not None:
            yield from self._pieces
            return
        while True:
            try:
                piece = next(self._steps)
            except StopIteration as stop:
                self._answer = stop.value
                return
            self._pieces.append(piece)
            yield piece

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            for _ in self:
                pass
        assert self._answer is not None
        return self._answer

    @property
    def streamed(self) -> str:
        """The text streamed so far (what the model wrote, before the check)."""
        return "".join(self._pieces)


_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028\u2029\u2060\ufeff]")


def clean_question(question: str, max_chars: int) -> str:
    """The question with control and invisible characters removed and spaces collapsed; a question that
    is empty, has no word ("???"), is too long or is in a language other than French or English is a
    `QuestionError`."""
    question = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in _INVISIBLE.sub("", question or ""))
    question = " ".join(question.split())
    if not question:
        raise QuestionError("the question is empty")
    if not any(ch.isalnum() for ch in question):
        raise QuestionError("the question has no words (only punctuation or symbols)")
    if len(question) > max_chars:
        raise QuestionError(f"the question is too long ({len(question):,} characters, at most {max_chars:,}); "
                            "shorten it")
    if is_other_language(question):
        raise QuestionError(UNSUPPORTED_LANGUAGE)
    return question


def is_follow_up(question: str) -> bool:
    """Starts like a continuation ("Et …", "And …") or is too short to stand alone."""
    words = question.lower().replace("’", "'").split()
    return bool(words) and (words[0].strip(",") in FOLLOW_UP_OPENERS or len(tokenize(question)) <= 2)


def retrieval_query(question: str, history: History | None) -> str:
    """What to search for: the question without its reference to the articles ("selon les sources",
    `without_corpus_reference`); a follow-up question ("Et avec qui ?") carries the previous exchange along."""
    question = without_corpus_reference(question)
    if not history or not is_follow_up(question):
        return question
    # the previous answer names what "it"/"elle" refers to; the previous question would pull
    # retrieval back to the earlier topic
    return f"{question} {previous_topic(history, 200)}"


def previous_topic(history: History, answer_chars: int | None = None) -> str:
    """What the last exchange was about: its answer without citation marks (its first `answer_chars`
    characters), or its question when the answer was the abstention."""
    previous_q, previous_a = history[-1]
    return previous_q if is_abstention(previous_a) else CITATION.sub("", previous_a)[:answer_chars]


class _Clock:
    """Milliseconds since the answer started, and per stage."""

    def __init__(self) -> None:
        self.t0 = self.last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + (now - self.last) * 1000
        self.last = now

    def mark(self, name: str) -> None:
        self.timings[name] = (time.perf_counter() - self.t0) * 1000
        self.last = time.perf_counter()


@dataclass
class _Attempt:
    verdict: Verdict
    stats: GenerationStats
    prompt_tokens: int
    messages: Messages  # the prompt


class Assistant:
    """Holds the retriever (with its index), the model, the verifier and the retry policy; answers."""

    def __init__(self, settings: Settings, retriever: Retriever, llm: LLM, scorer: SupportScorer,
                 policy: RetryPolicy | None = None, verifier: Verifier | None = None) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.scorer = scorer
        self.verifier = verifier or Verifier(scorer, settings.verify)
        self.policy = policy or RetryPolicy(max_attempts=settings.retry.max_attempts,
                                            attributed_first=settings.retry.attributed_first,
                                            wider_first=settings.retry.wider_first,
                                            whole_chunks=settings.retry.whole_chunks > 0)
        # one generation at a time on a llama.cpp context; as many as a server has parallel slots
        self._slots = threading.BoundedSemaphore(max(1, llm.concurrency))

    @classmethod
    def open(cls, settings: Settings | None = None, llm: LLM | None = None, embedder: Embedder | None = None,
             judge: str = "lexical") -> "Assistant":
        settings = settings or load_settings()
        embedder = embedder or get_embedder(settings.embedder)
        retriever = Retriever.open(settings, embedder)
        if llm is None:
            llm = open_llm(settings)
        return cls(settings, retriever, llm, get_scorer(judge, embedder, llm, settings.verify))

    @property
    def reading_depth(self) -> int:
        """How many retrieved chunks the first reading is cut from."""
        return self.settings.retrieval.k

    @property
    def prompt_hash(self) -> str:
        return hashlib.sha256(SYSTEM_PROMPT.encode()).hexdigest()[:12]

    def warm(self) -> float:
        """Run the model once over the prompt's constant prefix (the system prompt and worked example),
        which llama.cpp then keeps in its KV cache: the first question is answered as fast as the next
        ones instead of paying for the prefix too. Returns the seconds it took."""
        start = time.perf_counter()
        with self._slots:
            for _ in self.llm.stream(build_messages("", [], [], subject_words=self.settings.evidence.subject_words),
                                     max_tokens=1):
                pass
        seconds = time.perf_counter() - start
        logger.info("model %s warmed up in %.1f s", self.llm.name, seconds)
        return seconds

    def reload_index(self) -> None:
        """Pick up a newly built index (answers under way keep the snapshot they started with)."""
        self.retriever = Retriever.open(self.settings, self.retriever.embedder)

    def answer(self, question: str, history: History | None = None, k: int | None = None,
               temperature: float | None = None, where: SourceFilter | None = None) -> Answer:
        return self.stream_answer(question, history, k, temperature, where).answer

    def stream_answer(self, question: str, history: History | None = None, k: int | None = None,
                      temperature: float | None = None, where: SourceFilter | None = None) -> Response:
        """A `Response`: iterate it for text pieces, then read `.answer`. `where` keeps only some
        sources (dates, outlets, files). A bad question raises `QuestionError` here, before anything runs."""
        question = clean_question(question, self.settings.gate.max_question_chars)
        if where is not None:
            where.check(self.retriever.index)
        return Response(self._steps(question, list(history or []), k, temperature, where))

    # -- the steps -------------------------------------------------------------------------------
    def _steps(self, question: str, history: History, k: int | None, temperature: float | None,
               where: SourceFilter | None = None) -> Generator[str, None, Answer]:
        clock = _Clock()
        retriever = self.retriever  # one snapshot of the index for the whole answer
        index = retriever.index
        self.scorer.use_words(index.terms)  # a claim's names carried into the articles' language
        language = detect_language(question)
        query = retrieval_query(question, history)
        query_vector = retriever.embedder.embed_query(query)
        # the question's words for BM25 and passage choice, carried into the articles' language when in another;
        # `responsive` judges the evidence on the question's own words with those carried ones
        carried = retriever.carried(query)
        terms, judged = with_carried(query, carried), with_carried(question, carried)
        hits = retriever.search(query, k=k or self.settings.retrieval.k, query_vector=query_vector, where=where,
                                lexical_text=terms)
        clock.lap("retrieval_ms")
        across = bool(hits) and detect_language(hits[0].chunk.text) != language
        evidence = self.settings.evidence.reading(across)
        if evidence.strong_score is not None and disagreement.compares(question):
            # a figure or a date: every source stays in view, to compare
            evidence = replace(evidence, strong_score=None)
        passages = select_passages(terms, hits, evidence, index, query_vector)
        clock.lap("passages_ms")
        gate = self.settings.gate
        min_dense = retriever.embedder.scale.floor(across) if gate.min_dense_score is None else gate.min_dense_score
        if not passages or not found_relevant(hits, min_dense, gate.min_lexical_score):
            clock.mark("total_ms")
            return self._answer(question, language, Verdict(Reason.NOTHING_RETRIEVED, "", passages), clock, [], index)

        asked = source_questions.asked_field(question)
        if asked is not None:  # who signs the article, its date, its outlet…: its metadata says
            return (yield from self._from_metadata(question, language, asked, hits, index, clock, terms, history,
                                                   where))
        self._remember(hits, index)

        def wider() -> list[Passage]:
            r = self.settings.retry
            more = retriever.search(query, k=r.wide_k, query_vector=query_vector, where=where, lexical_text=terms)
            self._remember(more[len(hits):], index)
            return select_passages(terms, more, r.wide_reading(self.settings.evidence), index, query_vector)

        def whole() -> list[Passage]:
            r = self.settings.retry
            return select_passages(terms, hits[:r.whole_chunks], r.whole_reading(self.settings.evidence), index,
                                   query_vector)

        first = yield from self._attempt(question, judged, language, passages, history, temperature, index, clock,
                                         True)
        attempts = [first]
        verdict, tried = first.verdict, set()
        while step := self.policy.next(verdict, first.verdict.passages, len(attempts), tried, wider, whole):
            strategy, chosen = step
            tried.add(strategy.name)
            clock.last = time.perf_counter()
            retry = yield from self._attempt(question, judged, language, chosen, history, temperature, index,
                                             clock, False)
            clock.lap("retry_ms")
            attempts.append(retry)
            logger.info("%s: %s -> %s (%r)", strategy.name, verdict.reason.value, retry.verdict.reason.value,
                        retry.verdict.raw[:120])
            if strategy.accepts(retry.verdict):
                verdict = retry.verdict
        if self.settings.retry.translate and not verdict.abstains and in_other_language(verdict.text, language):
            clock.last = time.perf_counter()
            verdict = self._in_language(question, judged, language, verdict, index, attempts)
            clock.lap("translation_ms")
        clock.mark("total_ms")
        result = self._answer(question, language, verdict, clock, attempts, index)
        result.prompt_tokens, result.cached_tokens = first.prompt_tokens, first.stats.cached_tokens
        return result

    def _from_metadata(self, question: str, language: str, asked: source_questions.Field, hits: list[Hit],
                       index: Index, clock: _Clock, description: str,
                       history: History, where: SourceFilter | None) -> Generator[str, None, Answer]:
        """The article's author, date, outlet, title or link, cited to the line that gives it (or its headline, whose
        card shows it); the abstention, with that card, when the article does not give it or no article
        fits the question's `description` of it. "Qui a écrit cet article ?" after an exchange means the
        article the previous answer came from."""
        if history and not source_questions.describing_words(description):
            description = previous_topic(history)
            hits = self.retriever.search(description, k=self.settings.retrieval.k, where=where)
        found = source_questions.answer_from_metadata(asked, question, hits, index, language, description, where)
        clock.lap("passages_ms")
        if found is None or found.value is None:
            clock.mark("total_ms")
            passages = [found.passage] if found else []
            return self._answer(question, language, Verdict(Reason.NOT_IN_METADATA, "", passages), clock, [], index)
        sentence = Sentence(found.text, [1], 1.0, True, [1])
        text = render([sentence])
        clock.mark("first_token_ms")
        yield text
        clock.mark("total_ms")
        return Answer(question, text, language, False, [sentence], [found.passage], raw_text=found.text,
                      timings=clock.timings)

    def _remember(self, hits: list[Hit], index: Index) -> None:
        """The support check reuses the index's sentence vectors instead of embedding the passages."""
        for hit in hits:
            self.scorer.remember(sentence_texts(hit.chunk.text), index.sentence_vectors(hit.row))

    def _attempt(self, question: str, terms: str, language: str, passages: list[Passage], history: History,
                 temperature: float | None, index: Index, clock: _Clock, stream: bool) -> Generator[str, None, _Attempt]:
        """One generation on `passages`, checked (`terms`: the question with the words carried into the
        articles' language). The first attempt streams its text and records the stage timings; later ones
        run quietly."""
        g = self.settings.generation
        messages, kept, n_prompt = fit_prompt(self.llm, question, passages, history, g.max_tokens, language,
                                              self.settings.evidence.subject_words)
        if stream:
            clock.lap("prompt_ms")
        stats = GenerationStats()
        pieces: list[str] = []
        with self._slots:
            t_gen = time.perf_counter()
            for piece in self.llm.stream(messages, g.max_tokens, g.temperature if temperature is None else temperature,
                                         stats):
                if stream:
                    if not pieces:
                        clock.mark("first_token_ms")
                    yield piece
                pieces.append(piece)
        if stream:
            clock.timings.update(generation_ms=(time.perf_counter() - t_gen) * 1000, prefill_ms=stats.prefill_ms,
                                 decode_ms=stats.decode_ms)
            clock.last = time.perf_counter()
        verdict = self.verifier(question, "".join(pieces).strip(), kept, index, terms)
        if stream:
            clock.lap("check_ms")
        return _Attempt(verdict, stats, n_prompt, messages)

    def _in_language(self, question: str, terms: str, language: str, verdict: Verdict, index: Index,
                     attempts: list[_Attempt]) -> Verdict:
        """`verdict`'s answer translated into the question's `language` by the model, when the check keeps
        the translation over the same passages; else `verdict` (an answer in the other language is still
        an answer: it is not turned into a refusal)."""
        answered = next(a for a in attempts if a.verdict is verdict)
        messages = translation_messages(answered.messages, verdict.text, language)
        g, stats = self.settings.generation, GenerationStats()
        if self.llm.prompt_tokens(messages) + g.max_tokens > self.llm.n_ctx:
            return verdict
        with self._slots:
            text = "".join(self.llm.stream(messages, g.max_tokens, 0.0, stats)).strip()
        translated = self.verifier(question, text, verdict.passages, index, terms)
        attempts.append(_Attempt(translated, stats, stats.prompt_tokens, messages))
        logger.info("translation: %r -> %r (%s)", verdict.text[:120], text[:120], translated.reason.value)
        return verdict if translated.abstains else translated

    def _answer(self, question: str, language: str, verdict: Verdict, clock: _Clock,
                attempts: list[_Attempt], index: Index) -> Answer:
        text, sentences, passages = verdict.text, verdict.sentences, verdict.passages
        if not verdict.abstains:  # sources that disagree on what is asked are named, with their dates
            cited = {n for s in sentences for n in s.attributed}
            v = self.settings.verify
            common = index.lexical.common_terms(question, v.disagreement_common_share)
            # a retry reads fewer passages (the best one alone): the first attempt's still count
            read = attempts[0].verdict.passages if attempts else []
            found, added = disagreement.across(question, verdict.passages, read, cited, text,
                                               v.disagreement_topic_share, common)
            if found is not None:
                passages = [*passages, *added]
                said = found.sentence(language)
                text, sentences = f"{text} {said}", [*sentences, Sentence(said, found.numbers(), 1.0, True,
                                                                          found.numbers())]
        if language == "en" and not verdict.abstains and detect_language(text) == "en":
            # "13 milliards of dollars", copied from a French passage, reads "13 billion dollars"
            text, sentences = english_figures(text), [replace(s, text=english_figures(s.text)) for s in sentences]
        return Answer(question, ABSTAIN[language] if verdict.abstains else text, language, verdict.abstains,
                      sentences, passages, raw_text=verdict.raw,
                      invalid_citations=verdict.invalid_citations, unsupported=verdict.unsupported,
                      completion_tokens=sum(a.stats.completion_tokens for a in attempts), timings=clock.timings,
                      reason=verdict.reason, attempts=len(attempts))


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


def stream_answer(question: str, history: History | None = None) -> Response:
    """Like `answer`, as a `Response` to iterate for text pieces before reading `.answer`."""
    return default_assistant().stream_answer(question, history)
