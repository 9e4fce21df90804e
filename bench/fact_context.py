"""Is the fact an answer gives about the event asked, or about another one? Read off `rag eval` reports.

    python bench/fact_context.py eval/reports/REPORT.json [MORE.json …]

Issue 13 (item 2) asks that an answer whose sentence is about another event than the one asked ("the
date something else happened is a date, but not the answer") be rejected. Before building such a check
into the verifier, this measures what it could catch, without the model: for each answered question
asking a date, an amount, a percentage or a place (`rag.answer_types.expected_type`, same language as
its passages), the passage sentence holding the entity the answer gives is compared with the question:
how many of the question's content stems (`rag.lexical.question_terms`) it shares, against the best
sentence of any passage that holds an entity of that type. A fact taken from a sentence that matches the
question worse than another candidate ("worse-matching") is the kind the check would reject; the
table says how many of those answers were right and how many wrong ("right": a gold alias, on an
answerable question).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table  # noqa: E402

from rag.answer_types import expected_type, mentions, question_gives  # noqa: E402
from rag.chunking import sentence_texts  # noqa: E402
from rag.language import detect_language  # noqa: E402
from rag.lexical import question_terms, tokenize  # noqa: E402


def overlaps(result: dict) -> tuple[int, int] | None:
    """(stems the answer's fact sentence shares with the question, the most any sentence holding an entity
    of the asked type shares), or None when the question is untyped, refused or across languages."""
    asked = expected_type(result["question"])
    passages = {p["n"]: p["text"] for p in result["passages"]}
    if asked is None or result["abstained"] or not passages:
        return None
    if detect_language(result["question"]) != detect_language(passages[max(passages)]):
        return None
    terms = set(question_terms(result["question"]))
    given_by_question = question_gives(result["question"], asked)

    def shared(sentence: str) -> int:
        return len(terms & set(tokenize(sentence)))

    fact = -1
    for s in result["sentences"]:
        given = mentions(s["text"], asked) - given_by_question if s["supported"] else set()
        for n in s["attributed"]:
            fact = max([fact, *(shared(t) for t in sentence_texts(passages.get(n, "")) if given & mentions(t, asked))])
    best = max((shared(t) for text in passages.values() for t in sentence_texts(text)
                if mentions(t, asked) - given_by_question), default=-1)
    return fact, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+", type=Path, help="JSON reports written by `rag eval`")
    args = ap.parse_args()
    rows = []
    for path in args.reports:
        counts = {"typed answers": 0, "best-matching: right": 0, "best-matching: wrong": 0,
                  "worse-matching: right": 0, "worse-matching: wrong": 0}
        try:
            results = json.loads(path.read_text(encoding="utf-8"))["questions"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            ap.error(f"{path} is not a report written by `rag eval` ({exc})")
        for result in results:
            found = overlaps(result)
            if found is None:
                continue
            right = result["answerable"] and result["alias_hit"]
            counts["typed answers"] += 1
            kind = "best-matching" if found[0] >= found[1] else "worse-matching"
            counts[f"{kind}: {'right' if right else 'wrong'}"] += 1
        rows.append({"report": path.name, **counts})
    print(table(rows))


if __name__ == "__main__":
    main()
