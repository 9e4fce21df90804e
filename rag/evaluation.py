"""Batch evaluation through the same `answer()` API as the chat: retrieval, correctness, citations
(ALCE-style), groundedness, abstention and latency, per question and aggregated.

Gold files are JSON lines: {"id", "question", "answers": [aliases], "quote", "source",
"answerable": true, "lang": "fr", "follow_up": "<id of the question it follows>",
"also": [{"quote", "source"}, ...] (other places in the articles that state the same fact),
"sides": [[aliases], [aliases], ...] (sources that disagree: the answer is right only when it gives every
side, as the answer's "Les sources divergent : …" sentence does; each side's evidence in quote/also)}.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.answer import Answer, Assistant, retrieval_query
from rag.answer_types import expected_type
from rag.errors import SettingsError
from rag.index import Index
from rag.metrics import CitationScores, citation_scores, contains_alias, gives_gold_words, token_f1
from rag.support import SupportScorer

logger = logging.getLogger(__name__)

@dataclass
class GoldQuestion:
    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    quote: str = ""
    source: str = ""
    answerable: bool = True
    lang: str = "fr"
    follow_up: str | None = None
    also: list[dict] = field(default_factory=list)  # other {"quote", "source"} stating the same fact
    # character span of the evidence in the source, when known (SQuAD sets)
    span: tuple[int, int] | None = None
    # what kind of answer it asks for (date, amount, person, why, list…), for figures by type; when the
    # line gives none, the type read from the question (rag.answer_types) or "other"
    type: str = ""
    # sources that disagree: aliases of each side, all of which a right answer gives
    sides: list[list[str]] = field(default_factory=list)

    def right(self, answer: str, gives: Callable[[str, list[str]], bool] = contains_alias) -> bool:
        """The answer gives the fact (an alias), or every side when the sources disagree."""
        if self.sides:
            return all(gives(answer, aliases) for aliases in self.sides)
        return gives(answer, self.answers)

    def right_in_other_words(self, answer: str) -> bool:
        """`right`, read loosely: every content word of an alias, in any order and form."""
        return self.right(answer, gives_gold_words)

    def kind(self) -> str:
        if not self.answerable:
            return "unanswerable"
        if self.type:
            return self.type
        asked = expected_type(self.question)
        return asked.value if asked else "other"


@dataclass
class GoldError:
    line: int  # 0: found after loading, named by `question`
    message: str
    skipped: bool = True  # False: the question was kept, the problem is only noted
    question: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else f"question {self.question}"
        return f"{where}: {self.message}" + (" (skipped)" if self.skipped else "")


def load_gold(path: Path) -> tuple[list[GoldQuestion], list[GoldError]]:
    """Questions from a JSON-lines gold file; malformed lines are reported with their number and skipped.
    Fields this file format does not know (a note, a difficulty) are reported and ignored, so that a
    question set written elsewhere loses no question for them; "answer" (one alias or a list) is read as
    "answers"."""
    questions, errors = [], []
    known = {f for f in GoldQuestion.__dataclass_fields__}
    for n, line in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            if "answer" in raw and "answers" not in raw:
                raw["answers"] = raw.pop("answer")
            if isinstance(raw.get("answers"), str):
                raw["answers"] = [raw["answers"]]
            answers = raw.get("answers", [])
            if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
                raise ValueError("answers: a list of aliases (strings)")
            unknown = sorted(set(raw) - known)
            if unknown:
                errors.append(GoldError(n, f"unknown field(s) {unknown} ignored", skipped=False))
                logger.warning("%s line %d: unknown field(s) %s ignored", path, n, unknown)
                raw = {k: v for k, v in raw.items() if k in known}
            q = GoldQuestion(**raw)
            if not q.id or not q.question.strip():
                raise ValueError("needs an id and a question")
            if q.answerable and not q.answers:
                raise ValueError("an answerable question needs answers")
            if q.sides and (len(q.sides) < 2 or not all(isinstance(a, list) and a for a in q.sides)):
                raise ValueError("sides: at least two lists of aliases")
        except (ValueError, TypeError) as exc:
            errors.append(GoldError(n, str(exc)))
            logger.warning("%s line %d: %s", path, n, exc)
            continue
        questions.append(q)
    return questions, errors


# -- running ---------------------------------------------------------------------------------------
@dataclass
class QuestionResult:
    id: str
    question: str
    type: str
    lang: str
    answerable: bool
    answer: str
    abstained: bool
    has_evidence: bool  # the evidence span is known, so retrieval can be scored
    evidence_rank: int | None  # rank of the first retrieved chunk holding the evidence (top 10)
    evidence_read: bool  # a passage the model read for its (last) answer holds the evidence
    alias_hit: bool
    gold_words: bool  # every content word of an alias, in any order and form (metrics.gives_gold_words)
    f1: float
    cites_quote: int  # citations shown (after the check) whose passage contains the gold evidence
    cites_total: int
    model_cites_quote: int  # the same for the citations the model wrote
    model_cites_total: int
    invalid_citations: int
    citation: CitationScores
    total_ms: float
    first_token_ms: float
    prompt_tokens: int
    completion_tokens: int
    passages: list[dict]
    sentences: list[dict]
    reason: str = ""  # the verdict's reason (why it refused, or why a kept answer was asked again)
    attempts: int = 0  # generations it took


def evidence_spans(q: GoldQuestion, index: Index) -> list[tuple[str, int, int]]:
    """(source id, start, end) of every place the gold evidence is found in the index's sources."""
    by_path = {s.path: s.id for s in index.sources.values()}
    spans = []
    for quote, path, span in [(q.quote, q.source, q.span), *((a.get("quote", ""), a.get("source", ""), None)
                                                            for a in q.also)]:
        source_id = by_path.get(path)
        if source_id is None:
            continue
        if span:
            spans.append((source_id, *span))
        elif quote:
            at = index.source_text(source_id).find(quote)
            if at >= 0:
                spans.append((source_id, at, at + len(quote)))
    return spans


