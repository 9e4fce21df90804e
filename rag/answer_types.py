"""What kind of answer a question asks for, and whether a text holds one.

`expected_type` reads the question's own words: "en quelle année", "quelle est la date", "jusqu'à quand"
ask for a date, a bare "quand" (the question's own word, not a clause's "quand" after "que") for a date
or a moment told by an event ("lorsque…", "après la guerre"); "combien", "quel montant" for an amount (a
number); "quel pourcentage" for a percentage; "où", "dans quel pays" for a place (a proper name);
"quel journal", "quelle entreprise", "which newspaper" for an organisation (a proper name that is not a
capitalised function word); English forms too. Anything else (qui, quel, pourquoi, comment…) has no type
this module can check, and None is returned: the checks built on it only ever apply to the types a
pattern can recognise reliably.

`mentions(text, type)` gives the entities of that type in a text (years, months and relative dates;
numbers and number words, each with the scale that follows it; percentages; capitalised names), so
that the verifier can ask: does the answer give an entity of the asked type that its passage holds and
the question did not already give? ("100 employés" is not the "100" of "100 milliards"; "20 %" is no answer
to "Quel est le montant…", `asks_sum`.)
"""

from __future__ import annotations

import re
from enum import Enum

from rag.language import ENGLISH_MARKERS, FRENCH_MARKERS, QUESTION_FRAMING
from rag.lexical import fold
from rag.metadata import outlet_of


class AnswerType(str, Enum):
    DATE = "date"
    WHEN = "when"  # a bare "quand"/"when": a date, or a moment told by an event ("lorsque…", "après…")
    AMOUNT = "amount"
    PERCENTAGE = "percentage"
    PLACE = "place"
    ORGANISATION = "organisation"  # a newspaper, a company: a proper name


_ASKS = [  # first match wins: "quel pourcentage" is a percentage before "quel…" anything else
    (AnswerType.PERCENTAGE, r"\b(quel(le)? pourcentage|quelle part (du|des|de la)|what percentage|what share|"
                            r"how many percent)\b"),
    (AnswerType.DATE, r"\b(en quelle ann[ée]e|quelle ann[ée]e|[àa] quelle date|quelle date|quel jour|"
                      r"quelle (?:est|était|fut|sera) (?:la date|l'ann[ée]e)|what (?:is|was|will be) the (?:date|year)|"
                      r"jusqu'?[àa] quand|depuis quand|en quel mois|quel mois|avant quelle ann[ée]e|"
                      r"what year|which year|in what year|what date|until when|since when|"
                      r"which month|what month)\b"),
    (AnswerType.WHEN, r"\b(quand|when)\b"),
    (AnswerType.AMOUNT, r"\b(combien|quel montant|quelle somme|de quel montant|quel est le montant|"
                        r"quel plafond|how much|how many|what amount|how large|how big|"
                        r"quelle (?:est la )?valorisation|what(?: is|'s)? [\w’' ]{0,30}valuation|"
                        # a price, an age, a head count: a figure, whatever the sentence around it
                        # (not "quelle population": which group of people)
                        r"(?:quel|quelle)(?: (?:est|était|sera|serait) (?:le|la|l'))? ?(?:prix|coût|cout|tarif|"
                        r"âge|age|nombre|effectif|superficie|salaire|budget|chiffre d'affaires|valeur)|"
                        # the same nouns in English, after "the", a possessive or a word that qualifies
                        # them ("What was Microsoft's revenue…", "Up to what revenue ceiling…")
                        r"[àa] quel prix|what(?: is| was| will be|'s)? (?:the |[\w’'-]+['’]s )?(?:[\w-]+ )?"
                        r"(?:price|cost|age|number|salary|budget|revenue|revenues|turnover|ceiling|sum|value|"
                        r"headcount|workforce|area)|"
                        r"what price|how old)\b"),
    (AnswerType.PLACE, r"(^|\s)(où|dans quel pays|dans quelle ville|dans quelle r[ée]gion|quel pays|quelle ville|"
                       r"where|which country|which city|in which country|in which city)(\s|$)"),
    # the nouns whose answer is a proper name (16 of the 17 PIAF dev questions of this form); not
    # "organisation" ("à quelles organisations est-il destiné ?": "organisations communautaires") nor
    # "équipe" ("équipes galloises, irlandaises et italiennes"); rivals are named too ("Quels rivaux
    # pourraient profiter… ?": Google, Meta), and are not the companies the question sets them against
    (AnswerType.ORGANISATION, r"\b((quel|quelle|quels|quelles) (journal|journaux|quotidien|quotidiens|magazine|"
                              r"hebdomadaire|m[ée]dia|m[ée]dias|entreprise|entreprises|firme|firmes|compagnie|"
                              r"compagnies|banque|banques|constructeur|soci[ée]t[ée]|soci[ée]t[ée]s|start-up|"
                              r"startup|club|clubs|parti|partis|universit[ée]|universit[ée]s|marque|marques|"
                              r"[ée]diteur|[ée]diteurs|concurrent|concurrents|rival|rivaux|rivale|rivales|adversaire|"
                              r"adversaires)|"
                              r"(which|what) (newspaper|newspapers|outlet|outlets|media outlet|news outlet|magazine|"
                              r"company|companies|firm|firms|bank|banks|publication|news agency|start-up|startup|"
                              r"competitor|competitors|rival|rivals))\b"),
]

