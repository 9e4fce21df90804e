"""Parsing `[n]` citations out of an answer and checking each sentence against what it cites."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.chunking import split_sentences

CITATION = re.compile(r"\[(\s*\d+(?:\s*(?:[,;]|-|–)\s*\d+)*\s*)\]")
_GROUP = re.compile(r"^(?:\s*" + CITATION.pattern + r")+")


@dataclass
class Sentence:
    text: str  # without its citation markers
    cited: list[int]  # passage numbers as written by the model (valid ones only)
    support: float = 0.0  # support of the sentence by the passages it is attributed to, 0..1
    supported: bool = False
    attributed: list[int] = field(default_factory=list)  # cited, or added by the checker when uncited
    auto_attributed: bool = False  # True when the checker chose the passage for an uncited sentence


@dataclass
class ParsedAnswer:
    sentences: list[Sentence]
    invalid_citations: int  # citations to passage numbers that were not given (removed)


def parse_numbers(inner: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"[,;]", inner):
        part = part.strip()
        if re.fullmatch(r"\d+\s*[-–]\s*\d+", part):
            a, b = (int(x) for x in re.split(r"[-–]", part))
            numbers.extend(range(min(a, b), max(a, b) + 1) if abs(b - a) < 10 else [a, b])
        elif part.isdigit():
            numbers.append(int(part))
    return numbers


def parse_answer(text: str, n_passages: int) -> ParsedAnswer:
    """Split `text` into sentences with the citations that follow or end them.

    Understands `[1]`, `[1, 2]`, `[1][3]` and markers placed after the full stop. Numbers outside
    1..n_passages are dropped and counted as invalid."""
    pieces: list[tuple[str, list[int]]] = []
    invalid = 0
    for span in split_sentences(text):
        raw = text[span.start:span.end]
        # citations that open this piece belong to the previous sentence ("... fin. [2] Suite")
        lead = _GROUP.match(raw)
        if lead and pieces:
            pieces[-1][1].extend(n for m in CITATION.finditer(lead.group(0)) for n in parse_numbers(m.group(1)))
            raw = raw[lead.end():]
        numbers = [n for m in CITATION.finditer(raw) for n in parse_numbers(m.group(1))]
        clean = " ".join(CITATION.sub(" ", raw).split())
        clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
        if not re.search(r"\w", clean):
            if pieces:
                pieces[-1][1].extend(numbers)
            continue
        pieces.append((clean, numbers))
    sentences = []
    for clean, numbers in pieces:
        valid = []
        for n in numbers:
            if 1 <= n <= n_passages:
                if n not in valid:
                    valid.append(n)
            else:
                invalid += 1
        sentences.append(Sentence(clean, valid, attributed=list(valid)))
    return ParsedAnswer(sentences, invalid)


def render(sentences: list[Sentence]) -> str:
    """The answer text with each sentence followed by its attributed citations."""
    out = []
    for s in sentences:
        marks = "".join(f"[{n}]" for n in s.attributed)
        body = s.text
        if marks and body[-1:] in ".!?":
            out.append(f"{body[:-1]} {marks}{body[-1]}")
        elif marks:
            out.append(f"{body} {marks}")
        else:
            out.append(body)
    return " ".join(out)
