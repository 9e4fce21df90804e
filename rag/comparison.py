"""Two evaluation reports of the same questions side by side: which answers changed, and whether the
change is more than chance.

A prompt or a check that moves a few answers either way on 73 or 200 questions may be noise. The
questions are the same in both runs, so the test is McNemar's exact test on the discordant pairs:
`gained` questions right only after, `lost` right only before; under "no difference" each discordant
question is a fair coin, and the two-sided p-value is the binomial tail of the smaller count, doubled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from types import SimpleNamespace

from rag import evaluation
from rag.errors import SettingsError


def mcnemar_p(gained: int, lost: int) -> float:
    """Two-sided exact McNemar p-value for `gained` and `lost` discordant questions (1.0 when none)."""
    n = gained + lost
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(gained, lost) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def is_right(question: dict) -> bool:
    """`rag.evaluation.is_right` for a question as a report's JSON holds it."""
    return evaluation.is_right(SimpleNamespace(**question))  # type: ignore[arg-type]


@dataclass
class Change:
    id: str
    type: str
    question: str
    before: str  # "right", "wrong" or "refused"
    after: str
    answer: str  # the answer after


@dataclass
class Comparison:
    common: int  # questions in both reports
    right_before: int
    right_after: int
    gained: int
    lost: int
    changes: list[Change] = field(default_factory=list)  # every question whose outcome changed

    @property
    def p_value(self) -> float:
        return mcnemar_p(self.gained, self.lost)


def _outcome(q: dict) -> str:
    if is_right(q):
        return "right"
    return "refused" if q["abstained"] and q["answerable"] else "wrong"


def load_report(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text("utf-8"))["questions"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SettingsError(f"{path} is not a report written by `rag eval` ({exc})") from exc


def compare(before: list[dict], after: list[dict]) -> Comparison:
    """Match the questions by id and count what changed."""
    old = {q["id"]: q for q in before}
    pairs = [(old[q["id"]], q) for q in after if q["id"] in old]
    if not pairs:
        raise SettingsError("the two reports have no question in common: compare runs of the same question set")
    outcomes = [(_outcome(b), _outcome(a)) for b, a in pairs]
    changes = [Change(b["id"], b.get("type", ""), a["question"], was, now, a.get("answer", ""))
               for (b, a), (was, now) in zip(pairs, outcomes) if was != now]
    return Comparison(common=len(pairs), right_before=sum(was == "right" for was, _ in outcomes),
                      right_after=sum(now == "right" for _, now in outcomes),
                      gained=sum(was != "right" and now == "right" for was, now in outcomes),
                      lost=sum(was == "right" and now != "right" for was, now in outcomes), changes=changes)