_MONTHS = ("janvier février fevrier mars avril mai juin juillet août aout septembre octobre novembre décembre "
           "decembre january february march april may june july august september october november december")
_NUMBER_WORDS = ("deux trois quatre cinq six sept huit neuf dix onze douze quinze vingt trente quarante "
                 "cinquante cent cents mille million millions milliard milliards dizaine dizaines centaine "
                 "centaines douzaine two three four five six seven eight nine ten twelve twenty hundred "
                 "hundreds thousand thousands million millions billion billions dozen dozens")
_DATE = re.compile(r"\b(1\d{3}|20\d{2})\b|\b(" + "|".join(_MONTHS.split()) + r")\b|"
                   r"\b(il y a \w+ ans?|\w+ years? ago|aujourd'hui|today|fin|début|mi-|end of|early|late)\b",
                   re.IGNORECASE)
_MOMENT = re.compile(r"\b(avant|après|apres|pendant|lors|lorsque|durant|depuis|dès|des|jusqu|quand|au moment|"
                     r"before|after|during|since|until|when|while|once)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w-])\d+(?:[.,]\d+)?|\b(" + "|".join(_NUMBER_WORDS.split()) + r")\b", re.IGNORECASE)
_PERCENT = re.compile(r"\d+(?:[.,]\d+)?\s*(%|pour ?cent|percent)", re.IGNORECASE)
_NAME = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w’'-]+")


_FR_MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
_EN_MONTHS = "january february march april may june july august september october november december".split()
# The same entity in French and English, so that an English answer to a French passage is recognised.
_CANONICAL = {
    **{m: f"month{i}" for i, m in enumerate(_FR_MONTHS, 1)}, **{m: f"month{i}" for i, m in enumerate(_EN_MONTHS, 1)},
    "fevrier": "month2", "aout": "month8", "decembre": "month12",
    **{w: str(n) for n, ws in {2: "deux two", 3: "trois three", 4: "quatre four", 5: "cinq five", 6: "six",
                              7: "sept seven", 8: "huit eight", 9: "neuf nine", 10: "dix ten", 12: "douze twelve",
                              20: "vingt twenty"}.items() for w in ws.split()},
    "milliard": "billion", "milliards": "billion", "billions": "billion", "millions": "million",
    "dizaine": "dozens", "dizaines": "dozens", "dozen": "dozens", "douzaine": "dozens",
    "centaine": "hundreds", "centaines": "hundreds", "hundred": "hundreds", "cent": "hundreds", "cents": "hundreds",
    "mille": "thousands", "thousand": "thousands",
}


