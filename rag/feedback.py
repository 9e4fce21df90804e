"""Feedback that feeds the evaluation: answers a reader marked 👎 in the chat become a reviewed question
set (`rag eval --feedback`), run like the gold set.

A 👎 with a correction (the right answer, in a few words) is a gold question whose alias is that
correction; a correction that says the sources do not answer ("pas dans les sources", "aucune",
"none", "n/a"…) makes an unanswerable question (the assistant should have abstained). A 👎 without a
correction cannot be scored: it is listed for review, never guessed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from rag.conversations import ConversationStore, Turn
from rag.language import detect_language

_NO_ANSWER = re.compile(r"^\s*(?:pas dans les sources|aucune?|rien|inconnu|je ne sais pas|none|n/?a|not in the sources"
                        r"|unknown|no answer)\s*\.?\s*$", re.I)


@dataclass
class FeedbackSet:
    path: Path
    written: int
    to_review: list[Turn]


def feedback_set(store: ConversationStore, path: Path) -> FeedbackSet:
    """Write the reviewed question set (JSON lines, the gold format) from the store's 👎 and corrected answers."""
    lines, to_review = [], []
    for turn in store.reviewed():
        if not turn.correction:
            to_review.append(turn)
            continue
        unanswerable = bool(_NO_ANSWER.match(turn.correction))
        lines.append({"id": f"feedback-{turn.id}", "question": turn.question,
                      "answers": [] if unanswerable else [turn.correction], "answerable": not unanswerable,
                      "lang": detect_language(turn.question)})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), "utf-8")
    return FeedbackSet(path, len(lines), to_review)
