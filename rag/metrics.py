"""Scoring one answer: correctness against gold aliases (SQuAD-style, French-aware) and ALCE-style
citation recall and precision judged by a support scorer."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from rag.answer import Answer
from rag.answer_types import canonical
from rag.lexical import fold, tokenize
from rag.support import SupportScorer

_ARTICLES = re.compile(r"\b(le|la|les|l|un|une|des|du|de|d|the|a|an)\b")


def normalise_answer(text: str) -> str:
    """Lower case, no accents, no punctuation, no articles, single spaces (SQuAD-style, French-aware)."""
    text = fold(text).replace("’", "'")
    text = "".join(" " if ch in string.punctuation or ch in "«»“”" else ch for ch in text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def contains_alias(answer: str, aliases: list[str]) -> bool:
    norm = f" {normalise_answer(answer)} "
    return any(f" {normalise_answer(a)} " in norm for a in aliases if normalise_answer(a))


def gives_gold_words(answer: str, aliases: list[str]) -> bool:
    """Does the answer hold every content word of an alias, in any order and form (stems, stop words
    left out, number words as digits)? "Wang Mang réduit le titre des nobles de ces fiefs" gives "il
    réduit le titre des nobles de ces fiefs"; "7 buts à zéro" gives "sept buts à zéro". A looser reading
    than `contains_alias`, reported beside it to count the answers right in other words."""
    said = {canonical(t) for t in tokenize(answer)}
    for alias in aliases:
        needed = {canonical(t) for t in tokenize(alias)}
        if needed and needed <= said or not needed and contains_alias(answer, [alias]):
            return True
    return False


def token_f1(answer: str, aliases: list[str]) -> float:
    """Best SQuAD token F1 of the answer against any alias."""
    pred = normalise_answer(answer).split()
    best = 0.0
    for alias in aliases:
        gold = normalise_answer(alias).split()
        common = sum(min(pred.count(t), gold.count(t)) for t in set(gold))
        if common:
            p, r = common / len(pred), common / len(gold)
            best = max(best, 2 * p * r / (p + r))
    return best


# -- citations (ALCE) ----------------------------------------------------------------------------
@dataclass
class CitationScores:
    sentences: int = 0
    supported_sentences: int = 0  # supported by the concatenation of what they cite (citation recall)
    citations: int = 0
    good_citations: int = 0  # needed and supportive (citation precision)
    uncited_sentences: int = 0  # the model wrote no citation
    grounded_sentences: int = 0  # supported by some retrieved passage, whatever they cite


def citation_scores(result: Answer, judge: SupportScorer) -> CitationScores:
    """ALCE citation recall/precision of an answer, judged on the model's own citations."""
    scores = CitationScores()
    if result.abstained:
        return scores
    evidence = {p.number: p.text for p in result.passages}
    for s in result.sentences:
        scores.sentences += 1
        if any(judge.supports(s.text, t, result.question) for t in evidence.values()):
            scores.grounded_sentences += 1
        cited = s.cited
        if not cited:
            scores.uncited_sentences += 1
            continue
        joint = judge.supports(s.text, " ".join(evidence[n] for n in cited), result.question)
        scores.supported_sentences += joint
        for n in cited:
            scores.citations += 1
            alone = judge.supports(s.text, evidence[n], result.question)
            if alone:
                scores.good_citations += 1
            elif joint:
                rest = [m for m in cited if m != n]
                # needed: without it the others no longer support the sentence
                if not rest or not judge.supports(s.text, " ".join(evidence[m] for m in rest), result.question):
                    scores.good_citations += 1
    return scores