def canonical(word: str) -> str:
    """One spelling of a folded word for both languages: "sept" and "seven" are "7", "août" and
    "august" are "month8", "milliards" is "billion"."""
    return _CANONICAL.get(word, word)


_YES_NO = re.compile(r"^\s*(est-ce qu|y a-t-il|[\w'-]+-(t-)?(il|elle|ils|elles|on)\b|(is|are|was|were|do|does|did|"
                     r"has|have|had|can|could|will|would|should)\s)", re.IGNORECASE)


_OPEN = re.compile(r"\b(qui|que|qu|quoi|quel|quelle|quels|quelles|lequel|laquelle|lesquels|lesquelles|combien|"
                   r"comment|pourquoi|où|quand|what|which|who|whom|whose|where|when|why|how)\b", re.IGNORECASE)


_WHY = re.compile(r"\b(pourquoi|pour quelle raison|why)\b", re.IGNORECASE)


def asks_why(question: str) -> bool:
    """Does the question ask for a reason ("Pourquoi…", "Pour quelle raison…", "Why…")?"""
    return bool(_WHY.search(question))


def without_why(question: str) -> str:
    """The question without the words that ask for a reason ("Pourquoi", "Pour quelle raison", "Why")."""
    return _WHY.sub(" ", question)


# words that state a cause or a purpose: "car", "parce que", "en raison de", "grâce à", "afin de", "pour" followed
# by a verb ("pour attirer des financements"; "Pour Barclay de Tolly, …" is not one; nor is "connu pour avoir
# créé…", "known for"), "because", "due to"…
_KNOWN_FOR = "".join(f"(?<!{w} )" for w in "connu connue connus connues réputé réputée réputés réputées célèbre "
                                           "célèbres".split())
_CAUSE = re.compile(r"\b(car|parce|puisque|cause|causée?s?|raisons?|afin|grâce|dûe?s?|due|suite|faute|permet\w*|"
                    r"motiv\w*|expliqu\w*|conséquence|donc|because|since|reasons?|order|so that|thanks|result|"
                    r"caused?|led|explains?)\b"
                    rf"|\b{_KNOWN_FOR}pour (?:ne |n'|l'|se |s'|y |en )?\w+(?:er|ir|re|oir)\b", re.IGNORECASE)


def states_cause(text: str) -> bool:
    """Does `text` hold a word that states a cause or a purpose ("car", "afin de", "pour" + a verb,
    "because"…)?"""
    return bool(_CAUSE.search(text))


_POINTS_BACK = re.compile(r"^\W*(cette|cet|ces|ce|cela|ceci|this|these|that)\b", re.IGNORECASE)


def points_back(text: str) -> bool:
    """Does `text` open on a demonstrative that points back at what was said before it ("Cette initiative
    démontre…", "This shows…")?"""
    return bool(_POINTS_BACK.search(text))


def is_yes_no(question: str) -> bool:
    """Is it a closed question ("Moab est-il un désert ?", "Est-ce que…", "Is the MOU binding?")? Its
    answer may rightly repeat the question's words. A question word anywhere makes it open ("Sous
    quelle forme … a-t-elle été versée ?")."""
    q = question.replace("’", "'")
    if _OPEN.search(q.lower().replace("est-ce qu", "")):
        return False
    return bool(_YES_NO.search(q)) or bool(re.search(r"\b(est|sont|était|a)-(t-)?(il|elle|ils|elles)\b", q))


def _asks_before(text: str) -> bool:
    """Does `text` hold a question word (`_OPEN`) other than "quand"/"when"?"""
    return any(m.group(1).lower() not in ("quand", "when") for m in _OPEN.finditer(text))


