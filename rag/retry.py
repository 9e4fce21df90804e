"""What to try when the check rejects an answer: a policy over small strategy classes.

A `Strategy` says, from the verdict's reason, whether it applies, which passages the model should read
on the next attempt, and whether the new verdict is good enough to replace the current one. The
`RetryPolicy` tries its strategies in order, each at most once, within `max_attempts` generations per
question (the first one included). Adding a strategy is one class added to the policy's list.

Two directions: read less (one passage, when the model mixed passages up or wrote past them) and read
more (wider evidence, when the model found nothing or what it wrote was rejected): the short first
prompt keeps easy questions fast, and only the hard ones pay for a long one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace

from rag.answer_types import answers_of, expected_type, question_gives
from rag.evidence import Passage, unread
from rag.verify import Reason, Verdict

Reading = Callable[[], list[Passage]]


class Strategy(ABC):
    name: str
    #: verdict reasons this strategy tries to repair
    repairs: frozenset[Reason]

    def applies(self, verdict: Verdict) -> bool:
        return verdict.reason in self.repairs

    @abstractmethod
    def passages(self, passages: list[Passage], verdict: Verdict, wider: Reading,
                 whole: Reading) -> list[Passage] | None:
        """The passages for the next attempt (numbered from 1), or None when there is nothing to try.
        `passages` are the first attempt's; `wider()` selects a wider reading of the same question,
        `whole()` its best retrieved chunks given whole."""

    def accepts(self, verdict: Verdict) -> bool:
        """Does the new attempt's verdict replace the current one? By default: only a clean answer."""
        return verdict.reason is Reason.ANSWERED


class BestPassageAlone(Strategy):
    """Ask again with the best-matching passage alone (numbered last, renumbered [1]): a small model
    that mixed passages up, or whose sentences the check could not support, often reads one passage
    correctly. An answer that mixed passages stands if this attempt fails."""

    name = "best_passage_alone"
    repairs = frozenset({Reason.UNSUPPORTED, Reason.UNRESPONSIVE, Reason.NOT_AN_ANSWER, Reason.MIXED_PASSAGES})

    def passages(self, passages: list[Passage], verdict: Verdict, wider: Reading,
                 whole: Reading) -> list[Passage] | None:
        if len(passages) < 2:
            return None
        return [replace(passages[-1], number=1)]


class AttributedPassageAlone(Strategy):
    """The answer mixed passages up but the check found its fact in one passage other than the best:
    ask again with that passage alone (renumbered [1]). "L'AGI est une IA capable de surpasser les
    humains… [4]" cites the best passage while [3] holds the words; the best passage alone, which lacks
    them, leads the model elsewhere. An option (`[retry] attributed_first`); when it does not apply or
    fails, `BestPassageAlone` still follows."""

    name = "attributed_passage_alone"
    repairs = frozenset({Reason.MIXED_PASSAGES})

    def passages(self, passages: list[Passage], verdict: Verdict, wider: Reading,
                 whole: Reading) -> list[Passage] | None:
        used = {n for s in verdict.sentences if s.supported for n in s.attributed}
        chosen = [p for p in passages[:-1] if {p.number} == used]  # the best passage (last) is not another
        return [replace(chosen[0], number=1)] if chosen else None


class PassageWithAskedType(Strategy):
    """The question asks for a date, an amount, a percentage, a place or an organisation and the answer
    gave none: ask again with the best passage that holds one (one the question does not already give),
    alone."""

    name = "passage_with_asked_type"
    repairs = frozenset({Reason.WRONG_TYPE})

    def passages(self, passages: list[Passage], verdict: Verdict, wider: Reading,
                 whole: Reading) -> list[Passage] | None:
        asked = expected_type(verdict.question)
        if asked is None:
            return None
        given = question_gives(verdict.question, asked)
        holding = [p for p in passages if answers_of(verdict.question, p.text, asked) - given]
        return [replace(holding[-1], number=1)] if holding else None


class WiderEvidence(Strategy):
    """The model found no answer, or what it wrote was rejected: ask again on wider evidence (more
    chunks, longer windows, a larger budget: `RetrySettings.wide_*`), when that reading holds text the
    first one did not. The first prompt's short windows keep easy questions fast; a fact they cut off
    (the sentence after the one that matches the question, a chunk ranked 7th) is read here."""

    name = "wider_evidence"
    repairs = frozenset({Reason.MODEL_ABSTAINED, Reason.UNSUPPORTED, Reason.UNRESPONSIVE, Reason.NOT_AN_ANSWER,
                         Reason.WRONG_TYPE})

    def passages(self, passages: list[Passage], verdict: Verdict, wider: Reading,
                 whole: Reading) -> list[Passage] | None:
        chosen = wider()
        return chosen if unread(chosen, passages) else None


class WholeChunks(Strategy):
    """Every attempt so far was refused: ask once more on the best retrieved chunks given whole
    (`RetrySettings.whole_chunks` of them, best last), as the naive baseline reads them, when they hold
    text the first reading did not. The windows of the other readings are cut around the sentences that
    match the question best, and lose a fact a chunk states in other words than the question's; the naive
    baseline's whole chunks keep it. An option: it adds a generation to `max_attempts`, paid only by
    questions that would otherwise be refused."""

    name = "whole_chunks"
    repairs = WiderEvidence.repairs

    def passages(self, passages: list[Passage], verdict: Verdict, wider: Reading,
                 whole: Reading) -> list[Passage] | None:
        chosen = whole()
        return chosen if unread(chosen, passages) else None


class RetryPolicy:
    """Chooses the next attempt from the current verdict; see the module docstring."""

    def __init__(self, strategies: list[Strategy] | None = None, max_attempts: int = 2,
                 attributed_first: bool = False, wider_first: bool = False, whole_chunks: bool = False) -> None:
        """`whole_chunks`: `WholeChunks` comes last, with one more attempt than `max_attempts` for it."""
        if strategies is None:
            strategies = [BestPassageAlone(), PassageWithAskedType(), WiderEvidence()]
            if wider_first:
                strategies.insert(0, strategies.pop())
            if attributed_first:
                strategies.insert(0, AttributedPassageAlone())
            if whole_chunks:
                strategies.append(WholeChunks())
                max_attempts += 1
        self.strategies = strategies
        self.max_attempts = max_attempts

    def next(self, verdict: Verdict, passages: list[Passage], attempts: int, tried: set[str],
             wider: Reading, whole: Reading = list) -> tuple[Strategy, list[Passage]] | None:
        """The strategy to try after `attempts` generations and the passages it gives, or None."""
        if attempts >= self.max_attempts:
            return None
        for strategy in self.strategies:
            if strategy.name in tried or not strategy.applies(verdict):
                continue
            chosen = strategy.passages(passages, verdict, wider, whole)
            if chosen:
                return strategy, chosen
        return None
