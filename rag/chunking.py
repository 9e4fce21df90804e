"""Sentence-aware chunking that keeps character offsets: `text[chunk.start:chunk.end] == chunk.text`."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at . ! ? … (optionally followed by closing quotes/brackets) before white space,
# or at a line break. Common French/English abbreviations and initials do not end a sentence, nor does
# an elision in brackets ("[…]", "[...]") or an editor's note ("1851[réf. nécessaire]. Il…" ends after "].").
# What would be a sentence of closing quotes and stops only (the "»" of "… adieu ! »") belongs to the
# sentence before it.
_ABBREVIATIONS = {
    "m", "mm", "mme", "mmes", "mlle", "dr", "pr", "st", "ste", "etc", "cf", "p", "env", "vol", "no",
    "n°", "art", "av", "bd", "mr", "mrs", "ms", "jr", "sr", "vs", "inc", "corp", "ltd", "co", "fig",
    "janv", "févr", "avr", "juil", "sept", "oct", "nov", "déc", "jan", "feb", "mar", "apr", "aug", "dec",
    "réf",  # Wikipedia's "[réf. nécessaire]"
}
_STOPS = ".!?…"
_CLOSERS = "»\"”’')\\]"  # closing quotes and brackets, escaped for a character class
_CLOSING_ONLY = re.compile(f"[{_CLOSERS}{_STOPS}\\s]+")
_BOUNDARY = re.compile(f"([{_STOPS}]+[{_CLOSERS}]*)(\\s+)|(\\n+)")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def sentence_texts(text: str) -> list[str]:
    """The sentences of `text`, in order (as `split_sentences` cuts them)."""
    return [text[s.start:s.end] for s in split_sentences(text)]


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of `text` (no leading/trailing white space inside a span)."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group(3) is None:
            before = text[start:match.start(1)]
            last_word = re.split(r"[\s(«\"“\[]+", before)[-1].lower() if before else ""
            if before.endswith("[") and match.group(1)[-1] == "]":
                continue  # "[…]": words left out of a quotation, inside the sentence
            if match.group(1) == "." and (
                last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha())
                or re.fullmatch(r"\d+", last_word) and match.end() < len(text) and text[match.end()].islower()
            ):
                continue
            end = match.end(1)
        else:
            end = match.start(3)
        _add(text, spans, start, end)
        start = match.end()
    _add(text, spans, start, len(text))
    return spans


def _add(text: str, spans: list[Span], start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end <= start:
        return
    if spans and _CLOSING_ONLY.fullmatch(text, start, end):
        # a closing quote after a space ("… adieu ! »", "… génial. ».") ends the sentence before it; a
        # line of its own that is not ("***", "—") stays one
        spans[-1] = Span(spans[-1].start, end)
    else:
        spans.append(Span(start, end))


def _split_long(text: str, span: Span, max_chars: int) -> list[Span]:
    """Cut a sentence longer than `max_chars` at white space."""
    pieces: list[Span] = []
    start = span.start
    while span.end - start > max_chars:
        cut = text.rfind(" ", start + 1, start + max_chars)
        if cut <= start:
            cut = start + max_chars
        pieces.append(Span(start, cut))
        start = cut
        while start < span.end and text[start].isspace():
            start += 1
    if span.end > start:
        pieces.append(Span(start, span.end))
    return pieces


def chunk_spans(text: str, max_chars: int = 600, overlap_chars: int = 150) -> list[Span]:
    """Group whole sentences into chunks of at most `max_chars`; each new chunk starts with the
    previous chunk's last sentences totalling at most `overlap_chars`."""
    if max_chars <= 0 or overlap_chars < 0 or overlap_chars >= max_chars:
        raise ValueError("need max_chars > overlap_chars >= 0")
    sentences: list[Span] = []
    for s in split_sentences(text):
        sentences.extend(_split_long(text, s, max_chars))
    chunks: list[Span] = []
    i = 0
    while i < len(sentences):
        j = i
        while j + 1 < len(sentences) and sentences[j + 1].end - sentences[i].start <= max_chars:
            j += 1
        chunks.append(Span(sentences[i].start, sentences[j].end))
        if j + 1 >= len(sentences):
            break
        # step back over trailing sentences that fit in the overlap, but always move forward
        k = j + 1
        while k - 1 > i and sentences[j].end - sentences[k - 1].start <= overlap_chars:
            k -= 1
        i = k
    return chunks