def expected_type(question: str) -> AnswerType | None:
    """The type of answer the question asks for, when its words say so clearly. "Quand"/"when" after
    another question word joins a clause, it does not ask when ("Que peut-on boire quand on est
    enrhumé ?", "Quel droit garde-t-il quand OpenAI change de fournisseur ?")."""
    q = " " + question.lower().replace("’", "'") + " "
    for answer_type, pattern in _ASKS:
        if m := re.search(pattern, q):
            if answer_type is AnswerType.WHEN and _asks_before(q[:m.start()]):
                continue
            return answer_type
    return None


def mentions(text: str, answer_type: AnswerType) -> set[str]:
    """The entities of `answer_type` in `text`, folded (lower case, no accents)."""
    if answer_type in (AnswerType.DATE, AnswerType.WHEN):
        found = {m.group(0) for m in _DATE.finditer(text) if m.group(1) or m.group(2)}
        vague = {m.group(3) for m in _DATE.finditer(text) if m.group(3)}
        found |= {v for v in vague if re.search(r"\d|ans|years|ago", v)}
        if answer_type is AnswerType.WHEN:
            found |= {m.group(0) for m in _MOMENT.finditer(text)}
    elif answer_type is AnswerType.AMOUNT:
        return _amounts(text)
    elif answer_type is AnswerType.PERCENTAGE:
        found = {re.sub(r"\s+", "", m.group(0)) for m in _PERCENT.finditer(text)}
    elif answer_type is AnswerType.ORGANISATION:
        return proper_names(text)
    else:
        found = {m.group(0) for m in _NAME.finditer(text)}
    return {canonical(fold(f.replace(" ", ""))) for f in found}


# capitalised words that name nothing: function and question words, "Selon", "The"
NOT_NAMES = frozenset(fold(w) for w in FRENCH_MARKERS | ENGLISH_MARKERS | frozenset(QUESTION_FRAMING.split()))
_ELIDED = re.compile(r"^[a-zA-Z][’']")
_CAPITALISED = re.compile(r"[\w’'-]*[A-ZÀ-ÖØ-Þ][\w’'-]*")  # "OpenAI", and "xAI", "iPhone" too


def proper_names(text: str) -> set[str]:
    """The words of `text` with a capital letter that are names, folded: not a function word capitalised
    at the start of a sentence ("Le média évoque…"), nor a common noun after an elision ("L’armée")."""
    found = set()
    for m in _CAPITALISED.finditer(text):
        word = _ELIDED.sub("", m.group(0))
        if word != word.lower() and fold(word) not in NOT_NAMES:
            found.add(fold(word))
    return found


_SCALES = {"milliard": "e9", "milliards": "e9", "billion": "e9", "billions": "e9", "bn": "e9",
           "million": "e6", "millions": "e6", "mn": "e6", "%": "%", "pour cent": "%", "pourcent": "%", "percent": "%"}
# numbers written as words that a scale may follow ("un milliard", "two billion"); rag.disagreement reads
# them too
WORD_NUMBERS = {"un": "1", "une": "1", "one": "1", "a": "1",
                 **{w: n for w, n in _CANONICAL.items() if n.isdigit()}}
# a number in digits (thousands separated or not) or in words
_NUMERAL = r"(?:\d{1,3}(?:[ \u202f\xa0.]\d{3})+|\d+(?:[.,]\d+)?|" + "|".join(WORD_NUMBERS) + ")"
_QUANTITY = re.compile(rf"(?<![\w.,])({_NUMERAL})\s*(milliards?|billions?|bn|millions?|mn|%|pour ?cent|percent)?(?!\w)",
                       re.IGNORECASE)


def quantities(text: str) -> set[str]:
    """The figures a text states, in one spelling for both languages: a number with its scale ("dix
    milliards", "10 milliards" and "$10 billion" are all "10e9"; "20 %" and "20 percent" are "20%") and
    years written as such ("2019"). Bare numbers without a scale are left out: they are as
    often written in words, or part of a name ("GPT-4")."""
    return {f for m in _QUANTITY.finditer(text) if (f := _figure(m)) is not None}