def unscorable(questions: list[GoldQuestion], index: Index) -> list[GoldError]:
    """Answerable questions none of whose aliases is in their evidence's source as whole words (an alias
    cut mid-word, a typo): no answer taken from the articles can be scored right. Kept, and noted."""
    by_path = {s.path: s.id for s in index.sources.values()}
    errors = []
    for q in questions:
        source_id = by_path.get(q.source)
        if q.answerable and q.answers and source_id is not None \
                and not contains_alias(index.source_text(source_id), q.answers):
            errors.append(GoldError(0, f"no answer alias is in {q.source} as whole words: it can never be scored "
                                       "right", skipped=False, question=q.id))
            logger.warning("question %s: no answer alias is in %s as whole words", q.id, q.source)
    return errors


def holds(source_id: str, start: int, end: int, spans: list[tuple[str, int, int]]) -> bool:
    return any(sid == source_id and start <= s and e <= end for sid, s, e in spans)


def evaluate_question(assistant: Assistant, q: GoldQuestion, judge: SupportScorer,
                      history: list[tuple[str, str]] | None = None, k: int | None = None) -> tuple[QuestionResult, Answer]:
    spans = evidence_spans(q, assistant.retriever.index)
    query = retrieval_query(q.question, history)
    rank = None
    if spans:
        for hit in assistant.retriever.search(query, k=10):
            if holds(hit.chunk.source_id, hit.chunk.start, hit.chunk.end, spans):
                rank = hit.rank
                break
    result = assistant.answer(q.question, history, k=k)
    def holds_evidence(numbers: set[int]) -> int:
        return sum(1 for p in result.passages if p.number in numbers and holds(p.source_id, p.start, p.end, spans))

    cited = {n for s in result.sentences for n in s.attributed} if not result.abstained else set()
    model_cited = {n for s in result.sentences for n in s.cited} if not result.abstained else set()
    return QuestionResult(
        id=q.id, question=q.question, type=q.kind(), lang=q.lang, answerable=q.answerable, answer=result.text, abstained=result.abstained,
        has_evidence=bool(spans), evidence_rank=rank,
        evidence_read=holds_evidence({p.number for p in result.passages}) > 0,
        alias_hit=(not result.abstained) and q.right(result.text),
        gold_words=(not result.abstained) and q.right_in_other_words(result.text),
        f1=0.0 if result.abstained else token_f1(re.sub(r"\[\d+\]", "", result.text), q.answers),
        cites_quote=holds_evidence(cited), cites_total=len(cited),
        model_cites_quote=holds_evidence(model_cited), model_cites_total=len(model_cited),
        invalid_citations=result.invalid_citations,
        citation=citation_scores(result, judge),
        total_ms=result.timings.get("total_ms", 0.0), first_token_ms=result.timings.get("first_token_ms", 0.0),
        prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
        passages=[{"n": p.number, "path": p.path, "start": p.start, "end": p.end, "text": p.text} for p in result.passages],
        sentences=[{"text": s.text, "cited": s.cited, "attributed": s.attributed, "support": round(s.support, 3),
                    "supported": s.supported} for s in result.sentences],
        reason=result.reason.value, attempts=result.attempts,
    ), result


