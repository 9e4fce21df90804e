"""Checking an answer against the passages it was given: the verdict.

Citation parsing (`rag.citations`) and support scoring (`rag.support`) are the tools; this module
decides what they mean for an answer. `Verifier.__call__` parses the model's reply, scores each
sentence, re-attributes citations, and returns a `Verdict` whose `reason` says whether the answer
stands and, if not, why. Each test is a small public function:

- `attribute`: a sentence cites the passage that supports it ("… 1 milliard en 2019 [1]" when [3]
  holds the fact becomes [3]; an uncited sentence gets the passage that clearly supports it); a passage
  lacking a figure the sentence states (or, as an option, a name of the question it states) does not
  support it, and a sentence adding words to the question that no passage holds is unsupported;
- `responsive`: the evidence an answer rests on must hold one of the question's distinctive terms
  (an answer about Azure to a question about Stargate rests on a passage without "Stargate");
- `mixes_passages`: a sentence takes one passage's fact into another's words ("Copilot … accessible
  aux entreprises" when only the Azure passage speaks of companies);
- `asks`: a sentence of the answer that is a question ("Qui dominera ?", copied from the article)
  asserts nothing: it is left out of the answer, and an answer made only of questions answers nothing;
  so is a sentence saying the passages lack what was asked (`rag.language.says_not_in_sources`: "X is not
  provided in the given passage"), and an answer made only of such sentences is the model not knowing;
- `restates`: a sentence that only repeats the question's own words, or copies a heading of the
  article, answers nothing ("La poutine parfaite représente la poutine parfaite."); nor does one that
  restates a why-question's premise with a word or two added, giving no reason;
- `speaks_of_cause`: an answer to a why-question states a cause or speaks of the event asked about
  (Nadella's reaction, given for why the board fired Altman, does neither);
- `cause_from_passage`: a cause an answer to a why-question states ("parce que", "because", "pour une
  raison de") is one its passage states too; a passage stating none leaves the causal link the model's own
  ("OpenAI a renvoyé Sam Altman pour une raison de dépendance mutuelle" over a passage telling how Nadella
  reacted);
- `gives_asked_type`: a question asking for a date, an amount, a percentage or a place is answered
  only by a sentence holding one, taken from its passage and not from the question ("Quand … ?"
  answered "Microsoft perçoit 20 % des revenus" gives no date; "Combien d'employés … ?" answered with a
  sum of money gives no count).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from rag.answer_types import NOT_NAMES, WEB_ADDRESS, AnswerType, answers_of, asks_why, expected_type, is_yes_no, \
    magnitudes, quantities, points_back, question_gives, states_cause, within, without_why
from rag.chunking import split_sentences
from rag.citations import Sentence, parse_answer, render
from rag.config import VerifySettings
from rag.evidence import Passage, is_question
from rag.language import detect_language, is_abstention, says_not_in_sources
from rag.lexical import fold, function_stems, question_terms, tokenize
from rag.support import SupportScorer

if TYPE_CHECKING:
    from rag.index import Index


class Reason(str, Enum):
    """Why an answer stands or not (a `str`, so that it reads as its value in JSON reports)."""

    ANSWERED = "answered"
    NOTHING_RETRIEVED = "nothing_retrieved"
    MODEL_ABSTAINED = "model_abstained"
    UNSUPPORTED = "unsupported"
    UNRESPONSIVE = "unresponsive"
    NOT_AN_ANSWER = "not_an_answer"
    WRONG_TYPE = "wrong_type"
    MIXED_PASSAGES = "mixed_passages"
    NOT_IN_METADATA = "not_in_metadata"

    @property
    def abstains(self) -> bool:
        """Does the assistant answer with the abstention sentence for this reason?"""
        return self not in (Reason.ANSWERED, Reason.MIXED_PASSAGES)

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self]


_EXPLANATIONS = {
    Reason.ANSWERED: "every check passed",
    Reason.NOTHING_RETRIEVED: "nothing relevant was retrieved",
    Reason.MODEL_ABSTAINED: "the model found no answer in the passages",
    Reason.UNSUPPORTED: "no sentence of the answer is supported by the passages",
    Reason.UNRESPONSIVE: "the answer does not address the question",
    Reason.NOT_AN_ANSWER: "the answer only restates the question, copies a heading or asks a question",
    Reason.WRONG_TYPE: "the question asks for a date, an amount, a percentage or a place and the answer gives none "
                       "from its passages",
    Reason.MIXED_PASSAGES: "the answer mixes passages up: it cites one and takes its words or its fact from another",
    Reason.NOT_IN_METADATA: "the question asks for the article's author, date, outlet, title or link and the article "
                            "does not give it",
}


@dataclass
class Verdict:
    """The checked answer: its sentences (with support and attributed citations) and the reason."""

    reason: Reason
    raw: str
    passages: list[Passage]
    question: str = ""
    sentences: list[Sentence] = field(default_factory=list)
    invalid_citations: int = 0

    @property
    def abstains(self) -> bool:
        return self.reason.abstains

    @property
    def text(self) -> str:
        """The answer with its checked citations ("" when it abstains)."""
        return "" if self.abstains else render(self.sentences)

    @property
    def unsupported(self) -> int:
        return sum(not s.supported for s in self.sentences)


_NAME = re.compile(r"[A-ZÀ-Ý][\w-]*")


def names(text: str) -> set[str]:
    """The stems of `text`'s capitalised words that are not function or question words ("Oracle",
    "Stargate" in "Quel rôle Oracle joue-t-il dans le projet Stargate ?")."""
    return {t for m in _NAME.finditer(text) if fold(m.group(0)) not in NOT_NAMES for t in tokenize(m.group(0))}


def _names_of_question(question: str) -> set[str]:
    """`names` of a question, its first word left out: it is capitalised as a first word ("Jusqu'à
    quand…", "Sous quelle forme…")."""
    return names(question.split(maxsplit=1)[-1])


def _content(stems: set[str], text: str) -> set[str]:
    """`stems` of `text` without English function words when `text` is English: French stemming keeps
    them ("its", "did"), and they say nothing."""
    return stems - function_stems() if detect_language(text) == "en" else stems


def own_terms(sentence: str, question: str) -> set[str]:
    """The stems a sentence adds to the question's: its words the question does not hold (an English
    sentence's function words left out: "its" adds nothing)."""
    return _content(set(tokenize(sentence)) - set(tokenize(question)), sentence)


def holds_own_terms(own: set[str], held: set[str], min_terms: int, share: float) -> bool:
    """Do the evidence's stems `held` hold at least `share` of a sentence's `own_terms`? A sentence adding
    fewer than `min_terms` words to the question is not judged (a short answer: "En 1620.")."""
    if min_terms < 1 or len(own) < min_terms:
        return True
    return len(own & held) >= share * len(own)


def attribute(sentences: list[Sentence], passages: list[Passage], scorer: SupportScorer, question: str,
              margin: float, question_names: bool = False, own_terms_min: int = 0,
              own_terms_share: float = 0.5) -> None:
    """Score each sentence against what it cites and move its citation to the passage that supports it
    clearly better (by `margin`); an uncited sentence is attributed to the passage that supports it
    above the threshold. Ties go to the better match (passages are numbered from the least to the best).
    A passage that lacks a figure the sentence states (an amount with its scale, a percentage, a year:
    `answer_types.quantities`, the question's own left aside) does not support it at all, so the citation
    goes to the passage that holds the figure, or the sentence is unsupported; likewise an order of
    magnitude ("several hundred billion": `answer_types.magnitudes`) that the passage neither says nor
    holds a figure inside ("260 milliards" bears it out, "plusieurs dizaines de milliards" does not). With
    `question_names` (not the default: measured, not adopted), so does a passage that lacks a name of the
    question the sentence states, unless its article's title holds it ("Oracle joue un rôle important dans
    le projet Stargate [1]" when [1] speaks of Stargate only); not across languages, where an English
    question's capitalised words are not the French passage's. With `own_terms_min` (the default's 3:
    `VerifySettings.own_terms_min`), a sentence is unsupported when the passages in its language, all
    together, hold less than `own_terms_share` of what it adds to the question (`own_terms`, when it adds
    at least `own_terms_min` of them): "Microsoft s'inquiète de la volonté d'indépendance d'OpenAI pour
    des raisons de sécurité [1]" restates the question and adds words no passage holds, so its cosine to
    [1]'s sentence about Microsoft's worries supports nothing. Where the words are is not judged here:
    the citation is chosen as before."""
    evidence = {p.number: p.text for p in passages}
    figures = {n: quantities(t) for n, t in evidence.items()}
    orders = {n: magnitudes(t) for n, t in evidence.items()}
    asked = quantities(question)
    asked_orders = magnitudes(question)
    asked_names = _names_of_question(question) if question_names else set()
    held_names: dict[int, set[str] | None] = {}
    if asked_names:  # (the title is the article's own, or its file name)
        language = detect_language(question)
        held_names = {p.number: set(tokenize(f"{p.text} {p.title}")) if detect_language(p.text) == language
                      else None for p in passages}
    in_language: dict[str, set[str]] = {}  # a language -> the stems of the passages written in it
    for s in sentences:
        own = own_terms(s.text, question) if own_terms_min else set()
        if own:
            language = detect_language(s.text)
            if language not in in_language:
                in_language[language] = {t for text in evidence.values() if detect_language(text) == language
                                         for t in tokenize(text)}
            held = in_language[language]
            if held and not holds_own_terms(own, held, own_terms_min, own_terms_share):
                s.support, s.supported = 0.0, False  # what it adds is in no passage
                continue
        stated = quantities(s.text) - asked  # a figure must be in the passage: "20 million" is not "20 milliards"
        vague = magnitudes(s.text) - asked_orders  # "several hundred billion" needs a passage saying as much
        named = names(s.text) & asked_names if asked_names else set()

        def support(numbers: list[int]) -> float:
            held = set().union(*(figures[n] for n in numbers))
            if not stated <= held:
                return 0.0
            if vague and not all(within(v, held, set().union(*(orders[n] for n in numbers))) for v in vague):
                return 0.0
            if named:
                known = [held_names[n] for n in numbers if held_names[n] is not None]
                if len(known) == len(numbers) and not named <= set().union(*known):
                    return 0.0
            return scorer.score(s.text, " ".join(evidence[n] for n in numbers), question)

        scores = {n: support([n]) for n in evidence}
        best_n = max(sorted(scores, reverse=True), key=lambda n: scores[n])
        if s.cited:
            s.support = support(s.cited) if len(s.cited) > 1 else scores[s.cited[0]]
            if scores[best_n] >= scorer.threshold and scores[best_n] >= s.support + margin and best_n not in s.cited:
                s.attributed, s.support, s.auto_attributed = [best_n], scores[best_n], True
        else:
            s.support = scores[best_n]
            if s.support >= scorer.threshold:
                s.attributed, s.auto_attributed = [best_n], True
        s.supported = s.support >= scorer.threshold


def responsive(question: str, sentences: list[Sentence], passages: list[Passage], index: "Index",
               rare_share: float = 0.2, names_only: bool = False) -> bool:
    """Does the evidence the answer rests on, read in the chunk it was cut from, hold one of the
    question's distinctive terms (found in at most `rare_share` of the chunks)? The answer itself is not
    counted: a model can echo the question's words. "Quel est le budget de Stargate ?" answered from a
    passage about Azure's revenue fails: no chunk the answer rests on says "Stargate". Only the terms the
    articles use at all count: a word no article holds cannot tell one passage from another ("Comment
    Microsoft se sert-il des modèles d'OpenAI ?" when the articles say "utilise"). A question in another
    language than the articles is given with its words carried into theirs (the Verifier's `terms`): an
    English word the French articles hold only in a few quotes ("at", "end", "region") is rare there without
    saying anything of the answer, and "When were the Acadians deported?" is judged on "déportation" too,
    not on "acadian" alone. With `names_only` (an option,
    measured and not adopted), a question none of whose rare terms is a name or a figure is not judged."""
    rare = index.lexical.rare_terms(question, rare_share)
    if names_only:
        named = _names_of_question(question)
        if not any(t in named or any(c.isdigit() for c in t) for t in rare):
            return True
    if not rare:
        return True
    used = {n for s in sentences if s.supported for n in s.attributed}
    context = " ".join(index.chunk(p.chunk_id).text for p in passages if p.number in used)
    return bool(set(rare) & set(tokenize(context)))


def mixes_passages(question: str, sentences: list[Sentence], passages: list[Passage], min_borrowed: int = 2) -> bool:
    """Does a supported sentence repeat `min_borrowed` or more words of the question that its own
    passage lacks but another passage holds, or cite the best passage (numbered last) for what the check
    found in another? "Microsoft a utilisé Copilot pour rendre les modèles accessibles aux entreprises
    [1]" when only passage [2] (Azure) speaks of companies. One repeated word is usually the model
    restating the question; two are a borrowed fact."""
    asked = set(question_terms(question))
    stems = {p.number: set(tokenize(p.text)) for p in passages}
    best = len(passages)
    for s in sentences:
        if not s.supported or not s.attributed:
            continue
        own = set().union(*(stems.get(n, set()) for n in s.attributed))
        elsewhere = set().union(*(v for n, v in stems.items() if n not in s.attributed))
        borrowed = [t for t in asked & set(tokenize(s.text)) if t not in own and t in elsewhere]
        if len(borrowed) >= min_borrowed:
            return True
        if best in s.cited and best not in s.attributed:
            return True
    return False


def _headings(passage: Passage, index: "Index | None") -> list[str]:
    """Lines of the passage's source span that read like headings: short, with no closing punctuation.
    A line holding a web address is a reference ("Article en référence: https://…"), not a heading: it
    answers "Quel article est cité en référence ?"."""
    text = index.source_text(passage.source_id)[passage.start:passage.end] if index is not None else passage.text
    lines = [text[s.start:s.end].strip() for s in split_sentences(text)]
    return [line for line in lines if line and len(line.split()) <= 10 and line[-1] not in ".!?:;…»\")"
            and not WEB_ADDRESS.search(line)]


def asks(sentence: Sentence) -> bool:
    """Is the answer's sentence a question ("Pas de quoi s'inquiéter ?")? It asserts nothing."""
    return is_question(sentence.text)


def restates(question: str, sentence: Sentence, passages: list[Passage], index: "Index | None" = None,
             reason_terms: int = 0) -> bool:
    """Does the sentence say nothing beyond the question's words and a heading of its passages? "La
    poutine parfaite représente la poutine parfaite" to "Que représente la poutine parfaite ?", or
    "Deux visions de l'intelligence artificielle" copied from a section heading. To a why-question, a
    sentence adding fewer than `reason_terms` words of its own restates the premise without a reason."""
    own = own_terms(sentence.text, question)
    if not own:
        return not is_yes_no(question)  # "Moab est un désert." answers "Moab est-il un désert ?"
    if len(own) < reason_terms and asks_why(question):
        return True
    for p in passages:
        if p.number in sentence.attributed:
            for heading in _headings(p, index):
                if own <= set(tokenize(heading)):
                    return True
    return False


def speaks_of_cause(question: str, sentences: list[Sentence], min_share: float) -> bool:
    """To a why-question: does a supported sentence state a cause (`answer_types.states_cause`: "car",
    "afin de", "pour" + a verb, "because"…) or speak of the event asked about (hold at least `min_share`
    of the question's content words, the why-word left out, or open on a demonstrative that points back at
    it: "Cette initiative démontre la préparation de Microsoft…")? "La réaction rapide de Satya Nadella,
    prêt à recruter Altman et son équipe, montre le lien étroit…" to "Pourquoi le conseil d'administration
    d'OpenAI a-t-il renvoyé Sam Altman ?" does none of these: it is about another event. Any other
    question, or `min_share` 0, is not judged."""
    if not min_share or not asks_why(question):
        return True
    asked = _content(set(question_terms(without_why(question))), question)
    for s in sentences:
        if s.supported and (states_cause(s.text) or points_back(s.text) or
                            (asked and len(asked & set(tokenize(s.text))) >= min_share * len(asked))):
            return True
    return False


def cause_from_passage(question: str, sentences: list[Sentence], passages: list[Passage]) -> bool:
    """To a why-question: does every supported sentence that states a cause (`answer_types.states_cause`)
    rest on a passage that states one too? A passage without "car", "parce que", "afin de", "pour" + a
    verb… gives no reason, so a reason the sentence draws from it is the model's own link between two of
    its facts. Any other question is not judged."""
    if not asks_why(question):
        return True
    texts = {p.number: p.text for p in passages}
    return all(states_cause(" ".join(texts.get(n, "") for n in s.attributed))
               for s in sentences if s.supported and states_cause(s.text))


def gives_asked_type(question: str, sentences: list[Sentence], passages: list[Passage],
                     asked: AnswerType | None = None) -> bool:
    """When the question asks for a date, an amount, a percentage, a place or an organisation (a
    newspaper, a company: `answer_types.expected_type`): does a supported sentence give one that the
    passage it rests on holds and the question does not? "En quelle année le contrat
    a-t-il été signé ?" answered "Le contrat prévoit 20 % des revenus [2]" gives no year."""
    asked = asked or expected_type(question)
    if asked is None:
        return True
    given = question_gives(question, asked)
    texts = {p.number: p.text for p in passages}
    for s in sentences:
        if s.supported:
            evidence = " ".join(texts.get(n, "") for n in s.attributed)
            if (answers_of(question, s.text, asked) - given) & answers_of(question, evidence, asked):
                return True
    return False


class Verifier:
    """Turns a model reply into a `Verdict` (see the module docstring)."""

    def __init__(self, scorer: SupportScorer, settings: VerifySettings | None = None) -> None:
        self.scorer = scorer
        self.settings = settings or VerifySettings()

    def __call__(self, question: str, raw: str, passages: list[Passage], index: "Index", terms: str = "") -> Verdict:
        """The verdict on `raw`, the model's reply to `question` over `passages`. `terms`: the question with
        its words carried into the articles' language when it is written in another (`Retriever.carried`),
        which `responsive` looks for in the evidence; the question itself by default."""
        if not raw or is_abstention(raw):
            return Verdict(Reason.MODEL_ABSTAINED, raw, passages, question)
        parsed = parse_answer(raw, len(passages))
        lacking = [says_not_in_sources(s.text) for s in parsed.sentences]
        asserted = [s for s, lacks in zip(parsed.sentences, lacking) if not lacks and not asks(s)]
        if parsed.sentences and not asserted:
            # only questions, or only "the passages do not say": the model's own way of not knowing
            reason = Reason.MODEL_ABSTAINED if any(lacking) else Reason.NOT_AN_ANSWER
            return Verdict(reason, raw, passages, question, parsed.sentences, parsed.invalid_citations)
        parsed.sentences = asserted
        attribute(parsed.sentences, passages, self.scorer, question, self.settings.reattribute_margin,
                  self.settings.question_names, self.settings.own_terms_min, self.settings.own_terms_share)
        verdict = Verdict(Reason.ANSWERED, raw, passages, question, parsed.sentences, parsed.invalid_citations)
        supported = [s for s in parsed.sentences if s.supported]
        if not supported:
            verdict.reason = Reason.UNSUPPORTED
        elif (all(restates(question, s, passages, index, self.settings.reason_terms) for s in supported)
              or not speaks_of_cause(question, supported, self.settings.cause_topic_share)
              or self.settings.cause_in_passage and not cause_from_passage(question, supported, passages)):
            verdict.reason = Reason.NOT_AN_ANSWER
        elif not gives_asked_type(question, parsed.sentences, passages):
            verdict.reason = Reason.WRONG_TYPE
        elif not responsive(terms or question, parsed.sentences, passages, index, self.settings.rare_term_share,
                            self.settings.distinctive_names_only):
            verdict.reason = Reason.UNRESPONSIVE
        elif mixes_passages(question, parsed.sentences, passages, self.settings.min_borrowed_terms):
            verdict.reason = Reason.MIXED_PASSAGES
        return verdict
