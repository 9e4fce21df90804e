"""Page furniture: the words of a web page's controls that a scrape leaves in an article's text
("Redirection en cours...", "Si vous n'êtes pas redirigé automatiquement, 👉 cliquez ici 👈", "Lire
aussi", "Abonnez-vous à notre newsletter"), and a social post's tag line ("🤖💼 #IA #Tech"). They
inform no one; a short sentence that is one of them is never given to the model as evidence nor shown
as a passage. HTML sources lose most of it at parsing (navigation, footers, forms: rag.sources); this
catches what a saved text or PDF keeps."""

from __future__ import annotations

import re
import unicodedata

_FURNITURE = re.compile(
    r"\b(cliquez|clique[zr]?|click|tap)\s+(ici|here)\b"
    r"|\bredirection\s+en\s+cours\b|\bredirig[ée]e?s?\s+automatiquement\b"
    r"|\b(you\s+are|you're|you\s+will\s+be)\s+(not\s+)?(being\s+)?redirected\b|^\W*redirecting\b"
    r"|\b(abonnez|inscrivez)[- ]vous\b|\bsubscribe\s+(now|to|for)\b|\bsign\s+up\s+(now|for|to)\b"
    r"|\b(notre|our)\s+newsletter\b"
    r"|^\W*(à\s+)?lire\s+(aussi|également|la\s+suite)\b|^\W*read\s+(more|also|next)\b"
    r"|\b(accepte[rz]?|refuse[rz]?|accept|reject)\s+(tous\s+)?(les\s+|all\s+)?cookies\b|\bwe\s+use\s+cookies\b"
    r"|\bnous\s+utilisons\s+des\s+cookies\b"
    r"|\b(partager|share)\s+(sur|on)\s+(facebook|twitter|x|linkedin|whatsapp)\b"
    r"|\btous\s+droits\s+r[ée]serv[ée]s\b|\ball\s+rights\s+reserved\b"
    r"|\b(activez|enable)\s+(le\s+)?javascript\b"
    r"|^\W*(publicité|advertisement)\W*$",
    re.IGNORECASE,
)

#: a hashtag or an @-mention: a post's tag, not a word of its text
_TAG = re.compile(r"[#@]\w+")

#: a sentence longer than this is the article's, even when it quotes a control's words
MAX_WORDS = 25


def is_furniture(sentence: str) -> bool:
    """Is the sentence a page's control or notice rather than the article's text?"""
    if len(sentence.split()) > MAX_WORDS:
        return False
    return bool(_FURNITURE.search(sentence.strip())) or is_tag_line(sentence)


def is_tag_line(sentence: str) -> bool:
    """Is the sentence only hashtags, mentions and emoji ("🤖💼 #IA #Tech"), with no word of text? A
    closing quote the sentence splitter left alone ("».") is the article's punctuation, not a tag line."""
    has_tag = bool(_TAG.search(sentence)) or any(unicodedata.category(c) == "So" for c in sentence)
    return has_tag and not re.search(r"\w", _TAG.sub(" ", sentence))