def run(assistant: Assistant, questions: list[GoldQuestion], judge: SupportScorer, k: int | None = None,
        progress: Callable[[int, int], None] | None = None) -> list[QuestionResult]:
    """Answer every question (follow-ups get their lead question's exchange as history)."""
    answers: dict[str, Answer] = {}
    by_id = {q.id: q for q in questions}
    results = []
    for i, q in enumerate(questions):
        history = None
        if q.follow_up and q.follow_up in answers:
            history = [(by_id[q.follow_up].question, answers[q.follow_up].text)]
        record, answers[q.id] = evaluate_question(assistant, q, judge, history, k)
        results.append(record)
        if progress:
            progress(i + 1, len(questions))
    return results


def _share(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))], 1)


def summarise(results: list[QuestionResult], k: int | None = None) -> dict:
    """Aggregate figures, each with the counts behind it (`k`: the chunks the first reading is cut from,
    to tell a miss whose evidence ranked below them)."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    with_evidence = [r for r in answerable if r.has_evidence]
    cs = CitationScores()
    for r in results:
        for f in asdict(cs):
            setattr(cs, f, getattr(cs, f) + getattr(r.citation, f))
    answered = [r for r in answerable if not r.abstained]
    summary = {
        "questions": len(results), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "retrieval": {
            "hit@1": _share(sum(r.evidence_rank == 1 for r in with_evidence), len(with_evidence)),
            "hit@3": _share(sum(r.evidence_rank is not None and r.evidence_rank <= 3 for r in with_evidence), len(with_evidence)),
            "hit@5": _share(sum(r.evidence_rank is not None and r.evidence_rank <= 5 for r in with_evidence), len(with_evidence)),
            "mrr@10": _share(sum(1 / r.evidence_rank for r in with_evidence if r.evidence_rank), len(with_evidence)),
            # the evidence inside the passages the model read (windows of the retrieved chunks)
            "evidence_read": _share(sum(r.evidence_read for r in with_evidence), len(with_evidence)),
        },
        "correctness": {
            "alias_hit": _share(sum(r.alias_hit for r in answerable), len(answerable)),
            "token_f1": _share(sum(r.f1 for r in answerable), len(answerable)),
            "gold_words": _share(sum(r.gold_words for r in answerable), len(answerable)),
            "counts": f"{sum(r.alias_hit for r in answerable)}/{len(answerable)} with an alias; "
                      f"{sum(r.gold_words for r in answerable)}/{len(answerable)} with its words",
        },
        "citations": {
            "recall": _share(cs.supported_sentences, cs.sentences),
            "precision": _share(cs.good_citations, cs.citations),
            "quote_in_cited_passage": _share(sum(r.cites_quote for r in answered), sum(r.cites_total for r in answered)),
            "quote_in_model_cited_passage": _share(sum(r.model_cites_quote for r in answered),
                                                   sum(r.model_cites_total for r in answered)),
            "invalid_citations": sum(r.invalid_citations for r in results),
            "uncited_sentences": cs.uncited_sentences,
            "counts": asdict(cs),
        },
        "groundedness": _share(cs.grounded_sentences, cs.sentences),
        "abstention": {
            "unanswerable_abstained": _share(sum(r.abstained for r in unanswerable), len(unanswerable)),
            "answerable_refused": _share(sum(r.abstained for r in answerable), len(answerable)),
            "counts": f"{sum(r.abstained for r in unanswerable)}/{len(unanswerable)} abstained; "
                      f"{sum(r.abstained for r in answerable)}/{len(answerable)} refused",
        },
        "latency_ms": {
            "p50": _percentile([r.total_ms for r in results], 50),
            "p95": _percentile([r.total_ms for r in results], 95),
            "first_token_p50": _percentile([r.first_token_ms for r in results if r.first_token_ms], 50),
            "first_token_p95": _percentile([r.first_token_ms for r in results if r.first_token_ms], 95),
        },
        "tokens": {
            "prompt_mean": round(statistics.mean([r.prompt_tokens for r in results if r.prompt_tokens] or [0]), 1),
            "answer_mean": round(statistics.mean([r.completion_tokens for r in results if r.completion_tokens] or [0]), 1),
        },
        "by_type": _by(results, lambda r: r.type),
        "by_language": _by(results, lambda r: r.lang),
        "misses": misses(results, k),
    }
    return summary


def miss_kind(r: QuestionResult, k: int | None = None) -> str | None:
    """What went wrong with a question, from what the run recorded (None when it is right): an
    unanswerable question answered; or an answerable one refused (with the verdict's reason) or answered
    wrongly, by where its evidence got to: not among the 10 retrieved chunks, ranked below the `k` chunks
    the first reading is cut from, in them but not in the passages the model read, or read."""
    if is_right(r):
        return None
    if not r.answerable:
        return "unanswerable answered"
    if not r.has_evidence:
        where = "evidence unknown"
    elif r.evidence_rank is None:
        where = "evidence not retrieved"
    elif not r.evidence_read and k is not None and r.evidence_rank > k:
        where = f"evidence ranked below the {k} chunks read"
    elif not r.evidence_read:
        where = "evidence retrieved, not read"
    else:
        where = "evidence read"
    return f"refused ({r.reason or 'no reason recorded'}), {where}" if r.abstained else f"wrong answer, {where}"


def misses(results: list[QuestionResult], k: int | None = None) -> dict[str, int]:
    """How many questions went wrong in each way (`miss_kind`), the most frequent first."""
    kinds = Counter(kind for r in results if (kind := miss_kind(r, k)) is not None)
    return dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))


def is_right(r: QuestionResult) -> bool:
    """An answerable question answered with a gold alias, or an unanswerable one refused."""
    return r.alias_hit if r.answerable else r.abstained


def _by(results: list[QuestionResult], key: Callable[[QuestionResult], str]) -> dict:
    """Share of right answers per group (and refusals of answerable questions), with counts."""
    groups: dict[str, list[QuestionResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    return {name: {"right": _share(sum(map(is_right, rs)), len(rs)),
                   "counts": f"{sum(map(is_right, rs))}/{len(rs)} right; "
                             f"{sum(r.abstained for r in rs if r.answerable)} refused"}
            for name, rs in sorted(groups.items())}


def flatten(summary: dict, prefix: str = "") -> dict[str, float]:
    """Numeric figures keyed by dotted path (`citations.recall`), for thresholds and tables."""
    out = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key != "counts":
            out.update(flatten(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = value
    return out


def check_thresholds(summary: dict, thresholds: dict[str, dict[str, float]]) -> list[str]:
    """Failures against {"min": {figure: value}, "max": {figure: value}}; empty when all pass."""
    flat = flatten(summary)
    failures = []
    for figure, bound in thresholds.get("min", {}).items():
        if flat.get(figure) is None or flat[figure] < bound:
            failures.append(f"{figure} = {flat.get(figure)} < {bound}")
    for figure, bound in thresholds.get("max", {}).items():
        if flat.get(figure) is None or flat[figure] > bound:
            failures.append(f"{figure} = {flat.get(figure)} > {bound}")
    return failures


# -- whole runs ------------------------------------------------------------------------------------
@dataclass
class EvalRun:
    settings: dict
    summary: dict
    results: list[QuestionResult]
    gold_errors: list[GoldError]


def _run_settings(assistant: Assistant, judge: SupportScorer, gold: str, k: int | None) -> dict:
    from datetime import datetime, timezone

    from rag.models import REGISTRY, sha256_file

    llm = assistant.llm
    path = getattr(llm, "path", None)
    registered = {m.filename: m.sha256 for m in REGISTRY.values()}
    sha = registered.get(path.name) if path is not None else None
    if path is not None and sha is None:
        sha = sha256_file(path)
    s = assistant.settings
    return {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "gold": gold, "model": str(path.name if path else llm.name), "model_sha256": sha,
        "embedder": assistant.retriever.embedder.id, "k": k or s.retrieval.k,
        "chunk": f"{s.chunk.max_chars} chars, overlap {s.chunk.overlap_chars}",
        "context_chars": s.evidence.context_chars, "max_tokens": s.generation.max_tokens,
        "temperature": s.generation.temperature, "prompt_hash": assistant.prompt_hash, "judge": judge.name,
        **({"adapter": s.generation.adapter, "adapter_sha256": sha256_file(llm.adapter)}
           if getattr(llm, "adapter", None) is not None else {}),
        # how the in-process model reuses its KV cache: with "longest" a reply may depend on the one before
        **({"prefix_cache": llm.prefix_cache} if getattr(llm, "prefix_cache", None) else {}),
    }


def evaluate_gold(assistant: Assistant, gold_path: Path, judge: SupportScorer, limit: int | None = None,
                  k: int | None = None, progress: Callable[[int, int], None] | None = None,
                  loaded: tuple[list[GoldQuestion], list[GoldError]] | None = None) -> EvalRun:
    """Run a gold file (the first `limit` questions, lead questions of follow-ups included); `loaded` is
    what `load_gold(gold_path)` gave, when the caller has read it already."""
    questions, errors = loaded or load_gold(gold_path)
    if limit is not None:
        chosen = questions[:limit]
        ids = {q.id for q in chosen}
        leads = [q for q in questions if any(c.follow_up == q.id for c in chosen) and q.id not in ids]
        questions = leads + chosen
    errors = errors + unscorable(questions, assistant.retriever.index)
    results = run(assistant, questions, judge, k, progress)
    depth = assistant.reading_depth  # None for a reader whose chunks are not the index's
    summary = summarise(results, (k or depth) if depth is not None else None)
    return EvalRun(_run_settings(assistant, judge, str(gold_path), k), summary, results, errors)


def squad_gold(squad_path: Path, corpus_dir: Path, articles: int, questions: int, seed: int = 0,
               split: str | None = None) -> list[GoldQuestion]:
    """Write the first `articles` articles of a SQuAD file (or of its tune/test half) into `corpus_dir`;
    sample questions on them."""
    from rag.squad import load_squad, sample, write_corpus

    texts, qs = load_squad(squad_path, articles, split)
    if not qs:
        half = f" of its {split} half" if split else ""
        raise SettingsError(f"no question with an answer in the first {articles} articles{half} of {squad_path}")
    write_corpus(texts, corpus_dir)
    return [GoldQuestion(id=q.id, question=q.question, answers=q.answers, quote=texts[q.path][q.start:q.end],
                         source=q.path, span=(q.start, q.end)) for q in sample(qs, questions, seed)]