_ORDERS = {"dizaine": 10, "dizaines": 10, "tens": 10, "centaine": 100, "centaines": 100, "hundred": 100,
           "hundreds": 100, "millier": 1000, "milliers": 1000, "thousand": 1000, "thousands": 1000}
_MAGNITUDE = re.compile(r"\b(dizaines?|centaines?|milliers?|tens|hundreds|thousands|"
                        r"(?:several|a few|many|some)\s+(?:hundred|thousand))\s+(?:(?:de|d['’]|of)\s*)?"
                        r"(milliards?|billions?|millions?)\b", re.IGNORECASE)


def magnitudes(text: str) -> set[str]:
    """The orders of magnitude a text gives instead of a figure, in `quantities`' spelling of their
    lower bound: "plusieurs dizaines de milliards" and "tens of billions" are "10e9", "several hundred
    billion" is "100e9"."""
    return {f"{_ORDERS[m.group(1).lower().split()[-1]]}{_SCALES[m.group(2).lower()]}"
            for m in _MAGNITUDE.finditer(text)}


def within(magnitude: str, figures: set[str], orders: set[str]) -> bool:
    """Does a text stating `figures` (`quantities`) and `orders` (`magnitudes`) bear out `magnitude`? The
    same order of magnitude, or a figure of the same scale inside it: "260 milliards" is several hundred
    billion, "13 milliards" is not."""
    if magnitude in orders:
        return True
    low, scale = re.fullmatch(r"(\d+)(e\d+)", magnitude).groups()
    for figure in figures:
        if (m := re.fullmatch(r"(\d+(?:\.\d+)?)(e\d+)", figure)) and m.group(2) == scale:
            if int(low) <= float(m.group(1)) < int(low) * 10:
                return True
    return False


def _figure(m: re.Match) -> str | None:
    """One `_QUANTITY` match in `quantities`' spelling, or None when it states no figure."""
    number, scale = m.group(1).lower(), " ".join((m.group(2) or "").lower().split())
    if number in WORD_NUMBERS:
        if not scale or scale == "%":
            return None  # "un", "a" alone are articles
        number = WORD_NUMBERS[number]
    elif scale:
        number = re.sub(r"[ \u202f\xa0.](?=\d{3}\b)", "", number).replace(",", ".")
        number = number.rstrip("0").rstrip(".") if "." in number else number
    if scale:
        return number + _SCALES[scale]
    if re.fullmatch(r"1\d{3}|20\d{2}", number):  # a year: four digits, no thousands separator
        return number
    return None


def _amounts(text: str) -> set[str]:
    """`mentions` of amounts: a number with its scale in `quantities`' spelling, so that "100 employés" is
    not the "100" of "100 milliards" ("100" and "100e9"), and "un milliard" is "1 milliard"; other numbers,
    and a scale word with no number before it ("des milliards"), as words."""
    found, spans = set(), []
    for m in _QUANTITY.finditer(text):
        if m.group(2) and (figure := _figure(m)) is not None:
            found.add(figure)
            spans.append(m.span())
    for m in _NUMBER.finditer(text):
        if not any(start <= m.start() < end for start, end in spans):
            found.add(canonical(fold(m.group(0))))
    return found


_COUNTED = re.compile(r"\bcombien (?:de |d['’]) ?(\w+)|\bhow many (\w+)", re.IGNORECASE)
# what a question counting money counts ("Combien d'argent…", "How many dollars…"), or a scale ("combien de
# milliards"): for these a sum of money is the answer
_MONEY_NOUNS = frozenset("argent dollars dollar euros euro francs livres fonds crédits credits capital capitaux "
                         "financement financements investissement investissements milliards millions milliers "
                         "money funds billions".split())
