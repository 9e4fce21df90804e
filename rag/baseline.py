"""The naive pipeline the evaluation compares against (`rag eval --baseline naive`).

What a first RAG prototype does: French BM25 over chunks of about 800 characters, the top 4 chunks
given whole to the same model with a plain prompt asking for `[n]` citations, and no checks at all
(no evidence windows, no verification, no retry, no retrieval gate). Its answers go through the same
evaluation as the pipeline's, so that every answer table can show both side by side.
"""

from __future__ import annotations

import time

from rag.answer import Answer, clean_question, retrieval_query
from rag.build import chunk_source
from rag.citations import CITATION, parse_answer
from rag.config import ChunkSettings, Settings
from rag.evidence import Passage
from rag.language import ABSTAIN, detect_language, is_abstention
from rag.lexical import LexicalIndex
from rag.llm import LLM, GenerationStats
from rag.prompting import History
from rag.retrieval import Retriever
from rag.sources import load_sources

NAIVE_CHUNKS = ChunkSettings(max_chars=800, overlap_chars=0)
NAIVE_K = 4
NAIVE_PROMPT = ("Réponds à la question en t'appuyant sur les passages ci-dessous, dans la langue de la question. "
                "Cite les passages utilisés entre crochets, par exemple [1]. Si les passages ne contiennent pas "
                f"la réponse, réponds « {ABSTAIN['fr']} » (en anglais : « {ABSTAIN['en']} »).")


class NaiveAssistant:
    """Answers like the naive pipeline; exposes what the evaluation reads (`retriever` is the project's
    own, for the retrieval figures, which do not depend on how the answer is made)."""

    prompt_hash = "naive"
    # its chunks are not the index's, so the evidence's rank in the index says nothing of what it read
    reading_depth: int | None = None

    def __init__(self, settings: Settings, retriever: Retriever, llm: LLM, k: int = NAIVE_K) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.k = k
        sources, _ = load_sources(settings.sources_path, settings.max_source_bytes)
        self.chunks = [(source, chunk) for source in sources for chunk in chunk_source(source, NAIVE_CHUNKS)]
        self.lexical = LexicalIndex.build([c.text for _, c in self.chunks])

    def answer(self, question: str, history: History | None = None, k: int | None = None,
               temperature: float | None = None) -> Answer:
        t0 = time.perf_counter()
        question = clean_question(question, self.settings.gate.max_question_chars)
        language = detect_language(question)
        scores = self.lexical.scores(retrieval_query(question, history))
        top = [] if scores is None else [int(i) for i in scores.argsort()[::-1][:self.k] if scores[i] > 0]
        passages = [Passage(n, c.id, s.id, s.title, s.path, c.start, c.end, c.text, n, None, float(scores[i]), s.meta)
                    for n, i in enumerate(top, 1) for s, c in [self.chunks[i]]]
        context = "\n\n".join(f"[{p.number}] {p.text}" for p in passages)
        previous = ""
        if history:
            previous = f"Échange précédent : {history[-1][0]} — {CITATION.sub('', history[-1][1])}\n\n"
        messages = [{"role": "system", "content": NAIVE_PROMPT},
                    {"role": "user", "content": f"{previous}Passages :\n{context}\n\nQuestion : {question}"}]
        stats = GenerationStats()
        g = self.settings.generation
        pieces, first = [], None
        for piece in self.llm.stream(messages, g.max_tokens, g.temperature if temperature is None else temperature, stats):
            first = first or time.perf_counter()
            pieces.append(piece)
        raw = "".join(pieces).strip()
        abstained = not raw or is_abstention(raw)
        parsed = parse_answer(raw, len(passages))
        for s in parsed.sentences:  # nothing is checked: what the model cites is what is shown
            s.supported = True
        done = time.perf_counter()
        return Answer(question, ABSTAIN[language] if abstained else raw, language, abstained,
                      [] if abstained else parsed.sentences, passages, raw_text=raw,
                      invalid_citations=parsed.invalid_citations, prompt_tokens=stats.prompt_tokens,
                      cached_tokens=stats.cached_tokens, completion_tokens=stats.completion_tokens,
                      timings={"first_token_ms": ((first or done) - t0) * 1000, "total_ms": (done - t0) * 1000},
                      attempts=1)