_SCALE = r"(?:milliards?|billions?|bn|millions?|mn|milliers?|mille|thousands?|k)"
_CURRENCY = r"(?:dollars?|euros?|francs?|livres?|yens?|yuans?|roubles?|usd|eur|\$|€|£)"
_MONEY = re.compile(rf"(?<![\w.,])(?:[$€£]\s*{_NUMERAL}(?:\s*{_SCALE})?|(?:{_NUMERAL}|des|plusieurs)"
                    rf"(?:\s*(?:dizaines |centaines )?(?:de |d['’])?{_SCALE})?\s*(?:de |d['’])?{_CURRENCY})(?!\w)",
                    re.IGNORECASE)


def counts_things(question: str) -> bool:
    """Does the question count something other than money ("Combien d'employés…", "How many users…")?
    A sum of money does not answer it ("13 milliards de dollars" to "Combien d'employés compte
    Microsoft ?"); "Combien d'argent…", "Combien Microsoft a-t-il investi ?" ask a sum."""
    m = _COUNTED.search(question.replace("’", "'"))
    return bool(m) and (m.group(1) or m.group(2)).lower() not in _MONEY_NOUNS


WEB_ADDRESS = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def _site(address: str) -> str:
    """The outlet a web address names (`metadata.outlet_of`), or nothing."""
    return outlet_of(address if "://" in address else f"https://{address}") or ""


# the nouns of a question asking for a sum ("Quel est le montant…", "Jusqu'à quel plafond de revenus…",
# "What is the valuation…"): a percentage is a share of a sum, not the sum. A bare "combien" keeps
# percentages ("Combien de Mahorais ont voté pour ?" 99,4 %; "De combien a augmenté la production ?" 6,26 %).
_SUM_NOUNS = re.compile(r"\b(montant|somme|plafond|valorisation|prix|co[uû]t|tarif|salaire|budget|"
                        r"chiffre d'affaires|amount|sum|ceiling|valuation|price|cost|salary|revenues?|"
                        r"turnover)\b", re.IGNORECASE)
_SHARE = re.compile(rf"(?<![\w.,]){_NUMERAL}\s*(?:%|pour ?cent|percent)(?!\w)", re.IGNORECASE)


def asks_sum(question: str) -> bool:
    """Does the question ask for a sum by its noun ("Quel montant…", "Quel est le budget…", "How much is
    the valuation…")? Its answer is a figure, and a percentage ("jusqu'à 20 % des revenus") is not one."""
    return bool(_SUM_NOUNS.search(question.replace("’", "'")))


def answers_of(question: str, text: str, answer_type: AnswerType) -> set[str]:
    """`mentions` of `answer_type` in `text` that can answer `question`: to a question counting things
    (`counts_things`), the sums of money a text states are not counts; to a question asking for a sum
    (`asks_sum`), the percentages are not sums; a year inside a web address
    (".../articles/2025-07-29/...") is part of a link, not a date the text gives, while the site it
    names is an organisation ("https://www.bloomberg.com/…": Bloomberg)."""
    named = answer_type is AnswerType.ORGANISATION
    text = WEB_ADDRESS.sub(lambda m: f" {_site(m.group(0))} " if named else " ", text)
    if answer_type is AnswerType.AMOUNT and counts_things(question):
        text = _MONEY.sub(" ", text)
    if answer_type is AnswerType.AMOUNT and asks_sum(question):
        text = _SHARE.sub(" ", text)
    return mentions(text, answer_type)


def question_gives(question: str, answer_type: AnswerType) -> set[str]:
    """The entities of `answer_type` the question already holds (an answer repeating them gives nothing
    new). For a bare "quand" only its dates count: "quand" itself, or "lorsque", in the answer is how a
    moment told by an event is introduced ("… dépréciée quand la France redevient royaliste")."""
    return mentions(question, AnswerType.DATE if answer_type is AnswerType.WHEN else answer_type)
